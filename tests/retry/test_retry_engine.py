"""call_with_retries on its own: scripted attempts, a fake clock, exact waits, limits and logs.

No server: each attempt is a function that fails or succeeds as scripted and records the
time limit it was given, so every rule of the retry loop can be pinned exactly.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING

import attrs
import pytest

import juspay_accounts as ja
from juspay_accounts import _timing
from juspay_accounts._instruments import Instruments
from juspay_accounts._policy import RetryPolicy
from juspay_accounts._ratelimit import Verdict, open_store
from juspay_accounts._retry import call_with_retries
from juspay_accounts._throttle import Throttle

if TYPE_CHECKING:
    from collections.abc import Callable

    from juspay_accounts._ratelimit import Store
    from retry.conftest import FakeTime


@pytest.fixture
def clock(fake_time: FakeTime, monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """The retry module's clock, faked; jitter always the middle of its window."""
    monkeypatch.setattr(random, "uniform", lambda a, b: (a + b) / 2)
    return fake_time


class Script:
    """An attempt function: each call raises or returns the next scripted outcome."""

    def __init__(self, *outcomes: object) -> None:
        """Script the outcomes, in order."""
        self.outcomes = list(outcomes)
        self.limits: list[float | None] = []

    async def __call__(self, limit: float | None) -> object:
        """Record the time limit given, then play the next outcome."""
        self.limits.append(limit)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def server_error(status: int = 503, retry_after: float | None = None) -> ja.APIError:
    """A retryable (by default) API error."""
    cls = ja.RateLimitError if status == 429 else ja.ServerError
    return cls(status=status, retry_after=retry_after, request_id=f"req_{status}")


def refused() -> ja.APIConnectionError:
    """A connection failure."""
    return ja.APIConnectionError("refused")


async def run(
    script: Script,
    policy: RetryPolicy,
    *,
    hold: Throttle | None = None,
    attempt_timeout: float | None = 30.0,
    closed: asyncio.Event | None = None,
    stats: ja.ClientStats | None = None,
    budget: Store | None = None,
) -> object:
    """call_with_retries with the test's defaults."""
    return await call_with_retries(
        script,
        policy=policy,
        attempt_timeout=attempt_timeout,
        throttle=Throttle(budget) if hold is None else hold,
        customer_id="cst_1",
        closed=closed,
        instruments=None if stats is None else Instruments(stats),
    )


# -- the policy's own rules ---------------------------------------------------------


def test_zero_delays_are_allowed() -> None:
    """Zero seconds is a valid delay, backoff cap and Retry-After cap."""
    policy = RetryPolicy(initial_delay=0, max_delay=0, max_retry_after=0)
    assert (0, 0, 0) == (policy.initial_delay, policy.max_delay, policy.max_retry_after)


def test_retry_after_equal_to_the_cap_is_retried() -> None:
    """A Retry-After of exactly max_retry_after is waited; a longer one is not."""
    policy = RetryPolicy(max_retry_after=10.0)
    assert policy.should_retry(server_error(429, retry_after=10.0))
    assert not policy.should_retry(server_error(429, retry_after=10.5))


@pytest.mark.asyncio
async def test_without_waiting_returns_at_once_but_yields() -> None:
    """The no-wait sleep takes no time for any delay, yet lets other tasks run."""
    ran: list[str] = []

    async def other() -> None:
        ran.append("other")

    task = asyncio.create_task(other())
    started = time.monotonic()
    await RetryPolicy().without_waiting().sleep(3600)
    assert time.monotonic() - started < 0.5
    assert ["other"] == ran
    await task


def test_a_new_hold_holds_nothing(clock: FakeTime) -> None:
    """A fresh hold has nothing remaining, even on a clock that starts at zero."""
    clock.now = 0.0
    assert 0.0 == Throttle().held()


def test_a_hold_is_capped_and_never_shortened(clock: FakeTime) -> None:
    """extend() holds for at most ``cap`` seconds, and a shorter extension changes nothing."""
    hold = Throttle()
    hold.hold(100.0, cap=30.0)
    assert 30.0 == hold.held()
    hold.hold(5.0, cap=30.0)
    assert 30.0 == hold.held()
    clock.now += 10
    assert 20.0 == hold.held()


# -- the retry loop -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_retries_until_success_with_growing_backoff(clock: FakeTime) -> None:
    """Each failure waits half its doubling window (jitter faked), then tries again."""
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0, sleep=clock.sleep)
    script = Script(server_error(), refused(), server_error(), "page")
    assert "page" == await run(script, policy)
    assert [0.25, 0.5, 1.0] == clock.sleeps
    assert [] == script.outcomes


