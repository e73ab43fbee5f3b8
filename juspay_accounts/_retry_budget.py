"""The retry budget: retries at most a share of recent requests, plus a small floor.

After Finagle's ``RetryBudget`` (and botocore's retry quota, gRPC's retry throttling): when
Juspay fails everything, retrying every call would multiply the outage's load by the
attempt cap. Over a sliding window of :data:`WINDOW` seconds, a client may retry at most
``ratio`` of the calls it made, plus ``floor`` retries a second whatever the traffic (so
a quiet client still retries a blip). One per client, shared by its ``with_options``
views; the policy in force says the ratio and the floor.
"""

from __future__ import annotations

from typing import Final

from juspay_accounts import _timing

__all__ = ["WINDOW", "RetryBudget"]

WINDOW: Final = 10
"""Seconds of history the budget looks at (one bucket a second)."""


class RetryBudget:
    """Counts of calls and retries over the last :data:`WINDOW` seconds, on the package's clock."""

    __slots__ = ("_calls", "_retries", "_second")

    def __init__(self) -> None:
        """Nothing seen yet."""
        self._calls = [0] * WINDOW
        self._retries = [0] * WINDOW
        self._second = 0

    def _bucket(self) -> int:
        """The bucket of this second, the buckets of the seconds since the last one emptied."""
        second = int(_timing.clock())
        if second != self._second:
            for past in range(max(self._second + 1, second - WINDOW + 1), second + 1):
                self._calls[past % WINDOW] = self._retries[past % WINDOW] = 0
            self._second = second
        return second % WINDOW

    def note_call(self) -> None:
        """A call made its first attempt: it earns ``ratio`` of a retry."""
        self._calls[self._bucket()] += 1

    def try_retry(self, ratio: float, floor: float) -> bool:
        """Take one retry if the window allows it: ``floor * WINDOW + ratio * calls``."""
        bucket = self._bucket()
        allowed = floor * WINDOW + ratio * sum(self._calls)
        if sum(self._retries) + 1 > allowed:
            return False
        self._retries[bucket] += 1
        return True
