"""The one private cattrs converter that turns Juspay's JSON into the models.

Lenient where Juspay is inconsistent, strict where it matters:

- strings that arrive as numbers (``"juspay_bank_code": 12``) become strings, but
  ``null``, booleans, objects and lists never silently become ``"None"`` or ``"True"``;
- money arrives as a number or a string and becomes a :class:`~decimal.Decimal`
  (a float goes through its shortest ``repr`` so ``1.1`` stays ``Decimal("1.1")``), but only
  money: finite, below ``10**12``, at most four decimal places (NaN, ``1e999999999`` or
  hundreds of digits are refused, never handed on to blow up in the caller's formatting);
- timestamps are ISO-8601; one without an offset is taken as UTC, as Juspay documents;
- a validation status this library does not know stays a plain string;
- unknown keys are ignored, and a key with stray spaces (the legacy ``"last_validated "``)
  is read as the key without them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from typing import TYPE_CHECKING, Any, Final

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn
from cattrs.v import format_exception

from juspay_accounts._builders import building_class, check_sets_fields
from juspay_accounts._models import (
    AccountDetails,
    BankAccount,
    CustomerAccount,
    ValidationStatus,
    register_unstructure_hooks,
)

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "MAX_AMOUNT_DECIMALS",
    "MAX_AMOUNT_DIGITS",
    "InvalidValueError",
    "OutOfRangeNumber",
    "describe_errors",
    "make_converter",
]


class InvalidValueError(ValueError):
    """A JSON value the hooks refuse; its message says what was expected and what came."""


def _format_exception(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, InvalidValueError):
        return str(exc)
    return format_exception(exc, type_)


def describe_errors(exc: BaseException, path: str) -> list[str]:
    """Turn a structuring failure into ``"<what> @ <path>"`` lines."""
    return cattrs.transform_error(exc, path=path, format_exception=_format_exception)


# The hooks below test ``value.__class__ is ...`` first: the common case, about twice as
# fast as isinstance() chains, which then handle the rest.


def _structure_str(value: object, _: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    msg = f"expected a string, got {type(value).__name__}"
    raise InvalidValueError(msg)


MAX_AMOUNT_DIGITS: Final = 12
"""An amount's magnitude must stay below ``10**MAX_AMOUNT_DIGITS`` (a trillion rupees)."""
MAX_AMOUNT_DECIMALS: Final = 4
"""An amount may have at most this many decimal places (trailing zeros not counted)."""

_AMOUNT_LIMIT: Final = 10**MAX_AMOUNT_DIGITS
# An amount as text: ASCII digits, one optional point and exponent; no "_", no "NaN".
_AMOUNT_TEXT: Final = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,4})?", re.ASCII)
# Longer than any amount in range can be written (with spaces, zeros and an exponent).
_MAX_AMOUNT_TEXT: Final = 64
_AMOUNT_RULE: Final = (
    f"an amount below 10**{MAX_AMOUNT_DIGITS} with at most {MAX_AMOUNT_DECIMALS} decimal places"
)


@attrs.frozen
class OutOfRangeNumber:
    """A JSON number no float holds (``NaN``, ``Infinity``, ``1e999``), kept as its text.

    The JSON reader hands it out instead of a float so that the field it sits in can be
    named when a hook refuses it; no hook accepts it.
    """

    text: str

    def __repr__(self) -> str:
        """The number as it was written, cut short."""
        return self.text[:40]


def _in_range(amount: decimal.Decimal, shown: str) -> decimal.Decimal:
    """``amount`` if it is money; else a refusal that says the rule.

    Only the exponent and the digits are looked at, never computed with: a context-bound
    operation would round, and ``Decimal("1e999999999")`` formats itself into a MemoryError.
    """
    sign, digits, exponent = amount.as_tuple()
    del sign
    if isinstance(exponent, int) and amount.adjusted() < MAX_AMOUNT_DIGITS:
        # Trailing zeros are not decimal places: "1.000000" is 1, "0.000000" is 0.
        zeros = len(digits) - len(bytes(digits).rstrip(b"\0"))
        if not any(digits) or exponent + zeros >= -MAX_AMOUNT_DECIMALS:
            return amount
    msg = f"expected {_AMOUNT_RULE}, got {shown}"
    raise InvalidValueError(msg)


