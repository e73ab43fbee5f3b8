"""The fan-out at its edges: sources that misbehave, tasks cancelled elsewhere, a closed loop."""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault

if TYPE_CHECKING:
    from collections.abc import AsyncIterator


async def no_accounts(customer_id: str) -> tuple[ja.CustomerAccount, ...]:
    """A fetch that finds no account for anyone, at once."""
    del customer_id
    return ()


@pytest.mark.asyncio
async def test_an_async_source_is_read_only_as_slots_free_up(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """With every answer stalled, concurrency 2 reads two ids of an async source and sends two."""
    fake.inject(Fault.answer_late(30.0), times=10)
    pulled: list[str] = []

    async def ids() -> AsyncIterator[str]:
        for i in range(10):
            pulled.append(f"c{i}")
            yield f"c{i}"

    async with client.accounts_for_customers(ids(), concurrency=2) as stream:
        waiting = asyncio.create_task(anext(stream))
        async with asyncio.timeout(5):  # a bound on the failure, not a wait: it takes ms
            while fake.in_flight < 2:  # noqa: ASYNC110 - polling the fake server's counter
                await asyncio.sleep(0.005)
        for _ in range(20):  # turns of the loop in which a third id could be read
            await asyncio.sleep(0)
        assert ["c0", "c1"] == pulled
        assert 2 == fake.in_flight
        waiting.cancel()
        await asyncio.gather(waiting, return_exceptions=True)
    assert 2 == fake.peak_in_flight


class BrokenAfterTwo:
    """Two ids refused before sending (so both finish at once), a failure, then more ids."""

    def __init__(self) -> None:
        """Nothing read yet."""
        self.reads = 0

    def __iter__(self) -> BrokenAfterTwo:
        """The iterator is itself."""
        return self

    def __next__(self) -> str:
        """One space, two, then RuntimeError, then ids of more spaces for ever."""
        self.reads += 1
        if 3 == self.reads:
            msg = "the id source broke"
            raise RuntimeError(msg)
        return " " * self.reads


@pytest.mark.asyncio
async def test_a_source_that_raised_is_not_read_again(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """After the id iterator raises, the results finished come, then its error: no more reads."""
    source = BrokenAfterTwo()
    got: list[str] = []

    async def consume() -> None:
        async for result in client.accounts_for_customers(source, concurrency=2):
            got.append(result.customer_id)  # noqa: PERF401 - kept as they come, then raise

    with pytest.raises(RuntimeError, match="the id source broke"):
        await consume()
    assert [" ", "  "] == sorted(got)
    assert 3 == source.reads
    assert [] == fake.requests


@pytest.mark.asyncio
async def test_a_source_cancelled_on_its_own_is_not_taken_for_its_end(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """An async source raising CancelledError ends the fan-out with it, not as if ids ran out."""

    async def ids() -> AsyncIterator[str]:
        yield " "  # refused before sending: finished at once
        raise asyncio.CancelledError

    got: list[str] = []

    async def consume() -> None:
        async for result in client.accounts_for_customers(ids()):
            got.append(result.customer_id)  # noqa: PERF401 - kept as they come, then raise

    with pytest.raises(asyncio.CancelledError):
        await consume()
    assert [" "] == got
    assert [] == fake.requests


@pytest.mark.asyncio
async def test_a_customer_cancelled_elsewhere_does_not_end_the_stream() -> None:
    """A customer whose fetch is cancelled (not by the fan-out) gives no result; the rest come."""

    async def fetch(customer_id: str) -> tuple[ja.CustomerAccount, ...]:
        if "x" == customer_id:
            raise asyncio.CancelledError
        return ()

    stream = ja.CustomerResultStream(fetch, ["a", "x", "b"], concurrency=3)
    assert ["a", "b"] == [result.customer_id async for result in stream]


@pytest.mark.asyncio
async def test_a_stream_made_directly_fetches_each_id_once() -> None:
    """CustomerResultStream without dedupe= fetches a repeated id once, as the client does."""
    fetched: list[str] = []

    async def fetch(customer_id: str) -> tuple[ja.CustomerAccount, ...]:
        fetched.append(customer_id)
        return ()

    stream = ja.CustomerResultStream(fetch, ["a", "b", "a"], concurrency=1)
    assert ["a", "b"] == [result.customer_id async for result in stream]
    assert ["a", "b"] == fetched


@pytest.mark.asyncio
async def test_a_failure_left_untaken_is_not_reported_as_never_retrieved() -> None:
    """Leaving the loop with a task's failure (a bug) not taken yet: asyncio reports nothing."""

    async def fetch(customer_id: str) -> tuple[ja.CustomerAccount, ...]:
        if "bug" == customer_id:
            msg = "a bug in the fetch"
            raise RuntimeError(msg)
        return ()

    reported: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(
        lambda _loop, context: reported.append(context)
    )
    async for result in ja.CustomerResultStream(fetch, ["a", "bug"], concurrency=2):
        assert "a" == result.customer_id
        break
    await asyncio.sleep(0)  # the cancellations end
    gc.collect()
    assert [] == reported


def test_dropping_a_fan_out_after_its_loop_closed_raises_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A fan-out dropped with work in flight once its loop is closed (at exit) goes quietly."""
    loop = asyncio.new_event_loop()

    async def fetch(customer_id: str) -> tuple[ja.CustomerAccount, ...]:
        if "stalled" == customer_id:
            await asyncio.Event().wait()
        return ()

    stream = ja.CustomerResultStream(fetch, ["a", "stalled"], concurrency=2)
    assert "a" == loop.run_until_complete(anext(stream)).customer_id
    assert "in_flight=1" in repr(stream)
    loop.set_exception_handler(lambda _loop, _context: None)  # "destroyed but pending"
    loop.close()
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    del stream
    gc.collect()
    assert [] == unraisable


def test_a_waiting_call_collected_after_its_loop_closed_goes_quietly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A next result still awaited when its loop closes is collected without awaiting again."""
    loop = asyncio.new_event_loop()
    started = []

    async def fetch(customer_id: str) -> tuple[ja.CustomerAccount, ...]:
        started.append(customer_id)
        await asyncio.Event().wait()
        return ()

    stream = ja.CustomerResultStream(fetch, ["stalled"], concurrency=1)
    waiting = loop.create_task(anext(stream))
    loop.run_until_complete(asyncio.sleep(0))
    loop.run_until_complete(asyncio.sleep(0))
    assert ["stalled"] == started
    loop.set_exception_handler(lambda _loop, _context: None)  # "destroyed but pending"
    loop.close()
    unraisable: list[str] = []
    monkeypatch.setattr(
        sys, "unraisablehook", lambda u: unraisable.append(f"{u.exc_type.__name__}: {u.exc_value}")
    )
    del waiting, stream
    gc.collect()
    assert [] == unraisable


@pytest.mark.asyncio
async def test_concurrency_above_max_connections_warns_at_every_fan_out(
    fake: FakeJuspay, caplog: pytest.LogCaptureFixture
) -> None:
    """Each fan-out of a client with its own session warns, not only the one that made it.

    A client given a session (whose pool is the caller's) never warns.
    """
    fake.add_account("cst_1")
    caplog.set_level(logging.WARNING, logger="juspay_accounts")
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, max_connections=2) as client:
        for _ in range(3):
            await client.gather_accounts(["cst_1"], concurrency=5)
        await client.gather_accounts(["cst_1"], concurrency=2)  # within the pool: no warning
    warnings = [r.getMessage() for r in caplog.records if r.name == "juspay_accounts"]
    assert ["concurrency 5 is above max_connections 2"] * 3 == [w.split(":")[0] for w in warnings]
    caplog.clear()
    async with (
        aiohttp.ClientSession() as session,
        ja.AccountsClient(fake.api_key, base_url=fake.url, session=session) as given,
    ):
        await given.gather_accounts(["cst_1"], concurrency=500)
    assert [] == [r for r in caplog.records if r.name == "juspay_accounts"]
