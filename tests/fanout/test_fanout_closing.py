"""A fan-out's repr, and aclose() waiting for the id source it was reading to wind down."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

import juspay_accounts as ja
from juspay_accounts.testing import MockResponse, MockTransport

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

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


_ACCOUNT = {
    "customer_account_id": "banh_1",
    "customer_id": "cst_1",
    "account_details": {"vpa": "alice@upi"},
    "validation_status": "ACTIVE",
    "date_created": "2024-01-01T00:00:00Z",
}


def test_a_clean_up_running_while_the_loop_shuts_down_can_still_walk_and_fan_out() -> None:
    """A generator abandoned by the application, closed by ``asyncio.run`` as it ends.

    Its clean-up calls ``all_accounts`` and ``gather_accounts``: asyncio refuses new async
    generators at that point, so neither may run on one (warnings are errors here).
    """
    page = {"list": [_ACCOUNT], "offset": 0, "count": 1, "total": 1}
    accounts = ja.AccountsClient(
        "key_0123456789", transport=MockTransport(lambda _r: MockResponse(200, json=page))
    )
    done: list[object] = []

    async def abandoned() -> AsyncIterator[int]:
        try:
            yield 1
        finally:
            done.append(len(await accounts.all_accounts("cst_1")))
            results = await accounts.gather_accounts(["cst_1", "cst_2"])
            done.append(sorted(len(r.accounts) for r in results.values()))

    kept: list[AsyncIterator[int]] = []

    async def main() -> None:
        stream = abandoned()
        await anext(stream)
        kept.append(stream)  # left open: asyncio.run's shutdown_asyncgens() closes it

    asyncio.run(main())
    assert [1, [1, 1]] == done
