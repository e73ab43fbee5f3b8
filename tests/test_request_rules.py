"""The request builder's refusals word for word, and what a request's repr shows and hides."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import juspay_accounts as ja
from juspay_accounts import _request

if TYPE_CHECKING:
    from juspay_accounts.testing import FakeJuspay

SETTINGS = _request.make_settings(
    api_key="sk_test_secret", base_url="https://sandbox.juspay.in", user_agent="ua/1"
)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"offset": -1}, ValueError, "offset must be at least 0, got -1"),
        ({"offset": "1"}, TypeError, "offset must be an int, got str"),
        ({"offset": True}, TypeError, "offset must be an int, got bool"),
        ({"count": 0}, ValueError, "count must be at least 1, got 0"),
        ({"count": 2.0}, TypeError, "count must be an int, got float"),
    ],
)
def test_bad_offset_or_count_is_refused_by_name(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    """A bad offset or count is refused with its name, the rule and what came."""
    with pytest.raises(error) as info:
        _request.build_list_request(SETTINGS, "cst_1", **kwargs)  # type: ignore[arg-type]
    assert message == str(info.value)


def test_the_smallest_offset_and_count_are_sent() -> None:
    """offset=0 and count=1 are valid and go in the query."""
    request = _request.build_list_request(SETTINGS, "cst_1", offset=0, count=1)
    assert {"offset": "0", "count": "1"} == dict(request.url.query)


def test_repr_hides_only_the_credentials() -> None:
    """A request's and the settings' reprs show every header but Authorization's value."""
    request = _request.build_list_request(SETTINGS, "cst_1")
    for text in (repr(request), repr(SETTINGS)):
        assert "'Authorization': '<redacted>'" in text
        assert "'Accept': 'application/json'" in text
        assert "'User-Agent': 'ua/1'" in text
        assert "sk_test" not in text
        assert "c2tfdGVzdF9zZWNyZXQ6" not in text  # the key as the Basic token has it
    assert "'x-routing-id': 'cst_1'" in repr(request)


@pytest.mark.asyncio
async def test_fan_out_keeps_each_customers_page_bound(fake: FakeJuspay) -> None:
    """max_pages bounds every customer of a fan-out: one needing more pages fails alone."""
    for _ in range(5):
        fake.add_account("cst_many")
    fake.add_account("cst_one")
    policy = ja.RetryPolicy().without_waiting()
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, retry=policy) as client:
        results = await client.gather_accounts(["cst_many", "cst_one"], page_size=1, max_pages=2)
    assert isinstance(results["cst_many"].error, ja.PaginationError)
    assert "max_pages=2" in str(results["cst_many"].error)
    assert 1 == len(results["cst_one"].accounts)
    assert 3 == len(fake.requests)
