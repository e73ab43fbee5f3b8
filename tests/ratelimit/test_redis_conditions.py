"""The budget shared through Redis on an ordinary bad day.

Give-ups, deadlines, skewed clocks, a Redis a few milliseconds away or stalled, and
another client's garbage in the key.

Each test starts its own ``redis-server``; request times are taken where they land (the
timing server). The waits are the limiter's: nothing here sleeps to make time pass.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import TYPE_CHECKING

import pytest
import redis.asyncio

import juspay_accounts as ja
from juspay_accounts import _ratelimit
from juspay_accounts._ratelimit import open_store

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from conftest import RedisServer

    from ratelimit.conftest import RedisProxy, TimingServer

    StartProcess = Callable[..., Awaitable[asyncio.subprocess.Process]]
    StartProxy = Callable[[int, float], Awaitable[RedisProxy]]


def _most_in_any_window(times: list[float], window: float) -> int:
    """The most arrivals within any ``window`` seconds."""
    times = sorted(times)
    most, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] > window:
            first += 1
        most = max(most, last - first + 1)
    return most


@pytest.fixture
def stalled(redis_server: RedisServer) -> Iterator[Callable[[], None]]:
    """Stop the test's redis-server with SIGSTOP (the port accepts, nothing answers)."""
    stopped: list[bool] = []

    def stall() -> None:
        assert redis_server.process is not None
        os.kill(redis_server.process.pid, signal.SIGSTOP)
        stopped.append(True)

    yield stall
    if stopped and redis_server.process is not None:
        os.kill(redis_server.process.pid, signal.SIGCONT)


@pytest.mark.asyncio
async def test_a_storm_of_timed_out_calls_leaves_the_shared_budget_idle(
    redis_server: RedisServer, server: TimingServer
) -> None:
    """30 calls under a 0.25 s handler timeout at 10/s (burst 1): the next call goes at once."""
    limit = ja.RateLimit(10, burst=1, store=redis_server.url, key="storm")
    async with ja.AccountsClient("key", base_url=server.url, rate_limit=limit) as client:
        calls = [asyncio.wait_for(client.list_accounts(f"storm-{n}"), 0.25) for n in range(30)]
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        await asyncio.sleep(0.2)  # idle: the bucket refills (one token per 0.1 s)
        started = time.monotonic()
        await client.list_accounts("after-1")
        waited = time.monotonic() - started
    assert sum(isinstance(o, TimeoutError) for o in outcomes) >= 25
    assert waited < 0.08  # sent at once: nothing was left taken


@pytest.mark.asyncio
async def test_the_deadline_bounds_the_wait_for_a_shared_token(
    redis_server: RedisServer, server: TimingServer
) -> None:
    """0.5/s, deadline 2 s: the second call's token is 2 s away, so it is refused at once."""
    limit = ja.RateLimit(0.5, store=redis_server.url, key="deadline")
    policy = ja.RetryPolicy(deadline=2.0)
    async with ja.AccountsClient(
        "key", base_url=server.url, rate_limit=limit, retry=policy
    ) as client:
        await client.list_accounts("first-1")
        started = time.monotonic()
        with pytest.raises(ja.RateLimitError, match=r"^not sent") as refused:
            await client.list_accounts("second-1")
    assert time.monotonic() - started < 0.5
    assert refused.value.retry_after is not None
    assert 1.5 < refused.value.retry_after <= 2.0
    assert [] == server.times_of("second")


