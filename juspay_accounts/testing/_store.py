"""The fake's data: the customers and their accounts, as Juspay would serve them."""

from __future__ import annotations

import datetime as dt
import string
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    import random
    from collections.abc import Mapping

__all__ = ["AccountStore"]

_EPOCH: Final = dt.datetime(2023, 6, 6, 13, 28, 55, tzinfo=dt.UTC)


def _timestamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class AccountStore:
    """Customers and their accounts as JSON objects, in order; the data half of the fake.

    :class:`~juspay_accounts.testing.FakeJuspay` is one, so these methods are its own.
    """

    def __init__(self, rng: random.Random) -> None:
        """Start empty; ``rng`` makes up ids, dates and account numbers."""
        self._customers: dict[str, list[dict[str, Any]]] = {}
        self._random = rng

    def add_customer(self, customer_id: str) -> None:
        """Make ``customer_id`` known, with no accounts (its list is then empty, not 404)."""
        self._customers.setdefault(customer_id, [])

    def add_account(
        self,
        customer_id: str,
        *,
        vpa: str | None = None,
        bank_account: Mapping[str, Any] | None = None,
        validation_status: str = "ACTIVE",
        customer_account_id: str | None = None,
        currency: str = "INR",
        validation_amount: Any = 1,  # noqa: ANN401 - sent as given: number or string
        date_created: str | None = None,
        last_validated: str | None = None,
        position: int | None = None,
    ) -> dict[str, Any]:
        """Add an account to a customer (created if new) and return its JSON as served.

        Without ``vpa`` or ``bank_account``, a UPI VPA is made up. Ids, dates and
        ``last_validated`` (absent while ``CREATED``) get realistic values unless given.
        The account goes last, or at index ``position`` (to shift later pages mid-walk).
        """
        accounts = self._customers.setdefault(customer_id, [])
        created = _EPOCH + dt.timedelta(minutes=len(accounts), seconds=self._random.randrange(60))
        if bank_account is not None:
            details: dict[str, Any] = {"bank_account": dict(bank_account)}
        else:
            details = {"vpa": vpa or f"{self._random.randrange(10**9, 10**10)}@okaxis"}
        account: dict[str, Any] = {
            "customer_id": customer_id,
            "account_details": details,
            "currency": currency,
            "object": "customer_account",
            "validation_status": validation_status,
            "customer_account_id": customer_account_id or self._new_id("banh_"),
            "validation_amount": validation_amount,
            "date_created": date_created or _timestamp(created),
        }
        if last_validated is not None:
            account["last_validated"] = last_validated
        elif validation_status != "CREATED":
            account["last_validated"] = _timestamp(created + dt.timedelta(seconds=4))
        accounts.insert(len(accounts) if position is None else position, account)
        return account

    def remove_account(self, customer_id: str, customer_account_id: str) -> None:
        """Remove one account (to shrink ``total`` mid-walk)."""
        accounts = self._customers[customer_id]
        accounts[:] = [a for a in accounts if a.get("customer_account_id") != customer_account_id]

    def add_raw_account(self, customer_id: str, account: Mapping[str, Any]) -> None:
        """Serve ``account`` exactly as given: for odd or malformed shapes."""
        self._customers.setdefault(customer_id, []).append(dict(account))

    def make_bank_account(
        self, *, name: str = "Test Customer", bank_name: str = "SBI"
    ) -> dict[str, Any]:
        """A realistic ``bank_account`` object, to pass to :meth:`add_account`."""
        return {
            "account": "".join(self._random.choices(string.digits, k=15)),
            "name": name,
            "ifsc": "SBIN0" + "".join(self._random.choices(string.digits, k=6)),
            "juspay_bank_code": 12,
            "bank_name": bank_name,
        }

    def accounts_of(self, customer_id: str) -> list[dict[str, Any]]:
        """The accounts served for ``customer_id`` (a copy), in order."""
        return list(self._customers.get(customer_id, []))

    def _new_id(self, prefix: str) -> str:
        return prefix + "".join(self._random.choices(string.ascii_letters + string.digits, k=16))

    def _knows(self, customer_id: str) -> bool:
        return customer_id in self._customers

    def _page(
        self, customer_id: str, offset: int, count: int | None, max_count: int | None
    ) -> tuple[list[dict[str, Any]], int]:
        """Up to ``count`` accounts (all if ``None``, at most ``max_count``), and the total."""
        accounts = self._customers[customer_id]
        if count is None:
            count = len(accounts)
        if max_count is not None:
            count = min(count, max_count)
        return accounts[offset : offset + count], len(accounts)
