"""The models' ``to_dict()``: JSON-ready values under Juspay's keys, read back by the decoder."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import juspay_accounts as ja
from juspay_accounts._converter import make_converter
from juspay_accounts._response import decode_list_response

TEXT = st.text(min_size=1, max_size=12)
MOMENTS = st.datetimes(
    min_value=dt.datetime(1971, 1, 1),  # noqa: DTZ001 - the zone comes from `timezones`
    max_value=dt.datetime(9998, 12, 31),  # noqa: DTZ001
    timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30))]),
)
AMOUNTS = st.decimals(
    min_value=-(10**11), max_value=10**11, places=4, allow_nan=False, allow_infinity=False
)
BANKS = st.builds(
    ja.BankAccount,
    account=TEXT,
    name=st.none() | TEXT,
    ifsc=st.none() | TEXT,
    juspay_bank_code=st.none() | TEXT,
    bank_name=st.none() | TEXT,
)
ACCOUNTS = st.builds(
    ja.CustomerAccount,
    customer_account_id=TEXT,
    customer_id=TEXT,
    account_details=st.builds(ja.AccountDetails, vpa=TEXT, bank_account=st.none())
    | st.builds(ja.AccountDetails, vpa=st.none(), bank_account=BANKS),
    validation_status=st.sampled_from(ja.ValidationStatus) | st.just("EXPIRED"),
    date_created=MOMENTS,
    currency=st.none() | st.just("INR"),
    validation_amount=st.none() | AMOUNTS,
    last_validated=st.none() | MOMENTS,
)
PAGES = st.builds(
    ja.AccountPage,
    accounts=st.lists(ACCOUNTS, max_size=4).map(tuple),
    offset=st.integers(0, 10**6),
    count=st.integers(0, 10**6),
    total=st.integers(0, 10**6),
)


def only_json_types(value: object) -> bool:
    """Whether ``value`` is made of str, int, bool, None, list and dict alone."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and only_json_types(v) for k, v in value.items())
    if isinstance(value, list):
        return all(only_json_types(item) for item in value)
    return value is None or type(value) in {str, int, bool}


def account(**changes: Any) -> ja.CustomerAccount:  # noqa: ANN401 - any field
    """A bank account of a customer, with ``changes``."""
    fields: dict[str, Any] = {
        "customer_account_id": "banh_1",
        "customer_id": "cst_1",
        "account_details": ja.AccountDetails(
            bank_account=ja.BankAccount(account="576100835336254", juspay_bank_code="12")
        ),
        "validation_status": ja.ValidationStatus.PENDING,
        "date_created": dt.datetime(
            2023, 6, 6, 18, 59, 49, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))
        ),
        "currency": "INR",
        "validation_amount": decimal.Decimal("1E+2"),
    }
    return ja.CustomerAccount(**(fields | changes))


@given(page=PAGES)
def test_a_pages_dict_decodes_to_an_equal_page(page: ja.AccountPage) -> None:
    """A page's dict, sent as Juspay's body, is read back by the library into an equal page."""
    data = page.to_dict()
    assert only_json_types(data)
    assert page == decode_list_response(200, {}, json.dumps(data).encode())
    # The library's own converter writes the same: one set of hooks for both.
    assert data == make_converter().unstructure(page)


def test_an_accounts_dict_has_juspays_keys_and_plain_values() -> None:
    """Money is a decimal string, times ISO-8601 in UTC, the status its text, no None details."""
    expected = {
        "customer_account_id": "banh_1",
        "customer_id": "cst_1",
        "account_details": {
            "bank_account": {
                "account": "576100835336254",
                "name": None,
                "ifsc": None,
                "juspay_bank_code": "12",
                "bank_name": None,
            }
        },
        "validation_status": "PENDING",
        "date_created": "2023-06-06T13:29:49Z",
        "currency": "INR",
        "validation_amount": "100",
        "last_validated": None,
        "object": "customer_account",
    }
    assert expected == account().to_dict()
    assert {"vpa": "a@upi"} == account(account_details=ja.AccountDetails(vpa="a@upi")).to_dict()[
        "account_details"
    ]
    assert "EXPIRED" == account(validation_status="EXPIRED").to_dict()["validation_status"]


@pytest.mark.parametrize(
    "result",
    [
        ja.CustomerResult("cst_1", (account(),)),
        ja.CustomerResult("cst_2", ()),
        ja.CustomerResult("cst_3", (), ja.APITimeoutError("timed out")),
    ],
)
def test_a_customer_results_dict_can_be_dumped(result: ja.CustomerResult) -> None:
    """Every result, failed or not, becomes JSON through ``json.dumps``."""
    data = result.to_dict()
    assert only_json_types(data)
    assert data == json.loads(json.dumps(data))
    assert ("ok" if result.ok else "failed") == data["status"]


def test_a_failed_results_dict_says_what_failed() -> None:
    """The error's class, message, status, code and request id; the accounts an empty list."""
    error = ja.NotFoundError(status=404, code="RESOURCE_NOT_FOUND", request_id="req_1")
    data = ja.CustomerResult("cst_9", (), error).to_dict()
    assert {
        "customer_id": "cst_9",
        "status": "failed",
        "accounts": [],
        "error": {
            "type": "NotFoundError",
            "message": str(error),
            "status": 404,
            "code": "RESOURCE_NOT_FOUND",
            "request_id": "req_1",
        },
    } == data


def test_a_fastapi_endpoint_returns_them() -> None:
    """FastAPI serialises what ``to_dict()`` gives without a model of its own."""
    from fastapi import FastAPI  # noqa: PLC0415 - only this test needs it
    from fastapi.testclient import TestClient  # noqa: PLC0415

    app = FastAPI()
    page = ja.AccountPage(accounts=(account(),), offset=0, count=1, total=1)

    @app.get("/page")
    def get_page() -> dict[str, Any]:
        return page.to_dict()

    with TestClient(app) as http:
        answer = http.get("/page")
    assert 200 == answer.status_code
    assert page == decode_list_response(200, {}, answer.content)
