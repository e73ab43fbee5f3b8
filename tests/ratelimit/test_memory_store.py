"""The in-process store's answers on their own: GCRA at exact times on a faked clock.

The store is the sans-I/O half of the budget (the throttle does the waiting): asked for
tokens, it says how many it took, how long until the next one, and whether a hold runs.
Its answers are checked here at the instants where rounding could cost a token.
"""

from __future__ import annotations

import pytest

from juspay_accounts import _timing
from juspay_accounts._ratelimit import MemoryStore, RateLimit, Verdict


class Clock:
    """A clock the test sets."""

    def __init__(self) -> None:
        """At 1000 s."""
        self.now = 1000.0

    def __call__(self) -> float:
        """The time set."""
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The package's clock, set by the test."""
    faked = Clock()
    monkeypatch.setattr(_timing, "clock", faked)
    return faked


def _same(expected: Verdict, got: Verdict) -> bool:
    return (
        expected.taken == got.taken
        and got.wait == pytest.approx(expected.wait, abs=1e-9)
        and (got.held == expected.held)
    )


@pytest.mark.asyncio
async def test_a_full_bucket_gives_its_burst_then_says_when_the_next_is_free(clock: Clock) -> None:
    """10/s with a burst of 3: 3 of 5 now, the next in 0.1 s; nothing more until then."""
    store = MemoryStore(RateLimit(10, burst=3))
    assert _same(Verdict(3, 0.1, 0.0), await store.take(5, waited=False))
    assert _same(Verdict(0, 0.1, 0.0), await store.take(1, waited=False))
    clock.now += 0.05
    assert _same(Verdict(0, 0.05, 0.0), await store.take(1, waited=False))


@pytest.mark.asyncio
async def test_every_token_asked_for_is_taken_with_no_wait_and_no_hold(clock: Clock) -> None:
    """Taking all that was asked for is the plain answer: no wait, no hold."""
    store = MemoryStore(RateLimit(10, burst=3))
    assert Verdict(2, 0.0, 0.0) == await store.take(2, waited=False)
    assert Verdict(1, 0.0, 0.0) == await store.take(1, waited=False)
    clock.now += 0.1
    assert Verdict(1, 0.0, 0.0) == await store.take(1, waited=False)


@pytest.mark.asyncio
@pytest.mark.parametrize("rate", [10, 3, 7, 30, 0.3])
async def test_a_token_is_free_exactly_when_its_interval_ends(clock: Clock, rate: float) -> None:
    """At each multiple of 1/rate one more token is free, however the sum rounds."""
    store = MemoryStore(RateLimit(rate, burst=1))
    assert 1 == (await store.take(1, waited=False)).taken
    for step in range(1, 40):
        clock.now = 1000.0 + step / rate
        assert 1 == (await store.take(1, waited=False)).taken, step
        assert 0 == (await store.take(1, waited=False)).taken, step


@pytest.mark.asyncio
@pytest.mark.usefixtures("clock")
async def test_after_a_full_wait_the_token_waited_for_is_free() -> None:
    """A caller that slept the wait it was told gets its token, even if the clock lags."""
    store = MemoryStore(RateLimit(2, burst=1))
    assert 1 == (await store.take(1, waited=False)).taken
    told = await store.take(1, waited=False)
    assert _same(Verdict(0, 0.5, 0.0), told)
    # A policy's own sleep (tests, without_waiting) may not move this clock at all.
    assert Verdict(1, 0.0, 0.0) == await store.take(1, waited=True)
    assert 0 == (await store.take(1, waited=False)).taken


@pytest.mark.asyncio
@pytest.mark.usefixtures("clock")
async def test_a_fresh_store_treats_waited_as_now() -> None:
    """``waited`` before any wait was told changes nothing: the bucket is full now."""
    store = MemoryStore(RateLimit(4, burst=2))
    assert Verdict(2, 0.0, 0.0) == await store.take(2, waited=True)
    assert _same(Verdict(0, 0.25, 0.0), await store.take(1, waited=False))


@pytest.mark.asyncio
@pytest.mark.usefixtures("clock")
async def test_tokens_given_back_are_free_again_at_once() -> None:
    """A caller that left gives its token back: as if it had never been taken."""
    store = MemoryStore(RateLimit(10, burst=3))
    assert 3 == (await store.take(3, waited=False)).taken
    store.give_back(2)
    assert Verdict(2, 0.0, 0.0) == await store.take(2, waited=False)
    assert 0 == (await store.take(1, waited=False)).taken
