"""Calls that give up while they wait for a token (cancelled, refused at their deadline).

On the in-process budget and the faked clock: nothing a call that was never sent asked for
stays taken, so the budget after any storm of give-ups is the budget of an idle client.
Times are the faked clock's, in seconds from the start of the test.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import aiohttp

    from ratelimit.conftest import FakeTime

    Starts = tuple[aiohttp.ClientSession, list[float]]


def _client(
    fake: FakeJuspay,
    started_at: Starts,
    fake_time: FakeTime,
    limit: ja.RateLimit,
    **policy: float | None,
) -> ja.AccountsClient:
    retry = ja.RetryPolicy(sleep=fake_time.sleep, **policy)  # type: ignore[arg-type]
    session, _ = started_at
    return ja.AccountsClient(
        fake.api_key, base_url=fake.url, session=session, retry=retry, rate_limit=limit
    )


def _at(fake_time: FakeTime) -> Callable[[float], Awaitable[None]]:
    """Wait until ``t`` seconds after the test's start, on the faked clock."""

    async def until(t: float) -> None:
        await fake_time.sleep(t - (fake_time.now - 1000.0))

    return until


@pytest.mark.asyncio
async def test_a_storm_of_timed_out_calls_leaves_the_budget_idle(
    fake: FakeJuspay, fake_time: FakeTime, started_at: Starts
) -> None:
    """30 calls under a 0.9 s handler timeout at 2/s: 3 go; an idle client's next call goes at once.

    Then a steady 1.8 calls a second, under the 2/s budget, is served in full, each call
    sent the moment it is made.
    """
    fake.add_customer("cst_1")
    at = _at(fake_time)
    async with _client(fake, started_at, fake_time, ja.RateLimit(2)) as client:

        async def scenario() -> list[ja.AccountPage | BaseException]:
            storm = [asyncio.ensure_future(client.list_accounts("cst_1")) for _ in range(30)]
            await at(0.9)  # the handlers' timeouts
            for call in storm:
                call.cancel()
            outcomes = await asyncio.gather(*storm, return_exceptions=True)
            await at(3.0)
            await client.list_accounts("cst_1")
            steady = []
            for n in range(18):
                await at(4.0 + n / 1.8)
                steady.append(asyncio.ensure_future(client.list_accounts("cst_1")))
            await asyncio.gather(*steady)
            return outcomes

        outcomes = await fake_time.run(scenario())
    _, starts = started_at
    assert 27 == sum(isinstance(o, asyncio.CancelledError) for o in outcomes)
    assert [0.0, 0.0, 0.5, 3.0] == starts[:4]
    assert [round(4.0 + n / 1.8, 6) for n in range(18)] == starts[4:]


@pytest.mark.asyncio
async def test_the_leader_cancelled_the_next_in_line_gets_its_token(
    fake: FakeJuspay, fake_time: FakeTime, started_at: Starts
) -> None:
    """At 1/s, the caller waiting first is cancelled: the one behind it starts at 1 s, not 2 s.

    And one cancelled further back in the line moves those behind it up.
    """
    fake.add_customer("cst_1")
    at = _at(fake_time)
    limit = ja.RateLimit(1)
    async with _client(fake, started_at, fake_time, limit, deadline=None) as client:

        async def scenario() -> None:
            calls = [asyncio.ensure_future(client.list_accounts("cst_1")) for _ in range(5)]
            await at(0.5)
            calls[1].cancel()  # first in line, waiting for 1 s
            calls[3].cancel()  # further back
            await asyncio.gather(*calls, return_exceptions=True)

        await fake_time.run(scenario())
    _, starts = started_at
    assert [0.0, 1.0, 2.0] == starts


@pytest.mark.asyncio
async def test_a_fan_out_left_early_leaves_the_budget_idle(
    fake: FakeJuspay, fake_time: FakeTime, started_at: Starts
) -> None:
    """Leaving a fan-out of 200 (concurrency 100, 5/s) after 3 results leaves nothing taken."""
    ids = [f"cst_{n}" for n in range(200)]
    for customer_id in ids:
        fake.add_customer(customer_id)
    at = _at(fake_time)
    async with _client(fake, started_at, fake_time, ja.RateLimit(5)) as client:

        async def scenario() -> None:
            async with client.accounts_for_customers(ids, concurrency=100) as results:
                seen = 0
                async for _ in results:
                    seen += 1
                    if seen == 3:
                        break
            await at(2.0)  # idle: the bucket refills
            await client.list_accounts("cst_1")

        await fake_time.run(scenario())
    _, starts = started_at
    assert 2.0 == starts[-1]
    assert 5 == len([t for t in starts if t < 2.0])  # the burst; nothing after it was sent


