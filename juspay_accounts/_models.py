"""The typed values the client hands out: frozen, slotted attrs classes.

They hold data. Turning Juspay's JSON into them is the job of the private converter in
:mod:`juspay_accounts._converter`; turning them back into JSON values (``to_dict()``) is
said here, by the unstructure hooks at the end, which that converter registers too.
"""

import datetime as dt
import decimal
import enum
import functools
import operator
from collections.abc import Iterable, Mapping
from typing import Any

import attrs
import cattrs
from cattrs.gen import make_dict_unstructure_fn
from multidict import CIMultiDict, CIMultiDictProxy

__all__ = [
    "AccountDetails",
    "AccountPage",
    "BankAccount",
    "CustomerAccount",
    "ValidationStatus",
    "freeze_headers",
    "json_converter",
    "mask",
    "register_unstructure_hooks",
]


def mask(value: str) -> str:
    """Hide personal data: only the last four characters show (none of a short value)."""
    shown = value[-4:] if len(value) >= 8 else ""  # noqa: PLR2004 - below 8, four is too many
    return "*" * (len(value) - len(shown)) + shown


class _Headers(CIMultiDictProxy[str]):
    """A read-only, case-insensitive copy of a response's headers that can be pickled."""

    # multidict types its proxies' __reduce__ as Never (they refuse to pickle); this one can.
    def __reduce__(self) -> tuple[Any, ...]:  # type: ignore[override]
        return (freeze_headers, (CIMultiDict(self),))


def freeze_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> _Headers:
    """A read-only, case-insensitive copy of ``headers`` (a repeated header keeps each value).

    It is a :class:`multidict.CIMultiDictProxy` (aiohttp's own header type): ``get``,
    ``[]`` and ``getall`` look names up in any case; nothing can change it.
    """
    if isinstance(headers, _Headers):
        return headers  # already a private read-only copy
    # About 0.25 µs for ten headers: cheap enough to copy every answer's.
    return _Headers(CIMultiDict(headers))


def _unstructure(model: object) -> dict[str, Any]:
    """``model`` as JSON values, through :func:`json_converter`'s unstructure hooks."""
    data: dict[str, Any] = json_converter().unstructure(model)
    return data


def _masked_repr(value: str | None) -> str:
    return "None" if value is None else repr(mask(value))


class ValidationStatus(enum.StrEnum):
    """Where Juspay is with validating a customer account.

    Juspay may add statuses later. A status this library does not know yet is kept
    as its plain string, so ``account.validation_status == "EXPIRED"`` works and
    nothing breaks; compare with these members for the known ones.
    """

    CREATED = "CREATED"
    """The account exists; validation has not completed yet."""
    ACTIVE = "ACTIVE"
    """Validation succeeded at the gateway."""
    PENDING = "PENDING"
    """Awaiting the outcome of the penny-drop transaction."""
    FAILURE = "FAILURE"
    """Validation failed."""


@attrs.frozen(kw_only=True)
class BankAccount:
    """A bank account linked to a customer.

    ``repr()`` masks the account number and the name (personal data); the attributes hold
    the real values.

    Attributes:
        account: The bank account number.
        name: The beneficiary's name.
        ifsc: The branch's IFSC code.
        juspay_bank_code: Juspay's code for the bank (sent as a number or a string;
            always a string here).
        bank_name: The bank's name.
    """

    account: str = attrs.field(repr=_masked_repr)
    name: str | None = attrs.field(default=None, repr=_masked_repr)
    ifsc: str | None = None
    juspay_bank_code: str | None = None
    bank_name: str | None = None


@attrs.frozen(kw_only=True)
class AccountDetails:
    """What the customer account points at: a UPI VPA or a bank account.

    Juspay sends one of the two; both are ``None`` only if Juspay sent neither. ``repr()``
    masks the VPA (personal data); the attribute holds the real value.

    Attributes:
        vpa: The UPI virtual payment address, e.g. ``"4225246777@yesg"``.
        bank_account: The bank account, for accounts created from bank details.
    """

    vpa: str | None = attrs.field(default=None, repr=_masked_repr)
    bank_account: BankAccount | None = None


