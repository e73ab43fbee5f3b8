"""A fan-out read by several tasks at once: every result reaches one of them, nobody hangs."""

from __future__ import annotations

import asyncio

import pytest

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay


@pytest.mark.asyncio
async def test_several_tasks_share_one_fan_out() -> None:
    """Three workers reading one fan-out get every customer once between them, and finish."""
    async with FakeJuspay(latency=0.002) as fake:
        ids = [f"cst_{i}" for i in range(30)]
        for customer in ids:
            fake.add_account(customer)
        async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
            fan_out = client.accounts_for_customers(ids, concurrency=4)

            async def worker() -> list[str]:
                return [result.customer_id async for result in fan_out]

            # A bound on the failure (each worker waited forever), not a wait: it takes ms.
            async with asyncio.timeout(5):
                shares = await asyncio.gather(worker(), worker(), worker())
    taken = [customer for share in shares for customer in share]
    assert sorted(ids) == sorted(taken)
