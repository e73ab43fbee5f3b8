"""The demo: the real client against the embedded fake Juspay, printed as a table."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Final

from juspay_accounts import AccountsClient, __version__
from juspay_accounts.cli._output import table
from juspay_accounts.testing import FakeJuspay

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DEMO_CUSTOMERS", "run_demo", "seed"]

DEMO_CUSTOMERS: Final = ("cst_aarav", "cst_diya", "cst_kabir", "cst_meera", "cst_unknown")
"""The customers the demo lists; the last one is not on the fake server."""


def seed(fake: FakeJuspay) -> None:
    """Give the fake server customers with UPI and bank accounts in all four statuses."""
    fake.add_account("cst_aarav", vpa="aarav.sharma@okicici", validation_status="ACTIVE")
    fake.add_account(
        "cst_aarav",
        bank_account=fake.make_bank_account(name="Aarav Sharma", bank_name="HDFC Bank"),
        validation_status="PENDING",
    )
    fake.add_account(
        "cst_diya",
        bank_account=fake.make_bank_account(name="Diya Iyer", bank_name="State Bank of India"),
        validation_status="ACTIVE",
        validation_amount="1.00",
    )
    fake.add_account("cst_diya", vpa="9876543210@ybl", validation_status="FAILURE")
    fake.add_account(
        "cst_kabir",
        bank_account=fake.make_bank_account(name="Kabir Khan", bank_name="ICICI Bank"),
        validation_status="CREATED",
    )
    fake.add_customer("cst_meera")


async def run_demo(write: Callable[[str], object]) -> int:
    """Start a fake Juspay, list the demo customers through the real client, write a table.

    Returns the number of customers that could not be listed (one, on purpose).
    """
    async with FakeJuspay() as fake:
        seed(fake)
        write(
            f"juspay-accounts {__version__} demo: "
            f"the real client against a fake Juspay at {fake.url}"
        )
        write("")
        out = io.StringIO()
        rows = table(out, show_account_numbers=False)
        failures: list[str] = []
        accounts = 0
        async with AccountsClient(fake.api_key, base_url=fake.url) as client:
            # The fan-out fetches every page of every customer, four at a time.
            results = await client.gather_accounts(DEMO_CUSTOMERS, concurrency=4, page_size=10)
        for position, customer_id in enumerate(DEMO_CUSTOMERS):
            result = results[customer_id]
            if result.error is not None:
                error = result.error
                failures.append(f"{customer_id}: {type(error).__name__}: {error}")
                continue
            rows.write(customer_id, result.accounts, position=position)
            accounts += len(result.accounts)
        rows.close()
        for line in out.getvalue().splitlines():
            write(line)
        write("")
        for failure in failures:
            write(f"failed: {failure}")
        write(
            f"{len(DEMO_CUSTOMERS)} customers, {accounts} accounts, "
            f"{len(failures)} failed, {len(fake.requests)} requests."
        )
    return len(failures)
