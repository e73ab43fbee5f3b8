"""The sans-I/O request builder: exact URL, headers and argument checks, with no network."""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from juspay_accounts import _config, _request

KEY = "test_key_5FA0B3C2D1E4"
UA = "juspay-accounts/test"


def settings(**overrides: str) -> _config.Settings:
    """Settings for the sandbox with the test key, overridable per test."""
    kwargs: dict[str, Any] = {
        "api_key": KEY,
        "base_url": "https://sandbox.juspay.in",
        "user_agent": UA,
    }
    kwargs.update(overrides)
    return _config.make_settings(**kwargs)


def test_ordinary_request_has_exact_url_and_headers() -> None:
    """A plain call sends GET to the documented path with exactly the documented headers."""
    request = _request.build_list_request(settings(), "cst_zqqmw0v4exbhvv2l")
    assert "GET" == request.method
    assert "https://sandbox.juspay.in/customers/cst_zqqmw0v4exbhvv2l/customer-accounts/list" == str(
        request.url
    )
    token = base64.b64encode(f"{KEY}:".encode()).decode()
    assert {
        "Authorization": f"Basic {token}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "User-Agent": UA,
        "x-routing-id": "cst_zqqmw0v4exbhvv2l",
    } == dict(request.headers)


def test_basic_auth_is_key_colon_empty_password() -> None:
    """Authorization decodes to '<key>:' (username = key, empty password)."""
    request = _request.build_list_request(settings(), "c")
    scheme, _, token = request.headers["Authorization"].partition(" ")
    assert "Basic" == scheme
    assert f"{KEY}:" == base64.b64decode(token).decode()


def test_routing_id_overrides_customer_id() -> None:
    """An explicit routing id is sent as x-routing-id instead of the customer id."""
    request = _request.build_list_request(settings(), "cst_123", routing_id="cart_9")
    assert "cart_9" == request.headers["x-routing-id"]


@pytest.mark.parametrize(
    ("offset", "count", "query"),
    [
        (None, None, ""),
        (0, None, "?offset=0"),
        (None, 10, "?count=10"),
        (10, 10, "?offset=10&count=10"),
    ],
)
def test_query_carries_offset_and_count_only_when_given(
    offset: int | None, count: int | None, query: str
) -> None:
    """Offset and count appear in the query exactly when passed (0 included)."""
    request = _request.build_list_request(settings(), "c", offset=offset, count=count)
    assert f"https://sandbox.juspay.in/customers/c/customer-accounts/list{query}" == str(
        request.url
    )


def test_optional_headers_sent_only_when_configured() -> None:
    """x-merchantid and version appear only when the client is configured with them."""
    plain = _request.build_list_request(settings(), "c")
    assert "x-merchantid" not in plain.headers
    assert "version" not in plain.headers
    configured = _request.build_list_request(
        settings(merchant_id="merchant_7", api_version="2023-06-30"), "c"
    )
    assert "merchant_7" == configured.headers["x-merchantid"]
    assert "2023-06-30" == configured.headers["version"]


@pytest.mark.parametrize(
    ("customer_id", "segment"),
    [
        ("a/b", "a%2Fb"),
        ("../../admin", "..%2F..%2Fadmin"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("q?x=1", "q%3Fx%3D1"),
        ("frag#ment", "frag%23ment"),
        ("100%", "100%25"),
        ("%2F", "%252F"),
        ("sp ace", "sp%20ace"),
        ("ünïcødé", "%C3%BCn%C3%AFc%C3%B8d%C3%A9"),
        ("cst.1_-~", "cst.1_-~"),
        ("a&b+c;d", "a%26b%2Bc%3Bd"),
    ],
)
def test_hostile_ids_become_exactly_one_path_segment(customer_id: str, segment: str) -> None:
    """Any id is percent-encoded into one segment, so it cannot change the path or query."""
    request = _request.build_list_request(settings(), customer_id)
    assert f"https://sandbox.juspay.in/customers/{segment}/customer-accounts/list" == str(
        request.url
    )


@given(
    st.one_of(
        st.from_regex(r"[A-Za-z0-9_.~-]+", fullmatch=True),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1),
        st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1),
    ).filter(str.strip)
)
@example("100%")
@example("a/b")
@example("cst 1")
@example("cst_1-.~")
def test_every_id_is_encoded_as_quote_encodes_it(customer_id: str) -> None:
    """The segment is quote(id, safe="") for every id: plain ids skipping quote() change nothing."""
    expected = (
        customer_id.replace(".", "%2E")
        if customer_id in {".", ".."}
        else urllib.parse.quote(customer_id, safe="")
    )
    request = _request.build_list_request(settings(), customer_id)
    assert f"/customers/{expected}/customer-accounts/list" == request.url.raw_path


