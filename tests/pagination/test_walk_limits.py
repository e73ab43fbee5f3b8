"""A walk is bounded by default, and an account deleted mid-walk never costs another one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
import yarl

import juspay_accounts as ja
from juspay_accounts._fetcher import PageFetcher
from juspay_accounts.testing import MockRequest, MockResponse, MockTransport

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Sequence

    from juspay_accounts.testing import FakeJuspay


class EndlessServer:
    """Answers every page with one fresh account and ``total=10**15``: a walk that never ends.

    A MockTransport handler: thousands of pages cost no sockets.
    """

    def __init__(self) -> None:
        """Count nothing yet."""
        self.requests = 0

    def __call__(self, request: MockRequest) -> MockResponse:
        """One new account at the offset asked for."""
        self.requests += 1
        url = yarl.URL(request.url)
        offset = int(url.query.get("offset", "0"))
        account = {
            "customer_account_id": f"banh_{offset}",
            "customer_id": url.parts[2],
            "account_details": {"vpa": "x@upi"},
            "validation_status": "ACTIVE",
            "date_created": "2023-06-06T13:29:49Z",
        }
        body = {"list": [account], "offset": offset, "count": 1, "total": 10**15}
        return MockResponse(200, json=body)

    def client(self) -> ja.AccountsClient:
        """A client whose every request this server answers."""
        return ja.AccountsClient("k", transport=MockTransport(self))


@pytest.fixture
def endless() -> EndlessServer:
    """An endless server."""
    return EndlessServer()


async def collect(
    accounts: AsyncIterator[ja.CustomerAccount], into: list[ja.CustomerAccount]
) -> None:
    """Append every account to ``into`` as it comes."""
    async for account in accounts:
        into.append(account)  # noqa: PERF401 - kept as it arrives, for after the error


@pytest.mark.asyncio
async def test_endless_server_stops_at_the_default_max_pages(endless: EndlessServer) -> None:
    """Fresh accounts with total=10**15 end in PaginationError after DEFAULT_MAX_PAGES pages."""
    assert 1000 == ja.DEFAULT_MAX_PAGES
    async with endless.client() as client:
        with pytest.raises(ja.PaginationError, match="max_pages=1000"):
            await client.all_accounts("cst_1")
        assert ja.DEFAULT_MAX_PAGES == endless.requests
        seen: list[ja.CustomerAccount] = []
        with pytest.raises(ja.PaginationError, match="max_pages=1000"):
            await collect(client.iter_accounts("cst_1"), seen)
        assert ja.DEFAULT_MAX_PAGES == len(seen)
        (result,) = (await client.gather_accounts(["cst_1"])).values()
        assert isinstance(result.error, ja.PaginationError)
    assert 3 * ja.DEFAULT_MAX_PAGES == endless.requests


@pytest.mark.asyncio
async def test_max_pages_none_still_means_no_bound(endless: EndlessServer) -> None:
    """An explicit max_pages=None walks past the default bound."""
    async with endless.client() as client:
        walked = 0
        async for _ in client.iter_accounts("cst_1", max_pages=None):
            walked += 1
            if walked > ja.DEFAULT_MAX_PAGES:
                break
    assert ja.DEFAULT_MAX_PAGES + 1 == endless.requests


# -- a shrinking total loses nothing (issue 11, item 5) --------------------------------


def seed(fake: FakeJuspay, n: int) -> list[str]:
    """Give cst_1 ``n`` accounts; return their ids in order."""
    return [fake.add_account("cst_1")["customer_account_id"] for _ in range(n)]


@pytest.mark.asyncio
async def test_account_deleted_between_pages_costs_no_other_account(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """Deleting a yielded account shifts offsets; every account present throughout still comes."""
    original = seed(fake, 6)
    yielded: list[str] = []
    async for page in client.iter_pages("cst_1", page_size=2):
        yielded.extend(a.customer_account_id for a in page.accounts)
        if page.offset == 0 and original[0] in fake_ids(fake):
            fake.remove_account("cst_1", original[0])
    # Before the fix: original[2] slides to offset 1, is never asked for, and the walk reports ok.
    assert sorted(original) == sorted(yielded)
    assert len(set(yielded)) == len(yielded)


@pytest.mark.asyncio
@pytest.mark.parametrize("walk", ["all_accounts", "gather_accounts"])
async def test_deletion_seen_by_all_accounts_and_the_fan_out(
    fake: FakeJuspay, client: ja.AccountsClient, monkeypatch: pytest.MonkeyPatch, walk: str
) -> None:
    """all_accounts and the fan-out (which walks with it) also miss nothing when total shrinks."""
    original = seed(fake, 5)
    # Every page of every walk is fetched by PageFetcher.page: delete right after page 0.
    fetch_page = PageFetcher.page

    async def fetch_then_delete(
        self: PageFetcher,
        *args: Any,  # noqa: ANN401 - passed on
    ) -> ja.AccountPage:
        page = await fetch_page(self, *args)
        if page.offset == 0 and original[1] in fake_ids(fake):
            fake.remove_account("cst_1", original[1])
        return page

    monkeypatch.setattr(PageFetcher, "page", fetch_then_delete)
    accounts: Sequence[ja.CustomerAccount]
    if walk == "all_accounts":
        accounts = await client.all_accounts("cst_1", page_size=2)
    else:
        result = (await client.gather_accounts(["cst_1"], page_size=2))["cst_1"]
        assert result.error is None
        accounts = result.accounts
    got = [a.customer_account_id for a in accounts]
    # Before the fix: original[2] slides to offset 1, is never asked for, and the walk reports ok.
    assert [original[0], original[1], original[3], original[4], original[2]] == got


def fake_ids(fake: FakeJuspay) -> list[str]:
    """The ids the fake serves for cst_1 now."""
    return [a["customer_account_id"] for a in fake.accounts_of("cst_1")]


@pytest.mark.asyncio
async def test_total_that_keeps_shrinking_is_a_pagination_error(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """A total that shrinks on every page ends in PaginationError, never a result with holes."""
    original = seed(fake, 40)
    yielded: list[str] = []

    async def walk_while_deleting() -> None:
        async for page in client.iter_pages("cst_1", page_size=2):
            yielded.extend(a.customer_account_id for a in page.accounts)
            fake.remove_account("cst_1", fake_ids(fake)[0])

    with pytest.raises(ja.PaginationError, match="total kept shrinking"):
        await walk_while_deleting()
    assert len(set(yielded)) == len(yielded)
    assert set(yielded) <= set(original)


@pytest.mark.asyncio
async def test_total_shrinking_a_fourth_time_gives_up_saying_so(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """Three restarts are made; the fourth shrink is a PaginationError naming what happened."""
    seed(fake, 40)

    async def walk_while_deleting() -> None:
        async for _page in client.iter_pages("cst_1", page_size=2):
            fake.remove_account("cst_1", fake_ids(fake)[0])

    with pytest.raises(ja.PaginationError) as failed:
        await walk_while_deleting()
    assert (
        "customer cst_1: total kept shrinking during the walk (4 times, now 36): accounts are "
        "being deleted faster than they can be listed, so the list could have holes; retry later"
    ) == failed.value.args[0]
    assert ("cst_1", 0) == (failed.value.customer_id, failed.value.offset)
    assert failed.value.request_id is not None
    assert ["0", "2", "0", "0", "0"] == [r.query.get("offset") for r in fake.requests]
