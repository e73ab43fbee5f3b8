"""A chaos soak: a few hundred customers walked through the fan-out while a third of answers fail.

The seed is printed; replay a failure with JUSPAY_CHAOS_SEED=<seed>.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
import warnings

import pytest

import juspay_accounts as ja
from juspay_accounts.testing import CHAOS_FAULTS, FakeJuspay, Fault

# The slow group (nox -s slow, in CI): hundreds of customers through chaos.
pytestmark = pytest.mark.slow


CUSTOMERS = 300
PAGE_SIZE = 5
MAX_ATTEMPTS = 12
# Generous against a loaded machine (an ordinary answer can take 0.1 s there); a late
# answer (3 s) still trips it.
TIMEOUT = 0.5


@pytest.mark.asyncio
async def test_chaos_soak_loses_nothing() -> None:
    """Every customer's accounts come back complete, exactly once, whatever the faults."""
    # A fixed seed by default, so a run is repeatable; JUSPAY_CHAOS_SEED tries another.
    seed = int(os.environ.get("JUSPAY_CHAOS_SEED", "20261207"))
    print(f"\nchaos soak seed {seed} (replay with JUSPAY_CHAOS_SEED={seed})")  # noqa: T201
    rng = random.Random(seed)  # noqa: S311 - test data
    faults = [f for f in CHAOS_FAULTS if f.kind != "late"] + [Fault.answer_late(3.0)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with FakeJuspay(seed=seed, latency=0.001, max_page_size=7) as fake:
            expected: dict[str, list[str]] = {}
            for i in range(CUSTOMERS):
                customer = f"cst_{i:03d}"
                fake.add_customer(customer)
                expected[customer] = [
                    fake.add_account(customer)["customer_account_id"]
                    for _ in range(rng.randrange(26))
                ]
            pages = sum(max(1, math.ceil(len(ids) / PAGE_SIZE)) for ids in expected.values())
            fake.chaos(0.3, faults=faults, seed=seed)
            # No retry budget: at 30 % of faults it would refuse some retries, by design
            # (tests/retry/test_retry_budget.py); here every fault must be ridden out.
            policy = ja.RetryPolicy(max_attempts=MAX_ATTEMPTS, retry_budget=None).without_waiting()
            started = time.perf_counter()
            async with ja.AccountsClient(
                fake.api_key, base_url=fake.url, timeout=TIMEOUT, retry=policy
            ) as client:
                results = await client.gather_accounts(
                    list(expected), concurrency=16, page_size=PAGE_SIZE
                )
                session = client._transport.session
                assert session is not None
                assert session.connector is not None
                checked_out = len(session.connector._acquired)
            elapsed = time.perf_counter() - started
            requests = len(fake.requests)
            injected = dict(fake.fault_counts)
    print(  # noqa: T201 - the soak's figures
        f"chaos soak: {CUSTOMERS} customers, {sum(map(len, expected.values()))} accounts, "
        f"{pages} pages, {requests} requests, {sum(injected.values())} faults {injected}, "
        f"{elapsed:.2f} s"
    )
    failed = {c: r.error for c, r in results.items() if not r.ok}
    assert {} == failed
    assert set(expected) == set(results)
    for customer, ids in expected.items():
        assert ids == [a.customer_account_id for a in results[customer].accounts], customer
    # Each page takes at least one request, at most every attempt, each resent once by
    # aiohttp when the connection drops.
    assert pages <= requests <= pages * MAX_ATTEMPTS * 2
    assert sum(injected.values()) >= pages * 0.2
    assert 0 == checked_out
    pending = [
        t
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task() and "RequestHandler." not in repr(t.get_coro())
    ]
    assert [] == pending
    assert [] == [str(w.message) for w in caught]
