"""The response decoder word for word: error fields, messages, number edges, the error cap."""

from __future__ import annotations

import copy
import datetime as dt
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict

import juspay_accounts as ja
from juspay_accounts import _response

DATA = Path(__file__).parents[1] / "data"
HEADERS = CIMultiDict({"x-request-id": "hdr-req-1"})
ACCOUNT: dict[str, Any] = json.loads((DATA / "seed_200.json").read_text())["list"][0]
MISSING_ID = "required field missing @ $.list[{}].customer_account_id"
REDIRECT = (
    "was not followed, so that the API key never leaves base_url: check base_url "
    "(https, the right host)"
)


# Every case runs with orjson and on the stdlib path (the json_path fixture, conftest.py).
pytestmark = pytest.mark.usefixtures("json_path")


def account(**changes: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON
    """The seed's first account with ``changes`` applied (a value of ... deletes the key)."""
    made = copy.deepcopy(ACCOUNT)
    for key, value in changes.items():
        if value is ...:
            made.pop(key)
        else:
            made[key] = value
    return made


def refused(items: list[Any], status: int = 200) -> ja.ResponseValidationError:
    """The error a page holding ``items`` is refused with."""
    body = json.dumps({"list": items}).encode()
    with pytest.raises(ja.ResponseValidationError) as info:
        _response.decode_list_response(status, HEADERS, body)
    return info.value


def api_error(status: int, body: bytes = b"", **headers: str) -> ja.APIError:
    """The error a non-2xx answer becomes."""
    return _response.decode_error(status, CIMultiDict(headers), body)


# -- error answers ------------------------------------------------------------------


def test_numbers_in_an_error_body_are_kept_as_text_and_booleans_are_not() -> None:
    """A numeric code reads as its digits; true/false are no text and read as None."""
    body = {
        "error_code": 404,
        "error_message": True,
        "error_info": {"code": 1.5, "category": False, "request_id": 77},
    }
    error = api_error(404, json.dumps(body).encode())
    assert ("404", None, "1.5", None, "77") == (
        error.error_code,
        error.error_message,
        error.code,
        error.category,
        error.request_id,
    )


@pytest.mark.parametrize(
    "date", ["Wed, 21 Oct 2015 07:28:00 GMT", "Wed, 21 Oct 2015 07:28:00 -0000"]
)
def test_retry_after_date_is_measured_from_the_clock_given(date: str) -> None:
    """An HTTP-date is seconds from ``now``; a date without a zone (-0000) is read as UTC."""
    now = dt.datetime(2015, 10, 21, 7, 27, 0, tzinfo=dt.UTC)
    error = _response.decode_error(429, CIMultiDict({"Retry-After": date}), b"", now=now)
    assert 60.0 == error.retry_after
    assert 60.0 == _response.parse_retry_after(date, now=now)


@pytest.mark.parametrize("status", [300, 399])
def test_the_whole_redirect_range_is_refused_with_its_target(status: int) -> None:
    """300 to 399 each name the target and say why it was not followed."""
    error = api_error(status, Location="https://elsewhere.example/x")
    assert f"HTTP {status} redirect to 'https://elsewhere.example/x' {REDIRECT}" == error.args[0]


def test_redirect_without_a_target_or_with_a_long_one() -> None:
    """No Location reads as ''; a long one is quoted to its first 200 characters."""
    assert f"HTTP 302 redirect to '' {REDIRECT}" == api_error(302).args[0]
    target = "https://elsewhere.example/" + "a" * 300
    error = api_error(301, Location=target)
    assert f"HTTP 301 redirect to {target[:200]!r} {REDIRECT}" == error.args[0]


@pytest.mark.parametrize(
    ("status", "kind"),
    [(499, ja.APIError), (500, ja.ServerError), (599, ja.ServerError), (600, ja.APIError)],
)
def test_server_errors_are_exactly_the_5xx_range(status: int, kind: type[ja.APIError]) -> None:
    """Only 500 to 599 are ServerError (retried); a status beyond is a plain APIError."""
    assert kind is type(api_error(status))


def test_an_error_body_keeps_body_limit_characters_of_any_width() -> None:
    """``body`` keeps BODY_LIMIT characters, even of three- or four-byte UTF-8, and no more."""
    for char in ("€", "\U0001f600", "a"):
        body = (char * 3000).encode()
        assert char * 2048 == api_error(500, body).body, char


# -- pages that cannot be read -------------------------------------------------------


def test_five_errors_are_all_shown_a_sixth_is_counted() -> None:
    """The message lists up to five errors joined by '; ', then counts the rest."""
    five = refused([account(customer_account_id=...)] * 5, status=201)
    shown = "; ".join(MISSING_ID.format(i) for i in range(5))
    assert f"HTTP 201 answer could not be read: {shown}" == five.args[0]
    assert 201 == five.status
    assert "hdr-req-1" == five.request_id
    six = refused([account(customer_account_id=...)] * 6)
    assert f"HTTP 200 answer could not be read: {shown}; and 1 more" == six.args[0]


def test_a_good_account_before_a_bad_one_is_checked_once() -> None:
    """Each account is looked at once: one error for the one bad account, nothing else."""
    error = refused([account(), account(customer_account_id=...), account()])
    assert (MISSING_ID.format(1),) == error.errors


def test_exactly_100_errors_are_kept_without_a_summary() -> None:
    """A page with 100 bad accounts, all checked, lists 100 errors and nothing more."""
    error = refused([account(customer_account_id=...)] * 100)
    assert tuple(MISSING_ID.format(i) for i in range(100)) == error.errors


def test_checking_stops_at_100_errors_and_says_how_many_were_left() -> None:
    """At 100 errors the rest of the page is counted, not checked."""
    error = refused([account(customer_account_id=...)] * 101)
    assert 101 == len(error.errors)
    assert "stopped after 100 errors: 1 of 101 accounts not checked @ $.list" == error.errors[-1]


def test_errors_beyond_100_are_counted_as_not_kept() -> None:
    """Errors past the 100th (two in the last account checked) are counted, not kept."""
    items = [account(customer_account_id=...)] * 99
    items += [account(customer_account_id=..., customer_id=...), account(), account()]
    error = refused(items)
    assert 101 == len(error.errors)
    assert "required field missing @ $.list[99].customer_account_id" == error.errors[99]
    assert (
        "stopped after 100 errors (1 more not kept): 2 of 102 accounts not checked @ $.list"
        == error.errors[-1]
    )


def test_the_fallback_to_the_detailed_decoder_is_logged_word_for_word(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The DEBUG record names the fast decoder's error type and nothing of the page."""
    caplog.set_level(logging.DEBUG, logger="juspay_accounts")
    refused([account(customer_id=None)])
    (record,) = (r for r in caplog.records if hasattr(r, "juspay_decoder_fallback"))
    assert (
        "the fast decoder refused a page (InvalidValueError); decoding it again in detail"
        == record.getMessage()
    )


# -- numbers at their edges -------------------------------------------------------------


def numeric_id_page(number: str) -> bytes:
    """A page whose one account has ``number`` (JSON text) as its id."""
    body = json.dumps({"list": [account(customer_account_id=0)]}).encode()
    return body.replace(b'"customer_account_id": 0', b'"customer_account_id": ' + number.encode())


@pytest.mark.parametrize(
    "number",
    [
        "18446744073709551615",  # the largest 64-bit unsigned
        "-9223372036854775808",  # the smallest 64-bit signed
        "-999999999999999999",
        "9999999999999999999",
        "10000000000000000000",
    ],
)
def test_whole_numbers_within_64_bits_are_kept_digit_for_digit(number: str) -> None:
    """A numeric account id within 64 bits reads as its exact digits, on both paths."""
    page = _response.decode_list_response(200, HEADERS, numeric_id_page(number))
    assert number == page.accounts[0].customer_account_id


@pytest.mark.parametrize(
    "number", ["18446744073709551616", "-9223372036854775809", "99999999999999999999"]
)
def test_whole_numbers_beyond_64_bits_are_floats_as_orjson_reads_them(number: str) -> None:
    """Beyond 64 bits a number is a float (as orjson reads it), which no id may be."""
    with pytest.raises(ja.ResponseValidationError) as info:
        _response.decode_list_response(200, HEADERS, numeric_id_page(number))
    assert ("expected a string, got float @ $.list[0].customer_account_id",) == info.value.errors


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        (999_999_999_999_999_999, 999_999_999_999_999_999),
        ("999999999999999999", 999_999_999_999_999_999),
    ],
)
def test_the_largest_count_is_read(total: object, expected: int) -> None:
    """A total just under 10**18, as a number or as 18 digits of text, is read."""
    body = json.dumps({"list": [], "total": total}).encode()
    assert expected == _response.decode_list_response(200, HEADERS, body).total


