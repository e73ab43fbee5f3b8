"""What holds a client's attempts back: Juspay's 429 holds, the rate budget, the retry budget.

One :class:`Throttle` per client (its ``with_options`` views share it) has two steps:

- :meth:`Throttle.before_attempt`: wait out a 429 hold, then take a token from the
  budget, if there is one; every wait bounded by the call's deadline;
- :meth:`Throttle.after_failure`: a 429 with ``Retry-After`` holds back every call of
  the client, and every process sharing its budget.

Callers of one event loop that find no token wait in a line, first come first served.
The first of them (the leader) asks the store for tokens for the whole line at once
(one Redis round trip per batch, however many wait), hands them out, and passes the lead
on when it has its own. A caller that leaves the line, cancelled, refused or closed,
takes nothing with it: tokens are only taken when they are free, and one handed to a
caller that left is given back.
"""

from __future__ import annotations

import asyncio
import collections
import random
from typing import TYPE_CHECKING, Final

from juspay_accounts import _timing
from juspay_accounts._retry_budget import RetryBudget
from juspay_accounts.exceptions import JuspayError, RateLimitError, RateLimitStoreError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from juspay_accounts._instruments import Instruments
    from juspay_accounts._policy import RetryPolicy
    from juspay_accounts._ratelimit import Store

__all__ = ["RECHECK_INTERVAL", "Throttle"]

RECHECK_INTERVAL: Final = 1.0
"""The longest sleep on a shared store before asking it again (it may have changed)."""
# Tokens asked for at once: enough for any line, without one caller hoarding a budget.
_MAX_BATCH: Final = 256
_GRANTED: Final = "granted"  # a ticket's outcome: the leader took a token for it
_LEAD: Final = "lead"  # a ticket's outcome: it is first in line now, and leads


