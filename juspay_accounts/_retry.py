"""Retries, deadlines and the shared rate-limit hold, on tenacity, wrapped so users never import it.

One call runs as: wait out any rate-limit hold on the client, then attempt; on a transient
failure (an allow-list, so a cancellation is never retried) wait with full-jitter
exponential backoff, or exactly what ``Retry-After`` asked, and attempt again, until the
attempt cap or the deadline. No wait starts that would end past the deadline, and each
attempt's timeout is cut to the time left.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

import attrs
import tenacity

from juspay_accounts.exceptions import (
    APICertificateError,
    APIConnectionError,
    APIError,
    ClientClosedError,
    JuspayError,
    RateLimitError,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from juspay_accounts._ratelimit import Budget
    from juspay_accounts._stats import ClientStats

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "RateLimitHold",
    "RetryPolicy",
    "call_with_retries",
]

_LOG: Final = logging.getLogger("juspay_accounts")
_T = TypeVar("_T")
_MIN_ATTEMPT_TIMEOUT: Final = 0.001

DEFAULT_RETRY_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
"""The HTTP statuses retried by default: timeouts, rate limits and server or proxy failures."""

# The monotonic clock deadlines and holds are measured on (a seam for tests).
_clock: Callable[[], float] = time.monotonic


async def _no_wait(_seconds: float) -> None:
    """Skip a wait, but still give other tasks (and cancellation) a turn."""
    await asyncio.sleep(0)


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:  # also refuses NaN
        msg = f"{attribute.name} must be a non-negative number of seconds, got {value!r}"
        raise ValueError(msg)


def _positive_or_none(
    _instance: object, attribute: attrs.Attribute[Any], value: float | None
) -> None:
    if value is not None and not value > 0:
        msg = f"{attribute.name} must be a positive number of seconds or None, got {value!r}"
        raise ValueError(msg)


def _at_least_one(_instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        msg = f"{attribute.name} must be an int of at least 1, got {value!r}"
        raise ValueError(msg)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a call rides out transient failures.

    Retried: connection failures (refused, reset, a body cut short), timeouts, and the
    statuses in ``retry_statuses``. Never retried: other statuses, a 200 whose body cannot be
    read, a TLS certificate that cannot be verified, and cancellation.

    Attributes:
        max_attempts: Attempts per call, the first included (1 disables retrying).
        initial_delay: The backoff window before the second attempt, in seconds; it doubles
            for each attempt after ("full jitter": the wait is random within the window).
        max_delay: The largest backoff window, in seconds.
        max_retry_after: The longest ``Retry-After`` the client will wait, in seconds. A
            longer one is not slept: the call fails at once with the error, whose
            ``retry_after`` says when to come back.
        deadline: Seconds one call may take in all, attempts and waits included, or
            ``None``. Each attempt's timeout is cut to the time left, and no wait starts that
            would end past it.
        retry_statuses: The HTTP statuses that are retried.
        sleep: How to wait. Tests can pass a fake that records the delays;
            :meth:`without_waiting` skips waiting altogether.
    """

    max_attempts: int = attrs.field(default=4, validator=_at_least_one)
    initial_delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=8.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    deadline: float | None = attrs.field(default=60.0, validator=_positive_or_none)
    retry_statuses: frozenset[int] = attrs.field(
        default=DEFAULT_RETRY_STATUSES, converter=frozenset
    )
    sleep: Callable[[float], Awaitable[None]] = attrs.field(default=asyncio.sleep, repr=False)

    @classmethod
    def disabled(cls) -> Self:
        """One attempt, no retries (the deadline still bounds the call)."""
        return cls(max_attempts=1)

    def without_waiting(self) -> Self:
        """The same policy, but every wait is skipped: for tests that exercise retries fast.

        Retries, attempt caps, the ``max_retry_after`` cap and the shared rate-limit hold all
        behave as before; only the sleeping is gone.
        """
        return attrs.evolve(self, sleep=_no_wait)

    def should_retry(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a transient failure this policy retries (an allow-list)."""
        if isinstance(exc, APIConnectionError):
            # A certificate that cannot be verified will not verify on the next attempt.
            return not isinstance(exc, APICertificateError)
        if isinstance(exc, APIError) and exc.status in self.retry_statuses:
            return exc.retry_after is None or exc.retry_after <= self.max_retry_after
        return False


class RateLimitHold:
    """When Juspay rate-limits one call, every call on the client holds back until then.

    Shared by all the calls of one client, so a fan-out of hundreds does not keep
    hammering a throttled API.
    """

    __slots__ = ("_until",)

    def __init__(self) -> None:
        """Start with no hold."""
        self._until = 0.0

    def extend(self, seconds: float, *, cap: float) -> None:
        """Hold every call back for ``seconds`` from now, but ``cap`` seconds at most.

        Never shortens a hold. The cap is the ``max_retry_after`` of the policy in force, so
        that one 429 asking for years (``Retry-After: 99999999999``) holds the client back
        for that long at most, not for years.
        """
        self._until = max(self._until, _clock() + min(seconds, cap))

    def remaining(self) -> float:
        """Seconds until calls may be sent again (0.0 when there is no hold)."""
        return max(0.0, self._until - _clock())


def _interruptible(
    sleep: Callable[[float], Awaitable[None]], closed: asyncio.Event
) -> Callable[[float], Awaitable[None]]:
    """Wrap ``sleep`` so that closing the client ends the wait with ClientClosedError."""

    async def wait(seconds: float) -> None:
        if closed.is_set():
            msg = "the client was closed before this call could retry"
            raise ClientClosedError(msg)
        sleeper = asyncio.ensure_future(sleep(seconds))
        closer = asyncio.ensure_future(closed.wait())
        try:
            await asyncio.wait((sleeper, closer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in (sleeper, closer):
                future.cancel()
            await asyncio.gather(sleeper, closer, return_exceptions=True)
        if closed.is_set():
            msg = "the client was closed while this call waited to retry"
            raise ClientClosedError(msg)
        sleeper.result()  # a sleep that failed fails the call, as it does without a client

    return wait


async def _wait_for_hold(
    sleep: Callable[[float], Awaitable[None]],
    policy: RetryPolicy,
    hold: RateLimitHold,
    deadline_at: float | None,
) -> None:
    """Before a call's first attempt: wait out a rate-limit hold, or fail if it is too long."""
    remaining = hold.remaining()
    if remaining <= 0:
        return
    # No wait that could end past the deadline (jitter included): the attempt after it
    # would have no time. Deciding on the longest jitter keeps the choice deterministic.
    if remaining > policy.max_retry_after or (
        deadline_at is not None and _clock() + remaining + policy.initial_delay >= deadline_at
    ):
        raise RateLimitError(
            status=429,
            retry_after=remaining,
            message=(
                f"not sent: Juspay rate-limited this client for another {remaining:.1f} s, "
                "longer than this call may wait"
            ),
        )
    # Resume with jitter so held calls do not all come back in the same instant.
    await sleep(remaining + random.uniform(0, policy.initial_delay))  # noqa: S311 - jitter


class _Wait:
    """Retry-After when the server sent one, else full-jitter backoff; never less than a hold."""

    __slots__ = ("_backoff", "_hold", "_initial_delay")

    def __init__(self, policy: RetryPolicy, hold: RateLimitHold) -> None:
        self._backoff = tenacity.wait_random_exponential(
            multiplier=policy.initial_delay, max=policy.max_delay
        )
        self._hold = hold
        self._initial_delay = policy.initial_delay

    def __call__(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, APIError) and exc.retry_after is not None:
            delay = exc.retry_after
        else:
            delay = self._backoff(state)
        held = self._hold.remaining()
        if held > delay:
            # Another call's 429 holds everyone back longer than this wait.
            return held + random.uniform(0, self._initial_delay)  # noqa: S311 - jitter
        return delay


class _StopAtDeadline(tenacity.stop.stop_base):
    """Stop when the coming wait would end past the deadline."""

    def __init__(self, deadline_at: float | None) -> None:
        self._deadline_at = deadline_at

    def __call__(self, state: tenacity.RetryCallState) -> bool:
        if self._deadline_at is None:
            return False
        return _clock() + (state.upcoming_sleep or 0.0) >= self._deadline_at


def _log_retry(customer_id: str, max_attempts: int) -> Callable[[tenacity.RetryCallState], None]:
    def log(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        status = exc.status if isinstance(exc, APIError) else None
        failure = f"HTTP {status}" if status is not None else type(exc).__name__
        request_id = exc.request_id if isinstance(exc, JuspayError) else None
        delay = state.upcoming_sleep
        # INFO, not WARNING: a retry usually succeeds, and when retries run out the
        # caller gets the error itself.
        _LOG.info(
            "customer %s: attempt %d of %d failed (%s, request id %s); retrying in %.3f s",
            customer_id,
            state.attempt_number,
            max_attempts,
            failure,
            request_id,
            delay,
            extra={
                "juspay_customer_id": customer_id,
                "juspay_attempt": state.attempt_number,
                "juspay_status": status,
                "juspay_error": type(exc).__name__,
                "juspay_request_id": request_id,
                "juspay_delay": delay,
            },
        )

    return log


def _sleeper(
    policy: RetryPolicy, closed: asyncio.Event | None
) -> Callable[[float], Awaitable[None]]:
    """The policy's sleep, ended early by the client closing when there is a client."""
    return policy.sleep if closed is None else _interruptible(policy.sleep, closed)


def _time_limit(attempt_timeout: float | None, deadline_at: float | None) -> float | None:
    """The attempt's timeout: the per-attempt one, cut to the time left before the deadline."""
    if deadline_at is None:
        return attempt_timeout
    # Never 0: aiohttp reads a zero timeout as "no timeout".
    left = max(deadline_at - _clock(), _MIN_ATTEMPT_TIMEOUT)
    return left if attempt_timeout is None else min(attempt_timeout, left)


async def _note_rate_limit(
    exc: JuspayError, hold: RateLimitHold, budget: Budget | None, policy: RetryPolicy
) -> None:
    """A 429 with Retry-After holds back this client, and every process sharing its budget."""
    if isinstance(exc, RateLimitError) and exc.retry_after is not None:
        hold.extend(exc.retry_after, cap=policy.max_retry_after)
        if budget is not None:
            # Bounded as the client's own hold: a server asking for an hour holds no
            # process longer than the policy of the call that saw it may wait.
            await budget.share_hold(min(exc.retry_after, policy.max_retry_after))


async def _attempt_once(
    attempt: Callable[[float | None], Awaitable[_T]],
    number: int,
    *,
    attempt_timeout: float | None,
    deadline_at: float | None,
    hold: RateLimitHold,
    stats: ClientStats | None,
    budget: Budget | None,
    policy: RetryPolicy,
    closed: asyncio.Event | None,
) -> _T:
    if stats is not None:
        stats.retries += 1
    try:
        if budget is not None:
            # Retries take a token too; this wait counts against the deadline.
            await budget.acquire(policy, closed, deadline_at)
        return await attempt(_time_limit(attempt_timeout, deadline_at))
    except JuspayError as exc:
        exc.attempts = number
        await _note_rate_limit(exc, hold, budget, policy)
        raise


async def call_with_retries(
    attempt: Callable[[float | None], Awaitable[_T]],
    *,
    policy: RetryPolicy,
    attempt_timeout: float | None,
    hold: RateLimitHold,
    customer_id: str,
    closed: asyncio.Event | None = None,
    stats: ClientStats | None = None,
    budget: Budget | None = None,
) -> _T:
    """Run ``attempt(timeout_for_this_attempt)`` under ``policy``.

    Raises the last attempt's error (a :class:`JuspayError`, its ``attempts`` set) when
    retries are exhausted, the error is not transient, or the deadline leaves no room;
    :class:`ClientClosedError` when ``closed`` is set during a wait. With a ``budget``
    (the client's rate limit), every attempt takes a token first; waiting for the first
    one is queueing, like waiting for a fan-out slot, and the deadline starts after it.
    """
    deadline_at = None if policy.deadline is None else _clock() + policy.deadline
    if hold.remaining() > 0:
        await _wait_for_hold(_sleeper(policy, closed), policy, hold, deadline_at)
    if budget is not None:
        await budget.acquire(policy, closed, deadline_at)
        deadline_at = None if policy.deadline is None else _clock() + policy.deadline
    # The first attempt runs outside tenacity: setting up AsyncRetrying costs more than
    # the rest of a call (about 120 µs of CPU per lookup, measured with
    # tests/benchmarks/run.py), and most calls succeed the first time.
    try:
        return await attempt(_time_limit(attempt_timeout, deadline_at))
    except JuspayError as exc:
        await _note_rate_limit(exc, hold, budget, policy)
        if policy.max_attempts == 1 or not policy.should_retry(exc):
            raise
        first_failure = exc
    retrying = tenacity.AsyncRetrying(
        sleep=_sleeper(policy, closed),
        stop=tenacity.stop_after_attempt(policy.max_attempts) | _StopAtDeadline(deadline_at),
        wait=_Wait(policy, hold),
        retry=tenacity.retry_if_exception(policy.should_retry),
        before_sleep=_log_retry(customer_id, policy.max_attempts),
        reraise=True,
    )
    async for state in retrying:
        with state:
            number = state.retry_state.attempt_number
            if number == 1:
                # Tenacity's first attempt is the one already made: replay its failure, so
                # that tenacity chooses the wait, checks the stops and logs as for any other.
                raise first_failure
            return await _attempt_once(
                attempt,
                number,
                attempt_timeout=attempt_timeout,
                deadline_at=deadline_at,
                hold=hold,
                stats=stats,
                budget=budget,
                policy=policy,
                closed=closed,
            )
    # Unreachable: tenacity either returns a result or raises (a bare raise: nothing to mutate).
    raise AssertionError  # pragma: no cover