@pytest.mark.parametrize("key", ["offset", "count", "total"])
@pytest.mark.parametrize("value", [10**18, 1e18, "1000000000000000000"])
def test_a_count_of_10_to_the_18_is_refused(key: str, value: object) -> None:
    """10**18 and beyond is no real count: refused, naming the field."""
    body = json.dumps({"list": [], key: value}).encode()
    with pytest.raises(ja.ResponseValidationError) as info:
        _response.decode_list_response(200, HEADERS, body)
    assert (
        f"expected a non-negative whole number, got {value!r:.40} @ $.{key}",
    ) == info.value.errors


@pytest.mark.parametrize("after", ["\x0b", "\x0c", "\u00a0", "\u2028"])
def test_white_space_json_does_not_know_after_the_body_is_not_json(after: str) -> None:
    """Only space, tab, CR and LF may follow the value (as orjson reads it), not other spaces."""
    body = ('{"list": []}' + after).encode()
    with pytest.raises(ja.ResponseValidationError) as info:
        _response.decode_list_response(200, HEADERS, body)
    assert ("the body is not JSON @ $",) == info.value.errors


def test_a_lone_surrogate_escape_is_not_json() -> None:
    """A body whose string escapes to half a surrogate pair is refused on either path."""
    body = json.dumps({"list": [account(customer_id="\ud800")]}).encode()
    assert b"\\ud800" in body
    with pytest.raises(ja.ResponseValidationError) as info:
        _response.decode_list_response(200, HEADERS, body)
    assert ("the body is not JSON @ $",) == info.value.errors


@pytest.mark.parametrize("before", ["x", "[", ",", "\x0c"])
def test_one_stray_character_before_the_body_makes_it_not_json(before: str) -> None:
    """A page after anything but JSON white space is refused, not read from its second character."""
    body = (before + '{"list": []}').encode()
    with pytest.raises(ja.ResponseValidationError) as info:
        _response.decode_list_response(200, HEADERS, body)
    assert ("the body is not JSON @ $",) == info.value.errors
