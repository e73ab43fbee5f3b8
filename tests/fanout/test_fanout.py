"""Fan-out over many customers: bounded concurrency, laziness, isolated failures, clean exits."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator


def acquired(client: ja.AccountsClient) -> int:
    """Connections the client's pool has checked out right now."""
    session = client._transport.session
    if session is None or session.connector is None:
        return 0
    return len(session.connector._acquired)


def other_tasks() -> set[asyncio.Task[object]]:
    """Tasks still pending besides the test's own and the fake server's connection handlers."""
    current = asyncio.current_task()
    return {
        task
        for task in asyncio.all_tasks()
        if task is not current and "RequestHandler." not in repr(task.get_coro())
    }


@pytest_asyncio.fixture
async def busy_fake() -> AsyncIterator[FakeJuspay]:
    """A fake with 2 ms latency (so requests overlap) and a page cap of 2."""
    async with FakeJuspay(latency=0.002, max_page_size=2) as server:
        yield server


@pytest.mark.asyncio
async def test_thousand_customers_bounded_concurrency(busy_fake: FakeJuspay) -> None:
    """1,000 customers, some missing and some flaky: all answered, never above the limit."""
    expected: dict[str, list[str]] = {}
    for i in range(1000):
        customer = f"cst_{i:04d}"
        if i % 10 == 3:
            continue  # missing: 404
        expected[customer] = [
            busy_fake.add_account(customer)["customer_account_id"] for _ in range(i % 5)
        ]
        busy_fake.add_customer(customer)
        if i % 10 == 7:
            busy_fake.inject(Fault.respond(503, "<html>busy</html>"), customer_id=customer)
    policy = ja.RetryPolicy().without_waiting()
    async with ja.AccountsClient(busy_fake.api_key, base_url=busy_fake.url, retry=policy) as client:
        started = time.perf_counter()
        results = [
            r
            async for r in client.accounts_for_customers(
                (f"cst_{i:04d}" for i in range(1000)), concurrency=10, page_size=3
            )
        ]
        elapsed = time.perf_counter() - started
    by_id = {r.customer_id: r for r in results}
    assert 1000 == len(results) == len(by_id)
    for customer, ids in expected.items():
        assert by_id[customer].ok
        assert ids == [a.customer_account_id for a in by_id[customer].accounts]
    missing = [r for r in results if not r.ok]
    assert 100 == len(missing)
    assert all(isinstance(r.error, ja.NotFoundError) and r.accounts == () for r in missing)
    assert 0 < busy_fake.peak_in_flight <= 10
    assert 0 == busy_fake.pending_faults
    print(  # noqa: T201 - the figures for the closing note
        f"\n1,000-customer fan-out: {len(busy_fake.requests)} requests in {elapsed:.2f} s "
        f"({len(busy_fake.requests) / elapsed:.0f} req/s, {1000 / elapsed:.0f} customers/s), "
        f"peak {busy_fake.peak_in_flight} in flight"
    )


@pytest.mark.asyncio
async def test_failures_are_isolated(fake: FakeJuspay, client: ja.AccountsClient) -> None:
    """One customer's auth-level failure or bad id does not stop the others."""
    fake.add_account("good")
    fake.inject(Fault.respond(500, ""), times=10, customer_id="broken")
    fake.add_customer("broken")
    results = await client.gather_accounts(["good", "broken", "  ", "missing"])
    assert {"good", "broken", "  ", "missing"} == set(results)
    assert results["good"].ok
    assert 1 == len(results["good"].accounts)
    assert isinstance(results["broken"].error, ja.ServerError)
    assert 4 == results["broken"].error.attempts
    assert isinstance(results["  "].error, ja.InvalidInputError)
    assert isinstance(results["missing"].error, ja.NotFoundError)


@pytest.mark.asyncio
async def test_duplicates_are_fetched_once(fake: FakeJuspay, client: ja.AccountsClient) -> None:
    """Repeated ids give one result and one request each."""
    fake.add_account("a")
    fake.add_account("b")
    results = [r async for r in client.accounts_for_customers(["a", "b", "a", "a", "b"])]
    assert ["a", "b"] == sorted(r.customer_id for r in results)
    assert 2 == len(fake.requests)


