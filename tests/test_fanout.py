"""Fan-out over many customers: bounded concurrency, laziness, isolated failures, clean exits."""

from __future__ import annotations

import asyncio
import gc
import itertools
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
async def test_break_without_context_manager_cleans_up(busy_fake: FakeJuspay) -> None:
    """A plain async-for left early cancels the work in flight once the iterator is dropped."""
    for i in range(50):
        busy_fake.add_account(f"c{i}")
    async with ja.AccountsClient(busy_fake.api_key, base_url=busy_fake.url) as client:
        async for _ in client.accounts_for_customers([f"c{i}" for i in range(50)], concurrency=8):
            break
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)
        assert set() == other_tasks()
        assert 0 == acquired(client)
        assert 1 == len(await client.all_accounts("c49"))


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
