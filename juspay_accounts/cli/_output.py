r"""How the command line writes accounts: a table for people, JSON, JSON lines or CSV for pipes.

Whatever came from a server or from the ids is text to show, never to obey: in the table,
in CSV cells and in messages (:func:`printable`), control characters (C0, DEL, C1: terminal
escape sequences, a line break that would forge a line) are written as visible escapes such
as ``\x1b``; JSON escapes them itself (``\u001b``, and DEL here), so its values stay exact.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import enum
import json
import re
from typing import TYPE_CHECKING, Any, Final, TextIO, cast

import attrs

from juspay_accounts._models import mask
from juspay_accounts._redact import redact_text

if TYPE_CHECKING:
    from collections.abc import Sequence

    from juspay_accounts._models import CustomerAccount
    from juspay_accounts.exceptions import JuspayError

__all__ = ["FORMATS", "Writer", "account_fields", "make_writer", "printable", "table"]

FORMATS: Final = ("table", "json", "jsonl", "csv")
_PERSONAL: Final = frozenset({"account", "vpa", "name"})
CSV_COLUMNS: Final = (
    "customer_id",
    "status",
    "customer_account_id",
    "validation_status",
    "vpa",
    "account",
    "name",
    "ifsc",
    "juspay_bank_code",
    "bank_name",
    "currency",
    "validation_amount",
    "date_created",
    "last_validated",
    "masked",
    "error",
)
"""A row per account (status ``ok``), and one per customer with none (``no_accounts``) or
that failed (``failed``, with ``error``). ``masked`` says whether ``account``, ``name`` and
``vpa`` hold only their last four characters."""
OK: Final = "ok"
NO_ACCOUNTS: Final = "no_accounts"
FAILED: Final = "failed"


_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
r"""C0 controls, DEL and C1 controls (``\x9b`` is a terminal's one-byte escape sequence)."""


def _escape(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def printable(text: str) -> str:
    r"""``text`` with every control character written as a visible escape (``\x1b``)."""
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


def _cell(value: object) -> object:
    """A CSV or table value, with any control character made visible."""
    return printable(value) if isinstance(value, str) else value


def _json(data: dict[str, Any]) -> str:
    """One JSON document on one line: json escapes C0 and C1 controls, and DEL here."""
    return json.dumps(data).replace("\x7f", "\\u007f")


def _serialise(_instance: object, _field: attrs.Attribute[Any] | None, value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, decimal.Decimal):
        return str(value)  # as a string: money never becomes a float
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _mask_personal(data: dict[str, Any]) -> dict[str, Any]:
    return {
        key: mask(value)
        if key in _PERSONAL and isinstance(value, str)
        else _mask_personal(value)
        if isinstance(value, dict)
        else value
        for key, value in data.items()
    }


def account_fields(account: CustomerAccount, *, show_account_numbers: bool) -> dict[str, Any]:
    """The account's documented fields as JSON values; personal data masked unless shown."""
    data = attrs.asdict(account, value_serializer=_serialise)
    return data if show_account_numbers else _mask_personal(data)


def _record(account: CustomerAccount, *, show_account_numbers: bool) -> dict[str, Any]:
    """An account as a JSON or JSON-lines record: its fields, ``status`` and ``masked``."""
    data = account_fields(account, show_account_numbers=show_account_numbers)
    return {"status": OK, **data, "masked": not show_account_numbers}


def _error_fields(error: JuspayError) -> dict[str, Any]:
    """What failed, as a record's ``error``: class, message, HTTP status, code, request id."""
    return {
        "type": type(error).__name__,
        "message": str(error),
        "status": getattr(error, "status", None),
        "code": getattr(error, "code", None),
        "request_id": error.request_id,
    }


def _flat(data: dict[str, Any]) -> dict[str, Any]:
    details = data["account_details"]
    bank = details.get("bank_account") or {}
    row = {key: value for key, value in data.items() if key != "account_details"}
    row["vpa"] = details.get("vpa")
    row.update(
        {key: bank.get(key) for key in ("account", "name", "ifsc", "juspay_bank_code", "bank_name")}
    )
    return row


class _Redacting:
    """A text stream that writes every form of the API key as ``<redacted>``.

    The library hands a page over as the server sent it; a server that echoes the request
    into an account's field would otherwise put the key in the output, which ends up in
    files and CI logs.
    """

    def __init__(self, out: TextIO, forms: tuple[str, ...]) -> None:
        self._out = out
        self._forms = forms

    def write(self, text: str) -> int:
        return self._out.write(redact_text(text, self._forms))

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401 - the stream's own attributes
        return getattr(self._out, name)


class Writer:
    """Writes accounts as they arrive; :meth:`close` finishes the document."""

    def __init__(
        self, out: TextIO, *, show_account_numbers: bool, secrets: tuple[str, ...] = ()
    ) -> None:
        """Write to ``out``, with ``secrets`` (the key's forms) written as ``<redacted>``."""
        self.out: TextIO = cast("TextIO", _Redacting(out, secrets)) if secrets else out
        self.show = show_account_numbers

    def write(
        self, customer_id: str, accounts: Sequence[CustomerAccount], *, position: int = 0
    ) -> None:
        """Write one customer's accounts (``position``: where the customer came in the input)."""
        raise NotImplementedError

    def fail(self, customer_id: str, error: JuspayError) -> None:
        """Write that a customer failed (the table leaves that to stderr)."""

    def close(self) -> None:
        """Finish the output."""


class _Records(Writer):
    """JSON and JSON lines: a record per account, and one per customer with none or failed."""

    def records(
        self, customer_id: str, accounts: Sequence[CustomerAccount]
    ) -> list[dict[str, Any]]:
        """The records of one customer's accounts (one saying it has none, if so)."""
        if not accounts:
            return [{"customer_id": customer_id, "status": NO_ACCOUNTS}]
        return [_record(account, show_account_numbers=self.show) for account in accounts]

    def write(
        self, customer_id: str, accounts: Sequence[CustomerAccount], *, position: int = 0
    ) -> None:
        del position  # records are written as customers complete
        for record in self.records(customer_id, accounts):
            self.emit(record)

    def fail(self, customer_id: str, error: JuspayError) -> None:
        self.emit({"customer_id": customer_id, "status": FAILED, "error": _error_fields(error)})

    def emit(self, record: dict[str, Any]) -> None:
        """Write one record."""
        raise NotImplementedError


class _JsonLines(_Records):
    def emit(self, record: dict[str, Any]) -> None:
        self.out.write(_json(record) + "\n")


class _Json(_Records):
    """One JSON array, streamed, so a large batch is never held in memory."""

    def __init__(
        self, out: TextIO, *, show_account_numbers: bool, secrets: tuple[str, ...] = ()
    ) -> None:
        super().__init__(out, show_account_numbers=show_account_numbers, secrets=secrets)
        self.first = True
        self.out.write("[")

    def emit(self, record: dict[str, Any]) -> None:
        self.out.write("\n  " if self.first else ",\n  ")
        self.out.write(_json(record))
        self.first = False

    def close(self) -> None:
        self.out.write("\n]\n" if not self.first else "]\n")


class _Csv(Writer):
    def __init__(
        self, out: TextIO, *, show_account_numbers: bool, secrets: tuple[str, ...] = ()
    ) -> None:
        super().__init__(out, show_account_numbers=show_account_numbers, secrets=secrets)
        self.csv = csv.DictWriter(
            self.out, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n"
        )
        self.csv.writeheader()

    def write(
        self, customer_id: str, accounts: Sequence[CustomerAccount], *, position: int = 0
    ) -> None:
        del position  # one row per account, or one saying there are none
        if not accounts:
            self.row({"customer_id": customer_id, "status": NO_ACCOUNTS})
        for account in accounts:
            row = _flat(account_fields(account, show_account_numbers=self.show))
            self.row({**row, "status": OK, "masked": str(not self.show).lower()})

    def fail(self, customer_id: str, error: JuspayError) -> None:
        self.row(
            {
                "customer_id": customer_id,
                "status": FAILED,
                "error": f"{type(error).__name__}: {error}",
            }
        )

    def row(self, values: dict[str, Any]) -> None:
        """Write one row, its control characters made visible (a server's, an id's)."""
        self.csv.writerow({key: _cell(value) for key, value in values.items()})


def _created(account: CustomerAccount) -> str:
    """``date_created`` in UTC to the minute, or as Juspay sent it when that cannot be shown."""
    try:
        return account.date_created.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")
    except (OverflowError, ValueError):  # e.g. 9999-12-31T23:59:59-23:59 is past year 9999 in UTC
        return account.date_created.isoformat()


class _Table(Writer):
    """A table for a person: collected, then printed aligned, in the order of the input.

    A customer with no accounts gets a row saying so.
    """

    COLUMNS: Final = (
        "CUSTOMER",
        "ACCOUNT ID",
        "TYPE",
        "DETAILS",
        "STATUS",
        "AMOUNT",
        "CREATED (UTC)",
    )

    def __init__(
        self, out: TextIO, *, show_account_numbers: bool, secrets: tuple[str, ...] = ()
    ) -> None:
        super().__init__(out, show_account_numbers=show_account_numbers, secrets=secrets)
        self.rows: list[tuple[int, tuple[str, ...]]] = []

    def write(
        self, customer_id: str, accounts: Sequence[CustomerAccount], *, position: int = 0
    ) -> None:
        if not accounts:
            self.rows.append((position, (customer_id, "(no accounts)", "", "", "", "", "")))
        for account in accounts:
            row = _flat(account_fields(account, show_account_numbers=self.show))
            if row["vpa"] is not None:
                kind, details = "UPI", row["vpa"]
            else:
                kind, details = "BANK", f"{row['bank_name'] or ''} {row['account'] or ''}".strip()
            self.rows.append(
                (
                    position,
                    (
                        row["customer_id"],
                        row["customer_account_id"],
                        kind,
                        details,
                        str(row["validation_status"]),
                        row["validation_amount"] or "",
                        _created(account),
                    ),
                )
            )

    def close(self) -> None:
        # Results arrive as customers complete; a stable sort restores the input's order
        # and keeps each customer's accounts in Juspay's order.
        self.rows.sort(key=lambda row: row[0])
        rows = [self.COLUMNS, *(tuple(map(printable, cells)) for _, cells in self.rows)]
        widths = [max(len(row[i]) for row in rows) for i in range(len(self.COLUMNS))]
        for row in rows:
            self.out.write(
                "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() + "\n"
            )


def table(out: TextIO, *, show_account_numbers: bool) -> _Table:
    """The table writer (the demo's output too)."""
    return _Table(out, show_account_numbers=show_account_numbers)


def make_writer(
    name: str, out: TextIO, *, show_account_numbers: bool, secrets: tuple[str, ...] = ()
) -> Writer:
    """The writer for ``--format name``; ``secrets``: the key's forms, never written."""
    cls: type[Writer] = {"json": _Json, "jsonl": _JsonLines, "csv": _Csv, "table": _Table}[name]
    return cls(out, show_account_numbers=show_account_numbers, secrets=secrets)