class _Line:
    """The callers of one event loop waiting for tokens, in order; and whether one leads."""

    __slots__ = ("leading", "loop", "waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.leading = False
        self.waiters: collections.deque[asyncio.Future[str]] = collections.deque()

    def pass_lead(self) -> None:
        """The leader leaves: the first in line leads now, or nobody does."""
        if self.waiters:
            self.waiters.popleft().set_result(_LEAD)
        else:
            self.leading = False

    def grant(self, count: int) -> int:
        """Hand a token to each of the first ``count`` in line; how many were left over."""
        while count and self.waiters:
            self.waiters.popleft().set_result(_GRANTED)
            count -= 1
        return count

    def fail(self, exc: JuspayError) -> None:
        """Fail everyone in line with a copy of ``exc`` (the store failed for all alike)."""
        while self.waiters:
            self.waiters.popleft().set_exception(type(exc)(str(exc.args[0])))


class Throttle:
    """Juspay's 429 holds and the client's rate budget (``store``; ``None`` for none)."""

    __slots__ = ("_instruments", "_line", "_store", "_until", "retry_budget")

    def __init__(self, store: Store | None = None, instruments: Instruments | None = None) -> None:
        """No hold yet; the store is asked at the first attempt; waits told to ``instruments``."""
        self._until = 0.0
        self._store = store
        self._instruments = instruments
        self._line: _Line | None = None
        self.retry_budget = RetryBudget()  # the client's retries, against its calls

    # -- the 429 hold ------------------------------------------------------------------

    def held(self) -> float:
        """Seconds until this client's calls may be sent again (0.0 when nothing holds)."""
        return max(0.0, self._until - _timing.clock())

    def hold(self, seconds: float, *, cap: float) -> None:
        """Hold every call back ``seconds`` from now, ``cap`` at most; never shorter.

        The cap is the ``max_retry_after`` of the policy in force, so that one 429 asking
        for years holds the client back that long at most.
        """
        self._until = max(self._until, _timing.clock() + min(seconds, cap))

    async def after_failure(self, exc: JuspayError, policy: RetryPolicy) -> None:
        """A 429 with ``Retry-After`` holds back this client, and every process sharing it."""
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            self.hold(exc.retry_after, cap=policy.max_retry_after)
            if self._store is not None:
                # Bounded as the client's own hold: a server asking for an hour holds no
                # process longer than the policy of the call that saw it may wait.
                await self._store.share_hold(min(exc.retry_after, policy.max_retry_after))

    async def aclose(self) -> None:
        """Close the store (its Redis connections, if any); it gives no more tokens."""
        if self._store is not None:
            await self._store.aclose()

    # -- before each attempt -----------------------------------------------------------

    async def before_attempt(
        self, policy: RetryPolicy, deadline_at: float | None, closed: asyncio.Event | None
    ) -> None:
        """Wait out any hold, then for a token; refuse a wait the deadline has no room for.

        Raises:
            RateLimitError: "not sent": a hold or the budget would keep this call past its
                deadline (or a hold past ``max_retry_after``).
            RateLimitStoreError: the shared store failed (every caller in line alike).
            ClientClosedError: the client closed while the call waited.
        """
        store = self._store
        if store is None:
            held = self.held()
            if held > 0:
                wait = _hold_wait(held, policy, deadline_at, "this client")
                await self._sleep(policy, closed, shared=False)(wait)
                self._tell_wait(wait)
            return
        started = _timing.clock()
        line = self._line_of_this_loop()
        queued = line.leading
        if queued:
            if await self._queue(line, policy, deadline_at, closed, shared=store.shared):
                self._tell_wait(_timing.clock() - started)
                return
        else:
            line.leading = True
        try:
            slept = await self._lead(line, store, policy, deadline_at, closed)
        except RateLimitStoreError as exc:
            line.fail(exc)
            raise
        finally:
            line.pass_lead()
        if queued or slept:  # waited in line, then led: a wait too, even with no sleep
            self._tell_wait(_timing.clock() - started)

    def _tell_wait(self, seconds: float) -> None:
        """A call waited for the rate limit (queued, or slept for a token or a hold)."""
        if self._instruments is not None:
            self._instruments.rate_limit_wait(seconds)

    def _line_of_this_loop(self) -> _Line:
        loop = asyncio.get_running_loop()
        line = self._line
        if line is None or line.loop is not loop:
            # A line belongs to one loop; an earlier loop's callers are gone with it.
            line = self._line = _Line(loop)
        return line

    @staticmethod
    def _sleep(
        policy: RetryPolicy, closed: asyncio.Event | None, *, shared: bool
    ) -> Callable[[float], Awaitable[None]]:
        # A budget shared with other processes is on real time: a faked sleep cannot
        # make its tokens come sooner.
        return _timing.sleeper(asyncio.sleep if shared else policy.sleep, closed)

    async def _queue(
        self,
        line: _Line,
        policy: RetryPolicy,
        deadline_at: float | None,
        closed: asyncio.Event | None,
        *,
        shared: bool,
    ) -> bool:
        """Wait in line: True when the leader took a token for us, False when we lead."""
        ticket: asyncio.Future[str] = line.loop.create_future()
        line.waiters.append(ticket)
        sleep = asyncio.sleep if shared else policy.sleep
        try:
            while True:
                patience = None
                if deadline_at is not None:
                    patience = deadline_at - policy.min_attempt_time - _timing.clock()
                    if patience <= 0:
                        outcome: object = _timing.TIMED_OUT
                        break
                outcome = await _timing.wait_for(ticket, patience, sleep, closed)
                # A sleep that skips waiting (without_waiting) moves no clock: wait again.
                if outcome is not _timing.TIMED_OUT:
                    break
        except BaseException:
            self._leave(line, ticket)
            raise
        if outcome is _timing.TIMED_OUT:
            self._leave(line, ticket)
            raise _refused(
                f"not sent: the call waited in line for a rate-limit token until its deadline "
                f"left less than {policy.min_attempt_time:g} s for the attempt",
                retry_after=None,
            )
        return outcome == _GRANTED

    def _leave(self, line: _Line, ticket: asyncio.Future[str]) -> None:
        """A caller gives up its place; what it was handed goes back or on."""
        if not ticket.done():
            ticket.cancel()
            line.waiters.remove(ticket)
        elif ticket.cancelled() or ticket.exception() is not None:
            return
        elif ticket.result() == _GRANTED:
            if self._store is not None:
                self._store.give_back(1)
        else:
            line.pass_lead()

    async def _lead(
        self,
        line: _Line,
        store: Store,
        policy: RetryPolicy,
        deadline_at: float | None,
        closed: asyncio.Event | None,
    ) -> bool:
        """Take tokens for the line until one is ours; wait (bounded) when none is free.

        Returns whether it slept.
        """
        sleep = self._sleep(policy, closed, shared=store.shared)
        waited = slept = False
        hold_waited = None  # the end of the client's hold this caller has waited out
        while True:
            if closed is not None and closed.is_set():
                await sleep(0)  # raises ClientClosedError, as any wait would
            held = self.held()
            # Once waited out, a hold is over for this caller, even when the policy's
            # sleep skipped the wait (without_waiting); a longer one is waited again.
            if held > 0 and self._until != hold_waited:
                hold_waited = self._until
                await sleep(_hold_wait(held, policy, deadline_at, "this client"))
                waited, slept = False, True
                continue
            verdict = await store.take(1 + min(len(line.waiters), _MAX_BATCH - 1), waited=waited)
            if verdict.taken:
                left_over = line.grant(verdict.taken - 1)
                if left_over:
                    store.give_back(left_over)  # those it was taken for have left the line
                return slept
            if verdict.held > 0:
                wait = _hold_wait(
                    verdict.held, policy, deadline_at, "a process sharing this budget"
                )
                await sleep(min(wait, RECHECK_INTERVAL) if store.shared else wait)
                waited, slept = False, True
                continue
            if not policy.leaves_room(verdict.wait, deadline_at):
                raise _refused(
                    f"not sent: the rate limit's next token is {verdict.wait:.2f} s away, which "
                    f"would leave this call less than {policy.min_attempt_time:g} s before its "
                    "deadline",
                    retry_after=verdict.wait,
                )
            wait = min(verdict.wait, RECHECK_INTERVAL) if store.shared else verdict.wait
            await sleep(wait)
            waited, slept = wait == verdict.wait, True


def _refused(message: str, retry_after: float | None) -> RateLimitError:
    """The error of a call the throttle did not let go: nothing was sent."""
    return RateLimitError(status=429, retry_after=retry_after, message=message)


def _hold_wait(held: float, policy: RetryPolicy, deadline_at: float | None, whose: str) -> float:
    """How long to wait out a 429 hold of ``held`` seconds, or refuse the call.

    The one rule for every hold, the client's own and a shared one: wait it out with
    jitter (so held calls do not all come back in the same instant), unless it is longer
    than ``max_retry_after`` or the longest jitter would leave the attempt no time.
    """
    if held > policy.max_retry_after or not policy.leaves_room(
        held + policy.initial_delay, deadline_at
    ):
        raise _refused(
            f"not sent: Juspay rate-limited {whose} for another {held:.1f} s, "
            "longer than this call may wait",
            retry_after=held,
        )
    return held + random.uniform(0, policy.initial_delay)  # noqa: S311 - jitter
