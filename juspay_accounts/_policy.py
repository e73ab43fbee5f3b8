"""How a call rides out transient failures: :class:`RetryPolicy`, a value the user configures.

A leaf of the package (it imports only the exceptions and the clock): the retry loop
(:mod:`._retry`) and the throttle (:mod:`._throttle`) both read it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final, Self

import attrs

from juspay_accounts import _timing
from juspay_accounts.exceptions import APICertificateError, APIConnectionError, APIError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = [
    "DEFAULT_MIN_ATTEMPT_TIME",
    "DEFAULT_RETRY_BUDGET",
    "DEFAULT_RETRY_BUDGET_FLOOR",
    "DEFAULT_RETRY_STATUSES",
    "RetryPolicy",
]

DEFAULT_RETRY_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
"""The HTTP statuses retried by default: timeouts, rate limits and server or proxy failures."""

DEFAULT_RETRY_BUDGET: Final = 0.2
"""The share of a client's recent calls it may retry (Finagle's default, 20 %)."""

DEFAULT_RETRY_BUDGET_FLOOR: Final = 3.0
"""Retries a second a client may make whatever its traffic (the budget's floor)."""

DEFAULT_MIN_ATTEMPT_TIME: Final = 0.1
"""Seconds of the deadline an attempt needs at least: no wait starts that would leave less."""


def _non_negative(_instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value >= 0:  # also refuses NaN
        msg = f"{attribute.name} must be a non-negative number of seconds, got {value!r}"
        raise ValueError(msg)


def _non_negative_or_none(
    _instance: object, attribute: attrs.Attribute[Any], value: object
) -> None:
    if value is not None and (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value < float("inf")
    ):
        msg = f"{attribute.name} must be a non-negative number or None, got {value!r}"
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
        deadline: Seconds one call may take in all, attempts and waits included (a wait
            for a rate-limit token or hold too), or ``None``. Each attempt's timeout is cut
            to the time left, and no wait starts that would leave less than
            ``min_attempt_time`` of it.
        min_attempt_time: The least time, in seconds, an attempt after a wait is worth
            sending with. A wait (backoff, ``Retry-After``, a rate-limit token or hold)
            that would leave less of the deadline is not started: the call ends at once
            with its last error, or with :class:`~juspay_accounts.RateLimitError` ("not
            sent") when the wait was the rate limit's. The first attempt is always sent.
        retry_budget: The share of the client's calls of the last 10 s that may be
            retried (0.2: one retry for every five calls), plus ``retry_budget_floor``
            retries a second; shared by every call of the client and its
            ``with_options`` views. When Juspay fails everything, a fan-out then sends at
            most about ``1.2x`` as many requests as customers (plus the floor), not
            ``max_attempts`` times as many; a call whose retry the budget refuses fails at
            once with its last error, which says so. ``None``: no budget, every call
            retries up to ``max_attempts``.
        retry_budget_floor: Retries a second the budget allows whatever the traffic, so
            that a quiet client still retries a blip.
        retry_statuses: The HTTP statuses that are retried.
        sleep: How to wait. Tests can pass a fake that records the delays;
            :meth:`without_waiting` skips waiting altogether.
    """

    max_attempts: int = attrs.field(default=4, validator=_at_least_one)
    initial_delay: float = attrs.field(default=0.5, validator=_non_negative)
    max_delay: float = attrs.field(default=8.0, validator=_non_negative)
    max_retry_after: float = attrs.field(default=60.0, validator=_non_negative)
    deadline: float | None = attrs.field(default=60.0, validator=_positive_or_none)
    min_attempt_time: float = attrs.field(default=DEFAULT_MIN_ATTEMPT_TIME, validator=_non_negative)
    retry_budget: float | None = attrs.field(
        default=DEFAULT_RETRY_BUDGET, validator=_non_negative_or_none
    )
    retry_budget_floor: float = attrs.field(
        default=DEFAULT_RETRY_BUDGET_FLOOR, validator=_non_negative
    )
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
        return attrs.evolve(self, sleep=_timing.no_wait)

    def should_retry(self, exc: BaseException) -> bool:
        """Whether ``exc`` is a transient failure this policy retries (an allow-list)."""
        if isinstance(exc, APIConnectionError):
            # A certificate that cannot be verified will not verify on the next attempt.
            return not isinstance(exc, APICertificateError)
        if isinstance(exc, APIError) and exc.status in self.retry_statuses:
            return exc.retry_after is None or exc.retry_after <= self.max_retry_after
        return False

    def deadline_at(self) -> float | None:
        """When a call starting now must be over, on the package's clock (``None``: never)."""
        return None if self.deadline is None else _timing.clock() + self.deadline

    def leaves_room(self, wait: float, deadline_at: float | None) -> bool:
        """Whether a wait of ``wait`` seconds from now leaves an attempt its time."""
        return deadline_at is None or _timing.clock() + wait + self.min_attempt_time <= deadline_at
