"""The converters themselves: built by the factory in the test, the fast hook called directly.

The protocol tries the fast hook first and falls back to the detailed converter when it
raises, so a broken fast hook would still give right pages, only slower. These tests look
at each converter on its own, and check that well-formed pages never take the fallback.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cattrs
import pytest

import juspay_accounts as ja
from juspay_accounts import _response
from juspay_accounts._converter import (
    InvalidValueError,
    OutOfRangeNumber,
    _fast_account_hook,
    _strip_keys,
    describe_errors,
    make_converter,
)

if TYPE_CHECKING:
    from collections.abc import Callable

DATA = Path(__file__).parents[1] / "data"
IST = dt.timezone(dt.timedelta(hours=5, minutes=30))

FULL: dict[str, Any] = {
    "customer_account_id": "banh_1",
    "customer_id": "cst_1",
    "account_details": {
        "bank_account": {
            "account": "026291800001191",
            "name": "Asha",
            "ifsc": "AABF0008032",
            "juspay_bank_code": 12,
            "bank_name": "SBI",
        }
    },
    "validation_status": "ACTIVE",
    "date_created": "2023-06-06T13:29:49Z",
    "currency": "INR",
    "validation_amount": "1.00",
    "last_validated": "2023-06-06T13:29:53+05:30",
}
FULL_EXPECTED = ja.CustomerAccount(
    customer_account_id="banh_1",
    customer_id="cst_1",
    account_details=ja.AccountDetails(
        bank_account=ja.BankAccount(
            account="026291800001191",
            name="Asha",
            ifsc="AABF0008032",
            juspay_bank_code="12",
            bank_name="SBI",
        )
    ),
    validation_status=ja.ValidationStatus.ACTIVE,
    date_created=dt.datetime(2023, 6, 6, 13, 29, 49, tzinfo=dt.UTC),
    currency="INR",
    validation_amount=decimal.Decimal("1.00"),
    last_validated=dt.datetime(
        2023, 6, 6, 13, 29, 53, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))
    ),
)
MINIMAL: dict[str, Any] = {
    "customer_account_id": "upi_1",
    "customer_id": "cst_1",
    "account_details": {"vpa": "asha@upi"},
    "validation_status": "PENDING",
    "date_created": "2023-06-06T13:29:49",
}
MINIMAL_EXPECTED = ja.CustomerAccount(
    customer_account_id="upi_1",
    customer_id="cst_1",
    account_details=ja.AccountDetails(vpa="asha@upi"),
    validation_status=ja.ValidationStatus.PENDING,
    date_created=dt.datetime(2023, 6, 6, 13, 29, 49, tzinfo=dt.UTC),
)


def detailed_hook() -> Callable[[Any, type[ja.CustomerAccount]], ja.CustomerAccount]:
    """The reference hook, from a converter built now."""
    return make_converter(detailed_validation=True).get_structure_hook(ja.CustomerAccount)


def fast_converter_hook() -> Callable[[Any, type[ja.CustomerAccount]], ja.CustomerAccount]:
    """The fast hook as the fast converter registers it, built now."""
    return make_converter(detailed_validation=False).get_structure_hook(ja.CustomerAccount)


BUILDERS = pytest.mark.parametrize(
    "build",
    [detailed_hook, fast_converter_hook, _fast_account_hook],
    ids=["detailed", "fast converter", "fast hook"],
)


def with_(base: dict[str, Any], **changes: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON values
    """A copy of ``base`` with top-level keys changed (a value of ``...`` removes the key)."""
    return {k: v for k, v in (base | changes).items() if v is not ...}


def details(**bank: Any) -> dict[str, Any]:  # noqa: ANN401 - JSON values
    """FULL with its bank account's keys changed (``...`` removes one)."""
    account = with_(FULL["account_details"]["bank_account"], **bank)
    return with_(FULL, account_details={"bank_account": account})


@BUILDERS
def test_full_account(build: Callable[[], Any]) -> None:
    """Every field is read, with its documented type: Decimal money, aware timestamps."""
    account = build()(FULL, ja.CustomerAccount)
    assert FULL_EXPECTED == account
    assert type(account.validation_amount) is decimal.Decimal
    assert type(account.validation_status) is ja.ValidationStatus
    assert dt.timedelta(hours=5, minutes=30) == account.last_validated.utcoffset()


