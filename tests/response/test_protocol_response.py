"""The sans-I/O response decoder: documented bodies, lenient and strict cases, every error shape."""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import json
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict

import juspay_accounts as ja
from juspay_accounts import _response

DATA = Path(__file__).parents[1] / "data"
HEADERS = CIMultiDict({"x-request-id": "hdr-req-1", "Content-Type": "application/json"})
UTC = dt.UTC


# Every case runs with orjson and on the stdlib path (the json_path fixture, conftest.py).
pytestmark = pytest.mark.usefixtures("json_path")


def body_of(name: str) -> Any:  # noqa: ANN401 - JSON
    """A JSON body from tests/data."""
    return json.loads((DATA / name).read_text())


def decode(data: Any, status: int = 200) -> ja.AccountPage:  # noqa: ANN401 - JSON
    """Decode ``data`` (JSON-encoded here) as a list answer."""
    return _response.decode_list_response(status, HEADERS, json.dumps(data).encode())


def account_json(**changes: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON
    """The seed's first account with ``changes`` applied (a value of ... deletes the key)."""
    account: dict[str, Any] = copy.deepcopy(body_of("seed_200.json")["list"][0])
    for key, value in changes.items():
        if value is ...:
            account.pop(key, None)
        else:
            account[key] = value
    return account


def page_with(*accounts: Any, **envelope: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON
    """An envelope around ``accounts``."""
    return {
        "list": list(accounts),
        "offset": 0,
        "count": len(accounts),
        "total": len(accounts),
    } | envelope


# -- success -------------------------------------------------------------------


def test_seed_success_body_becomes_typed_page() -> None:
    """Juspay's reference 200 body decodes field by field into the models."""
    page = decode(body_of("seed_200.json"))
    assert (0, 2, 2, False) == (page.offset, page.count, page.total, page.has_more)
    first, second = page.accounts
    assert (
        ja.CustomerAccount(
            customer_account_id="banh_7BQaxZdn3UnC8CoF",
            customer_id="cst_zqqmw0v4exbhvv2l",
            account_details=ja.AccountDetails(vpa="4225246777@yesg"),
            validation_status=ja.ValidationStatus.ACTIVE,
            date_created=dt.datetime(2023, 6, 6, 13, 29, 49, tzinfo=UTC),
            currency="INR",
            validation_amount=decimal.Decimal(1),
            last_validated=dt.datetime(2023, 6, 6, 13, 29, 53, tzinfo=UTC),
        )
        == first
    )
    assert ja.ValidationStatus.PENDING is second.validation_status
    assert "banh_uninwyie1d85C5cQ" == second.customer_account_id


def test_bank_account_with_numeric_bank_code_and_string_numbers() -> None:
    """Strings-as-numbers and numbers-as-strings are both accepted, as Juspay sends both."""
    page = decode(body_of("bank_account_page.json"))
    assert (0, 1, 1) == (page.offset, page.count, page.total)
    (account,) = page.accounts
    assert (
        ja.BankAccount(
            account="026291800001191",
            name="test",
            ifsc="AABF0008032",
            juspay_bank_code="12",
            bank_name="SBI",
        )
        == account.account_details.bank_account
    )
    assert account.account_details.vpa is None
    assert decimal.Decimal("1.00") == account.validation_amount
    assert account.last_validated is None


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        (1, decimal.Decimal(1)),
        ("1.00", decimal.Decimal("1.00")),
        (1.1, decimal.Decimal("1.1")),
        (" 2.50 ", decimal.Decimal("2.50")),
        (None, None),
    ],
)
def test_validation_amount_is_decimal_never_float(sent: object, expected: object) -> None:
    """Money becomes an exact Decimal from numbers and strings; null stays None."""
    (account,) = decode(page_with(account_json(validation_amount=sent))).accounts
    assert expected == account.validation_amount
    assert not isinstance(account.validation_amount, float)


