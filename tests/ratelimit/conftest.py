"""What the rate-limit tests share: a fake clock for memory:// and a timing server for redis://."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import aiohttp
import attrs
import pytest
import pytest_asyncio
from aiohttp import web

from juspay_accounts import _timing

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable
    from types import SimpleNamespace

_T = TypeVar("_T")

PROCESS = Path(__file__).parent / "budget_process.py"
EMPTY_PAGE = b'{"list": [], "offset": "0", "count": "0", "total": "0", "object": "list"}'


@attrs.define
class FakeTime:
    """A retry clock that only moves when every task is waiting on it.

    :meth:`run` drives a coroutine: whenever the other tasks have had their turn, it wakes
    the sleeper due first and moves the clock to its time, so concurrent waits end in
    order, each at its own time, with no real waiting.
    """

    now: float = 1000.0
    _due: list[tuple[float, int, asyncio.Future[None]]] = attrs.field(factory=list)
    _count: itertools.count[int] = attrs.field(factory=itertools.count)

    def clock(self) -> float:
        """The fake monotonic clock."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Wait until :meth:`run` reaches the end of this wait on the fake clock."""
        woken = asyncio.get_running_loop().create_future()
        heapq.heappush(self._due, (self.now + seconds, next(self._count), woken))
        await woken

    async def run(self, work: Awaitable[_T]) -> _T:
        """Run ``work``, waking the sleepers one at a time in the order they are due."""
        task = asyncio.ensure_future(work)
        while not task.done():
            for _ in range(50):  # let every runnable task reach its next wait
                await asyncio.sleep(0)
            while self._due and self._due[0][2].done():  # cancelled waits
                heapq.heappop(self._due)
            if self._due:
                due, _, woken = heapq.heappop(self._due)
                self.now = max(self.now, due)
                woken.set_result(None)
            else:
                await asyncio.sleep(0.001)  # a request in flight on the loopback
        return task.result()


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Fake the package's clock, which the rate limit and deadlines read."""
    faked = FakeTime()
    monkeypatch.setattr(_timing, "clock", faked.clock)
    return faked


@pytest_asyncio.fixture
async def started_at(
    fake_time: FakeTime,
) -> AsyncIterator[tuple[aiohttp.ClientSession, list[float]]]:
    """A session that notes the (faked) time each request starts."""
    starts: list[float] = []

    async def on_start(
        _session: aiohttp.ClientSession,
        _context: SimpleNamespace,
        _params: aiohttp.TraceRequestStartParams,
    ) -> None:
        starts.append(round(fake_time.now - 1000.0, 6))

    trace = aiohttp.TraceConfig()
    trace.on_request_start.append(on_start)
    async with aiohttp.ClientSession(trace_configs=[trace]) as session:
        yield session, starts


class TimingServer:
    """Answers every list call with an empty page, noting when each request arrived.

    A customer id starting with ``throttle`` gets a 429 with ``Retry-After: <retry_after>``.
    """

    def __init__(self, retry_after: str = "0.4") -> None:
        """Nothing is listening until :meth:`start`."""
        self.arrivals: list[tuple[float, str]] = []
        self.retry_after = retry_after
        self.before_throttling: Callable[[], None] | None = None
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        customer_id = request.match_info["customer_id"]
        self.arrivals.append((time.monotonic(), customer_id))
        if customer_id.startswith("throttle"):
            if self.before_throttling is not None:
                self.before_throttling()
            return web.Response(
                status=429,
                body=b'{"status": "too_many_requests"}',
                headers={"Retry-After": self.retry_after},
                content_type="application/json",
            )
        return web.Response(body=EMPTY_PAGE, content_type="application/json")

    async def start(self) -> None:
        """Listen on a free loopback port."""
        app = web.Application()
        app.router.add_get("/customers/{customer_id}/customer-accounts/list", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    def times_of(self, prefix: str) -> list[float]:
        """Arrival times of the requests for customers whose id starts with ``prefix``."""
        return sorted(t for t, customer_id in self.arrivals if customer_id.startswith(prefix))


@pytest_asyncio.fixture
async def server() -> AsyncIterator[TimingServer]:
    """A running timing server."""
    timing = TimingServer()
    await timing.start()
    yield timing
    await timing.stop()


async def _start_process(
    *args: str, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """Start ``budget_process.py`` with ``args`` and wait until it says it is ready."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(PROCESS),
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **(env or {})},
    )
    assert process.stdout is not None
    assert b"ready\n" == await process.stdout.readline()
    return process


@pytest.fixture
def start_process() -> Callable[..., Awaitable[asyncio.subprocess.Process]]:
    """Start one process of the shared-budget tests (``budget_process.py``)."""
    return _start_process