@pytest.mark.slow
@pytest.mark.asyncio
async def test_hosts_whose_clocks_differ_share_the_budget_fairly(
    redis_server: RedisServer, server: TimingServer, start_process: StartProcess
) -> None:
    """Two processes, one with its wall clock 30 s ahead, share 10/s: both are served, none over.

    The budget's "now" is Redis's TIME, so neither clock matters: each process gets its
    share, and the two together never start more than ``burst + 10 * t`` in t seconds.
    """
    per_second, burst, count = 10, 2, 10
    common = (server.url, redis_server.url, "skew", str(per_second), str(burst), str(count))
    processes = [
        await start_process(*common, "ahead", env={"BUDGET_CLOCK_SKEW": "30"}),
        await start_process(*common, "plain"),
    ]
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
    async with asyncio.timeout(15):  # a bound on the failure (starvation), not a wait
        for process in processes:
            assert process.stdout is not None
            assert b"done\n" == await process.stdout.readline()
            assert 0 == await process.wait()
    ahead, plain = server.times_of("ahead"), server.times_of("plain")
    assert (count, count) == (len(ahead), len(plain))
    everyone = ahead + plain
    for window in (0.25, 0.5, 1.0):
        # One more than the bound: arrival times carry the loopback's jitter.
        assert _most_in_any_window(everyone, window) <= burst + per_second * window + 1
    # Fair: neither finished long before the other (the starved one took 9 s before).
    span = max(everyone) - min(everyone)
    assert abs(max(ahead) - max(plain)) < 0.5 * span


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "stored",
    ["inf", "1e300", "nan", "garbage", "an hour ahead"],
)
async def test_a_budget_value_it_cannot_read_is_reset(
    redis_server: RedisServer,
    server: TimingServer,
    stored: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another client's garbage, infinity or a time an hour ahead: reset, never slept on."""
    async with redis.asyncio.Redis.from_url(redis_server.url) as store:
        if stored == "an hour ahead":
            seconds, micros = await store.time()
            stored = str((seconds + 3600) * 1_000_000 + micros)
        await store.set("garbage:budget", stored)
        before = (await store.info("stats"))["total_commands_processed"]
        limit = ja.RateLimit(10, store=redis_server.url, key="garbage")
        started = time.monotonic()
        async with ja.AccountsClient("key", base_url=server.url, rate_limit=limit) as client:
            await client.list_accounts("reset-1")
            await client.list_accounts("reset-2")
        waited = time.monotonic() - started
        commands = (await store.info("stats"))["total_commands_processed"] - before
    assert waited < 1.0
    assert commands < 25  # connecting and two script calls; a busy loop makes thousands
    assert 1 == sum("could not read; it was reset" in r.getMessage() for r in caplog.records)


@pytest.mark.asyncio
async def test_a_budget_reset_is_logged_once_per_store_naming_it(
    redis_server: RedisServer, server: TimingServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing to reset: nothing logged. Two resets: one warning, naming where the store is."""
    limit = ja.RateLimit(10, store=redis_server.url, key="twice")
    async with (
        redis.asyncio.Redis.from_url(redis_server.url) as store,
        ja.AccountsClient("key", base_url=server.url, rate_limit=limit) as client,
    ):
        await client.list_accounts("twice-1")
        assert "could not read" not in caplog.text
        for n in (2, 3):
            await store.set("twice:budget", "garbage")
            await client.list_accounts(f"twice-{n}")
    [warning] = [r.getMessage() for r in caplog.records if "could not read" in r.getMessage()]
    assert f"redis://127.0.0.1:{redis_server.port}/0" in warning  # where the store is


async def _rate_through(
    proxy: RedisProxy, server: TimingServer, key: str, calls: int
) -> tuple[float, int]:
    """Calls per second after the burst, through ``proxy``, against 100/s (burst 10)."""
    limit = ja.RateLimit(100, burst=10, store=proxy.url, key=key)
    async with ja.AccountsClient("key", base_url=server.url, rate_limit=limit) as client:
        results = await client.gather_accounts(
            [f"{key}-{n}" for n in range(calls)], concurrency=100
        )
    assert all(r.ok for r in results.values())
    times = server.times_of(key)
    return (len(times) - 10) / (times[-1] - times[0]), len(times)


@pytest.mark.asyncio
@pytest.mark.parametrize(("delay", "at_least"), [(0.010, 90), (0.050, 80)])
async def test_redis_latency_does_not_cap_a_process(
    redis_server: RedisServer,
    server: TimingServer,
    redis_proxy: StartProxy,
    delay: float,
    at_least: float,
) -> None:
    """With every Redis reply 10 ms (or 50 ms) late, one process still reaches 90/s (80/s) of 100.

    Waiting callers do not queue behind each other's round trips: one script call takes
    tokens for the whole line.
    """
    proxy = await redis_proxy(redis_server.port, delay)
    rate, sent = await _rate_through(proxy, server, f"latency{int(delay * 1000)}", 160)
    print(f"\n{delay * 1000:.0f} ms to Redis: {rate:.1f}/s of 100/s")  # noqa: T201 - figures (-s)
    assert 160 == sent
    assert rate >= at_least, f"{rate:.1f}/s"


@pytest.mark.asyncio
async def test_a_stalled_redis_fails_every_waiter_within_the_store_timeout(
    redis_server: RedisServer,
    server: TimingServer,
    stalled: Callable[[], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Redis stopped (SIGSTOP): all 20 of a fan-out fail within the store's timeout, not in turn."""
    monkeypatch.setattr(_ratelimit, "STORE_TIMEOUT", 0.5)
    limit = ja.RateLimit(1000, store=redis_server.url, key="stalled")
    async with ja.AccountsClient("key", base_url=server.url, rate_limit=limit) as client:
        await client.list_accounts("before-1")
        stalled()
        started = time.monotonic()
        ended: list[float] = []

        async def one(n: int) -> BaseException | None:
            try:
                await client.list_accounts(f"during-{n}")
            except ja.JuspayError as exc:
                return exc
            finally:
                ended.append(time.monotonic() - started)
            return None

        async with asyncio.timeout(10):  # a bound on the failure (one after another), not a wait
            errors = await asyncio.gather(*(one(n) for n in range(20)))
    assert {ja.RateLimitStoreError} == {type(e) for e in errors}
    assert max(ended) < 0.5 + 0.4
    assert [] == server.times_of("during")


@pytest.mark.asyncio
async def test_after_aclose_no_redis_command_is_sent(
    redis_server: RedisServer,
    server: TimingServer,
    stalled: Callable[[], None],
    redis_proxy: StartProxy,
) -> None:
    """Closing the client while calls wait on a stalled Redis: ClientClosedError, and silence."""
    proxy = await redis_proxy(redis_server.port, 0.0)
    limit = ja.RateLimit(1000, store=proxy.url, key="closing")
    client = ja.AccountsClient("key", base_url=server.url, rate_limit=limit)
    await client.list_accounts("before-1")
    stalled()
    calls = [asyncio.ensure_future(client.list_accounts(f"during-{n}")) for n in range(20)]
    while not proxy.sent or time.monotonic() - proxy.sent[-1] < 0.05:  # noqa: ASYNC110
        await asyncio.sleep(0.01)  # until the calls are waiting on Redis
    started = time.monotonic()
    await client.aclose()
    closed_at = time.monotonic()
    outcomes = await asyncio.gather(*calls, return_exceptions=True)
    ended = time.monotonic() - started
    await asyncio.sleep(0.2)  # would a queued call ask Redis again?
    assert {ja.ClientClosedError} == {type(o) for o in outcomes}
    assert all("closed" in str(o) for o in outcomes)
    assert ended < 0.5
    assert [] == [t for t in proxy.sent if t > closed_at]


@pytest.mark.asyncio
async def test_tokens_given_back_in_a_call_cut_short_are_not_given_back_twice(
    redis_server: RedisServer, redis_proxy: StartProxy
) -> None:
    """A take cancelled after Redis ran it: the tokens it gave back are not given back again.

    The script runs as soon as it arrives (the proxy only delays the reply), so the call's
    give-back has happened on the server; handing it to the next call too would let more
    starts through than the budget allows.
    """
    proxy = await redis_proxy(redis_server.port, 0.05)
    store = open_store(ja.RateLimit(0.01, burst=3, store=proxy.url, key="twice"))
    try:
        assert 3 == (await store.take(3, waited=False)).taken  # the bucket is empty now
        store.give_back(2)
        proxy.request_seen.clear()
        cut = asyncio.ensure_future(store.take(1, waited=False))
        async with asyncio.timeout(5):
            await proxy.request_seen.wait()  # the script call has gone to Redis
        cut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cut
        # On the server: 2 given back, 1 taken by the call cut short; 1 is left.
        assert 1 == (await store.take(3, waited=False)).taken
    finally:
        await store.aclose()


class _SeenEnough(Exception):  # noqa: N818 - ends the test's call, not an error
    """Raised by the recording sleep once it has seen enough waits."""


def recording_sleep(waits: list[float]) -> Callable[[float], Awaitable[None]]:
    """A sleep for ``asyncio.sleep``: each wait recorded and skipped; ends the call at 3."""
    real_sleep = asyncio.sleep

    async def recording(seconds: float) -> None:
        if seconds > 0:
            waits.append(seconds)
            if len(waits) == 3:
                raise _SeenEnough
        await real_sleep(0)

    return recording


@pytest.mark.asyncio
async def test_a_long_wait_for_a_shared_token_is_checked_again_every_second(
    redis_server: RedisServer, server: TimingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next shared token 5 s away: the caller asks Redis again at least every second.

    Another process may give tokens back, or a hold may start, meanwhile. The waits are
    recorded and skipped (Redis's clock does not move): three waits of at most 1 s each.
    """
    waits: list[float] = []

    limit = ja.RateLimit(0.2, burst=1, store=redis_server.url, key="recheck")
    async with ja.AccountsClient("key", base_url=server.url, rate_limit=limit) as client:
        await client.list_accounts("recheck-1")  # the one token of the burst
        monkeypatch.setattr(asyncio, "sleep", recording_sleep(waits))
        with pytest.raises(_SeenEnough):
            await client.list_accounts("recheck-2")
        monkeypatch.undo()
    assert 3 == len(waits)
    assert all(0.9 <= wait <= 1.0 for wait in waits), waits


@pytest.mark.asyncio
async def test_a_long_shared_hold_is_checked_again_every_second(
    redis_server: RedisServer,
    server: TimingServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another process's 429 holds the budget 5 s: the caller asks Redis again every second.

    The hold may be lifted early (a restarted Redis) or lengthened by another 429: the
    caller waits at most a second at a time, then asks again. Waits recorded and skipped.
    """
    waits: list[float] = []

    limit = ja.RateLimit(100, store=redis_server.url, key="longhold")
    other = open_store(limit)  # another process's store, sharing its 429
    try:
        await other.share_hold(5.0)
    finally:
        await other.aclose()
    policy = ja.RetryPolicy(max_retry_after=10.0, deadline=None)
    async with ja.AccountsClient(
        "key", base_url=server.url, rate_limit=limit, retry=policy
    ) as client:
        monkeypatch.setattr(asyncio, "sleep", recording_sleep(waits))
        with pytest.raises(_SeenEnough):
            await client.list_accounts("longhold-1")
        monkeypatch.undo()
    assert [1.0, 1.0, 1.0] == waits
    assert [] == server.times_of("longhold")
    assert "could not" not in caplog.text  # the hold was shared, and no budget was reset


@pytest.mark.asyncio
async def test_tokens_given_back_one_by_one_all_ride_on_the_next_call(
    redis_server: RedisServer,
) -> None:
    """Two callers leave with a token each before the next script call: both come back."""
    store = open_store(ja.RateLimit(0.01, burst=3, store=redis_server.url, key="back2"))
    try:
        assert 3 == (await store.take(3, waited=False)).taken
        store.give_back(1)
        store.give_back(1)
        assert 2 == (await store.take(3, waited=False)).taken
    finally:
        await store.aclose()