def test_missing_validation_amount_and_currency_are_none() -> None:
    """Optional fields may be left out entirely."""
    (account,) = decode(page_with(account_json(validation_amount=..., currency=...))).accounts
    assert (None, None) == (account.validation_amount, account.currency)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("2023-06-06T13:29:53Z", dt.datetime(2023, 6, 6, 13, 29, 53, tzinfo=UTC)),
        ("2023-06-06T13:29:53", dt.datetime(2023, 6, 6, 13, 29, 53, tzinfo=UTC)),
        (
            "2023-06-06T19:00:00+05:30",
            dt.datetime(2023, 6, 6, 19, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))),
        ),
        (None, None),
        ("", None),
        (..., None),
    ],
)
def test_last_validated_is_aware_and_may_be_missing(sent: object, expected: object) -> None:
    """last_validated is timezone-aware (UTC when no offset is given), or None when absent."""
    (account,) = decode(page_with(account_json(last_validated=sent))).accounts
    assert expected == account.last_validated
    if account.last_validated is not None:
        assert account.last_validated.tzinfo is not None


def test_legacy_key_with_trailing_space_is_understood() -> None:
    """The predecessor API's "last_validated " key is read as last_validated."""
    raw = account_json(last_validated=...)
    raw["last_validated "] = "2023-06-06T13:29:53Z"
    (account,) = decode(page_with(raw)).accounts
    assert dt.datetime(2023, 6, 6, 13, 29, 53, tzinfo=UTC) == account.last_validated


def test_unknown_keys_are_ignored_at_every_level() -> None:
    """New fields Juspay adds anywhere do not break decoding."""
    raw = account_json(new_field={"x": 1}, account_details={"vpa": "a@b", "upi_app": "gpay"})
    data = page_with(raw, has_more=True, next_cursor="abc")
    (account,) = decode(data).accounts
    assert "a@b" == account.account_details.vpa


def test_unknown_validation_status_is_kept_as_plain_string() -> None:
    """A status Juspay adds later stays a string that compares equal to its value."""
    (account,) = decode(page_with(account_json(validation_status="EXPIRED"))).accounts
    assert "EXPIRED" == account.validation_status
    assert not isinstance(account.validation_status, ja.ValidationStatus)


@pytest.mark.parametrize("status", ["CREATED", "ACTIVE", "PENDING", "FAILURE"])
def test_known_statuses_are_enum_members(status: str) -> None:
    """The four documented statuses become ValidationStatus members."""
    (account,) = decode(page_with(account_json(validation_status=status))).accounts
    assert ja.ValidationStatus(status) is account.validation_status


@pytest.mark.parametrize(
    ("envelope", "expected"),
    [
        ({"offset": "10", "count": "2", "total": "30"}, (10, 2, 30, True)),
        ({"offset": 10.0, "count": 1, "total": 11}, (10, 1, 11, False)),
        ({"offset": None, "count": None, "total": None}, (0, 1, 1, False)),
    ],
)
def test_envelope_numbers_as_strings_or_missing(
    envelope: dict[str, Any], expected: tuple[int, int, int, bool]
) -> None:
    """offset/count/total arrive as numbers or strings; missing ones get safe defaults."""
    page = decode(page_with(account_json(), **envelope))
    assert expected == (page.offset, page.count, page.total, page.has_more)


def test_missing_offset_defaults_to_the_offset_sent() -> None:
    """Without offset in the body, the page is placed where the request asked."""
    data = {"list": [account_json()]}
    page = _response.decode_list_response(200, HEADERS, json.dumps(data).encode(), offset_sent=5)
    assert (5, 1, 6, False) == (page.offset, page.count, page.total, page.has_more)


def test_empty_list_never_claims_more() -> None:
    """An empty page has has_more False even when total is larger."""
    page = decode({"list": [], "offset": 0, "count": 0, "total": 9})
    assert () == page.accounts
    assert not page.has_more


