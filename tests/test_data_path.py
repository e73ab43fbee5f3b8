"""The data path takes no detours: each value is checked once and each request built once."""

from __future__ import annotations

from typing import TYPE_CHECKING, ParamSpec, TypeVar

import pytest
import yarl

import juspay_accounts as ja
from juspay_accounts import _client, _pagination, _request

if TYPE_CHECKING:
    from collections.abc import Callable

    from juspay_accounts.testing import FakeJuspay

PAGES = 4
P = ParamSpec("P")
R = TypeVar("R")


def counting(calls: list[str], function: Callable[P, R]) -> Callable[P, R]:
    """``function``, noting each call in ``calls``."""

    def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        calls.append(function.__name__)
        return function(*args, **kwargs)

    return counted


def test_the_request_url_is_a_ready_encoded_yarl_url() -> None:
    """The request carries a yarl.URL marked encoded, so no attempt parses a string again."""
    settings = _request.make_settings(api_key="k", base_url="https://h", user_agent="ua")
    request = _request.build_list_request(settings, "a/b", offset=2, count=3)
    assert isinstance(request.url, yarl.URL)
    assert "/customers/a%2Fb/customer-accounts/list" == request.url.raw_path
    assert "offset=2&count=3" == request.url.raw_query_string


@pytest.mark.asyncio
async def test_ids_are_checked_once_per_walk(
    fake: FakeJuspay, client: ja.AccountsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A walk of several pages checks the customer and routing ids once, at the call."""
    for _ in range(PAGES):
        fake.add_account("cst_1")
    calls: list[str] = []
    monkeypatch.setattr(_request, "_check_text", counting(calls, _request._check_text))
    accounts = await client.all_accounts("cst_1", page_size=1, routing_id="route_1")
    pages = [page async for page in client.iter_pages("cst_1", page_size=1)]
    assert (PAGES, PAGES) == (len(accounts), len(pages))
    assert PAGES * 2 == len(fake.requests)
    assert ["_check_text"] * 3 == calls  # customer + routing id, then customer id


@pytest.mark.asyncio
async def test_limits_are_checked_once_per_fan_out(
    fake: FakeJuspay, client: ja.AccountsClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fan-out checks concurrency, page_size and max_pages once, not again per customer."""
    customers = [f"cst_{i}" for i in range(5)]
    for customer in customers:
        fake.add_account(customer)
    calls: list[str] = []
    check = counting(calls, _pagination.positive_int_or_none)
    monkeypatch.setattr(_client, "positive_int_or_none", check)
    monkeypatch.setattr(_pagination, "positive_int_or_none", check)
    results = await client.gather_accounts(customers, page_size=2, max_pages=3)
    assert all(result.ok for result in results.values())
    assert len(customers) == len(results)
    assert ["positive_int_or_none"] * 3 == calls
