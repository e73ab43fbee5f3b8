"""A fan-out's repr, and aclose() waiting for the id source it was reading to wind down."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import juspay_accounts as ja
    from juspay_accounts.testing import FakeJuspay


@pytest.mark.asyncio
async def test_repr_says_how_far_it_came(fake: FakeJuspay, client: ja.AccountsClient) -> None:
    """The repr names the class, the bounds, what was started, and whether it is closed."""
    fake.add_account("cst_1")
    fake.add_account("cst_2")
    stream = client.accounts_for_customers(["cst_1", "cst_2"], concurrency=3)
    assert "<CustomerResultStream concurrency=3 in_flight=0 started=0>" == repr(stream)
    results = [await anext(stream), await anext(stream)]
    assert ["cst_1", "cst_2"] == sorted(result.customer_id for result in results)
    await stream.aclose()
    assert "<CustomerResultStream concurrency=3 in_flight=0 started=2 closed>" == repr(stream)


async def stalled_source(log: list[str]) -> AsyncIterator[str]:
    """One id, then none for ever; closing it takes a few turns of the loop."""
    try:
        yield "cst_1"
        await asyncio.Event().wait()
        yield "never"
    finally:
        for _ in range(10):
            await asyncio.sleep(0)
        log.append("source closed")


@pytest.mark.asyncio
async def test_aclose_waits_for_the_source_being_read(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """aclose() returns only once the id source it was waiting on has finished closing."""
    fake.add_account("cst_1")
    log: list[str] = []
    stream = client.accounts_for_customers(stalled_source(log), concurrency=1)
    assert "cst_1" == (await anext(stream)).customer_id
    waiting = asyncio.create_task(anext(stream))  # waits on the source for the next id
    for _ in range(3):
        await asyncio.sleep(0)
    await stream.aclose()
    assert ["source closed"] == log
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