@attrs.frozen(kw_only=True)
class CustomerAccount:
    """One account linked to a customer, as Juspay lists it.

    Attributes:
        customer_account_id: Juspay's id for this account, e.g. ``"banh_uninwyie1d85C5cQ"``.
        customer_id: The customer the account belongs to.
        account_details: The VPA or bank account.
        validation_status: A :class:`ValidationStatus`, or the plain string of a
            status this library does not know yet.
        date_created: When the account was created (timezone-aware, UTC).
        currency: The currency of the validation amount, e.g. ``"INR"``.
        validation_amount: The penny-drop amount. Money is a :class:`~decimal.Decimal`,
            never a float.
        last_validated: When the account was last validated (timezone-aware), or
            ``None`` if Juspay did not say.
    """

    customer_account_id: str
    customer_id: str
    account_details: AccountDetails
    validation_status: ValidationStatus | str
    date_created: dt.datetime
    currency: str | None = None
    validation_amount: decimal.Decimal | None = None
    last_validated: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The account as JSON-ready values, under Juspay's own keys.

        Only ``str``, ``int``, ``None``, ``list`` and ``dict``: money as a decimal string
        (``"1.00"``), timestamps as ISO-8601 in UTC (``"2023-06-06T13:29:49Z"``), the status
        as its text, ``account_details`` as Juspay sends it (``{"vpa": ...}`` or
        ``{"bank_account": {...}}``) and ``"object": "customer_account"``. Personal data is
        **not** masked: it is the account's value, for your API or your files.
        ``json.dumps(account.to_dict())`` works, and FastAPI can return it.
        """
        return _unstructure(self)


@attrs.frozen(kw_only=True)
class AccountPage:
    """One page of a customer's accounts.

    Attributes:
        accounts: The accounts on this page, in Juspay's order.
        offset: The position of the first account of this page in the whole list.
        count: How many accounts Juspay says this page holds.
        total: How many accounts the customer has in all.
        request_id: Juspay's id for the answer (the ``x-request-id`` header), for
            support; not part of the page's value (ignored by ``==``).
        headers: Every header of the answer, read-only and looked up in any case
            (``page.headers.get("x-ratelimit-remaining")``); ``getall`` gives each value of
            a repeated header. Not part of the page's value (ignored by ``==``) and left out
            of the repr.
    """

    accounts: tuple[CustomerAccount, ...]
    offset: int
    count: int
    total: int
    request_id: str | None = attrs.field(default=None, eq=False)
    headers: CIMultiDictProxy[str] = attrs.field(
        factory=freeze_headers, converter=freeze_headers, eq=False, repr=False
    )

    def to_dict(self) -> dict[str, Any]:
        """The page as JSON-ready values, in the shape of Juspay's own answer.

        ``{"list": [account, ...], "offset": 0, "count": 2, "total": 2, "object": "list"}``,
        each account as :meth:`CustomerAccount.to_dict` gives it. ``request_id`` and
        ``headers`` are left out, as they are out of ``==``. Read back as an answer's body,
        it decodes to an equal page.
        """
        return _unstructure(self)

    @property
    def next_offset(self) -> int:
        """The offset of the account after the last one on this page."""
        return self.offset + len(self.accounts)

    @property
    def has_more(self) -> bool:
        """Whether accounts remain after this page.

        True when this page holds at least one account and ends before ``total``.
        An empty page never claims more, so a loop on ``has_more`` cannot spin.
        """
        return bool(self.accounts) and self.next_offset < self.total


# How the models become JSON again (to_dict): Juspay's keys, text for times and money.


def _unstructure_datetime(moment: dt.datetime) -> str:
    """ISO-8601 in UTC with Juspay's ``Z`` (``2023-06-06T13:29:49Z``), as Juspay writes them."""
    try:
        return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, ValueError):  # 9999-12-31T23:59:59-23:59 is past year 9999 in UTC
        return moment.isoformat()


def _unstructure_decimal(amount: decimal.Decimal) -> str:
    """Money as a plain decimal string (``"1E+2"`` is written ``"100"``): never a float."""
    return format(amount, "f")


def register_unstructure_hooks(converter: cattrs.Converter) -> None:
    """Models to JSON-ready values under Juspay's own keys: what ``to_dict()`` returns.

    The converter reads them back: a page's dict, as a body, decodes to an equal page.
    """
    converter.register_unstructure_hook(dt.datetime, _unstructure_datetime)
    converter.register_unstructure_hook(decimal.Decimal, _unstructure_decimal)
    for optional in (ValidationStatus | str, dt.datetime | None, decimal.Decimal | None):
        converter.register_unstructure_hook_func(
            functools.partial(operator.eq, optional), _unstructure_optional
        )
    # Juspay sends one of the two: {"vpa": ...} or {"bank_account": {...}}.
    converter.register_unstructure_hook(
        AccountDetails,
        make_dict_unstructure_fn(AccountDetails, converter, _cattrs_omit_if_default=True),
    )
    account_fn = make_dict_unstructure_fn(CustomerAccount, converter)

    def unstructure_account(account: CustomerAccount) -> dict[str, Any]:
        data: dict[str, Any] = account_fn(account)
        data["object"] = "customer_account"
        return data

    converter.register_unstructure_hook(CustomerAccount, unstructure_account)

    def unstructure_page(page: AccountPage) -> dict[str, Any]:
        # Juspay's body: the accounts under "list"; request_id and headers are not the page's
        # value (nor in Juspay's body).
        return {
            "list": [unstructure_account(account) for account in page.accounts],
            "offset": page.offset,
            "count": page.count,
            "total": page.total,
            "object": "list",
        }

    converter.register_unstructure_hook(AccountPage, unstructure_page)


def _unstructure_optional(value: dt.datetime | decimal.Decimal | str | None) -> str | None:
    """A union's value: a time or money as above, a status as its text, ``None`` as it is."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return _unstructure_datetime(value)
    if isinstance(value, decimal.Decimal):
        return _unstructure_decimal(value)
    return str(value)  # a ValidationStatus member, or a status this library does not know


@functools.cache
def json_converter() -> cattrs.Converter:
    """The converter behind the models' ``to_dict()``: these hooks, built on first use.

    :func:`juspay_accounts._converter.make_converter` registers the same hooks, so the
    library's converter writes what it reads (a test round-trips pages through both).
    """
    converter = cattrs.Converter()
    register_unstructure_hooks(converter)
    return converter