@BUILDERS
def test_minimal_upi_account(build: Callable[[], Any]) -> None:
    """Only the required keys: the optional ones are None; no offset means UTC."""
    account = build()(MINIMAL, ja.CustomerAccount)
    assert MINIMAL_EXPECTED == account
    assert dt.UTC == account.date_created.tzinfo


@BUILDERS
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            with_(FULL, customer_account_id=101, customer_id=7),
            {"customer_account_id": "101", "customer_id": "7"},
        ),
        (with_(FULL, validation_status="EXPIRED"), {"validation_status": "EXPIRED"}),
        (with_(FULL, validation_amount=5), {"validation_amount": decimal.Decimal(5)}),
        (with_(FULL, validation_amount=1.1), {"validation_amount": decimal.Decimal("1.1")}),
        (with_(FULL, validation_amount=" 2.50 "), {"validation_amount": decimal.Decimal("2.50")}),
        (with_(FULL, validation_amount=None), {"validation_amount": None}),
        (with_(FULL, last_validated=""), {"last_validated": None}),
        (with_(FULL, last_validated=None), {"last_validated": None}),
        (
            with_(FULL, last_validated=...) | {"last_validated ": "2023-06-07T00:00:00Z"},
            {"last_validated": dt.datetime(2023, 6, 7, tzinfo=dt.UTC)},
        ),
        (
            with_(FULL, date_created=" 2023-06-06T13:29:49Z "),
            {"date_created": dt.datetime(2023, 6, 6, 13, 29, 49, tzinfo=dt.UTC)},
        ),
        (with_(FULL, currency=None, object="customer_account"), {"currency": None}),
        (
            with_(FULL, date_created="2023-06-06T13:29:49+05:30"),
            {"date_created": dt.datetime(2023, 6, 6, 13, 29, 49, tzinfo=IST)},
        ),
        (
            with_(FULL, last_validated=" 2023-06-07T00:00:00Z "),
            {"last_validated": dt.datetime(2023, 6, 7, tzinfo=dt.UTC)},
        ),
        (
            with_(FULL, last_validated="2023-06-07T00:00:00"),
            {"last_validated": dt.datetime(2023, 6, 7, tzinfo=dt.UTC)},
        ),
        (with_(FULL, validation_amount="0." + "0" * 62), {"validation_amount": decimal.Decimal(0)}),
        (
            with_(MINIMAL, account_details={"vpa": 42}),
            {"account_details": ja.AccountDetails(vpa="42")},
        ),
    ],
    ids=[
        "numeric ids",
        "unknown status",
        "int amount",
        "float amount",
        "padded amount",
        "null amount",
        "empty last_validated",
        "null last_validated",
        "legacy key",
        "padded timestamp",
        "null currency, extra key",
        "date_created with an offset",
        "padded last_validated",
        "last_validated without an offset",
        "amount text of 64 characters",
        "numeric vpa",
    ],
)
def test_lenient_values(
    build: Callable[[], Any], raw: dict[str, Any], expected: dict[str, object]
) -> None:
    """Values Juspay sends loosely are read as documented."""
    account = build()(raw, ja.CustomerAccount)
    assert expected == {name: getattr(account, name) for name in expected}
    assert {type(v) for v in expected.values()} == {
        type(getattr(account, name)) for name in expected
    }


@BUILDERS
@pytest.mark.parametrize(
    ("bank", "expected"),
    [
        ({"name": 5, "ifsc": "X1", "juspay_bank_code": "12"}, ("5", "X1", "12")),
        ({"name": ..., "ifsc": ..., "juspay_bank_code": ..., "bank_name": ...}, None),
    ],
    ids=["numbers as text", "only the account"],
)
def test_bank_account_fields(
    build: Callable[[], Any], bank: dict[str, Any], expected: tuple[str, str, str] | None
) -> None:
    """Each bank account field is read from its own key; missing ones are None."""
    account = build()(details(**bank), ja.CustomerAccount).account_details.bank_account
    assert account is not None
    assert "026291800001191" == account.account
    if expected is None:
        assert (None, None, None, None) == (
            account.name,
            account.ifsc,
            account.juspay_bank_code,
            account.bank_name,
        )
    else:
        assert expected == (account.name, account.ifsc, account.juspay_bank_code)
        assert "SBI" == account.bank_name


