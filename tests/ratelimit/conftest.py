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


class RedisProxy:
    """A TCP proxy to a Redis that delays every reply by ``delay`` seconds, in order.

    It stands for a Redis a few milliseconds away. ``sent`` counts what clients send
    (each chunk, with the time it arrived), so a test can see that nothing went out.
    """

    def __init__(self, target_port: int, delay: float) -> None:
        """Nothing listens until :meth:`start`."""
        self.target_port = target_port
        self.delay = delay
        self.sent: list[float] = []
        self.request_seen = asyncio.Event()  # set as each chunk goes to Redis; clear to wait
        self.url = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen on a free loopback port."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"redis://127.0.0.1:{port}/0"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(
            "127.0.0.1", self.target_port
        )
        replies: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def requests() -> None:
            while data := await reader.read(65536):
                self.sent.append(time.monotonic())
                upstream_writer.write(data)
                self.request_seen.set()
            upstream_writer.close()

        async def collect() -> None:
            while data := await upstream_reader.read(65536):
                replies.put_nowait((time.monotonic() + self.delay, data))
            replies.put_nowait((0.0, b""))

        async def deliver() -> None:
            while True:
                due, data = await replies.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                writer.write(data)
            writer.close()

        tasks = [asyncio.ensure_future(job()) for job in (requests, collect, deliver)]
        self._tasks.update(tasks)
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.difference_update(tasks)

    async def stop(self) -> None:
        """Stop listening and drop every connection."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@pytest_asyncio.fixture
async def redis_proxy() -> AsyncIterator[Callable[[int, float], Awaitable[RedisProxy]]]:
    """A factory of delaying proxies to a Redis: give it the port and the delay, await it."""
    proxies: list[RedisProxy] = []

    async def start(port: int, delay: float) -> RedisProxy:
        proxy = RedisProxy(port, delay)
        await proxy.start()
        proxies.append(proxy)
        return proxy

    yield start
    for proxy in proxies:
        await proxy.stop()
