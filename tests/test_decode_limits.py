"""Decoding a hostile page: bounded cost, bounded errors, money in range, one answer with or without orjson."""

from __future__ import annotations

import copy
import decimal
import json
import pickle
import time
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDict

import juspay_accounts as ja
from juspay_accounts import _protocol

DATA = Path(__file__).parent / "data"
HEADERS = CIMultiDict({"x-request-id": "hdr-req-1"})
SEED = json.loads((DATA / "seed_200.json").read_text())


def account_with(**changes: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON
    """The seed's first account with ``changes`` applied."""
    account: dict[str, Any] = copy.deepcopy(SEED["list"][0])
    return account | changes


def raw_page(*accounts: str) -> bytes:
    """A one-page envelope around account objects given as raw JSON text."""
    return b'{"list": [' + ",".join(accounts).encode() + b'], "offset": 0, "total": 1}'


# -- a malformed page fails fast and small (issue 10, item 2) ------------------------


def test_page_of_300k_empty_objects_is_refused_fast_with_bounded_errors() -> None:
    """300,000 `{}` items (<1 MiB) are refused in well under a second, keeping <=101 errors."""
    body = b'{"list": [' + b",".join([b"{}"] * 300_000) + b"]}"
    assert len(body) < 1024 * 1024
    started = time.perf_counter()
    with pytest.raises(ja.ResponseValidationError) as info:
        _protocol.decode_list_response(200, HEADERS, body)
    elapsed = time.perf_counter() - started
    exc = info.value
    # Today's main: about 15 s (160 s under tracemalloc) and 1,500,000 messages (200 MB).
    assert elapsed < 2.0, f"took {elapsed:.2f} s"
    assert len(exc.errors) <= 101
    assert "required field missing @ $.list[0].customer_account_id" == exc.errors[0]
    # The rest is counted, not listed.
    assert "299" in exc.errors[-1]
    assert exc.errors[-1].endswith("@ $.list")
    assert len(pickle.dumps(exc)) < 64 * 1024


def test_errors_below_the_cap_are_all_kept() -> None:
    """A page with a few bad accounts keeps every message, with no summary line."""
    accounts = [account_with(customer_account_id=None) for _ in range(30)]
    body = json.dumps({"list": accounts}).encode()
    with pytest.raises(ja.ResponseValidationError) as info:
        _protocol.decode_list_response(200, HEADERS, body)
    assert [f"$.list[{i}].customer_account_id" for i in range(30)] == [
        error.split(" @ ")[1] for error in info.value.errors
    ]


# -- money stays money (issue 10, item 3) ---------------------------------------------

BAD_AMOUNTS = [
    "1e999999999",
    "1E+12",
    "-1e999999999",
    '"1e999999999"',
    '"NaN"',
    '"nan"',
    '"-NaN"',
    '"sNaN"',
    '"Infinity"',
    '"-inf"',
    "1" * 300,
    '"' + "1" * 300 + '"',
    '"0.' + "1" * 300 + '"',
    "0." + "1" * 300,
    "1000000000000",
    "-1000000000000",
    '"1000000000000.00"',
    "1e12",
    '"1_000"',
    '"\u0661\u0662"',
    '"0x10"',
    '"1.00001"',
    "0.00001",
    '"1e-7"',
    '""',
    '" "',
]


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_amount_out_of_range_names_the_field(amount: str) -> None:
    """Non-finite, huge, over-precise or exotic amounts are refused, naming the field."""
    text = json.dumps(account_with(validation_amount=0))
    text = text.replace('"validation_amount": 0', f'"validation_amount": {amount}')
    with pytest.raises(ja.ResponseValidationError) as info:
        _protocol.decode_list_response(200, HEADERS, raw_page(text))
    message = " ".join(info.value.errors)
    assert "$.list[0].validation_amount" in message, info.value.errors


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("999999999999.99", decimal.Decimal("999999999999.99")),
        ('"999999999999.9999"', decimal.Decimal("999999999999.9999")),
        ("-999999999999", decimal.Decimal(-999999999999)),
        ('"1.000000"', decimal.Decimal(1)),
        ('"1e3"', decimal.Decimal(1000)),
        ("0.0001", decimal.Decimal("0.0001")),
        ('" 2.50 "', decimal.Decimal("2.50")),
        ("0", decimal.Decimal(0)),
    ],
)
def test_amount_in_range_is_kept_exactly(amount: str, expected: decimal.Decimal) -> None:
    """Amounts below 10**12 with at most four decimal places are kept exactly."""
    text = json.dumps(account_with(validation_amount=0))
    text = text.replace('"validation_amount": 0', f'"validation_amount": {amount}')
    (account,) = _protocol.decode_list_response(200, HEADERS, raw_page(text)).accounts
    assert expected == account.validation_amount
    assert f"{expected:.2f}" == f"{account.validation_amount:.2f}"