@BUILDERS
def test_numbers_in_every_bank_field_are_read_as_text(build: Callable[[], Any]) -> None:
    """A number in any bank account field is read as its text, as the string hooks do."""
    raw = details(account=1191, name=5, ifsc=8032, juspay_bank_code=12, bank_name=7)
    account = build()(raw, ja.CustomerAccount).account_details.bank_account
    assert (
        ja.BankAccount(account="1191", name="5", ifsc="8032", juspay_bank_code="12", bank_name="7")
        == account
    )


@BUILDERS
def test_null_bank_account_and_vpa(build: Callable[[], Any]) -> None:
    """``null`` for the bank account or the VPA is None, not an error."""
    raw = with_(FULL, account_details={"bank_account": None, "vpa": None})
    assert ja.AccountDetails() == build()(raw, ja.CustomerAccount).account_details


LONG = "x" * 50
IN_RANGE = "an amount below 10**12 with at most 4 decimal places"
AMOUNT_RULE = f"{IN_RANGE} (digits, as a number or a string)"
BAD_ACCOUNTS = pytest.mark.parametrize(
    ("raw", "message", "path"),
    [
        ("banh_1", "expected a JSON object for an account, got str", ""),
        (
            with_(FULL, account_details="upi"),
            "expected a JSON object for AccountDetails, got str",
            ".account_details",
        ),
        (details(account=...), "required field missing", ".account_details.bank_account.account"),
        (
            with_(FULL, account_details={"bank_account": [1]}),
            "expected a JSON object for BankAccount, got list",
            ".account_details.bank_account",
        ),
        (with_(FULL, customer_id=None), "expected a string, got NoneType", ".customer_id"),
        (
            with_(FULL, customer_account_id=True),
            "expected a string, got bool",
            ".customer_account_id",
        ),
        (with_(FULL, customer_id=1.5), "expected a string, got float", ".customer_id"),
        (with_(FULL, currency=["INR"]), "expected a string, got list", ".currency"),
        (
            details(name={"first": "A"}),
            "expected a string, got dict",
            ".account_details.bank_account.name",
        ),
        (
            with_(FULL, validation_status=3),
            "expected a status string, got int",
            ".validation_status",
        ),
        (
            with_(FULL, date_created=LONG),
            f"expected an ISO-8601 timestamp, got {LONG[:40]!r}",
            ".date_created",
        ),
        (
            with_(FULL, date_created=1686058189),
            "expected an ISO-8601 timestamp string, got int",
            ".date_created",
        ),
        (with_(FULL, date_created=...), "required field missing", ".date_created"),
        (
            with_(FULL, last_validated=0),
            "expected an ISO-8601 timestamp string, got int",
            ".last_validated",
        ),
        (
            with_(FULL, validation_amount="1,00"),
            f"expected {AMOUNT_RULE}, got '1,00'",
            ".validation_amount",
        ),
        (
            with_(FULL, validation_amount="9" * 10 + LONG),
            f"expected {AMOUNT_RULE}, got {('9' * 10 + LONG)[:40]!r}",
            ".validation_amount",
        ),
        (
            with_(FULL, validation_amount=" " * 45 + "NaN"),
            f"expected {AMOUNT_RULE}, got {' ' * 40!r}",
            ".validation_amount",
        ),
        (
            with_(FULL, validation_amount=float("inf")),
            "expected a finite amount, got inf",
            ".validation_amount",
        ),
        (
            with_(FULL, validation_amount=True),
            "expected an amount, got a boolean",
            ".validation_amount",
        ),
        (with_(FULL, validation_amount=[1]), "expected an amount, got list", ".validation_amount"),
        (
            with_(FULL, validation_amount=10**12),
            f"expected {IN_RANGE}, got 1000000000000",
            ".validation_amount",
        ),
        (
            with_(FULL, validation_amount=-(10**12)),
            f"expected {IN_RANGE}, got -1000000000000",
            ".validation_amount",
        ),
        (
            with_(FULL, validation_amount=1e13),
            f"expected {IN_RANGE}, got 10000000000000.0",
            ".validation_amount",
        ),
        (
            with_(FULL, validation_amount="1" * 50),
            f"expected {IN_RANGE}, got {'1' * 40!r}",
            ".validation_amount",
        ),
        (
            with_(FULL, validation_amount="0." + "0" * 63),
            f"expected {AMOUNT_RULE}, got {'0.' + '0' * 38!r}",
            ".validation_amount",
        ),
        (
            with_(FULL, validation_amount=OutOfRangeNumber("1." + "0" * 50 + "e999")),
            f"expected a finite amount, got 1.{'0' * 38}",
            ".validation_amount",
        ),
    ],
)