def _structure_decimal(value: object, _: object) -> decimal.Decimal:
    if isinstance(value, int) and not isinstance(value, bool):
        if -_AMOUNT_LIMIT < value < _AMOUNT_LIMIT:
            return decimal.Decimal(value)
        msg = f"expected {_AMOUNT_RULE}, got {value!r:.40}"
        raise InvalidValueError(msg)
    if isinstance(value, bool):
        msg = "expected an amount, got a boolean"
        raise InvalidValueError(msg)
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"expected a finite amount, got {value!r}"
            raise InvalidValueError(msg)
        return _in_range(decimal.Decimal(repr(value)), repr(value))
    if isinstance(value, str):
        text = value.strip()
        if len(text) > _MAX_AMOUNT_TEXT or not _AMOUNT_TEXT.fullmatch(text):
            msg = f"expected {_AMOUNT_RULE} (digits, as a number or a string), got {value[:40]!r}"
            raise InvalidValueError(msg)
        return _in_range(decimal.Decimal(text), repr(value[:40]))
    if isinstance(value, OutOfRangeNumber):
        msg = f"expected a finite amount, got {value!r}"
        raise InvalidValueError(msg)
    msg = f"expected an amount, got {type(value).__name__}"
    raise InvalidValueError(msg)


def _structure_datetime(value: object, _: object) -> dt.datetime:
    if not isinstance(value, str):
        msg = f"expected an ISO-8601 timestamp string, got {type(value).__name__}"
        raise InvalidValueError(msg)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            msg = f"expected an ISO-8601 timestamp, got {value[:40]!r}"
            raise InvalidValueError(msg) from None
    if moment.tzinfo is None:
        # Juspay documents its timestamps as UTC; some omit the "Z".
        moment = moment.replace(tzinfo=dt.UTC)
    return moment


def _structure_optional_datetime(value: object, _: object) -> dt.datetime | None:
    if value is None or value == "":
        return None
    return _structure_datetime(value, _)


_STATUSES: Final = {status.value: status for status in ValidationStatus}


def _structure_status(value: object, _: object) -> ValidationStatus | str:
    if not isinstance(value, str):
        msg = f"expected a status string, got {type(value).__name__}"
        raise InvalidValueError(msg)
    # A dict lookup is several times faster than ValidationStatus(value).
    return _STATUSES.get(value, value)


def _structure_optional_str(value: object, _: object) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return _structure_str(value, _)


def _structure_optional_decimal(value: object, _: object) -> decimal.Decimal | None:
    return None if value is None else _structure_decimal(value, _)


def _strip_keys(data: dict[Any, Any]) -> dict[Any, Any]:
    """Read keys with stray spaces (``"last_validated "``) as the keys without them."""
    if not any(key[:1] == " " or key[-1:] == " " for key in data if isinstance(key, str)):
        return data
    fixed = {}
    for key, value in data.items():
        clean = key.strip() if isinstance(key, str) else key
        if clean not in data or clean == key:
            fixed[clean] = value
    return fixed


def _expect_object(data: Any, what: str) -> dict[str, Any]:  # noqa: ANN401 - JSON of any shape
    if not isinstance(data, dict):
        msg = f"expected a JSON object for {what}, got {type(data).__name__}"
        raise InvalidValueError(msg)
    return data


def _is(expected: object) -> Callable[[Any], bool]:
    """A hook predicate matching exactly one type (unions included)."""
    return lambda t: t == expected


def _objects_only(generated: Callable[[Any, Any], Any], name: str) -> Callable[[Any, Any], Any]:
    """Wrap a generated hook to refuse anything but a JSON object first."""

    def structure(data: Any, cl: Any) -> Any:  # noqa: ANN401 - JSON in, a model out
        return generated(_expect_object(data, name), cl)

    return structure


