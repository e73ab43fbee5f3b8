"""The one private cattrs converter that turns Juspay's JSON into the models.

Lenient where Juspay is inconsistent, strict where it matters:

- strings that arrive as numbers (``"juspay_bank_code": 12``) become strings, but
  ``null``, booleans, objects and lists never silently become ``"None"`` or ``"True"``;
- money arrives as a number or a string and becomes a :class:`~decimal.Decimal`
  (a float goes through its shortest ``repr`` so ``1.1`` stays ``Decimal("1.1")``);
- timestamps are ISO-8601; one without an offset is taken as UTC, as Juspay documents;
- a validation status this library does not know stays a plain string;
- unknown keys are ignored, and a key with stray spaces (the legacy ``"last_validated "``)
  is read as the key without them.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
from typing import Any

import cattrs
from cattrs.gen import make_dict_structure_fn
from cattrs.v import format_exception

from juspay_accounts._models import (
    AccountDetails,
    BankAccount,
    CustomerAccount,
    ValidationStatus,
)

__all__ = ["InvalidValueError", "describe_errors", "make_converter"]


class InvalidValueError(ValueError):
    """A JSON value the hooks refuse; its message says what was expected and what came."""


def _format_exception(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, InvalidValueError):
        return str(exc)
    return format_exception(exc, type_)


def describe_errors(exc: BaseException, path: str) -> list[str]:
    """Turn a structuring failure into ``"<what> @ <path>"`` lines."""
    return cattrs.transform_error(exc, path=path, format_exception=_format_exception)


def _structure_str(value: object, _: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    msg = f"expected a string, got {type(value).__name__}"
    raise InvalidValueError(msg)


def _structure_decimal(value: object, _: object) -> decimal.Decimal:
    if isinstance(value, bool):
        msg = "expected an amount, got a boolean"
        raise InvalidValueError(msg)
    if isinstance(value, int):
        return decimal.Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            msg = f"expected a finite amount, got {value!r}"
            raise InvalidValueError(msg)
        return decimal.Decimal(repr(value))
    if isinstance(value, str):
        try:
            amount = decimal.Decimal(value.strip())
        except decimal.InvalidOperation:
            msg = f"expected an amount, got {value[:40]!r}"
            raise InvalidValueError(msg) from None
        if not amount.is_finite():
            msg = f"expected a finite amount, got {value[:40]!r}"
            raise InvalidValueError(msg)
        return amount
    msg = f"expected an amount, got {type(value).__name__}"
    raise InvalidValueError(msg)


def _structure_datetime(value: object, _: object) -> dt.datetime:
    if not isinstance(value, str):
        msg = f"expected an ISO-8601 timestamp string, got {type(value).__name__}"
        raise InvalidValueError(msg)
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


def _structure_status(value: object, _: object) -> ValidationStatus | str:
    if not isinstance(value, str):
        msg = f"expected a status string, got {type(value).__name__}"
        raise InvalidValueError(msg)
    try:
        return ValidationStatus(value)
    except ValueError:
        return value


def _normalise_keys(data: Any) -> Any:  # noqa: ANN401 - JSON of any shape
    """Read keys with stray spaces (``"last_validated "``) as the keys without them."""
    if not isinstance(data, dict):
        return data
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


def make_converter() -> cattrs.Converter:
    """Build the library's converter. Only the protocol layer uses it."""
    converter = cattrs.Converter(detailed_validation=True)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(decimal.Decimal, _structure_decimal)
    converter.register_structure_hook(dt.datetime, _structure_datetime)
    converter.register_structure_hook_func(
        lambda t: t == (dt.datetime | None), _structure_optional_datetime
    )
    converter.register_structure_hook_func(
        lambda t: t == (ValidationStatus | str), _structure_status
    )

    for model in (BankAccount, AccountDetails):
        generated = make_dict_structure_fn(model, converter)
        converter.register_structure_hook(
            model,
            lambda data, cl, _gen=generated, _name=model.__name__: _gen(
                _expect_object(data, _name), cl
            ),
        )

    account_fn = make_dict_structure_fn(CustomerAccount, converter)

    def structure_account(data: Any, cl: type[CustomerAccount]) -> CustomerAccount:  # noqa: ANN401
        return account_fn(_normalise_keys(_expect_object(data, "an account")), cl)

    converter.register_structure_hook(CustomerAccount, structure_account)
    return converter