@pytest.mark.asyncio
async def test_two_attempts_means_one_retry(clock: FakeTime) -> None:
    """max_attempts=2 retries once; the error after that is raised with attempts=2."""
    policy = RetryPolicy(max_attempts=2, sleep=clock.sleep)
    assert "page" == await run(Script(server_error(), "page"), policy)
    with pytest.raises(ja.ServerError) as info:
        await run(Script(server_error(), server_error(502), "page"), policy)
    assert (502, 2) == (info.value.status, info.value.attempts)


@pytest.mark.asyncio
async def test_a_permanent_error_on_a_retry_ends_the_call(clock: FakeTime) -> None:
    """A 404 after a 503 is raised at once: a retry is only for transient failures."""
    policy = RetryPolicy(sleep=clock.sleep)
    script = Script(server_error(), ja.NotFoundError(status=404), "page")
    with pytest.raises(ja.NotFoundError) as info:
        await run(script, policy)
    assert 2 == info.value.attempts
    assert ["page"] == script.outcomes


@pytest.mark.asyncio
async def test_retries_are_counted(clock: FakeTime) -> None:
    """ClientStats.retries counts each attempt after the first; none without a retry."""
    policy = RetryPolicy(sleep=clock.sleep)
    stats = ja.ClientStats()
    await run(Script("page"), policy, stats=stats)
    assert 0 == stats.retries
    await run(Script(server_error(), refused(), "page"), policy, stats=stats)
    assert 2 == stats.retries
    assert "page" == await run(Script(server_error(), "page"), policy, stats=None)


@pytest.mark.asyncio
async def test_each_attempt_gets_the_time_left(clock: FakeTime) -> None:
    """Every attempt's limit is its timeout, cut to what is left before the deadline."""
    policy = RetryPolicy(deadline=10.0, initial_delay=4.0, max_delay=8.0, sleep=clock.sleep)
    script = Script(server_error(), server_error(), "page")
    await run(script, policy, attempt_timeout=5.0)
    # Waits of 2 s, then 4 s (half of each window): 10, 8 and 4 s left at each attempt.
    assert [5.0, 5.0, 4.0] == script.limits


@pytest.mark.asyncio
async def test_without_a_timeout_the_deadline_is_the_limit(clock: FakeTime) -> None:
    """With no per-attempt timeout, each attempt may use what is left of the deadline."""
    policy = RetryPolicy(deadline=10.0, initial_delay=2.0, max_delay=2.0, sleep=clock.sleep)
    script = Script(server_error(), "page")
    await run(script, policy, attempt_timeout=None)
    assert [10.0, 9.0] == script.limits
    unbounded = Script(server_error(), "page")
    await run(unbounded, attrs.evolve(policy, deadline=None), attempt_timeout=None)
    assert [None, None] == unbounded.limits


@pytest.mark.asyncio
async def test_no_wait_that_ends_at_the_deadline(clock: FakeTime) -> None:
    """A Retry-After ending exactly at the deadline is not waited: the error is raised."""
    policy = RetryPolicy(deadline=2.0, sleep=clock.sleep)
    with pytest.raises(ja.RateLimitError):
        await run(Script(server_error(429, retry_after=2.0), "page"), policy)
    assert [] == clock.sleeps
    assert "page" == await run(Script(server_error(429, retry_after=1.5), "page"), policy)


@pytest.mark.asyncio
async def test_a_zero_wait_still_retries_before_the_deadline(clock: FakeTime) -> None:
    """With no backoff at all, retries go on while the clock stands before the deadline."""
    policy = RetryPolicy(initial_delay=0, max_delay=0, deadline=0.5, sleep=clock.sleep)
    assert "page" == await run(Script(server_error(), server_error(), "page"), policy)
    assert [0, 0] == clock.sleeps


@pytest.mark.asyncio
async def test_a_429_on_a_retry_holds_the_client(clock: FakeTime) -> None:
    """A 429 with Retry-After on any attempt, not only the first, holds every later call."""
    policy = RetryPolicy(max_attempts=2, sleep=clock.sleep)
    hold = Throttle()
    with pytest.raises(ja.RateLimitError):
        await run(Script(server_error(), server_error(429, retry_after=7.0)), policy, hold=hold)
    assert 7.0 == hold.held()