SMALL_AMOUNTS: Final = 101
"""Whole amounts from 0 to 100 share one :class:`~decimal.Decimal` each (a penny drop is 1)."""


# One long function on purpose: the hot path of decoding, unrolled field by field.
def _fast_account_hook() -> Callable[[Any, type[CustomerAccount]], CustomerAccount]:  # noqa: C901, PLR0915
    """A hand-written structure hook for the common case: a well-formed account.

    It applies exactly the hooks the generated code applies, field by field, but builds
    the models through :func:`building_class` and without the generated code's
    intermediate dict, keyword unpacking and hook lookups. Measured on a
    100-account page: 5.5 to 2.8 µs per account, so decoding a page costs 2.1x
    ``json.loads`` alone (with orjson; 2.6x without) instead of 3.6x. Anything it does
    not expect raises, and the protocol then structures the page again with the detailed,
    generated converter, which is the reference: a property test checks that the two
    always agree. Each model's builder is checked, when made, to set exactly its fields.
    """
    str_ = _structure_str
    opt_str = _structure_optional_str
    status = _structure_status
    statuses = _STATUSES
    when = _structure_datetime
    opt_when = _structure_optional_datetime
    opt_amount = _structure_optional_decimal
    from_iso = dt.datetime.fromisoformat
    utc = dt.UTC
    money = decimal.Decimal
    limit = _AMOUNT_LIMIT
    # Decimal is immutable: equal amounts may share one object (1.3k instructions each).
    small_amounts = tuple(money(whole) for whole in range(SMALL_AMOUNTS))
    new: Callable[[type], Any] = object.__new__  # Any: the builders store into it
    # Read when the hook is made (a test swaps a model for one with a field more).
    bank_class, details_class, account_class = BankAccount, AccountDetails, CustomerAccount
    building_bank = building_class(bank_class)
    building_details = building_class(details_class)
    building_account = building_class(account_class)

    # Each field is handed to its hook only when it is not already what the hook would
    # return as it is (an exact str, a str timestamp, an int amount in range): a Python
    # call per field costs about as much as the rest of its handling (perf change 4 in
    # docs/performance-notes.md). The hooks stay the one definition of what is accepted.

    def structure(data: Any, _: type[CustomerAccount]) -> CustomerAccount:  # noqa: ANN401, C901, PLR0912, PLR0915 - JSON; unrolled
        if data.__class__ is not dict:
            msg = "expected a JSON object for an account"
            raise InvalidValueError(msg)
        # Keys with stray spaces are rare: look for them only when an optional key is
        # missing (a missing required key raises, and the detailed converter strips them).
        if (
            "last_validated" not in data
            or "currency" not in data
            or "validation_amount" not in data
        ):
            data = _strip_keys(data)
        # The three models are built in this one function: a call per model cost about
        # 0.5k instructions (perf change 11).
        raw = data["account_details"]
        if raw.__class__ is not dict:
            msg = "expected a JSON object for AccountDetails"
            raise InvalidValueError(msg)
        details = new(building_details)
        value = raw.get("vpa")
        details.vpa = value if value.__class__ is str else opt_str(value, None)
        raw = raw.get("bank_account")
        if raw is None:
            details.bank_account = None
        elif raw.__class__ is not dict:
            msg = "expected a JSON object for BankAccount"
            raise InvalidValueError(msg)
        else:
            bank = new(building_bank)
            value = raw["account"]
            bank.account = value if value.__class__ is str else str_(value, str)
            value = raw.get("name")
            bank.name = value if value.__class__ is str else opt_str(value, None)
            value = raw.get("ifsc")
            bank.ifsc = value if value.__class__ is str else opt_str(value, None)
            value = raw.get("juspay_bank_code")
            bank.juspay_bank_code = value if value.__class__ is str else opt_str(value, None)
            value = raw.get("bank_name")
            bank.bank_name = value if value.__class__ is str else opt_str(value, None)
            bank.__class__ = bank_class
            details.bank_account = bank
        details.__class__ = details_class
        account = new(building_account)
        value = data["customer_account_id"]
        account.customer_account_id = value if value.__class__ is str else str_(value, str)
        value = data["customer_id"]
        account.customer_id = value if value.__class__ is str else str_(value, str)
        account.account_details = details
        value = data["validation_status"]
        account.validation_status = (
            statuses.get(value, value) if value.__class__ is str else status(value, None)
        )
        value = data["date_created"]
        try:
            moment = from_iso(value)
        except (TypeError, ValueError):
            moment = when(value, None)  # refuses, or reads it with stray spaces
        account.date_created = moment if moment.tzinfo is not None else moment.replace(tzinfo=utc)
        value = data.get("currency")
        account.currency = value if value.__class__ is str else opt_str(value, None)
        value = data.get("validation_amount")
        if value.__class__ is int and 0 <= value < SMALL_AMOUNTS:
            account.validation_amount = small_amounts[value]
        elif value.__class__ is int and -limit < value < limit:
            account.validation_amount = money(value)
        else:
            account.validation_amount = opt_amount(value, None)
        value = data.get("last_validated")
        if value.__class__ is str and value:
            try:
                moment = from_iso(value)
            except ValueError:
                moment = when(value, None)
            account.last_validated = (
                moment if moment.tzinfo is not None else moment.replace(tzinfo=utc)
            )
        else:
            account.last_validated = opt_when(value, None)
        account.__class__ = account_class
        made: CustomerAccount = account
        return made

    check_sets_fields(structure, account_class, details_class, bank_class)
    return structure