@BAD_ACCOUNTS
@pytest.mark.parametrize("build", [fast_converter_hook, _fast_account_hook])
def test_fast_hook_raises_on_what_it_does_not_expect(
    build: Callable[[], Any], raw: object, message: str, path: str
) -> None:
    """The fast hook raises (so the page goes to the detailed converter), naming the problem."""
    with pytest.raises((InvalidValueError, KeyError)) as info:
        build()(raw, ja.CustomerAccount)
    if isinstance(info.value, KeyError):
        assert "required field missing" == message
        assert repr(path.rsplit(".", 1)[-1]) == str(info.value)
    else:
        # The fast hook's own object checks do not say what came instead.
        fast_message = message.partition(", got")[0] if "JSON object" in message else message
        assert fast_message == str(info.value)


@BAD_ACCOUNTS
def test_detailed_converter_locates_each_failure(raw: object, message: str, path: str) -> None:
    """The detailed converter refuses the same accounts and says exactly what and where."""
    with pytest.raises((cattrs.BaseValidationError, InvalidValueError)) as info:
        detailed_hook()(raw, ja.CustomerAccount)
    assert [f"{message} @ $.list[0]{path}"] == describe_errors(info.value, "$.list[0]")


def test_the_factory_builds_the_detailed_converter_by_default() -> None:
    """make_converter() with no argument is the detailed (reference) converter."""
    with pytest.raises(cattrs.ClassValidationError):
        make_converter().structure(with_(FULL, customer_id=None), ja.CustomerAccount)


def test_converters_structure_plain_values_too() -> None:
    """Each converter reads a bare string, amount or timestamp with the library's rules."""
    for detailed in (True, False):
        converter = make_converter(detailed_validation=detailed)
        assert "12" == converter.structure(12, str)
        assert decimal.Decimal("1.1") == converter.structure(1.1, decimal.Decimal)
        moment = converter.structure("2023-06-06T13:29:49", dt.datetime)
        assert dt.datetime(2023, 6, 6, 13, 29, 49, tzinfo=dt.UTC) == moment
        with pytest.raises(InvalidValueError, match="expected a string, got NoneType"):
            converter.structure(None, str)


def test_an_int_subclass_is_an_amount() -> None:
    """An int of a subclass (not bool) is read as an amount, like a plain int."""

    class Paise(int):
        pass

    account = _fast_account_hook()(with_(FULL, validation_amount=Paise(150)), ja.CustomerAccount)
    assert decimal.Decimal(150) == account.validation_amount
    assert type(account.validation_amount) is decimal.Decimal


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({" last_validated": 1, "currency ": 2}, {"last_validated": 1, "currency": 2}),
        ({"a": 1, " a ": 2}, {"a": 1}),
        ({1: "one", " b": 2}, {1: "one", "b": 2}),
    ],
    ids=["leading and trailing", "the clean key wins", "a non-string key is kept"],
)
def test_strip_keys_reads_keys_without_stray_spaces(
    raw: dict[Any, Any], expected: dict[Any, Any]
) -> None:
    """Keys with spaces around them are read as the keys without; a clean key wins."""
    assert expected == _strip_keys(raw)


def test_strip_keys_returns_a_clean_dict_itself() -> None:
    """A dict with no stray spaces is returned as is: no copy on the path every account takes."""
    clean = dict(FULL)
    assert clean is _strip_keys(clean)


@pytest.mark.parametrize("build", [detailed_hook, _fast_account_hook])
def test_leading_space_key_is_read(build: Callable[[], Any]) -> None:
    """A key with a leading space is read too, on both paths."""
    raw = with_(FULL, last_validated=...) | {" last_validated": "2023-06-07T00:00:00Z"}
    account = build()(raw, ja.CustomerAccount)
    assert dt.datetime(2023, 6, 7, tzinfo=dt.UTC) == account.last_validated