# -- strict: malformed success bodies -----------------------------------------


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"", "the body is empty @ $"),
        (b"<html>oops</html>", "the body is not JSON @ $"),
        (b"\xff\xfe\x00", "the body is not JSON @ $"),
        (b"[1, 2]", "expected a JSON object, got list @ $"),
        (b'"list"', "expected a JSON object, got str @ $"),
        (b'{"offset": 0}', "required field missing @ $.list"),
        (b'{"list": null}', "required field missing @ $.list"),
        (b'{"list": {"a": 1}}', "expected a JSON array @ $.list"),
        (b"[" * 100_000, "nested too deeply"),
        (b'{"list": []} {"list": []}', "the body is not JSON @ $"),
        (b'{"list": []}\n]', "the body is not JSON @ $"),
    ],
)
def test_unreadable_success_body_raises_response_validation_error(
    body: bytes, fragment: str
) -> None:
    """A 200 that is not the documented envelope raises ResponseValidationError naming the path."""
    with pytest.raises(ja.ResponseValidationError) as info:
        _response.decode_list_response(200, HEADERS, body)
    assert fragment in str(info.value)
    assert "hdr-req-1" == info.value.request_id
    assert 200 == info.value.status


@pytest.mark.parametrize(
    "body", [b' \r\n{"list": []}', b'{"list": []}\r\n \t', b'\n{"list": []}\n']
)
def test_white_space_around_the_body_is_read(body: bytes, json_path: str) -> None:
    """JSON white space before or after the object is allowed, on both decoding paths."""
    page = _response.decode_list_response(200, HEADERS, body)
    assert ((), 0, 0) == (page.accounts, page.offset, page.total), json_path


def test_bad_account_error_names_its_path() -> None:
    """A broken field deep in the list is reported as $.list[3].<field>."""
    accounts = [account_json(customer_account_id=f"banh_{i}") for i in range(5)]
    accounts[3]["date_created"] = "yesterday"
    with pytest.raises(ja.ResponseValidationError) as info:
        decode(page_with(*accounts))
    assert (
        "expected an ISO-8601 timestamp, got 'yesterday' @ $.list[3].date_created",
    ) == info.value.errors
    assert "$.list[3].date_created" in str(info.value)
    assert "hdr-req-1" in str(info.value)


@pytest.mark.parametrize(
    ("account", "path"),
    [
        (
            account_json(customer_account_id=...),
            "required field missing @ $.list[0].customer_account_id",
        ),
        (account_json(customer_account_id=None), "$.list[0].customer_account_id"),
        (account_json(customer_id=True), "$.list[0].customer_id"),
        (account_json(account_details="upi"), "$.list[0].account_details"),
        (
            account_json(account_details={"bank_account": {"name": "x"}}),
            "$.list[0].account_details.bank_account.account",
        ),
        (account_json(validation_amount="lots"), "$.list[0].validation_amount"),
        (account_json(validation_amount="NaN"), "$.list[0].validation_amount"),
        (account_json(validation_amount="Infinity"), "$.list[0].validation_amount"),
        (account_json(validation_amount=False), "$.list[0].validation_amount"),
        (account_json(validation_status=7), "$.list[0].validation_status"),
        (account_json(date_created=1686058189), "$.list[0].date_created"),
        (account_json(date_created=...), "$.list[0].date_created"),
        ("not an account", "expected a JSON object for an account, got str @ $.list[0]"),
        (None, "$.list[0]"),
    ],
)
def test_strict_where_it_matters(account: Any, path: str) -> None:  # noqa: ANN401 - JSON
    """Missing ids, wrong types (None never becomes 'None') and bad values name their path."""
    with pytest.raises(ja.ResponseValidationError) as info:
        decode(page_with(account))
    assert any(path in error for error in info.value.errors), info.value.errors


@pytest.mark.parametrize("key", ["offset", "count", "total"])
@pytest.mark.parametrize("value", [-1, "ten", 1.5, True, [1]])
def test_bad_envelope_numbers_are_refused(key: str, value: object) -> None:
    """offset/count/total that are not non-negative whole numbers name their path."""
    with pytest.raises(ja.ResponseValidationError, match=rf"@ \$\.{key}"):
        decode(page_with(account_json(), **{key: value}))


