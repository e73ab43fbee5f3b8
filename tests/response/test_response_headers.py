"""AccountPage.headers and APIError.headers: the response's headers, read-only, any case."""

from __future__ import annotations

import json
import pickle

import pytest
from multidict import CIMultiDict

import juspay_accounts as ja
from juspay_accounts import _response
from juspay_accounts.testing import FakeJuspay, Fault

_PAGE = json.dumps({"list": [], "offset": 0, "count": 0, "total": 0}).encode()


@pytest.mark.asyncio
async def test_page_headers_from_the_server(fake: FakeJuspay, client: ja.AccountsClient) -> None:
    """A page carries every header of its answer, looked up in any case."""
    fake.add_customer("cst_1")
    fake.inject(
        Fault.respond(200, _PAGE, headers={"X-RateLimit-Remaining": "41", "x-request-id": "r1"})
    )
    page = await client.list_accounts("cst_1")
    assert "41" == page.headers["x-ratelimit-remaining"]
    assert "41" == page.headers["X-RATELIMIT-REMAINING"]
    assert "r1" == page.headers["X-Request-Id"]
    assert page.request_id == page.headers["x-request-id"]


@pytest.mark.asyncio
async def test_api_error_headers_from_the_server(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """An APIError carries the headers of the answer that ended the call."""
    fake.add_customer("cst_1")
    fake.inject(Fault.respond(403, b"{}", headers={"X-Blocked-By": "waf-7"}))
    with pytest.raises(ja.PermissionDeniedError) as info:
        await client.list_accounts("cst_1")
    assert "waf-7" == info.value.headers["x-blocked-by"]


def test_page_headers_are_read_only() -> None:
    """Nobody can change a page's headers after the fact."""
    page = _response.decode_list_response(200, {"X-A": "1"}, _PAGE)
    with pytest.raises(TypeError):
        page.headers["X-A"] = "2"  # type: ignore[index]


@pytest.mark.parametrize("kind", [dict, CIMultiDict])
def test_page_headers_are_a_copy(kind: type[dict[str, str] | CIMultiDict[str]]) -> None:
    """Changing the mapping the page was built from changes nothing in the page."""
    source = kind({"X-A": "1"})
    page = _response.decode_list_response(200, source, _PAGE)
    source["X-A"] = "2"
    assert "1" == page.headers["x-a"]


def test_headers_are_not_part_of_equality_or_repr() -> None:
    """Two pages with the same accounts are equal whatever their headers; repr omits them."""
    one = _response.decode_list_response(200, {"X-Secret-Ish": "aaa"}, _PAGE)
    two = _response.decode_list_response(200, {"X-Secret-Ish": "bbb"}, _PAGE)
    assert one == two
    assert hash(one) == hash(two)
    assert "aaa" not in repr(one)
    assert "headers" not in repr(one)


def test_headers_default_to_empty() -> None:
    """A page or error built by hand has an empty, case-insensitive mapping."""
    page = ja.AccountPage(accounts=(), offset=0, count=0, total=0)
    error = ja.APIError(status=500)
    assert {} == dict(page.headers)
    assert {} == dict(error.headers)
    assert page.headers.get("X-Anything") is None


def test_error_headers_from_decode_error() -> None:
    """decode_error keeps the headers, case-insensitively, on every error class."""
    error = _response.decode_error(429, {"Retry-After": "3", "X-Limit": "100"}, b"{}")
    assert isinstance(error, ja.RateLimitError)
    assert "100" == error.headers["x-limit"]
    assert "3" == error.headers["RETRY-AFTER"]
    assert "X-Limit" not in repr(error)


def test_headers_survive_pickling() -> None:
    """Pages and errors still pickle, and keep their headers."""
    page = _response.decode_list_response(200, {"X-A": "1"}, _PAGE)
    error = _response.decode_error(404, {"X-B": "2"}, b"{}")
    page_copy = pickle.loads(pickle.dumps(page))  # noqa: S301 - our own bytes
    error_copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert "1" == page_copy.headers["x-a"]
    assert "2" == error_copy.headers["x-b"]
    with pytest.raises(TypeError):
        error_copy.headers["x-b"] = "3"


def test_repeated_headers_are_all_kept() -> None:
    """A header sent twice keeps both values (getall), as HTTP allows."""
    raw = CIMultiDict([("Link", "<a>"), ("link", "<b>")])
    page = _response.decode_list_response(200, raw, _PAGE)
    assert ["<a>", "<b>"] == page.headers.getall("LINK")
