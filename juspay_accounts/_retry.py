"""Retries and deadlines, on tenacity, wrapped so users never import it.

One call runs as: before each attempt, the client's throttle waits out any rate-limit hold
and takes a token from the budget (:mod:`._throttle`); on a transient failure (an
allow-list, so a cancellation is never retried) wait with full-jitter exponential backoff,
or exactly what ``Retry-After`` asked, and attempt again, until the attempt cap or the
deadline. No wait starts that would leave an attempt less than ``min_attempt_time`` of the
deadline, and each attempt's timeout is cut to the time left.
"""

from __future__ import annotations

import logging
import random
from typing import TYPE_CHECKING, Final, TypeVar

import attrs
import tenacity

from juspay_accounts import _timing
from juspay_accounts._instruments import Instruments, RetryEvent
from juspay_accounts._stats import ClientStats
from juspay_accounts.exceptions import APIError, JuspayError, RateLimitError

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Awaitable, Callable

    from juspay_accounts._policy import RetryPolicy
    from juspay_accounts._throttle import Throttle

__all__ = ["call_with_retries"]

_LOG: Final = logging.getLogger("juspay_accounts")
_T = TypeVar("_T")
_MIN_ATTEMPT_TIMEOUT: Final = 0.001


class _NotSent(Exception):  # noqa: N818 - a carrier, never seen outside this module
    """The throttle refused a retry: carried past tenacity, which must not retry it."""

    def __init__(self, error: RateLimitError) -> None:
        super().__init__()
        self.error = error


class _Wait:
    """Retry-After when the server sent one, else full-jitter backoff; never less than a hold."""

    __slots__ = ("_backoff", "_initial_delay", "_throttle")

    def __init__(self, policy: RetryPolicy, throttle: Throttle) -> None:
        self._backoff = tenacity.wait_random_exponential(
            multiplier=policy.initial_delay, max=policy.max_delay
        )
        self._throttle = throttle
        self._initial_delay = policy.initial_delay

    def __call__(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, APIError) and exc.retry_after is not None:
            delay = exc.retry_after
        else:
            delay = self._backoff(state)
        held = self._throttle.held()
        if held > delay:
            # Another call's 429 holds everyone back longer than this wait.
            return held + random.uniform(0, self._initial_delay)  # noqa: S311 - jitter
        return delay


class _StopAtDeadline(tenacity.stop.stop_base):
    """Stop when the coming wait would leave the next attempt too little of the deadline."""

    def __init__(self, policy: RetryPolicy, deadline_at: float | None) -> None:
        self._policy = policy
        self._deadline_at = deadline_at

    def __call__(self, state: tenacity.RetryCallState) -> bool:
        return not self._policy.leaves_room(state.upcoming_sleep or 0.0, self._deadline_at)


_BUDGET_SPENT: Final = "not retried: the client's retry budget was spent"