@pytest.mark.parametrize("customer_id", ["", " ", "\t \n", "cst\r\nX-Evil: 1", "a\x00b", "a\x7fb"])
def test_empty_or_control_character_customer_id_is_refused(customer_id: str) -> None:
    """Empty, blank or control-character ids are a ValueError before anything is built."""
    with pytest.raises(ValueError, match="customer_id"):
        _request.build_list_request(settings(), customer_id)


@pytest.mark.parametrize("routing_id", ["", "  ", "r\nX-Evil: 1"])
def test_bad_routing_id_is_refused(routing_id: str) -> None:
    """A routing id that is blank or could inject a header is a ValueError."""
    with pytest.raises(ValueError, match="routing_id"):
        _request.build_list_request(settings(), "c", routing_id=routing_id)


def test_non_string_customer_id_is_a_type_error() -> None:
    """A customer id that is not a str is a TypeError, not silently str()-ed."""
    with pytest.raises(TypeError, match="customer_id must be a str"):
        _request.build_list_request(settings(), 123)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"offset": -1}, ValueError),
        ({"count": 0}, ValueError),
        ({"count": -5}, ValueError),
        ({"offset": True}, TypeError),
        ({"count": 2.5}, TypeError),
        ({"offset": "3"}, TypeError),
    ],
)
def test_bad_offset_or_count_is_refused(kwargs: dict[str, object], error: type[Exception]) -> None:
    """Negative offsets, counts below 1 and non-int values never reach the wire."""
    with pytest.raises(error):
        _request.build_list_request(settings(), "c", **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("base_url", "expected"),
    [
        ("https://sandbox.juspay.in/", "https://sandbox.juspay.in"),
        ("https://pay.example.com/juspay", "https://pay.example.com/juspay"),
        ("https://pay.example.com/juspay/", "https://pay.example.com/juspay"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_base_url_keeps_its_path_prefix(base_url: str, expected: str) -> None:
    """Any base URL works, a white-label path prefix included; a trailing slash is dropped."""
    request = _request.build_list_request(settings(base_url=base_url), "c")
    assert f"{expected}/customers/c/customer-accounts/list" == str(request.url)


@pytest.mark.parametrize(
    "base_url",
    ["sandbox.juspay.in", "ftp://sandbox.juspay.in", "https://", "https://h/?x=1", "https://u:p@h"],
)
def test_unusable_base_url_is_refused(base_url: str) -> None:
    """A base URL without http(s) and a host, or with a query or credentials, is refused."""
    with pytest.raises(ValueError, match="base_url"):
        settings(base_url=base_url)


@pytest.mark.parametrize("api_key", ["", "   ", "sk_9QzT4vLp\n"])
def test_unusable_api_key_is_refused_without_echoing_it(api_key: str) -> None:
    """An empty key or one with a stray newline is refused, and the message omits the key."""
    with pytest.raises(ValueError, match="api_key") as info:
        settings(api_key=api_key)
    if api_key.strip():
        assert api_key.strip() not in str(info.value)


def test_reprs_hide_the_authorization_header() -> None:
    """Neither Settings nor Request shows the credentials in its repr."""
    request = _request.build_list_request(settings(), "c")
    token = request.headers["Authorization"]
    for value in (settings(), request):
        assert token not in repr(value)
        assert KEY not in repr(value)
        assert "<redacted>" in repr(value)
    # The key's forms the transport searches answers for: neither the key nor its base64.
    shown = repr(request.secrets) + repr(settings().secrets) + str(request.secrets)
    assert [] == [form for form in (KEY, token.split()[1].rstrip("=")) if form in shown]
    assert "Secrets(<2 forms of the key>)" == repr(request.secrets)