@pytest.mark.asyncio
async def test_async_iterable_input(fake: FakeJuspay, client: ja.AccountsClient) -> None:
    """Ids may come from an async iterable, read lazily."""
    for i in range(5):
        fake.add_account(f"c{i}")

    async def ids() -> AsyncIterator[str]:
        for i in range(5):
            await asyncio.sleep(0)
            yield f"c{i}"

    results = await client.gather_accounts(ids(), concurrency=2)
    assert {f"c{i}" for i in range(5)} == set(results)
    assert all(r.ok for r in results.values())


@pytest.mark.asyncio
async def test_endless_input_is_consumed_lazily(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """An endless id generator is read only as slots free up; leaving early stops it cleanly."""
    pulled = 0

    def endless() -> Iterator[str]:
        nonlocal pulled
        for i in itertools.count():
            pulled += 1
            fake.add_customer(f"c{i}")
            yield f"c{i}"

    taken = []
    async with client.accounts_for_customers(endless(), concurrency=4) as results:
        async for result in results:
            taken.append(result)
            if len(taken) == 20:
                break
    assert 20 == len(taken)
    assert pulled <= 20 + 4
    assert set() == other_tasks()
    assert 0 == acquired(client)
    # The client is still usable.
    assert 0 == (await client.list_accounts("c0")).total


@pytest.mark.asyncio
async def test_cancelling_the_consumer_cancels_the_work(busy_fake: FakeJuspay) -> None:
    """Cancelling the task that runs a fan-out returns promptly with nothing left running."""
    for i in range(200):
        busy_fake.add_account(f"c{i}")
    busy_fake.inject(Fault.answer_late(30.0), times=200)
    async with ja.AccountsClient(busy_fake.api_key, base_url=busy_fake.url) as client:

        async def consume() -> int:
            return len(await client.gather_accounts([f"c{i}" for i in range(200)], concurrency=8))

        task = asyncio.create_task(consume())
        while busy_fake.in_flight < 8:  # noqa: ASYNC110 - polling the fake server's counter
            await asyncio.sleep(0.005)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 0.5
        assert set() == other_tasks()
        assert 0 == acquired(client)
        busy_fake.clear_faults()
        assert 1 == len(await client.all_accounts("c0"))
    assert 8 == busy_fake.peak_in_flight


@pytest.mark.asyncio
async def test_a_failing_input_iterator_surfaces(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """An exception from the caller's id iterator reaches the caller, and the work stops."""

    def broken() -> Iterator[str]:
        fake.add_customer("a")
        yield "a"
        msg = "the id source broke"
        raise RuntimeError(msg)

    with pytest.raises(RuntimeError, match="the id source broke"):
        await client.gather_accounts(broken())
    assert set() == other_tasks()


@pytest.mark.asyncio
async def test_non_string_id_is_a_type_error(client: ja.AccountsClient) -> None:
    """An id of the wrong type is a programming error and stops the fan-out."""
    with pytest.raises(TypeError, match="customer_id must be a str"):
        await client.gather_accounts([123])  # type: ignore[list-item]


@pytest.mark.parametrize("concurrency", [0, -1])
def test_bad_concurrency_is_refused(concurrency: int) -> None:
    """A concurrency below 1 fails at the call."""
    with pytest.raises(ValueError, match="concurrency"):
        ja.AccountsClient("k").accounts_for_customers(["a"], concurrency=concurrency)


@pytest.mark.asyncio
async def test_pages_count_toward_concurrency(busy_fake: FakeJuspay) -> None:
    """Customers with many pages still never put more than `concurrency` requests in flight."""
    for i in range(12):
        for _ in range(9):
            busy_fake.add_account(f"c{i}")
    async with ja.AccountsClient(busy_fake.api_key, base_url=busy_fake.url) as client:
        results = await client.gather_accounts(
            [f"c{i}" for i in range(12)], concurrency=3, page_size=2
        )
    assert all(9 == len(r.accounts) for r in results.values())
    assert 12 * 5 == len(busy_fake.requests)
    assert 3 == busy_fake.peak_in_flight


def test_result_ok_property() -> None:
    """A result is ok exactly when it has no error."""
    assert ja.CustomerResult("a").ok
    assert not ja.CustomerResult("a", (), ja.NotFoundError(status=404)).ok


# -- leaving the loop stops the work; results never wait for slow ids ---------------

LATENCY = 0.005
"""Seconds each of the slow fake's answers takes."""
PAGES = 40
"""Pages each slow customer has: far more than a test waits for."""


@pytest_asyncio.fixture
async def slow_fake() -> AsyncIterator[FakeJuspay]:
    """A fake answering in 5 ms, one account a page: "quick" has 1 page, c0-c7 have 40 each."""
    async with FakeJuspay(latency=LATENCY, max_page_size=1) as server:
        server.add_account("quick")
        for i in range(8):
            for _ in range(PAGES):
                server.add_account(f"c{i}")
        yield server


def slow_ids() -> list[str]:
    """The quick customer first (its one page finishes first), then the slow ones."""
    return ["quick"] + [f"c{i}" for i in range(8)]


async def requests_after(fake: FakeJuspay, seen_then: int) -> int:
    """Requests the fake records over the 20 answer times after a moment it had seen some."""
    await asyncio.sleep(20 * LATENCY)
    return len(fake.requests) - seen_then


async def assert_stopped(fake: FakeJuspay, client: ja.AccountsClient, seen_then: int) -> None:
    """Every fan-out task is cancelled already, none is left, and no new request starts.

    The three slow customers still in flight may each have had one request on its way
    (an aiohttp server answers it even when the client has gone): those are allowed.
    """
    assert all(task.cancelling() or task.done() for task in other_tasks())
    after = await requests_after(fake, seen_then)
    assert after <= 3, f"{after} requests after leaving the loop"
    assert set() == other_tasks()
    assert 1 == len(await client.all_accounts("quick"))


@pytest.mark.asyncio
async def test_break_without_context_manager_stops_the_work(
    slow_fake: FakeJuspay, caplog: pytest.LogCaptureFixture
) -> None:
    """A plain async-for left by break cancels the slow customers at once: no new request."""
    caplog.set_level(logging.ERROR, logger="asyncio")
    async with ja.AccountsClient(slow_fake.api_key, base_url=slow_fake.url) as client:
        async for result in client.accounts_for_customers(slow_ids(), concurrency=4):
            assert "quick" == result.customer_id
            break
        await assert_stopped(slow_fake, client, len(slow_fake.requests))
    assert [] == [r.getMessage() for r in caplog.records if r.name == "asyncio"]


@pytest.mark.asyncio
async def test_break_stops_the_work_even_while_the_fan_out_is_held(
    slow_fake: FakeJuspay,
) -> None:
    """Leaving the loop stops the work even when a variable still holds the fan-out."""
    async with ja.AccountsClient(slow_fake.api_key, base_url=slow_fake.url) as client:
        results = client.accounts_for_customers(slow_ids(), concurrency=4)
        async for _ in results:
            break
        await assert_stopped(slow_fake, client, len(slow_fake.requests))
        assert [] == [r async for r in results]  # iterated once: nothing more comes
        assert "closed" in repr(results)


@pytest.mark.asyncio
async def test_an_exception_in_the_loop_body_stops_the_work(slow_fake: FakeJuspay) -> None:
    """An exception raised in the async-for body cancels the slow customers at once."""
    async with ja.AccountsClient(slow_fake.api_key, base_url=slow_fake.url) as client:

        async def fail_in_the_loop() -> None:
            async for _ in client.accounts_for_customers(slow_ids(), concurrency=4):
                raise LookupError

        with pytest.raises(LookupError):
            await fail_in_the_loop()
        await assert_stopped(slow_fake, client, len(slow_fake.requests))


@pytest.mark.asyncio
async def test_dropping_a_partly_read_fan_out_stops_the_work(slow_fake: FakeJuspay) -> None:
    """A fan-out read with anext() and then dropped cancels the slow customers at once."""
    async with ja.AccountsClient(slow_fake.api_key, base_url=slow_fake.url) as client:
        results = client.accounts_for_customers(slow_ids(), concurrency=4)
        assert "quick" == (await anext(results)).customer_id
        del results
        await assert_stopped(slow_fake, client, len(slow_fake.requests))


@pytest.mark.asyncio
async def test_a_result_is_handed_out_while_the_next_id_is_slow(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """A source that yields a, then waits, gives a's result before its next id."""
    fake.add_account("a")
    fake.add_account("b")
    release = asyncio.Event()
    pulled: list[str] = []

    async def ids() -> AsyncIterator[str]:
        pulled.append("a")
        yield "a"
        await release.wait()  # set only once a's result has arrived
        pulled.append("b")
        yield "b"

    got = []
    async with asyncio.timeout(5):  # a bound on the failure, not a wait: it passes in ms
        async for result in client.accounts_for_customers(ids(), concurrency=4):
            got.append(result.customer_id)
            if "a" == result.customer_id:
                assert ["a"] == pulled  # b had not been read: a's result did not wait for it
                release.set()
    assert ["a", "b"] == got


@pytest.mark.asyncio
async def test_a_source_fed_by_the_results_does_not_deadlock(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """Ids fed from a queue by the consumer itself (a crawl) all come back."""
    for i in range(5):
        fake.add_account(f"c{i}")
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    queue.put_nowait("c0")

    async def ids() -> AsyncIterator[str]:
        while (item := await queue.get()) is not None:
            yield item

    got = []
    async with asyncio.timeout(5):  # a bound on the failure, not a wait: it passes in ms
        async for result in client.accounts_for_customers(ids(), concurrency=3):
            got.append(result.customer_id)
            queue.put_nowait(f"c{len(got)}" if len(got) < 5 else None)
    assert [f"c{i}" for i in range(5)] == got


@pytest.mark.asyncio
async def test_a_failing_source_hands_out_finished_results_first(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """When the id source raises, results already finished come first, then the error."""
    fake.add_customer("slow")
    fake.inject(Fault.answer_late(30.0), customer_id="slow")

    async def ids() -> AsyncIterator[str]:
        yield "slow"
        yield " "  # refused before sending: finished at once
        yield "  "
        await asyncio.sleep(0)
        msg = "the id source broke"
        raise RuntimeError(msg)

    got: list[str] = []

    async def consume() -> None:
        async with asyncio.timeout(5):  # a bound on the failure, not a wait
            async for result in client.accounts_for_customers(ids(), concurrency=4):
                got.append(result.customer_id)  # noqa: PERF401 - kept as they come, then raise

    with pytest.raises(RuntimeError, match="the id source broke"):
        await consume()
    assert [" ", "  "] == sorted(got)
    assert set() == other_tasks()  # "slow" was cancelled, not awaited


@pytest.mark.parametrize("ids", ["cst_123", b"cst_123", bytearray(b"cst_123")])
@pytest.mark.asyncio
async def test_a_plain_string_is_not_a_list_of_ids(
    fake: FakeJuspay, client: ja.AccountsClient, ids: str | bytes
) -> None:
    """A str, bytes or bytearray given as the ids is a TypeError, before anything is sent."""
    fake.add_account("c")
    expected = (
        "customer_ids must be an iterable of ids, not a single id "
        f"({type(ids).__name__}): pass [customer_id]"
    )
    with pytest.raises(TypeError) as made:
        client.accounts_for_customers(ids)  # type: ignore[arg-type]
    assert expected == str(made.value)
    with pytest.raises(TypeError) as gathered:
        await client.gather_accounts(ids)  # type: ignore[arg-type]
    assert expected == str(gathered.value)
    assert [] == fake.requests


@pytest.mark.asyncio
async def test_an_unencodable_id_fails_only_that_customer(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """A lone surrogate in one id is that customer's InvalidInputError; the others complete."""
    for customer in ("a", "b"):
        fake.add_account(customer)
    results = await client.gather_accounts(["a", "bad\udce9", "b"], concurrency=1)
    assert ["a", "b"] == sorted(c for c, r in results.items() if r.ok)
    assert isinstance(results["bad\udce9"].error, ja.InvalidInputError)
    assert () == results["bad\udce9"].accounts
    assert ["a", "b"] == sorted(r.customer_id or "" for r in fake.requests)


@pytest.mark.asyncio
async def test_without_dedupe_every_id_is_fetched(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """dedupe=False fetches and yields a repeated id each time it comes."""
    fake.add_account("a")
    fake.add_account("b")
    results = [
        r.customer_id
        async for r in client.accounts_for_customers(["a", "b", "a"], dedupe=False, concurrency=1)
    ]
    assert ["a", "b", "a"] == results
    assert 3 == len(fake.requests)