@pytest.mark.asyncio
async def test_a_hold_longer_than_the_backoff_is_waited_with_jitter(clock: FakeTime) -> None:
    """When another call's hold outlasts this call's backoff, it waits the hold plus jitter."""
    policy = RetryPolicy(initial_delay=1.0, max_delay=1.0, sleep=clock.sleep)
    hold = Throttle()

    async def failing(limit: float | None) -> str:
        del limit
        if not clock.sleeps:
            hold.hold(10.0, cap=60.0)  # another call's 429, while this attempt ran
            raise server_error()
        return "page"

    assert "page" == await call_with_retries(
        failing, policy=policy, attempt_timeout=None, throttle=hold, customer_id="c"
    )
    assert [10.5] == clock.sleeps


# -- the hold, before the first attempt -------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("deadline", [None, 60.0])
async def test_a_hold_is_waited_before_the_first_attempt(
    clock: FakeTime, deadline: float | None
) -> None:
    """A call on a held client waits out the hold (plus jitter) first, deadline or none."""
    hold = Throttle()
    hold.hold(0.5, cap=60.0)
    policy = RetryPolicy(initial_delay=1.0, deadline=deadline, sleep=clock.sleep)
    assert "page" == await run(Script("page"), policy, hold=hold)
    assert [1.0] == clock.sleeps


@pytest.mark.asyncio
async def test_a_hold_of_exactly_the_cap_is_waited(clock: FakeTime) -> None:
    """A hold of exactly max_retry_after is waited; a longer one (a laxer policy's) is not."""
    hold = Throttle()
    hold.hold(10.0, cap=60.0)
    policy = RetryPolicy(initial_delay=0, max_retry_after=10.0, deadline=None, sleep=clock.sleep)
    assert "page" == await run(Script("page"), policy, hold=hold)
    hold.hold(30.0, cap=60.0)
    with pytest.raises(ja.RateLimitError) as info:
        await run(Script("page"), policy, hold=hold)
    assert 429 == info.value.status
    assert 30.0 == info.value.retry_after
    assert (
        "not sent: Juspay rate-limited this client for another 30.0 s, longer than this call "
        "may wait"
    ) == info.value.args[0]


@pytest.mark.asyncio
@pytest.mark.parametrize("budget", [False, True], ids=["no rate limit", "a budget"])
async def test_a_hold_that_would_pass_the_deadline_is_not_waited(
    clock: FakeTime, budget: bool
) -> None:
    """A hold whose longest wait (jitter included) reaches the deadline fails at once.

    With a rate budget too: the deadline bounds the hold before any token is asked for.
    """
    hold = Throttle(open_store(ja.RateLimit(100)) if budget else None)
    hold.hold(5.0, cap=60.0)
    policy = RetryPolicy(initial_delay=1.0, deadline=6.0, sleep=clock.sleep)
    with pytest.raises(ja.RateLimitError, match="not sent"):
        await run(Script("page"), policy, hold=hold)
    assert [] == clock.sleeps
    assert "page" == await run(Script("page"), attrs.evolve(policy, deadline=6.5), hold=hold)


@pytest.mark.asyncio
async def test_an_expired_hold_is_not_waited(clock: FakeTime) -> None:
    """A hold that has run out is not waited before the attempt."""
    hold = Throttle()
    hold.hold(1.0, cap=60.0)
    clock.now += 1.0
    await hold.before_attempt(RetryPolicy(sleep=clock.sleep), None, None)
    assert [] == clock.sleeps


# -- closing the client ends a wait --------------------------------------------------


@pytest.mark.asyncio
async def test_a_closed_client_does_not_start_a_wait(clock: FakeTime) -> None:
    """A retry on a client already closed fails with ClientClosedError, saying so."""
    closed = asyncio.Event()
    closed.set()
    with pytest.raises(ja.ClientClosedError) as info:
        await run(Script(server_error(), "page"), RetryPolicy(sleep=clock.sleep), closed=closed)
    assert info.value.args[0].startswith("the client was closed")


async def wait_forever(log: list[str]) -> None:
    """A sleep that never ends by itself, and takes a few turns of the loop to clean up."""
    try:
        await asyncio.Event().wait()
    finally:
        for _ in range(10):
            await asyncio.sleep(0)
        log.append("sleep cancelled")


@pytest.mark.asyncio
@pytest.mark.parametrize("held", [False, True], ids=["backoff", "hold"])
async def test_closing_ends_a_wait_and_its_sleep(held: bool) -> None:
    """Closing during a backoff or a hold ends the call once the sleep has finished cancelling."""
    log: list[str] = []
    closed = asyncio.Event()
    hold = Throttle()
    if held:
        hold.hold(5.0, cap=60.0)
    policy = RetryPolicy(sleep=lambda _: wait_forever(log))
    call = asyncio.create_task(
        run(Script(server_error(), "page"), policy, hold=hold, closed=closed)
    )
    for _ in range(5):
        await asyncio.sleep(0)
    closed.set()
    with pytest.raises(ja.ClientClosedError) as info:
        await call
    assert info.value.args[0].startswith("the client was closed")
    assert ["sleep cancelled"] == log