@pytest.mark.parametrize(
    "amount",
    [
        1e300,
        float("inf"),
        10**12,
        10**400,
        "1e999999999",
        "sNaN",
        "1" * 300,
        0.00001,
        "1.00001",
        999999999999.99,
        "12.5",
    ],
)
def test_fast_hook_and_detailed_converter_agree_on_amounts(amount: object) -> None:
    """The fast hook and the detailed converter accept and refuse the same amounts."""
    raw = account_with(validation_amount=amount)
    outcomes = []
    for hook in (_protocol._FAST, _protocol._DETAILED):
        try:
            outcomes.append(hook(raw, ja.CustomerAccount).validation_amount)
        except Exception:  # noqa: BLE001 - either hook may refuse; both must
            outcomes.append("refused")
    assert outcomes[0] == outcomes[1]


# -- one answer with or without orjson (issue 10, item 9) ------------------------------

BOM = b"\xef\xbb\xbf"


@pytest.fixture(params=["orjson", "stdlib"])
def json_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Decode with orjson, or force the stdlib path as a plain install has it."""
    if request.param == "orjson":
        orjson = pytest.importorskip("orjson")
        monkeypatch.setattr(_protocol, "_loads", orjson.loads)
    else:
        monkeypatch.setattr(_protocol, "_loads", _protocol._loads_stdlib)
    return str(request.param)


def outcome(body: bytes) -> object:
    """The page, or the error's class and messages."""
    try:
        return _protocol.decode_list_response(200, HEADERS, body)
    except ja.ResponseValidationError as exc:
        return (type(exc).__name__, exc.errors)


SEED_BYTES = (DATA / "seed_200.json").read_bytes()
PARITY_BODIES = [
    BOM + SEED_BYTES,
    SEED_BYTES.decode().encode("utf-16"),
    SEED_BYTES.decode().encode("utf-16-le"),
    SEED_BYTES.decode().encode("utf-32"),
    raw_page(json.dumps(account_with(customer_id="\\ud800")).replace("\\\\", "\\")),
    raw_page(json.dumps(account_with(customer_id="\\udc00")).replace("\\\\", "\\")),
    raw_page(json.dumps(account_with(customer_id="\U0001f600"))),
    b'{"list": [], "total": NaN}',
    b'{"list": [], "total": Infinity}',
    b'{"list": [], "total": 1e999}',
    b'{"list": [], "total": ' + b"9" * 25 + b"}",
    b'{"list": [], "total": ' + b"9" * 5000 + b"}",
    b'{"list": [], "total": 18446744073709551616}',
    b'{"list": [], "total": 1.5e3}',
    b'{"list": [], "offset": -0}',
]


def test_bom_is_read_on_both_paths(json_path: str) -> None:
    """A body that starts with a UTF-8 byte-order mark decodes as the same page on both paths."""
    assert outcome(SEED_BYTES) == outcome(BOM + SEED_BYTES), json_path


@pytest.mark.parametrize("body", PARITY_BODIES)
def test_stdlib_path_answers_as_orjson_does(body: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """Odd encodings, surrogates, NaN, huge numbers: the stdlib path answers as orjson does."""
    orjson = pytest.importorskip("orjson")
    monkeypatch.setattr(_protocol, "_loads", orjson.loads)
    with_orjson = outcome(body)
    monkeypatch.setattr(_protocol, "_loads", _protocol._loads_stdlib)
    assert with_orjson == outcome(body)
