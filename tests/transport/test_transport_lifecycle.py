"""One client across event loops, and sessions that cannot be used: clear library errors."""

from __future__ import annotations

import asyncio
import gc
import warnings

import aiohttp
import pytest

import juspay_accounts as ja
from juspay_accounts import _config, _request, _transport
from juspay_accounts._failures import NEW_SESSION_HINT
from juspay_accounts.testing import FakeJuspay, Fault


def test_module_level_client_serves_successive_event_loops(fake_in_a_thread: FakeJuspay) -> None:
    """A client built outside any loop works in one asyncio.run after another, with no warning."""
    fake = fake_in_a_thread
    fake.add_account("a")
    fake.add_account("b")
    fake.add_account("b")
    waits_done: list[str] = []  # one per wait that ran to its end

    async def short_sleep(_seconds: float) -> None:
        await asyncio.sleep(0.01)  # ends early, unrecorded, if the wait breaks in this loop
        waits_done.append("done")

    client = ja.AccountsClient(
        fake.api_key, base_url=fake.url, retry=ja.RetryPolicy(sleep=short_sleep)
    )
    sessions: list[aiohttp.ClientSession | None] = []

    async def use(customer_id: str) -> int:
        # One retry per loop: its wait (which the client's closing can cut short) must
        # work in each loop too.
        fake.inject(Fault.respond(503, "busy"), customer_id=customer_id)
        page = await client.list_accounts(customer_id)
        sessions.append(client._transport.session)
        return page.total

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        totals = [asyncio.run(use("a")), asyncio.run(use("b"))]
        gc.collect()
    assert [] == [f"{w.category.__name__}: {w.message}" for w in caught]
    assert [1, 2] == totals
    assert 4 == len(fake.requests)
    assert ["done", "done"] == waits_done
    first, second = sessions
    assert first is not None
    assert second is not None
    assert first is not second
    # Each loop's session was closed as that loop ended, inside it.
    assert (True, True) == (first.closed, second.closed)
    assert not client.closed


@pytest.mark.parametrize("used_in_first_loop", [True, False])
def test_given_session_of_a_finished_loop_is_a_clear_error(
    fake_in_a_thread: FakeJuspay, used_in_first_loop: bool
) -> None:
    """A session the caller made in an earlier, closed loop fails at once with ClientClosedError."""
    fake = fake_in_a_thread
    fake.add_account("a")
    made: dict[str, object] = {}

    async def first() -> None:
        # force_close: no connection outlives the loop, so closing it later warns of nothing.
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True))
        client = ja.AccountsClient(fake.api_key, base_url=fake.url, session=session)
        made.update(session=session, client=client)
        if used_in_first_loop:
            await client.list_accounts("a")

    async def second() -> None:
        client = made["client"]
        assert isinstance(client, ja.AccountsClient)
        await client.list_accounts("a")

    asyncio.run(first())
    with pytest.raises(ja.ClientClosedError) as info:
        asyncio.run(second())
    # Used in the first loop, the client knows; never used there, aiohttp finds out.
    reason = (
        "the aiohttp session passed to this client was used in another event loop, and "
        "cannot serve this one"
        if used_in_first_loop
        else "the aiohttp session cannot send from this event loop (RuntimeError: Event loop "
        "is closed)"
    )
    assert f"{reason}: {NEW_SESSION_HINT}" == info.value.args[0]
    assert int(used_in_first_loop) == len(fake.requests)
    session = made["session"]
    assert isinstance(session, aiohttp.ClientSession)
    asyncio.run(session.close())


@pytest.mark.asyncio
async def test_closed_given_session_is_a_library_error(fake: FakeJuspay) -> None:
    """A closed session of the caller's gives ClientClosedError naming it, and sends nothing."""
    fake.add_customer("c")
    session = aiohttp.ClientSession()
    await session.close()
    client = ja.AccountsClient(fake.api_key, base_url=fake.url, session=session)
    with pytest.raises(ja.ClientClosedError, match="session passed to this client is closed"):
        await client.list_accounts("c")
    with pytest.raises(ja.ClientClosedError):  # a fan-out stops at it, not once per customer
        await client.gather_accounts(["c", "d"])
    assert [] == fake.requests


