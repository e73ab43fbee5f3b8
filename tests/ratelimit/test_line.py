"""The line of callers waiting for tokens, against a store the test answers by hand.

Each test holds the store's answer back until it has arranged what it wants to see (a
caller cancelled in the same instant it is handed a token, the leader failing with callers
in line), so the interleavings that are rare on a real budget are pinned exactly.
"""

from __future__ import annotations

import asyncio
import time

import pytest

import juspay_accounts as ja
from juspay_accounts._ratelimit import Verdict
from juspay_accounts._throttle import Throttle


class HandStore:
    """A store whose every ``take`` waits for the test to answer it."""

    shared = False

    def __init__(self) -> None:
        """No question asked yet."""
        self.asked: list[int] = []
        self.given_back = 0
        self.answers: asyncio.Queue[Verdict | BaseException] = asyncio.Queue()

    async def take(self, wanted: int, *, waited: bool) -> Verdict:
        """Note how many were asked for; answer what the test puts in ``answers``."""
        del waited
        self.asked.append(wanted)
        answer = await self.answers.get()
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def give_back(self, count: int) -> None:
        """Count what comes back."""
        self.given_back += count

    async def share_hold(self, seconds: float) -> None:
        """Not used here."""

    async def aclose(self) -> None:
        """Nothing is open."""


POLICY = ja.RetryPolicy(deadline=None)


async def _settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


async def _callers(throttle: Throttle, count: int) -> list[asyncio.Task[None]]:
    tasks = []
    for _ in range(count):
        tasks.append(asyncio.ensure_future(throttle.before_attempt(POLICY, None, None)))
        await _settle()  # in this order
    return tasks


@pytest.mark.asyncio
async def test_the_leader_asks_once_for_the_whole_line() -> None:
    """Five callers: the first asks for 1; then one question for the four behind it."""
    store = HandStore()
    throttle = Throttle(store)
    tasks = await _callers(throttle, 5)
    store.answers.put_nowait(Verdict(1, 0.0, 0.0))
    await _settle()
    store.answers.put_nowait(Verdict(4, 0.0, 0.0))
    await asyncio.gather(*tasks)
    assert [1, 4] == store.asked


@pytest.mark.asyncio
async def test_a_caller_cancelled_as_it_is_handed_a_token_gives_it_back() -> None:
    """Handed a token in the very instant it was cancelled: the token goes back to the store."""
    store = HandStore()
    throttle = Throttle(store)
    leader, waiter = await _callers(throttle, 2)
    store.answers.put_nowait(Verdict(2, 0.0, 0.0))  # wakes the leader first...
    waiter.cancel()  # ...and the waiter with CancelledError after the leader handed it one
    await leader
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert ([1], 1) == (store.asked, store.given_back)


@pytest.mark.asyncio
async def test_a_caller_cancelled_as_it_is_given_the_lead_passes_it_on() -> None:
    """Given the lead in the instant it was cancelled: the next in line leads, and is served."""
    store = HandStore()
    throttle = Throttle(store)
    leader, cancelled, last = await _callers(throttle, 3)
    store.answers.put_nowait(Verdict(1, 0.0, 0.0))  # the leader's own; the lead goes on
    cancelled.cancel()
    await leader
    await _settle()
    store.answers.put_nowait(Verdict(1, 0.0, 0.0))
    await last
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert [1, 1] == store.asked


@pytest.mark.asyncio
async def test_tokens_for_callers_who_left_go_back() -> None:
    """The leader asked for three; two of them left while it asked: their tokens go back."""
    store = HandStore()
    throttle = Throttle(store)
    first, second, third = await _callers(throttle, 3)
    store.answers.put_nowait(Verdict(1, 0.0, 0.0))
    await first
    await _settle()  # second leads now, asking for itself and third
    third.cancel()
    store.answers.put_nowait(Verdict(2, 0.0, 0.0))
    await second
    with pytest.raises(asyncio.CancelledError):
        await third
    assert ([1, 2], 1) == (store.asked, store.given_back)


@pytest.mark.asyncio
async def test_a_store_failure_fails_everyone_in_line_at_once() -> None:
    """The leader's question fails: each caller in line gets the error too, not a turn to wait."""
    store = HandStore()
    throttle = Throttle(store)
    tasks = await _callers(throttle, 4)
    store.answers.put_nowait(ja.RateLimitStoreError("not sent: Redis is gone"))
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert [ja.RateLimitStoreError] * 4 == [type(o) for o in outcomes]
    assert {"not sent: Redis is gone"} == {str(o.args[0]) for o in outcomes if o is not None}
    assert len({id(o) for o in outcomes}) == 4  # each its own error, not one shared
    assert [1] == store.asked


@pytest.mark.asyncio
async def test_a_closed_client_asks_the_store_nothing() -> None:
    """Closed before the attempt: ClientClosedError, and the store is not asked."""
    store = HandStore()
    closed = asyncio.Event()
    closed.set()
    with pytest.raises(ja.ClientClosedError):
        await Throttle(store).before_attempt(POLICY, None, closed)
    assert [] == store.asked


@pytest.mark.asyncio
async def test_closing_ends_a_wait_in_line() -> None:
    """A caller waiting in line ends with ClientClosedError when the client closes."""
    store = HandStore()
    throttle = Throttle(store)
    closed = asyncio.Event()
    leader = asyncio.ensure_future(throttle.before_attempt(POLICY, None, closed))
    await _settle()
    waiter = asyncio.ensure_future(throttle.before_attempt(POLICY, None, closed))
    await _settle()
    closed.set()
    with pytest.raises(ja.ClientClosedError):
        await waiter
    store.answers.put_nowait(Verdict(2, 0.0, 0.0))
    await leader
    assert 1 == store.given_back  # the token taken for the caller who left


@pytest.mark.asyncio
async def test_a_caller_with_no_time_left_is_refused_without_queueing() -> None:
    """A deadline already inside min_attempt_time: refused at once, "not sent"."""
    store = HandStore()
    throttle = Throttle(store)
    leader = asyncio.ensure_future(throttle.before_attempt(POLICY, None, None))
    await _settle()
    with pytest.raises(ja.RateLimitError, match=r"^not sent"):
        await throttle.before_attempt(ja.RetryPolicy(), time.monotonic() + 0.05, None)
    store.answers.put_nowait(Verdict(1, 0.0, 0.0))
    await leader
    assert [1] == store.asked
