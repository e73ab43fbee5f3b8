"""The request builder's checks word for word: what is refused, what passes, the exact request."""

from __future__ import annotations

import pytest
import yarl

import juspay_accounts as ja
from juspay_accounts import _config, _request

KEY = "test_key_5FA0B3C2D1E4"
AUTHORIZATION = "Basic dGVzdF9rZXlfNUZBMEIzQzJEMUU0Og=="
CONTROL = "must not contain control characters (such as CR or LF)"
CREDENTIALS = "base_url must not carry a query, a fragment or credentials"
RESERVED = "the client sends it itself; the API key is the client's (api_key=)"


def settings(base_url: object = "https://sandbox.juspay.in") -> _config.Settings:
    """Settings for the sandbox with the test key (``base_url`` overridable)."""
    return _config.make_settings(
        api_key=KEY,
        base_url=base_url,  # type: ignore[arg-type]  # a yarl.URL is accepted too
        user_agent="ua/1",
        merchant_id="m_1",
        api_version="2024-01-01",
    )


def refusal(error: type[Exception], call: object, *args: object, **kwargs: object) -> str:
    """The message of the ``error`` that ``call(*args, **kwargs)`` raises (without any hint)."""
    with pytest.raises(error) as info:
        call(*args, **kwargs)  # type: ignore[operator]
    return str(info.value.args[0])


def test_ids_with_spaces_and_other_harmless_characters_are_sent_as_they_are() -> None:
    """A space and a no-break space (U+00A0, not printable, not a control character) pass."""
    request = _request.build_list_request(settings(), "a b\u00a0c", routing_id="r \u00a0")
    assert "/customers/a%20b%C2%A0c/customer-accounts/list" == request.url.raw_path
    assert "r \u00a0" == request.headers["x-routing-id"]


@pytest.mark.parametrize("character", ["\x00", "\x1f", "\x7f", "\x9f"])
def test_the_edges_of_the_control_ranges_are_refused(character: str) -> None:
    """C0 up to U+001F, DEL, and C1 up to U+009F are control characters."""
    message = refusal(ja.InvalidInputError, _request.check_ids, f"c{character}", None)
    assert f"customer_id {CONTROL}: {f'c{character}'!r}" == message


def test_a_refused_id_is_quoted_to_its_first_60_characters() -> None:
    """The message quotes the first 60 characters of a long refused id, not more."""
    long_id = "x" * 70 + "\n"
    message = refusal(ja.InvalidInputError, _request.check_ids, long_id, None)
    assert f"customer_id {CONTROL}: {'x' * 60!r}" == message
    surrogate = "y" * 70 + "\udce9"
    message = refusal(ja.InvalidInputError, _request.check_ids, surrogate, None)
    assert message.endswith(f"command-line argument?): {'y' * 60!r}")


def test_a_bad_routing_id_is_named_as_such() -> None:
    """A routing id with a newline is refused under its own name."""
    message = refusal(ja.InvalidInputError, _request.check_ids, "c", "r\n")
    assert f"routing_id {CONTROL}: 'r\\n'" == message


@pytest.mark.parametrize(
    "base_url",
    ["https://user@h.example", "https://:pw@h.example", "https://h.example/#frag"],
)
def test_base_url_with_a_user_alone_or_a_fragment_alone_is_refused(base_url: str) -> None:
    """Each of a user name, a password and a fragment is enough to refuse a base URL."""
    assert CREDENTIALS == refusal(ValueError, settings, base_url)


def test_unparseable_base_url_is_refused_quoting_100_characters() -> None:
    """A URL yarl cannot parse is a ValueError quoting its first 100 characters."""
    assert "base_url is not a valid URL: 'http://[::1'" == refusal(
        ValueError, settings, "http://[::1"
    )
    long_url = "http://[::1" + "a" * 120
    assert f"base_url is not a valid URL: {long_url[:100]!r}" == refusal(
        ValueError, settings, long_url
    )
    long_ftp = "ftp://" + "h" * 120
    assert (
        f"base_url must be an http:// or https:// URL with a host, got {long_ftp[:100]!r}"
        == refusal(ValueError, settings, long_ftp)
    )


def test_base_url_may_be_a_yarl_url() -> None:
    """A yarl.URL is taken as its text (aiohttp users hold those)."""
    made = settings(yarl.URL("https://pay.example/juspay/"))
    assert "https://pay.example/juspay" == made.base_url
    request = _request.build_list_request(made, "c")
    assert "https://pay.example/juspay/customers/c/customer-accounts/list" == str(request.url)


def test_only_slashes_are_trimmed_from_the_base_url() -> None:
    """A prefix ending in a letter keeps it: only the trailing slash goes."""
    made = settings("https://pay.example/apiX/")
    assert "https://pay.example/apiX" == made.base_url
    request = _request.build_list_request(made, "c")
    assert "https://pay.example/apiX/customers/c/customer-accounts/list" == str(request.url)


def test_keep_reads_as_its_name() -> None:
    """The "leave as it is" default reads as KEEP in signatures and help()."""
    assert "KEEP" == repr(_config.KEEP)


def test_headers_that_are_not_a_mapping_are_a_type_error() -> None:
    """A list of pairs is refused naming what was given."""
    message = refusal(TypeError, _config.check_headers, [("X-A", "1")])
    assert "headers must be a mapping of str to str, got list" == message


@pytest.mark.parametrize(
    ("name", "shown"),
    [("Bad Name", "'Bad Name'"), ("X" * 70 + " ", repr("X" * 60)), (1, "1"), (b"X-A", "b'X-A'")],
)
def test_invalid_header_names_are_refused_word_for_word(name: object, shown: str) -> None:
    """A name is quoted as its repr, a str name cut to its first 60 characters."""
    message = refusal(ValueError, _config.check_headers, {name: "v"})
    assert f"{shown} is not a valid HTTP header name" == message


def test_reserved_header_is_refused_word_for_word() -> None:
    """Setting Authorization is refused with the documented explanation."""
    message = refusal(ValueError, _config.check_headers, {"Authorization": "Basic x"})
    assert f"headers cannot set Authorization: {RESERVED}" == message


def test_header_values_are_checked_word_for_word() -> None:
    """A value that is not a str, or holds a newline, is refused naming the header."""
    message = refusal(TypeError, _config.check_headers, {"X-A": 1})
    assert "header X-A must be a str, got int" == message
    message = refusal(ja.InvalidInputError, _config.check_headers, {"X-A": "a\nb"})
    assert f"header X-A {CONTROL}: 'a\\nb'" == message


def test_blank_header_values_are_passed_on() -> None:
    """An empty or white-space value is no control character: it is sent as given."""
    assert {"X-A": "", "X-B": " "} == _config.check_headers({"X-A": "", "X-B": " "})


def test_derived_settings_send_the_documented_header_names() -> None:
    """A replaced merchant id and API version go out as x-merchantid and version, as before."""
    derived = _config.derive_settings(settings(), merchant_id="m_2", api_version="2025-01-01")
    request = _request.build_list_request(derived, "c")
    assert {
        "Authorization": AUTHORIZATION,
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "User-Agent": "ua/1",
        "x-merchantid": "m_2",
        "version": "2025-01-01",
        "x-routing-id": "c",
    } == dict(request.headers)


@pytest.mark.parametrize("name", ["merchant_id", "api_version"])
def test_derived_settings_refuse_bad_ids_by_name(name: str) -> None:
    """A replaced merchant id or API version with a newline is refused under its name."""
    message = refusal(ja.InvalidInputError, _config.derive_settings, settings(), **{name: "v\n"})
    assert f"{name} {CONTROL}: 'v\\n'" == message