@pytest.mark.asyncio
async def test_session_with_auth_is_refused_when_the_client_is_built(fake: FakeJuspay) -> None:
    """A session made with ``auth=`` is a ValueError at construction, not at the first call."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # aiohttp 3.14 deprecates BasicAuth
        session = aiohttp.ClientSession(auth=aiohttp.BasicAuth("user", "password"))
    try:
        with pytest.raises(ValueError, match="auth") as info:
            ja.AccountsClient(fake.api_key, base_url=fake.url, session=session)
    finally:
        await session.close()
    assert (
        "the session was created with auth=, which would clash with the API key's "
        "Authorization header (aiohttp refuses both): pass a session without auth"
    ) == str(info.value)
    assert [] == fake.requests


@pytest.mark.asyncio
async def test_timeout_without_a_time_limit_is_a_timeout_error(fake: FakeJuspay) -> None:
    """A session's own timeout, with none set on the client, is an APITimeoutError saying so."""
    fake.add_customer("c")
    fake.inject(Fault.answer_late(5.0))

    async def give_up_quickly(
        request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
    ) -> aiohttp.ClientResponse:
        async with asyncio.timeout(0.05):
            return await handler(request)

    async with aiohttp.ClientSession(middlewares=(give_up_quickly,)) as session:
        client = ja.AccountsClient(
            fake.api_key,
            base_url=fake.url,
            session=session,
            timeout=None,
            retry=ja.RetryPolicy(max_attempts=1, deadline=None),
        )
        with pytest.raises(ja.APITimeoutError, match="no time limit") as info:
            await client.list_accounts("c")
    assert "127.0.0.1" in str(info.value)


def test_client_in_use_by_another_open_loop_is_a_clear_error(fake_in_a_thread: FakeJuspay) -> None:
    """While the loop that owns the client's session is still open, another loop is refused."""
    fake_in_a_thread.add_customer("a")
    client = ja.AccountsClient(fake_in_a_thread.api_key, base_url=fake_in_a_thread.url)
    first = asyncio.new_event_loop()
    try:
        first.run_until_complete(client.list_accounts("a"))
        with pytest.raises(ja.ClientClosedError) as info:
            asyncio.run(client.list_accounts("a"))
        assert (
            "this client's session belongs to another event loop, which is still open: "
            "create one client per event loop"
        ) == info.value.args[0]
        assert 0 == first.run_until_complete(client.list_accounts("a")).total
    finally:
        first.run_until_complete(client.aclose())
        first.close()
    assert 2 == len(fake_in_a_thread.requests)


def test_loop_closed_without_finalising_is_a_clear_error(fake_in_a_thread: FakeJuspay) -> None:
    """A loop closed by hand (no async-generator shutdown) leaves an error that says what to do."""
    fake_in_a_thread.add_customer("a")
    client = ja.AccountsClient(fake_in_a_thread.api_key, base_url=fake_in_a_thread.url)
    first = asyncio.new_event_loop()
    first.run_until_complete(client.list_accounts("a"))
    first.close()  # what asyncio.run would not do: its session is never closed
    with pytest.raises(ja.ClientClosedError) as info:
        asyncio.run(client.list_accounts("a"))
    assert (
        "this client's session belongs to another event loop, which was closed without "
        "finalising async generators (asyncio.run and asyncio.Runner do), so its session is "
        "still open: await client.aclose() before the loop ends, and create a new client"
    ) == info.value.args[0]
    with warnings.catch_warnings(record=True):
        # The connection of the dead loop can no longer be closed cleanly: the warning
        # about it is the point of the error above, not of this test.
        warnings.simplefilter("always")
        asyncio.run(client.aclose())
        gc.collect()
    assert client.closed
    assert 1 == len(fake_in_a_thread.requests)


@pytest.mark.asyncio
async def test_own_session_closed_under_the_client_is_a_library_error(fake: FakeJuspay) -> None:
    """If the own session is closed while the client is open (loop shutdown), calls say so."""
    fake.add_customer("c")
    async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
        await client.list_accounts("c")
        session = client._transport.session
        assert session is not None
        await session.close()  # what the loop's shutdown does to it
        with pytest.raises(ja.ClientClosedError) as info:
            await client.list_accounts("c")
    assert "this client's session is closed: its event loop is shutting down" == info.value.args[0]
    assert 1 == len(fake.requests)


def test_closing_in_a_later_loop_before_any_request_there(fake_in_a_thread: FakeJuspay) -> None:
    """A transport moved to a new loop and closed there before it sends wakes that loop's waits."""
    transport = _transport.Transport(
        session=None,
        max_connections=1,
        timeout=5.0,
        max_response_bytes=100,
        proxy=None,
        trust_env=False,
        ssl_context=None,
    )
    settings = _config.make_settings(
        api_key=fake_in_a_thread.api_key, base_url=fake_in_a_thread.url, user_agent="t"
    )
    request = _request.build_list_request(settings, "cst_1")
    assert 404 == asyncio.run(transport.send(request, 5.0))[0]

    async def wait_then_close() -> bool:
        closed = transport.closed_event()  # what a call in this loop asks for first
        waiting = asyncio.create_task(closed.wait())
        await transport.aclose()
        async with asyncio.timeout(5):
            await waiting
        return closed.is_set()

    assert asyncio.run(wait_then_close())
    assert transport.closed
    assert 1 == len(fake_in_a_thread.requests)