def make_converter(*, detailed_validation: bool = True) -> cattrs.Converter:
    """Build one of the library's converters. Only the protocol layer uses them.

    With ``detailed_validation``, accounts are structured by cattrs' generated code and
    every failure is located (``$.list[3].date_created``): this is the reference. Without,
    accounts go through :func:`_fast_account_hook` (same hooks, about twice as fast, but
    a failure says little). The protocol structures with the fast one and, only when that
    fails, again with the detailed one.
    """
    converter = cattrs.Converter(detailed_validation=detailed_validation)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(decimal.Decimal, _structure_decimal)
    converter.register_structure_hook(dt.datetime, _structure_datetime)
    # Explicit hooks for the optional types: cattrs' generic Optional handling costs a
    # dispatch per field.
    hook: Callable[[Any, Any], Any]
    for optional, hook in (
        (str | None, _structure_optional_str),
        (decimal.Decimal | None, _structure_optional_decimal),
        (dt.datetime | None, _structure_optional_datetime),
        (ValidationStatus | str, _structure_status),
    ):
        converter.register_structure_hook_func(_is(optional), hook)

    # Generated code would read a string as an object ("vpa" in "upi" is a substring test),
    # so every object is checked to be one first, in both converters.
    # (AccountDetails' generated code handles its `BankAccount | None` field with cattrs'
    # own Optional support: generated code looks its hooks up when it is made.)
    for model in (BankAccount, AccountDetails):
        converter.register_structure_hook(
            model, _objects_only(make_dict_structure_fn(model, converter), model.__name__)
        )

    structure_account: Callable[[Any, type[CustomerAccount]], CustomerAccount]
    if detailed_validation:
        account_fn = make_dict_structure_fn(CustomerAccount, converter)

        def structure_account(data: Any, cl: type[CustomerAccount]) -> CustomerAccount:  # noqa: ANN401
            return account_fn(_strip_keys(_expect_object(data, "an account")), cl)

    else:
        structure_account = _fast_account_hook()

    converter.register_structure_hook(CustomerAccount, structure_account)
    # And back: the models' own rules for to_dict(), so this converter writes what it reads.
    register_unstructure_hooks(converter)
    return converter