@pytest.mark.asyncio
async def test_a_retry_refused_at_the_deadline_sends_nothing_and_takes_nothing(
    fake: FakeJuspay, fake_time: FakeTime, started_at: Starts
) -> None:
    """0.5/s, deadline 1 s, one 503: the retry's token is 2 s away, so the call is refused at once.

    Refused with RateLimitError "not sent", chained from the 503, before the deadline; no
    doomed attempt is sent; and the token stays for the next call, at 2 s.
    """
    fake.add_customer("cst_1")
    fake.inject(Fault.respond(503, b"busy"), times=1)
    at = _at(fake_time)
    async with _client(fake, started_at, fake_time, ja.RateLimit(0.5), deadline=1.0) as client:

        async def scenario() -> tuple[ja.RateLimitError, float]:
            with pytest.raises(ja.RateLimitError) as refused:
                await client.list_accounts("cst_1")
            ended = fake_time.now - 1000.0
            await at(2.0)
            await client.list_accounts("cst_1")
            return refused.value, ended

        error, ended = await fake_time.run(scenario())
    _, starts = started_at
    assert str(error).startswith("not sent")
    assert "token" in str(error)
    assert isinstance(error.__cause__, ja.ServerError)
    assert 1 == error.attempts  # the 503 was sent; the refused retry was not
    assert ended <= 1.0
    assert [0.0, 2.0] == starts


@pytest.mark.asyncio
async def test_calls_queued_past_their_deadline_are_refused_in_time(
    fake: FakeJuspay, fake_time: FakeTime, started_at: Starts
) -> None:
    """Calls queued behind a slow budget give up when their deadline nears, not after it."""
    fake.add_customer("cst_1")
    async with _client(fake, started_at, fake_time, ja.RateLimit(1), deadline=2.0) as client:

        async def scenario() -> list[tuple[object, float]]:
            async def timed() -> tuple[object, float]:
                try:
                    outcome: object = await client.list_accounts("cst_1")
                except ja.RateLimitError as exc:
                    outcome = exc
                return outcome, fake_time.now - 1000.0

            return await asyncio.gather(*(timed() for _ in range(6)))

        outcomes = await fake_time.run(scenario())
    _, starts = started_at
    assert [0.0, 1.0] == starts
    refused = [(o, t) for o, t in outcomes if isinstance(o, ja.RateLimitError)]
    assert 4 == len(refused)
    assert all(t <= 2.0 - 0.1 for _, t in refused)


@pytest.mark.asyncio
async def test_a_caller_in_line_gives_up_on_its_own_deadline(
    fake: FakeJuspay, fake_time: FakeTime, started_at: Starts
) -> None:
    """Behind a caller waiting 10 s for a token, one with a 2 s deadline gives up in time."""
    fake.add_customer("cst_1")
    limit = ja.RateLimit(0.1)
    async with _client(fake, started_at, fake_time, limit, deadline=None) as client:
        hurried = ja.RetryPolicy(deadline=2.0, sleep=fake_time.sleep)

        async def scenario() -> float:
            await client.list_accounts("cst_1")
            patient = asyncio.ensure_future(client.list_accounts("cst_1"))
            await asyncio.sleep(0)
            with pytest.raises(ja.RateLimitError, match=r"^not sent: the call waited in line"):
                await client.list_accounts("cst_1", retry=hurried)
            gave_up = fake_time.now - 1000.0
            await patient
            return gave_up

        gave_up = await fake_time.run(scenario())
    _, starts = started_at
    assert 1.9 == pytest.approx(gave_up)
    assert [0.0, 10.0] == starts


@pytest.mark.asyncio
async def test_a_caller_in_line_with_less_than_a_second_left_still_gets_its_token(
    fake: FakeJuspay, fake_time: FakeTime, started_at: Starts
) -> None:
    """4/s, deadline 1 s, three calls at once: the third waits in line 0.5 s and is sent.

    Its patience (0.9 s: the deadline less the attempt's minimum) is short, but longer than
    the wait: a caller is refused only when its deadline leaves no room, never early.
    """
    fake.add_customer("cst_1")
    limit = ja.RateLimit(4, burst=1)
    async with _client(fake, started_at, fake_time, limit, deadline=1.0) as client:
        calls = [client.list_accounts("cst_1") for _ in range(3)]
        pages = await fake_time.run(asyncio.gather(*calls))
    _, starts = started_at
    assert 3 == len(pages)
    assert [0.0, 0.25, 0.5] == starts
