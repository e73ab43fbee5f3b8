"""The client on uvloop: calls, retries, pagination, fan-out, timeouts and closing, on both loops.

Each asyncio test here runs once on asyncio's own loop and once on uvloop (see conftest.py).
"""

from __future__ import annotations

import asyncio
import time
import warnings
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
import uvloop

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    import aiohttp


@pytest.fixture
def loop_kind(request: pytest.FixtureRequest) -> str:
    """The loop this test was parametrised to run on: ``"asyncio"`` or ``"uvloop"``."""
    factory = request.node.callspec.params["_asyncio_loop_factory"]
    return str(factory.__module__).split(".")[0]


def running_loop_kind() -> str:
    """The package of the running loop's class: ``"asyncio"`` or ``"uvloop"``."""
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


@pytest_asyncio.fixture
async def paged_fake() -> AsyncIterator[FakeJuspay]:
    """A fake Juspay that answers at most 2 accounts a page, with 1 ms latency."""
    async with FakeJuspay(max_page_size=2, latency=0.001) as server:
        yield server


@pytest.mark.asyncio
async def test_runs_on_the_loop_it_names(loop_kind: str) -> None:
    """The parametrisation really swaps the loop: one run is on uvloop, the other on asyncio's."""
    assert loop_kind == running_loop_kind()


@pytest.mark.asyncio
async def test_retries_and_decodes(fake: FakeJuspay, client: ja.AccountsClient) -> None:
    """A 503 then a success: one retry, and the page decodes to the accounts the server holds."""
    expected = [fake.add_account("cst_1")["customer_account_id"] for _ in range(3)]
    fake.inject(Fault.respond(503, "<html>busy</html>"), customer_id="cst_1")
    page = await client.list_accounts("cst_1")
    assert expected == [account.customer_account_id for account in page.accounts]
    assert (2, 1) == (client.stats.requests, client.stats.retries)
    assert 3 == page.total


@pytest.mark.asyncio
async def test_walks_every_page(paged_fake: FakeJuspay) -> None:
    """iter_accounts walks a customer page by page, each account once."""
    expected = [paged_fake.add_account("cst_big")["customer_account_id"] for _ in range(7)]
    async with ja.AccountsClient(paged_fake.api_key, base_url=paged_fake.url) as client:
        actual = [account.customer_account_id async for account in client.iter_accounts("cst_big")]
    assert expected == actual
    assert 4 == len(paged_fake.requests)


@pytest.mark.asyncio
async def test_fan_out_answers_every_customer(paged_fake: FakeJuspay) -> None:
    """200 customers at concurrency 16, some missing and some flaky: each gets its own answer."""
    expected: dict[str, int] = {}
    for i in range(200):
        customer = f"cst_{i:03d}"
        if i % 10 == 3:
            continue  # unknown to the server: NotFoundError for this customer alone
        for _ in range(i % 4):
            paged_fake.add_account(customer)
        paged_fake.add_customer(customer)
        expected[customer] = i % 4
        if i % 10 == 7:
            paged_fake.inject(Fault.respond(503, "<html>busy</html>"), customer_id=customer)
    policy = ja.RetryPolicy().without_waiting()
    async with ja.AccountsClient(
        paged_fake.api_key, base_url=paged_fake.url, retry=policy
    ) as client:
        results = await client.gather_accounts([f"cst_{i:03d}" for i in range(200)], concurrency=16)
    assert expected == {c: len(r.accounts) for c, r in results.items() if r.error is None}
    missing = {c for c, r in results.items() if isinstance(r.error, ja.NotFoundError)}
    assert {f"cst_{i:03d}" for i in range(3, 200, 10)} == missing


@pytest.mark.asyncio
async def test_timeout_is_a_timeout_error(fake: FakeJuspay) -> None:
    """An answer later than the client's timeout ends the call with APITimeoutError."""
    fake.add_customer("cst_slow")
    fake.inject(Fault.answer_late(5.0), customer_id="cst_slow")
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, timeout=0.05, retry=ja.RetryPolicy.disabled()
    ) as client:
        started = time.monotonic()
        with pytest.raises(ja.APITimeoutError, match=r"within 0\.05 s"):
            await client.list_accounts("cst_slow")
    assert time.monotonic() - started < 2.0


@pytest.mark.asyncio
async def test_closing_wakes_a_call_waiting_to_retry(fake: FakeJuspay) -> None:
    """A call in a long Retry-After wait ends at once with ClientClosedError on aclose()."""
    fake.add_customer("cst_1")
    fake.inject(Fault.respond(503, "", headers={"Retry-After": "50"}), times=5)
    client = ja.AccountsClient(fake.api_key, base_url=fake.url)
    task = asyncio.create_task(client.list_accounts("cst_1"))
    while not fake.requests:  # noqa: ASYNC110 - polling the fake server's record
        await asyncio.sleep(0.002)
    await asyncio.sleep(0.01)
    started = time.monotonic()
    await client.aclose()
    with pytest.raises(ja.ClientClosedError, match="closed while this call waited"):
        await task
    assert time.monotonic() - started < 0.5
    assert 1 == len(fake.requests)


@pytest.mark.parametrize(
    "factory", [asyncio.new_event_loop, uvloop.new_event_loop], ids=["asyncio", "uvloop"]
)
def test_own_session_closes_with_its_loop(
    factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    """A client never closed by hand: its session is closed as the loop ends, with no warning."""

    async def use() -> tuple[ja.AccountsClient, aiohttp.ClientSession | None]:
        async with FakeJuspay() as fake:
            fake.add_account("cst_1")
            fake.add_account("cst_1")
            client = ja.AccountsClient(fake.api_key, base_url=fake.url)
            assert 2 == (await client.list_accounts("cst_1")).total
            return client, client._transport.session

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with asyncio.Runner(loop_factory=factory) as runner:
            client, session = runner.run(use())
    assert [] == [f"{w.category.__name__}: {w.message}" for w in caught]
    assert session is not None
    assert session.closed
    assert not client.closed