def test_many_bad_accounts_are_summarised() -> None:
    """With many failures the message lists five and counts the rest; errors holds all."""
    with pytest.raises(ja.ResponseValidationError) as info:
        decode(page_with(*[account_json(customer_account_id=...)] * 8))
    assert 8 == len(info.value.errors)
    assert "and 3 more" in str(info.value)


# -- errors ---------------------------------------------------------------------


def error(status: int, body: bytes | str, **headers: str) -> ja.APIError:
    """Decode a non-2xx answer and return the exception it raises."""
    raw = body.encode() if isinstance(body, str) else body
    with pytest.raises(ja.APIError) as info:
        _response.decode_list_response(status, CIMultiDict(headers), raw)
    return info.value


def test_seed_401_becomes_authentication_error() -> None:
    """The reference 401 body fills every field of AuthenticationError."""
    exc = error(401, (DATA / "seed_401.json").read_text(), **{"x-request-id": "hdr"})
    assert type(exc) is ja.AuthenticationError
    assert (401, "access_denied", "UNAUTHORIZED", "USER_ERROR") == (
        exc.status,
        exc.error_code,
        exc.code,
        exc.category,
    )
    assert "Unauthorized." == exc.user_message
    assert "Invalid API Key. Please pass a valid and active api key." == exc.developer_message
    assert "b2e0fd33-7655-4778-83a8-5179ed21b0b7" == exc.request_id
    assert (
        "HTTP 401 access_denied/UNAUTHORIZED: Invalid API Key. Please pass a valid and active "
        "api key. (request id b2e0fd33-7655-4778-83a8-5179ed21b0b7) - Check the API key, and "
        "that it belongs to this environment (a sandbox key does not work in production)."
    ) == str(exc)


def test_seed_404_becomes_not_found_error() -> None:
    """The reference 404 body becomes NotFoundError with its messages and request id."""
    exc = error(404, (DATA / "seed_404.json").read_text())
    assert type(exc) is ja.NotFoundError
    assert ("object_not_found", "RESOURCE_NOT_FOUND") == (exc.error_code, exc.code)
    assert "Cannot find what you are looking for" == exc.error_message
    assert "Customer account not found." == exc.developer_message
    assert "bfd8b9e6-45a8-4b41-a554-de6e435ffc36" == exc.request_id


def test_400_with_fields_becomes_bad_request_error() -> None:
    """A 400 lists the invalid fields, in the exception and in its message."""
    exc = error(400, (DATA / "error_400_fields.json").read_text(), **{"x-request-id": "r400"})
    assert type(exc) is ja.BadRequestError
    assert (ja.ErrorField(name="mobile_number", reason="Invalid value."),) == exc.fields
    assert ("INVALID_INPUT", "Invalid Request") == (exc.code, exc.error_code)
    assert "r400" == exc.request_id
    assert "mobile_number: Invalid value." in str(exc)


def test_403_bad_origin_shape_becomes_permission_denied() -> None:
    """The 403 shape with top-level user_message and error: true is understood."""
    exc = error(403, (DATA / "error_403_bad_origin.json").read_text(), **{"x-request-id": "r403"})
    assert type(exc) is ja.PermissionDeniedError
    assert ("BAD_ORIGIN", "USER_ERROR", "Bad Origin.") == (exc.code, exc.category, exc.user_message)
    assert "Internal Server error." == exc.error_message
    assert "r403" == exc.request_id