def test_status_hook_keeps_enum_members_and_unknown_strings() -> None:
    """Known statuses become the enum's members (identical objects), others stay strings."""
    hook = _fast_account_hook()
    for status in ja.ValidationStatus:
        account = hook(with_(FULL, validation_status=status.value), ja.CustomerAccount)
        assert status is account.validation_status
    unknown = hook(with_(FULL, validation_status="EXPIRED"), ja.CustomerAccount)
    assert str is type(unknown.validation_status)


@BUILDERS
@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("currency", "USD", "USD"),
        ("validation_amount", "2.00", decimal.Decimal("2.00")),
        ("last_validated", "2023-06-07T00:00:00Z", dt.datetime(2023, 6, 7, tzinfo=dt.UTC)),
    ],
)
def test_a_stray_space_key_is_read_whatever_else_is_there(
    build: Callable[[], Any], key: str, value: str, expected: object
) -> None:
    """An optional key with a stray space is read while the other optional keys are present."""
    raw = with_(FULL, **{key: ...}) | {f"{key} ": value}
    assert expected == getattr(build()(raw, ja.CustomerAccount), key)


# -- the fallback from the fast hook to the detailed converter is observable -------


def fallbacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The fallback records logged so far: the name of what the fast hook raised."""
    return [
        r.juspay_decoder_fallback for r in caplog.records if hasattr(r, "juspay_decoder_fallback")
    ]


WELL_FORMED = [
    FULL,
    MINIMAL,
    details(name=5, juspay_bank_code="12"),
    details(name=..., ifsc=..., juspay_bank_code=..., bank_name=...),
    with_(FULL, account_details={"bank_account": None, "vpa": "a@upi"}),
    with_(FULL, customer_account_id=101, validation_status="EXPIRED"),
    with_(FULL, validation_amount=5, last_validated=""),
    with_(FULL, validation_amount=1.1, last_validated=None, currency=None),
    with_(FULL, last_validated=...) | {"last_validated ": "2023-06-07T00:00:00Z"},
    with_(FULL, date_created="2023-06-06T13:29:49", object="customer_account"),
]


@pytest.mark.parametrize(
    "body",
    [
        (DATA / "seed_200.json").read_bytes(),
        (DATA / "bank_account_page.json").read_bytes(),
        json.dumps({"list": WELL_FORMED, "offset": 0, "count": 10, "total": 10}).encode(),
    ],
    ids=["seed", "bank account page", "every lenient shape"],
)
def test_well_formed_pages_never_take_the_detailed_path(
    body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """Every account of a well-formed page is read by the fast hook: no fallback is logged."""
    caplog.set_level(logging.DEBUG, logger="juspay_accounts")
    page = _response.decode_list_response(200, {}, body)
    assert len(json.loads(body)["list"]) == len(page.accounts)
    assert [] == fallbacks(caplog)


def test_a_page_the_fast_hook_refuses_is_logged_and_read_in_detail(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A page the fast hook refuses logs one DEBUG record, naming the error but not the data."""
    caplog.set_level(logging.DEBUG, logger="juspay_accounts")
    bad = with_(FULL, customer_id=None)
    body = json.dumps({"list": [FULL, bad]}).encode()
    with pytest.raises(ja.ResponseValidationError) as info:
        _response.decode_list_response(200, {}, body)
    assert ["expected a string, got NoneType @ $.list[1].customer_id"] == list(info.value.errors)
    assert ["InvalidValueError"] == fallbacks(caplog)
    (record,) = (r for r in caplog.records if hasattr(r, "juspay_decoder_fallback"))
    assert logging.DEBUG == record.levelno
    assert "026291800001191" not in record.getMessage()


def test_converters_are_built_on_first_use_not_at_import() -> None:
    """Importing the library builds no cattrs converter; the first page builds both, once."""
    code = """
import cattrs

built = []


class Counting(cattrs.Converter):
    def __init__(self, *args, **kwargs):
        built.append(kwargs.get("detailed_validation"))
        super().__init__(*args, **kwargs)


cattrs.Converter = Counting
import juspay_accounts._response as protocol

print(len(built))
for _ in range(2):
    protocol.decode_list_response(200, {}, b'{"list": []}')
print(sorted(built))
"""
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert ["0", "[False, True]"] == done.stdout.split("\n")[:2]
