"""Closing the client while work is in flight ends it cleanly: a clear error, nothing left over."""

from __future__ import annotations

import asyncio
import time

import pytest

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault


def leftover_tasks() -> list[asyncio.Task[object]]:
    """Pending tasks besides the test's own and the fake server's handlers."""
    return [
        t
        for t in asyncio.all_tasks()
        if t is not asyncio.current_task() and "RequestHandler." not in repr(t.get_coro())
    ]


@pytest.mark.asyncio
async def test_closing_ends_calls_and_fan_out_in_flight() -> None:
    """Calls and a fan-out in flight end with ClientClosedError; a second aclose is harmless."""
    async with FakeJuspay(latency=0.001) as fake:
        for i in range(40):
            fake.add_account(f"c{i}")
        fake.inject(Fault.answer_late(30.0), times=100)
        client = ja.AccountsClient(fake.api_key, base_url=fake.url)
        single = asyncio.create_task(client.list_accounts("c0"))
        fan_out = asyncio.create_task(
            client.gather_accounts([f"c{i}" for i in range(1, 40)], concurrency=5)
        )
        while fake.in_flight < 6:  # noqa: ASYNC110 - polling the fake server's counter
            await asyncio.sleep(0.002)
        session = client._transport.session
        assert session is not None
        started = time.monotonic()
        await client.aclose()
        with pytest.raises(ja.ClientClosedError, match="closed while this request was in flight"):
            await single
        with pytest.raises(ja.ClientClosedError):
            await fan_out
        assert time.monotonic() - started < 1.0
        assert session.closed
        assert [] == leftover_tasks()
        await client.aclose()
        assert client.closed


@pytest.mark.asyncio
async def test_closing_wakes_a_call_waiting_to_retry(fake: FakeJuspay) -> None:
    """A call in a long backoff wait ends at once with ClientClosedError when the client closes."""
    fake.add_customer("c")
    fake.inject(Fault.respond(503, "", headers={"Retry-After": "50"}), times=5)
    client = ja.AccountsClient(fake.api_key, base_url=fake.url)
    task = asyncio.create_task(client.list_accounts("c"))
    while not fake.requests:  # noqa: ASYNC110 - polling the fake server's record
        await asyncio.sleep(0.002)
    await asyncio.sleep(0.01)
    started = time.monotonic()
    await client.aclose()
    with pytest.raises(ja.ClientClosedError, match="closed while this call waited"):
        await task
    assert time.monotonic() - started < 0.5
    assert 1 == len(fake.requests)


@pytest.mark.asyncio
async def test_closing_with_a_given_session_leaves_it_usable(fake: FakeJuspay) -> None:
    """With a caller's session, aclose ends the client but not the session."""
    import aiohttp  # noqa: PLC0415 - only here

    fake.add_customer("c")
    async with aiohttp.ClientSession() as session:
        client = ja.AccountsClient(fake.api_key, base_url=fake.url, session=session)
        await client.list_accounts("c")
        await client.aclose()
        with pytest.raises(ja.ClientClosedError):
            await client.list_accounts("c")
        assert not session.closed
        assert isinstance(ja.ClientClosedError("x"), RuntimeError)
