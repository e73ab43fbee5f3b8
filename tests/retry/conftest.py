"""What the retry tests share: a retry clock that moves only when the library sleeps."""

from __future__ import annotations

import asyncio

import attrs
import pytest

from juspay_accounts import _timing


@attrs.define
class FakeTime:
    """A retry clock that only moves when the library sleeps, and a record of the sleeps."""

    now: float = 1000.0
    sleeps: list[float] = attrs.field(factory=list)

    def clock(self) -> float:
        """The fake monotonic clock."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Record the wait, move the clock, and let other tasks run."""
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Fake the retry clock; pass ``fake_time.sleep`` to a RetryPolicy to fake the waits."""
    faked = FakeTime()
    monkeypatch.setattr(_timing, "clock", faked.clock)
    return faked


@pytest.fixture
def recorded_sleeps() -> FakeTime:
    """A record of the sleeps (pass its ``sleep`` to a RetryPolicy), the clock left real."""
    return FakeTime()