def _before_retry(
    customer_id: str, policy: RetryPolicy, throttle: Throttle, instruments: Instruments
) -> Callable[[tenacity.RetryCallState], None]:
    """Before a retry's wait: ask the retry budget (a refusal ends the call now), then tell."""

    def decide(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        assert isinstance(exc, JuspayError)  # noqa: S101 - only these are retried
        event = RetryEvent(
            customer_id=customer_id,
            attempt=state.attempt_number,
            status=exc.status if isinstance(exc, APIError) else None,
            error_type=type(exc).__name__,
            delay=state.upcoming_sleep,
        )
        if policy.retry_budget is not None and not throttle.retry_budget.try_retry(
            policy.retry_budget, policy.retry_budget_floor
        ):
            exc.not_retried = _BUDGET_SPENT
            instruments.retry_refused(attrs.evolve(event, delay=0.0))
            raise exc
        instruments.retry(event, policy.max_attempts, exc.request_id)

    return decide


def _time_limit(attempt_timeout: float | None, deadline_at: float | None) -> float | None:
    """The attempt's timeout: the per-attempt one, cut to the time left before the deadline."""
    if deadline_at is None:
        return attempt_timeout
    # Never 0: aiohttp reads a zero timeout as "no timeout".
    left = max(deadline_at - _timing.clock(), _MIN_ATTEMPT_TIMEOUT)
    return left if attempt_timeout is None else min(attempt_timeout, left)


async def _attempt_once(
    attempt: Callable[[float | None], Awaitable[_T]],
    number: int,
    *,
    attempt_timeout: float | None,
    deadline_at: float | None,
    throttle: Throttle,
    policy: RetryPolicy,
    closed: asyncio.Event | None,
) -> _T:
    try:
        # A retry waits out holds and takes a token too, within the deadline.
        await throttle.before_attempt(policy, deadline_at, closed)
    except RateLimitError as exc:
        exc.attempts = number - 1
        raise _NotSent(exc) from None
    try:
        return await attempt(_time_limit(attempt_timeout, deadline_at))
    except JuspayError as exc:
        exc.attempts = number
        await throttle.after_failure(exc, policy)
        raise


async def call_with_retries(
    attempt: Callable[[float | None], Awaitable[_T]],
    *,
    policy: RetryPolicy,
    attempt_timeout: float | None,
    throttle: Throttle,
    customer_id: str,
    closed: asyncio.Event | None = None,
    instruments: Instruments | None = None,
) -> _T:
    """Run ``attempt(timeout_for_this_attempt)`` under ``policy``.

    Raises the last attempt's error (a :class:`JuspayError`, its ``attempts`` set) when
    retries are exhausted, the error is not transient, or the deadline leaves no room;
    :class:`RateLimitError` ("not sent") when the throttle cannot let an attempt go in
    time (chained from the last attempt's error, if any); :class:`ClientClosedError` when
    ``closed`` is set during a wait. The deadline runs from the call's start: waits for
    a rate-limit token or hold count against it.
    """
    deadline_at = policy.deadline_at()
    await throttle.before_attempt(policy, deadline_at, closed)
    throttle.retry_budget.note_call()
    # The first attempt runs outside tenacity: setting up AsyncRetrying costs more than
    # the rest of a call (about 120 µs of CPU per lookup, measured with
    # tests/benchmarks/run.py), and most calls succeed the first time.
    try:
        return await attempt(_time_limit(attempt_timeout, deadline_at))
    except JuspayError as exc:
        await throttle.after_failure(exc, policy)
        if policy.max_attempts == 1 or not policy.should_retry(exc):
            raise
        first_failure = exc
    retrying = tenacity.AsyncRetrying(
        sleep=_timing.sleeper(policy.sleep, closed),
        stop=tenacity.stop_after_attempt(policy.max_attempts)
        | _StopAtDeadline(policy, deadline_at),
        wait=_Wait(policy, throttle),
        retry=tenacity.retry_if_exception(policy.should_retry),
        before_sleep=_before_retry(
            customer_id, policy, throttle, instruments or Instruments(ClientStats())
        ),
        reraise=True,
    )
    last_failure: JuspayError = first_failure
    try:
        async for state in retrying:
            with state:
                number = state.retry_state.attempt_number
                if number == 1:
                    # Tenacity's first attempt is the one already made: replay its failure,
                    # so that tenacity chooses the wait, checks the stops and logs as for
                    # any other.
                    raise first_failure
                try:
                    return await _attempt_once(
                        attempt,
                        number,
                        attempt_timeout=attempt_timeout,
                        deadline_at=deadline_at,
                        throttle=throttle,
                        policy=policy,
                        closed=closed,
                    )
                except JuspayError as exc:
                    last_failure = exc
                    raise
    except _NotSent as refused:
        # Not retried: the throttle's refusal, after the failure that made the call retry.
        raise refused.error from last_failure
    # Unreachable: tenacity either returns a result or raises (a bare raise: nothing to mutate).
    raise AssertionError  # pragma: no cover
