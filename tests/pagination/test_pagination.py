"""Walking offset/count/total: exact request sequences and every guard against a bad server."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

import juspay_accounts as ja
from juspay_accounts._pagination import PageWalk
from juspay_accounts.testing import FakeJuspay, Fault


def windows(fake: FakeJuspay) -> list[tuple[str | None, str | None, str]]:
    """(offset, count, x-routing-id) of every request the fake saw, in order."""
    return [
        (r.query.get("offset"), r.query.get("count"), r.headers["x-routing-id"])
        for r in fake.requests
    ]


def ids_of(accounts: list[ja.CustomerAccount]) -> list[str]:
    """The customer_account_ids, in order."""
    return [a.customer_account_id for a in accounts]


def seed(fake: FakeJuspay, customer_id: str, n: int) -> list[str]:
    """Give ``customer_id`` ``n`` accounts; return their ids in order."""
    return [fake.add_account(customer_id)["customer_account_id"] for _ in range(n)]


def page_body(accounts: list[dict[str, Any]], offset: int, total: int) -> str:
    """A crafted list answer."""
    return json.dumps({"list": accounts, "offset": offset, "count": len(accounts), "total": total})


@pytest.mark.asyncio
async def test_walk_with_server_cap_below_page_size(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """With a server cap of 3 under a page size of 5, offsets advance by what was received."""
    expected = seed(fake, "cst_1", 10)
    fake.max_page_size = 3
    pages = [page async for page in client.iter_pages("cst_1", page_size=5, routing_id="cart_7")]
    assert [3, 3, 3, 1] == [len(p.accounts) for p in pages]
    assert [0, 3, 6, 9] == [p.offset for p in pages]
    assert expected == [a.customer_account_id for p in pages for a in p.accounts]
    assert [
        ("0", "5", "cart_7"),
        ("3", "5", "cart_7"),
        ("6", "5", "cart_7"),
        ("9", "5", "cart_7"),
    ] == windows(fake)


@pytest.mark.asyncio
async def test_walk_without_page_size_asks_for_everything(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """Without page_size the first request sends offset=0 only and gets all accounts at once."""
    expected = seed(fake, "cst_1", 4)
    assert expected == ids_of(await client.all_accounts("cst_1"))
    assert [("0", None, "cst_1")] == windows(fake)


@pytest.mark.asyncio
async def test_iter_accounts_and_exact_page_boundary(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """A total that is a multiple of the page size stops without an extra empty request."""
    expected = seed(fake, "cst_1", 6)
    accounts = [a async for a in client.iter_accounts("cst_1", page_size=3)]
    assert expected == ids_of(accounts)
    assert [("0", "3", "cst_1"), ("3", "3", "cst_1")] == windows(fake)


@pytest.mark.asyncio
async def test_empty_customer_is_one_request(fake: FakeJuspay, client: ja.AccountsClient) -> None:
    """A customer with no accounts is one request and an empty list."""
    fake.add_customer("cst_0")
    assert [] == await client.all_accounts("cst_0", page_size=10)
    assert [("0", "10", "cst_0")] == windows(fake)


@pytest.mark.asyncio
async def test_unknown_customer_raises_from_the_walk(client: ja.AccountsClient) -> None:
    """A 404 on the first page ends the walk with NotFoundError."""
    with pytest.raises(ja.NotFoundError):
        await client.all_accounts("nobody")


@pytest.mark.asyncio
async def test_each_page_is_retried(fake: FakeJuspay, client: ja.AccountsClient) -> None:
    """A transient failure on page 2 is retried for that page only; nothing is lost."""
    expected = seed(fake, "cst_1", 4)
    yielded: list[str] = []
    async for page in client.iter_pages("cst_1", page_size=2):
        yielded.extend(a.customer_account_id for a in page.accounts)
        if page.offset == 0:
            fake.inject(Fault.respond(503, "busy"))
    assert expected == yielded
    assert [("0", "2"), ("2", "2"), ("2", "2")] == [w[:2] for w in windows(fake)]
    assert [None, "respond", None] == [r.fault for r in fake.requests]


@pytest.mark.asyncio
async def test_server_ignoring_offset_with_wrong_envelope(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """A page that comes back at offset 0 when 2 was asked raises PaginationError, no loop."""
    accounts = [fake.add_account("cst_1") for _ in range(4)]
    fake.max_page_size = 2
    fake.inject(Fault.respond(200, page_body(accounts[:2], 0, 4)), times=100, customer_id="cst_1")
    with pytest.raises(
        ja.PaginationError, match="asked for offset 2, got a page at offset 0"
    ) as info:
        await client.all_accounts("cst_1", page_size=2)
    assert ("cst_1", 2) == (info.value.customer_id, info.value.offset)
    assert info.value.request_id
    assert 2 == len(fake.requests)


@pytest.mark.asyncio
async def test_server_ignoring_offset_but_echoing_it(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """A page that repeats accounts already yielded while total stands still is refused."""
    accounts = [fake.add_account("cst_1") for _ in range(4)]
    fake.inject(Fault.respond(200, page_body(accounts[:2], 0, 4)), customer_id="cst_1")
    fake.inject(Fault.respond(200, page_body(accounts[:2], 2, 4)), times=100, customer_id="cst_1")
    seen: list[str] = []

    async def walk() -> None:
        async for account in client.iter_accounts("cst_1", page_size=2):
            seen.append(account.customer_account_id)  # noqa: PERF401 - kept as it arrives

    with pytest.raises(ja.PaginationError, match="only accounts already returned"):
        await walk()
    assert [a["customer_account_id"] for a in accounts[:2]] == seen
    assert 2 == len(fake.requests)


@pytest.mark.asyncio
async def test_growing_total_by_insertion_never_repeats(
    fake: FakeJuspay, client: ja.AccountsClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Accounts inserted at the front mid-walk shift pages; nothing is yielded twice."""
    original = seed(fake, "cst_1", 4)
    yielded: list[str] = []
    async for page in client.iter_pages("cst_1", page_size=2):
        yielded.extend(a.customer_account_id for a in page.accounts)
        if page.offset == 0:
            fake.add_account("cst_1", position=0)
            fake.add_account("cst_1", position=0)
    assert original == yielded
    assert len(set(yielded)) == len(yielded)
    assert any("total changed from 4 to 6" in r.getMessage() for r in caplog.records)
    assert [("0", "2"), ("2", "2"), ("4", "2")] == [w[:2] for w in windows(fake)]