@pytest.mark.parametrize(
    ("status", "body", "cls", "error_code"),
    [
        (
            401,
            '{"status":"error","error_code":"access_denied"}',
            ja.AuthenticationError,
            "access_denied",
        ),
        (
            401,
            '{"status":"invalid_request_error","error_code":"missing_authentication"}',
            ja.AuthenticationError,
            "missing_authentication",
        ),
    ],
)
def test_legacy_bodies_without_error_info(
    status: int, body: str, cls: type[ja.APIError], error_code: str
) -> None:
    """Old shapes without error_info still give the class and error_code."""
    exc = error(status, body, **{"x-request-id": "legacy"})
    assert type(exc) is cls
    assert error_code == exc.error_code
    assert (None, None, "legacy") == (exc.code, exc.developer_message, exc.request_id)
    assert f"HTTP {status} {error_code}" in str(exc)


@pytest.mark.parametrize(
    ("status", "body", "content"),
    [
        (502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "502 Bad Gateway"),
        (503, "Service Temporarily Unavailable", "Service Temporarily Unavailable"),
        (504, "", ""),
        (500, '{"error_info": "not an object", "error_code": 5}', "error_code"),
    ],
)
def test_proxy_bodies_become_server_errors(status: int, body: str, content: str) -> None:
    """HTML, text, empty and odd JSON bodies from proxies become ServerError with the body kept."""
    exc = error(status, body, **{"x-request-id": "edge"})
    assert type(exc) is ja.ServerError
    assert status == exc.status
    assert body == exc.body
    assert content in str(exc)
    assert "edge" == exc.request_id
    assert "\n" not in str(exc)


@pytest.mark.parametrize("status", [402, 405, 409, 418, 422])
def test_other_statuses_are_plain_api_errors(status: int) -> None:
    """A non-2xx status without its own class is a plain APIError."""
    assert type(error(status, "{}")) is ja.APIError


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_redirects_are_errors_not_followed(status: int) -> None:
    """A redirect is an APIError that names the target and says why it was not followed."""
    exc = error(status, "", Location="https://elsewhere.example/steal")
    assert type(exc) is ja.APIError
    assert "https://elsewhere.example/steal" in str(exc)
    assert "not followed" in str(exc)


def test_body_is_cut_to_a_sane_length() -> None:
    """A huge error body is kept only up to the limit."""
    exc = error(502, "x" * 100_000)
    assert 2048 == len(exc.body)
    assert len(str(exc)) < 500


def test_body_request_id_wins_over_header() -> None:
    """error_info.request_id is preferred; the x-request-id header is the fallback."""
    body = (DATA / "seed_404.json").read_text()
    assert (
        "bfd8b9e6-45a8-4b41-a554-de6e435ffc36"
        == error(404, body, **{"x-request-id": "h"}).request_id
    )
    assert "h" == error(404, "{}", **{"x-request-id": "h"}).request_id
    assert error(404, "{}").request_id is None


def test_rate_limit_carries_retry_after_seconds() -> None:
    """A 429 with Retry-After in seconds carries retry_after and says when to come back."""
    exc = error(429, "", **{"Retry-After": "7"})
    assert type(exc) is ja.RateLimitError
    assert 7.0 == exc.retry_after
    assert "Retry after 7 s." in str(exc)
    assert error(429, "").retry_after is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", None),
        ("-5", None),
        ("soon", None),
        ("nan", None),
        (None, None),
    ],
)
def test_parse_retry_after_both_forms(value: str | None, expected: float | None) -> None:
    """Retry-After is read as delta-seconds or an HTTP-date relative to now; the past is ignored."""
    now = dt.datetime(2015, 10, 21, 7, 28, tzinfo=UTC)
    assert expected == _response.parse_retry_after(value, now=now)


def test_both_json_paths_agree() -> None:
    """The stdlib path and the optional orjson parser give the same pages and errors."""
    raw = (DATA / "seed_200.json").read_bytes()
    assert decode(body_of("seed_200.json")) == _response.decode_list_response(200, HEADERS, raw)
    for body in (b'{"list": [], "total": NaN}', b"[" * 5000, b"\xff", b"{"):
        with pytest.raises(ja.ResponseValidationError):
            _response.decode_list_response(200, HEADERS, body)