@pytest.mark.asyncio
async def test_a_finished_wait_leaves_no_task_behind(clock: FakeTime) -> None:
    """After a wait on a client, the task watching for closing is gone too."""
    closed = asyncio.Event()
    before = asyncio.all_tasks()
    assert "page" == await run(
        Script(server_error(), "page"), RetryPolicy(sleep=clock.sleep), closed=closed
    )
    assert before == asyncio.all_tasks()


@pytest.mark.asyncio
@pytest.mark.parametrize("with_client", [False, True])
async def test_a_failing_sleep_fails_the_call(with_client: bool) -> None:
    """An error in the policy's sleep is raised from the call, with or without a client."""

    async def broken(_seconds: float) -> None:
        msg = "the test's clock broke"
        raise RuntimeError(msg)

    closed = asyncio.Event() if with_client else None
    with pytest.raises(RuntimeError, match="the test's clock broke"):
        await run(Script(server_error(), "page"), RetryPolicy(sleep=broken), closed=closed)


# -- the rate-limit budget --------------------------------------------------------------


class SharedHold:
    """A store that is only a hold shared by processes: the Redis store's hold, in memory.

    The throttle applies its one hold rule to it: wait the hold out, or fail at once when
    the wait would pass the call's deadline or ``max_retry_after``.
    """

    shared = False  # on the faked clock, waited in one sleep

    def __init__(self) -> None:
        """No hold yet."""
        self.until = 0.0

    async def take(self, wanted: int, *, waited: bool) -> Verdict:
        """Every token, unless the shared hold is in force."""
        del waited
        held = self.until - _timing.clock()
        return Verdict(0, 0.0, held) if held > 0 else Verdict(wanted, 0.0, 0.0)

    def give_back(self, count: int) -> None:
        """Tokens are not counted."""

    async def share_hold(self, seconds: float) -> None:
        """Hold every process back for ``seconds`` from now (never shorter)."""
        self.until = max(self.until, _timing.clock() + seconds)

    async def aclose(self) -> None:
        """Nothing is open."""


@pytest.mark.asyncio
async def test_the_budget_wait_counts_against_the_deadline(clock: FakeTime) -> None:
    """A call queued 1 s for a token has 9 s of its 10 s deadline left for the attempt."""
    budget = open_store(ja.RateLimit(1))
    policy = RetryPolicy(deadline=10.0, sleep=clock.sleep)
    assert "page" == await run(Script("page"), policy, attempt_timeout=None, budget=budget)
    queued = Script("page")
    assert "page" == await run(queued, policy, attempt_timeout=None, budget=budget)
    assert [1.0] == clock.sleeps
    assert [9.0] == queued.limits


@pytest.mark.asyncio
async def test_a_retry_waits_for_its_token_within_the_deadline(clock: FakeTime) -> None:
    """A retry takes a token too: its 1 s wait for it comes out of the call's deadline."""
    budget = open_store(ja.RateLimit(1))
    policy = RetryPolicy(deadline=10.0, sleep=clock.sleep)
    script = Script(server_error(retry_after=0.0), "page")
    assert "page" == await run(script, policy, attempt_timeout=None, budget=budget)
    assert [0.0, 1.0] == clock.sleeps
    assert [10.0, 9.0] == script.limits


@pytest.mark.asyncio
@pytest.mark.usefixtures("clock")
@pytest.mark.parametrize("retrying", [False, True], ids=["first attempt", "retry"])
async def test_closing_ends_a_wait_for_the_budget(retrying: bool) -> None:
    """Closing the client while a first attempt or a retry waits for a token ends the call."""
    budget = open_store(ja.RateLimit(1))
    waiting = asyncio.Event()

    async def sleep(seconds: float) -> None:
        if seconds:  # the wait for the token; the retry's own wait is 0 s
            waiting.set()
            await asyncio.Event().wait()

    policy = RetryPolicy(sleep=sleep)
    closed = asyncio.Event()
    if retrying:
        script = Script(server_error(retry_after=0.0), "page")
    else:
        assert "page" == await run(Script("page"), policy, budget=budget, closed=closed)
        script = Script("page")
    call = asyncio.create_task(run(script, policy, budget=budget, closed=closed))
    async with asyncio.timeout(5):  # a bound on the failure, not a wait: it takes ms
        await waiting.wait()
        closed.set()
        with pytest.raises(ja.ClientClosedError):
            await call
    assert (1 if retrying else 0) == len(script.limits)


