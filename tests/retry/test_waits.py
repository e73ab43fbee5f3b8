"""The waits every part of a call shares (``_timing``): they end what they started.

A wait watches for the client's closing (and, waiting in line, runs the policy's sleep)
in helper tasks. When the wait is over, those helpers have finished, not merely been
asked to: the policy's sleep (a user's fake clock) has run its clean-up, and no task is
left behind for the loop to find at shutdown.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import pytest

import juspay_accounts as ja
from juspay_accounts import _timing

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable


def slow_to_cancel(log: list[str]) -> Callable[[float], Awaitable[None]]:
    """A sleep that never ends by itself and takes a few turns of the loop to clean up."""

    async def sleep(_seconds: float) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            for _ in range(3):
                await asyncio.sleep(0)
            log.append("sleep ended")

    return sleep


@pytest.mark.asyncio
@pytest.mark.parametrize("watching", [False, True], ids=["no client", "a client"])
async def test_a_wait_answered_first_has_ended_its_sleep(watching: bool) -> None:
    """The awaited answer comes first: the sleep has cleaned up, and no helper task is left."""
    log: list[str] = []
    before = asyncio.all_tasks()
    answer: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    asyncio.get_running_loop().call_soon(answer.set_result, "token")
    closed = asyncio.Event() if watching else None
    assert "token" == await _timing.wait_for(answer, 5.0, slow_to_cancel(log), closed)
    assert ["sleep ended"] == log
    assert before == asyncio.all_tasks()


@pytest.mark.asyncio
async def test_a_wait_ended_by_closing_has_ended_its_sleep() -> None:
    """Closing comes first: ClientClosedError, after the sleep has cleaned up."""
    log: list[str] = []
    before = asyncio.all_tasks()
    closed = asyncio.Event()
    asyncio.get_running_loop().call_soon(closed.set)
    pending: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    with pytest.raises(ja.ClientClosedError):
        await _timing.wait_for(pending, 5.0, slow_to_cancel(log), closed)
    assert ["sleep ended"] == log
    assert before == asyncio.all_tasks()
    assert not pending.done()  # the caller decides what becomes of what it waited for


@pytest.mark.asyncio
async def test_a_sleep_watched_for_closing_leaves_no_task_behind() -> None:
    """A client's sleep that ends by itself: the task watching for closing is gone with it."""
    before = asyncio.all_tasks()
    await _timing.sleeper(_timing.no_wait, asyncio.Event())(1.0)
    assert before == asyncio.all_tasks()
