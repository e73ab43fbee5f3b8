"""Property tests: whatever a server answers, the decoder gives a page or one of our errors.

Never a KeyError, TypeError, RecursionError or hang: every outcome is an AccountPage or a
JuspayError.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

import juspay_accounts as ja
from juspay_accounts import _response

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=15), inner, max_size=5)
    ),
    max_leaves=30,
)
KEYS = [
    "customer_account_id",
    "customer_id",
    "account_details",
    "currency",
    "validation_status",
    "validation_amount",
    "date_created",
    "last_validated",
    "vpa",
    "bank_account",
    "account",
    "name",
    "ifsc",
    "juspay_bank_code",
    "bank_name",
    "list",
    "offset",
    "count",
    "total",
    "object",
    "error_info",
    "error_code",
    "request_id",
    "fields",
    "field_name",
    "reason",
    "code",
    "category",
    "user_message",
    "developer_message",
]
# JSON whose keys are mostly the ones the decoder looks at, so the interesting paths are hit.
LEAF = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["2023-06-06T13:29:49Z", "ACTIVE", "1.00", "12", "", " "])
)
FIELD = LEAF | st.dictionaries(st.sampled_from(KEYS), LEAF, max_size=6)
SHAPED = st.recursive(
    LEAF,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=8)
    ),
    max_leaves=40,
)
STATUS = st.integers(min_value=100, max_value=599)
HEADERS = st.dictionaries(
    st.sampled_from(["x-request-id", "Retry-After", "Location", "Content-Type"]),
    st.text(max_size=40),
    max_size=4,
)


def outcome(status: int, headers: dict[str, str], body: bytes) -> object:
    """Decode, returning the page or the library's error; anything else fails the test."""
    try:
        return _response.decode_list_response(status, CIMultiDict(headers), body)
    except ja.JuspayError as exc:
        str(exc)  # the message itself must build
        return exc


@settings(suppress_health_check=[HealthCheck.too_slow])  # examples: the profile's
@given(status=STATUS, headers=HEADERS, body=st.binary(max_size=300))
def test_arbitrary_bytes(status: int, headers: dict[str, str], body: bytes) -> None:
    """Arbitrary bytes with any status and headers end in a page or our error."""
    result = outcome(status, headers, body)
    assert isinstance(result, ja.AccountPage | ja.JuspayError)


@settings(suppress_health_check=[HealthCheck.too_slow])  # examples: the profile's
@given(status=STATUS, value=JSON)
def test_arbitrary_json(status: int, value: Any) -> None:  # noqa: ANN401 - any JSON
    """Any JSON value, at any status, ends in a page or our error."""
    result = outcome(status, {}, json.dumps(value).encode())
    assert isinstance(result, ja.AccountPage | ja.JuspayError)


@settings(suppress_health_check=[HealthCheck.too_slow])  # examples: the profile's
@given(status=st.sampled_from([200, 201, 400, 401, 403, 404, 429, 500, 503]), value=SHAPED)
def test_json_shaped_like_juspay(status: int, value: Any) -> None:  # noqa: ANN401 - any JSON
    """JSON built from Juspay's own keys with wrong values ends in a page or our error."""
    result = outcome(status, {"x-request-id": "r"}, json.dumps(value).encode())
    assert isinstance(result, ja.AccountPage | ja.JuspayError)
    if status >= 300:
        assert isinstance(result, ja.APIError)


@settings(suppress_health_check=[HealthCheck.too_slow])  # examples: the profile's
@given(accounts=st.lists(st.dictionaries(st.sampled_from(KEYS), FIELD, max_size=10), max_size=5))
def test_envelopes_of_odd_accounts(accounts: list[dict[str, Any]]) -> None:
    """An envelope of odd accounts is a page, or a ResponseValidationError naming $.list[i]."""
    body = json.dumps(
        {"list": accounts, "offset": 0, "count": len(accounts), "total": len(accounts)}
    )
    result = outcome(200, {}, body.encode())
    if isinstance(result, ja.ResponseValidationError):
        assert all("@ $" in error for error in result.errors)
    else:
        assert isinstance(result, ja.AccountPage)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 200_000,
        b'{"list": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"list": [' + b'{"a":' * 10_000 + b"1" + b"}" * 10_000 + b"]}",
        b'{"error_info": ' + b"[" * 100_000 + b"}",
    ],
)
@pytest.mark.parametrize("status", [200, 500])
def test_deeply_nested_bodies(body: bytes, status: int) -> None:
    """Pathologically nested JSON is refused as our error, not a RecursionError."""
    result = outcome(status, {}, body)
    assert isinstance(result, ja.JuspayError)


def test_very_large_bodies_decode_in_bounded_time() -> None:
    """A 10,000-account page and a 5 MB string field are handled quickly."""
    account = {
        "customer_id": "c",
        "customer_account_id": "banh_x",
        "account_details": {"vpa": "a@b"},
        "validation_status": "ACTIVE",
        "date_created": "2023-06-06T13:29:49Z",
    }
    many = json.dumps({"list": [account] * 10_000, "offset": 0, "count": 10_000, "total": 10_000})
    started = time.monotonic()
    page = _response.decode_list_response(200, {}, many.encode())
    assert 10_000 == len(page.accounts)
    huge = json.dumps({"list": [dict(account, currency="x" * 5_000_000)]})
    assert 1 == len(_response.decode_list_response(200, {}, huge.encode()).accounts)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    "value",
    ["9" * 5000, "1e99999999999", "-0", "NaN", "1" * 19, "١٢"],
)
def test_numeric_edge_strings(value: str) -> None:
    """Huge, exotic or non-finite numbers in strings never escape as ValueError."""
    body = json.dumps({"list": [], "offset": value, "total": value, "count": value}).encode()
    result = outcome(200, {}, body)
    assert isinstance(result, ja.AccountPage | ja.JuspayError)


@given(value=st.text(max_size=60))
def test_retry_after_never_raises(value: str) -> None:
    """Any Retry-After text parses to seconds or None."""
    parsed = _response.parse_retry_after(value)
    assert parsed is None or parsed >= 0


VALID = {
    "customer_account_id": "banh_1",
    "customer_id": "c",
    "account_details": {
        "bank_account": {"account": "026291800001191", "name": "n", "juspay_bank_code": 12}
    },
    "validation_status": "ACTIVE",
    "date_created": "2023-06-06T13:29:49Z",
    "currency": "INR",
    "validation_amount": "1.00",
    "last_validated": "2023-06-06T13:29:53Z",
}


@settings(suppress_health_check=[HealthCheck.too_slow])  # examples: the profile's
@given(
    changes=st.dictionaries(st.sampled_from(KEYS) | st.just("last_validated "), FIELD, max_size=4),
    removed=st.sets(st.sampled_from(sorted(VALID)), max_size=2),
)
def test_fast_and_detailed_converters_agree(changes: dict[str, Any], removed: set[str]) -> None:
    """Whatever the fast hook accepts, the detailed (reference) converter accepts identically."""
    raw = {k: v for k, v in VALID.items() if k not in removed} | changes
    fast_hook, detailed_hook = _response.account_hooks()
    try:
        fast = fast_hook(raw, ja.CustomerAccount)
    except Exception:  # noqa: BLE001 - a fast failure only sends the page to the detailed path
        return
    assert fast == detailed_hook(raw, ja.CustomerAccount)
    assert repr(fast) == repr(detailed_hook(raw, ja.CustomerAccount))