@pytest.mark.asyncio
async def test_a_429_is_shared_through_the_budget_capped(clock: FakeTime) -> None:
    """A 429 asking for an hour holds the processes sharing the budget for max_retry_after."""
    budget = SharedHold()
    policy = RetryPolicy(max_retry_after=10.0, sleep=clock.sleep)
    with pytest.raises(ja.RateLimitError):
        await run(Script(server_error(429, retry_after=3600.0)), policy, budget=budget)
    # Another process: its own client hold, the same budget.
    assert "page" == await run(Script("page"), policy, budget=budget)
    assert [10.25] == clock.sleeps


@pytest.mark.asyncio
async def test_a_429_on_a_retry_is_shared_through_the_budget(clock: FakeTime) -> None:
    """A 429 with Retry-After on a retry, not only the first attempt, holds back the others."""
    budget = SharedHold()
    policy = RetryPolicy(max_attempts=2, sleep=clock.sleep)
    script = Script(server_error(retry_after=0.0), server_error(429, retry_after=7.0))
    with pytest.raises(ja.RateLimitError):
        await run(script, policy, budget=budget)
    # Another process: its own client hold, the same budget.
    assert "page" == await run(Script("page"), policy, budget=budget)
    assert [0.0, 7.25] == clock.sleeps


@pytest.mark.asyncio
async def test_a_budget_without_a_deadline(clock: FakeTime) -> None:
    """With deadline=None, the wait for a token starts no deadline: the attempt's own timeout."""
    budget = open_store(ja.RateLimit(1))
    policy = RetryPolicy(deadline=None, sleep=clock.sleep)
    assert "page" == await run(Script("page"), policy, budget=budget)
    queued = Script("page")
    assert "page" == await run(queued, policy, attempt_timeout=30.0, budget=budget)
    assert ([1.0], [30.0]) == (clock.sleeps, queued.limits)


@pytest.mark.asyncio
async def test_the_budget_is_given_the_deadline_of_the_first_attempt(clock: FakeTime) -> None:
    """A shared hold that would outlast the deadline fails the call before anything is sent."""
    budget = SharedHold()
    await budget.share_hold(5.0)
    script = Script("page")
    with pytest.raises(ja.RateLimitError, match=r"^not sent: Juspay rate-limited a process"):
        await run(script, RetryPolicy(deadline=5.5, sleep=clock.sleep), budget=budget)
    assert [] == script.limits
    assert [] == clock.sleeps


@pytest.mark.asyncio
async def test_the_budget_is_given_the_deadline_of_a_retry(clock: FakeTime) -> None:
    """A shared hold met by a retry that would outlast the deadline fails that retry unsent."""
    budget = SharedHold()

    class HeldMeanwhile(Script):
        """The first attempt fails while another process's 429 holds the budget for 5 s."""

        async def __call__(self, limit: float | None) -> object:
            if not self.limits:
                await budget.share_hold(5.0)
            return await super().__call__(limit)

    script = HeldMeanwhile(server_error(retry_after=0.0), "page")
    policy = RetryPolicy(max_attempts=2, deadline=5.5, sleep=clock.sleep)
    with pytest.raises(ja.RateLimitError, match=r"^not sent: Juspay rate-limited a process"):
        await run(script, policy, budget=budget)
    assert 1 == len(script.limits)


# -- what is logged ------------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("failure", "shown", "request_id"),
    [(server_error(), "HTTP 503", "req_503"), (refused(), "APIConnectionError", None)],
)
async def test_each_retry_is_logged_with_what_failed(
    clock: FakeTime,
    caplog: pytest.LogCaptureFixture,
    failure: ja.JuspayError,
    shown: str,
    request_id: str | None,
) -> None:
    """One INFO record per retry: the customer, attempt, failure, request id and wait."""
    caplog.set_level(logging.INFO, logger="juspay_accounts")
    policy = RetryPolicy(initial_delay=1.0, sleep=clock.sleep)
    await run(Script(failure, "page"), policy)
    (record,) = caplog.records
    assert (
        f"customer cst_1: attempt 1 of 4 failed ({shown}, request id {request_id}); "
        "retrying in 0.500 s"
    ) == record.getMessage()
    assert logging.INFO == record.levelno
    extras: Callable[[str], object] = lambda name: getattr(record, name)  # noqa: E731
    assert ("cst_1", 1, type(failure).__name__, request_id, 0.5) == (
        extras("juspay_customer_id"),
        extras("juspay_attempt"),
        extras("juspay_error"),
        extras("juspay_request_id"),
        extras("juspay_delay"),
    )
    assert getattr(failure, "status", None) == extras("juspay_status")