@pytest.mark.asyncio
async def test_growing_total_by_appending_is_followed(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """Accounts appended mid-walk are walked to, against the new total."""
    original = seed(fake, "cst_1", 4)
    yielded: list[str] = []
    added: list[str] = []
    async for page in client.iter_pages("cst_1", page_size=2):
        yielded.extend(a.customer_account_id for a in page.accounts)
        if page.offset == 0:
            added = seed(fake, "cst_1", 3)
    assert original + added == yielded


@pytest.mark.asyncio
async def test_shrinking_total_walks_again_and_misses_nothing(
    fake: FakeJuspay, client: ja.AccountsClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Accounts removed mid-walk shrink total; the walk starts again, yielding the rest once."""
    original = seed(fake, "cst_1", 6)
    yielded: list[str] = []
    async for page in client.iter_pages("cst_1", page_size=2):
        yielded.extend(a.customer_account_id for a in page.accounts)
        if len(fake.requests) == 1:
            for account_id in original[:3]:
                fake.remove_account("cst_1", account_id)
    # original[3] and [4] moved back before offset 2: only the walk from 0 again finds them.
    assert [*original[:2], original[5], original[3], original[4]] == yielded
    warned = (
        "customer cst_1: total changed from 6 to 3 during the walk; walking again from offset 0 "
        "so that no account is missed, skipping accounts already returned"
    )
    assert [warned] == [r.getMessage() for r in caplog.records if "total changed" in r.getMessage()]
    assert [("0", "2"), ("2", "2"), ("0", "2"), ("2", "2")] == [w[:2] for w in windows(fake)]


@pytest.mark.asyncio
async def test_empty_page_before_total_ends_the_walk(
    fake: FakeJuspay, client: ja.AccountsClient, caplog: pytest.LogCaptureFixture
) -> None:
    """An empty page before total ends the walk with a warning instead of spinning."""
    accounts = [fake.add_account("cst_1") for _ in range(2)]
    fake.inject(Fault.respond(200, page_body(accounts, 0, 5)), customer_id="cst_1")
    fake.inject(Fault.respond(200, page_body([], 2, 5)), times=100, customer_id="cst_1")
    caplog.set_level(logging.WARNING)
    result = await client.all_accounts("cst_1", page_size=2)
    assert [a["customer_account_id"] for a in accounts] == ids_of(result)
    assert 2 == len(fake.requests)
    assert any("empty page at offset 2 before total 5" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_max_pages_bounds_the_walk(fake: FakeJuspay, client: ja.AccountsClient) -> None:
    """A walk that needs more than max_pages pages raises PaginationError after that many."""
    seed(fake, "cst_1", 10)
    with pytest.raises(ja.PaginationError, match="max_pages=3"):
        await client.all_accounts("cst_1", page_size=2, max_pages=3)
    assert 3 == len(fake.requests)
    assert 10 == len(await client.all_accounts("cst_1", page_size=2, max_pages=5))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"page_size": 0}, ValueError),
        ({"page_size": -1}, ValueError),
        ({"max_pages": 0}, ValueError),
        ({"page_size": 2.5}, TypeError),
        ({"page_size": True}, TypeError),
    ],
)
def test_bad_walk_arguments_fail_at_the_call(
    kwargs: dict[str, Any], error: type[Exception]
) -> None:
    """iter_pages checks its arguments when called, before any iteration or request."""
    client = ja.AccountsClient("k")
    with pytest.raises(error):
        client.iter_pages("cst_1", **kwargs)


def test_empty_customer_id_fails_at_the_call() -> None:
    """An unusable id fails when iter_pages is called, as InvalidInputError (a ValueError)."""
    with pytest.raises(ja.InvalidInputError):
        ja.AccountsClient("k").iter_pages("  ")


def account(account_id: str) -> ja.CustomerAccount:
    """A minimal account for the pure walk tests."""
    import datetime as dt  # noqa: PLC0415 - only here

    return ja.CustomerAccount(
        customer_account_id=account_id,
        customer_id="c",
        account_details=ja.AccountDetails(vpa="x@y"),
        validation_status=ja.ValidationStatus.ACTIVE,
        date_created=dt.datetime(2023, 1, 1, tzinfo=dt.UTC),
    )


def page(ids: list[str], offset: int, total: int) -> ja.AccountPage:
    """A page of minimal accounts."""
    return ja.AccountPage(
        accounts=tuple(account(i) for i in ids), offset=offset, count=len(ids), total=total
    )


def test_pure_walk_rules() -> None:
    """The walk, with no server: offsets, duplicates inside a page, completion."""
    walk = PageWalk("c", page_size=3)
    assert 0 == walk.next_offset()
    first = walk.accept(page(["a", "b", "b"], 0, 5))
    assert ["a", "b"] == [a.customer_account_id for a in first.accounts]
    assert 3 == walk.next_offset()
    walk.accept(page(["c", "d"], 3, 5))
    assert walk.next_offset() is None
    assert 2 == walk.pages
