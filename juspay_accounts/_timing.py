"""The clock and the waits every part of a call shares: a leaf module that imports no other.

Deadlines, holds and the in-process rate budget are measured on :data:`clock` (monotonic;
tests replace it). Waits go through the retry policy's ``sleep`` (tests replace that too)
and end early, with :class:`~juspay_accounts.ClientClosedError`, when the client closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any, Final, TypeVar

from juspay_accounts.exceptions import ClientClosedError

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable

__all__ = ["TIMED_OUT", "clock", "close_with_loop", "no_wait", "sleeper", "wait_for"]

_T = TypeVar("_T")

# The monotonic clock deadlines, holds and the in-process budget are measured on (a seam
# for tests: read it as ``_timing.clock()``, never bind it at import).
clock: Callable[[], float] = time.monotonic

TIMED_OUT: Final = object()
"""What :func:`wait_for` returns when its time ran out first."""


async def no_wait(_seconds: float) -> None:
    """Skip a wait, but still give other tasks (and cancellation) a turn."""
    await asyncio.sleep(0)


def _closed_error(while_doing: str) -> ClientClosedError:
    return ClientClosedError(f"the client was closed {while_doing}")


async def wait_for(
    future: asyncio.Future[_T],
    seconds: float | None,
    sleep: Callable[[float], Awaitable[None]],
    closed: asyncio.Event | None,
) -> _T | object:
    """Wait for ``future``, at most ``seconds`` by ``sleep``, ended by ``closed``.

    Returns the future's result, or :data:`TIMED_OUT` when ``sleep(seconds)`` ended first
    (``seconds`` ``None``: no time limit). Raises :class:`ClientClosedError` when
    ``closed`` is set first. ``future`` itself is never cancelled here: a caller that
    gives up on it decides what becomes of it.
    """
    if closed is not None and closed.is_set():
        raise _closed_error("before this call could go on")  # pragma: no mutate
    helpers: list[asyncio.Future[object]] = []
    if seconds is not None:
        helpers.append(asyncio.ensure_future(sleep(seconds)))
    if closed is not None:
        helpers.append(asyncio.ensure_future(closed.wait()))
    try:
        waits: list[asyncio.Future[Any]] = [future, *helpers]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for helper in helpers:
            helper.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
    if future.done():
        return future.result()
    if closed is not None and closed.is_set():
        raise _closed_error("while this call waited")  # pragma: no mutate
    helpers[0].result()  # a sleep that failed fails the call
    return TIMED_OUT


def sleeper(
    sleep: Callable[[float], Awaitable[None]], closed: asyncio.Event | None
) -> Callable[[float], Awaitable[None]]:
    """``sleep``, ended early with :class:`ClientClosedError` when ``closed`` is set."""
    if closed is None:
        return sleep

    async def wait(seconds: float) -> None:
        if closed.is_set():
            raise _closed_error("before this call could go on")  # pragma: no mutate
        sleeping = asyncio.ensure_future(sleep(seconds))
        closing = asyncio.ensure_future(closed.wait())
        try:
            await asyncio.wait((sleeping, closing), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in (sleeping, closing):
                future.cancel()
            await asyncio.gather(sleeping, closing, return_exceptions=True)
        if closed.is_set():
            raise _closed_error("while this call waited")  # pragma: no mutate
        sleeping.result()  # a sleep that failed fails the call, as it does without a client

    return wait


async def close_with_loop(
    close: Callable[[], Awaitable[object]],
    errors: tuple[type[BaseException], ...] = (),
) -> AsyncGenerator[None, None]:
    """Hold something open until this generator is closed, or its event loop shuts down.

    ``asyncio.run`` and ``asyncio.Runner`` finalise suspended async generators before
    closing the loop, so ``close()`` then runs inside its own loop, without a warning.
    Prime it with ``await anext(...)``; close it with ``aclose()``. ``errors`` raised by
    ``close()`` are ignored (a connection already gone).
    """
    try:
        yield
    finally:
        with contextlib.suppress(*errors):
            await close()
