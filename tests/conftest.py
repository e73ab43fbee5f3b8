"""Shared fixtures: a running fake Juspay, a client wired to it, aioresponses on aiohttp 3.14."""

from __future__ import annotations

import asyncio
import inspect
import os
import shutil
import socket
import subprocess
import threading
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import aioresponses.core
import hypothesis
import pytest
import pytest_asyncio
from aiohttp import web

import juspay_accounts as ja
from juspay_accounts import _json
from juspay_accounts.testing import FakeJuspay

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator


def _shim_aioresponses() -> None:
    """Let aioresponses 0.7.9 build responses on aiohttp 3.14.

    aiohttp 3.14 added a required keyword-only ``stream_writer`` argument to
    ``ClientResponse.__init__`` that aioresponses does not pass
    (https://github.com/pnuckowski/aioresponses/issues/289, open at the time of writing).
    The subclass supplies it; on an aiohttp without that argument this is a no-op.
    """
    if "stream_writer" not in inspect.signature(aiohttp.ClientResponse.__init__).parameters:
        return

    class _NoUpload:
        output_size = 0  # aioresponses sends nothing, so nothing was written

    class _ShimResponse(aiohttp.ClientResponse):
        def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - passed through
            kwargs.setdefault("stream_writer", _NoUpload())
            super().__init__(*args, **kwargs)

    aioresponses.core.ClientResponse = _ShimResponse  # type: ignore[attr-defined]


_shim_aioresponses()

# Hypothesis: one fixed profile, the same examples on every run (derandomize), so a failure
# reproduces. The default run is quick; CI (CI=true, or HYPOTHESIS_PROFILE=ci) tries more.
# No deadline: a loaded two-core machine is not a slow decoder.
hypothesis.settings.register_profile("default", max_examples=60, derandomize=True, deadline=None)
hypothesis.settings.register_profile("ci", max_examples=400, derandomize=True, deadline=None)
hypothesis.settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "default")
)


@pytest.fixture
def mocked() -> Iterator[aioresponses.aioresponses]:
    """aioresponses, intercepting every ClientSession request in the test."""
    with aioresponses.aioresponses() as mock:
        yield mock


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeJuspay]:
    """A running fake Juspay with no customers."""
    async with FakeJuspay() as server:
        yield server


@pytest_asyncio.fixture
async def client(fake: FakeJuspay) -> AsyncIterator[ja.AccountsClient]:
    """A client pointed at the fake server, retrying with the default policy but never waiting."""
    policy = ja.RetryPolicy().without_waiting()
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, retry=policy) as accounts_client:
        yield accounts_client


class RedisServer:
    """A throwaway ``redis-server`` on a free loopback port, saving nothing to disk."""

    def __init__(self, executable: str) -> None:
        """Pick a free port; :meth:`start` starts the server."""
        self.executable = executable
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port: int = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL, database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait (a few milliseconds) until it accepts connections."""
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [
                self.executable,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        give_up_at = time.monotonic() + 10
        while time.monotonic() < give_up_at:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            if self.process.poll() is not None:
                break
            time.sleep(0.005)
        self.stop()
        pytest.fail(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """Stop the server (its data goes with it)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


def find_redis_server() -> str:
    """The redis-server to run; a missing one skips the test, or fails it in CI."""
    executable = shutil.which("redis-server")
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail(
                "redis-server is missing; .ci/run installs it (apt-get install redis-server)"
            )
        pytest.skip(
            "needs redis-server on the PATH: apt-get install redis-server (Debian, Ubuntu), "
            "brew install redis (macOS), or see https://redis.io/docs/latest/get-started/"
        )
    return executable


@pytest.fixture
def redis_finder() -> Callable[[], str]:
    """:func:`find_redis_server` itself, for the test of a machine without Redis."""
    return find_redis_server


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real Redis for this test, stopped after it; skipped (failed in CI) without one."""
    server = RedisServer(find_redis_server())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_in_a_thread() -> Iterator[FakeJuspay]:
    """A fake Juspay on its own thread and loop, so it outlives the tests' ``asyncio.run`` loops."""
    loop = asyncio.new_event_loop()
    fake = FakeJuspay()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(fake.start(), loop).result(timeout=30)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.close(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()


@pytest.fixture(params=["orjson", "stdlib"])
def json_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Decode with orjson, then on the stdlib path a plain install takes (both, in turn).

    Modules whose every case should run on both paths use it with
    ``pytestmark = pytest.mark.usefixtures("json_path")``.
    """
    if request.param == "orjson":
        orjson = pytest.importorskip("orjson")
        monkeypatch.setattr(_json, "loads", orjson.loads)
    else:
        monkeypatch.setattr(_json, "loads", _json.loads_stdlib)
    return str(request.param)


class StaticServer:
    """A loopback HTTP server that answers every request with one body, counting connections.

    ``body`` may be changed between requests; :attr:`connections` counts the TCP connections
    the server accepted (a client that reuses a kept-alive connection opens none).
    """

    def __init__(self) -> None:
        """Nothing listens until :meth:`start`."""
        self.body = b'{"list": [], "offset": 0, "count": 0, "total": 0}'
        self.connections = 0
        self.requests = 0
        self.url = ""
        self._server: asyncio.Server | None = None
        self._handler: web.Server | None = None

    async def _answer(self, _request: web.BaseRequest) -> web.Response:
        self.requests += 1
        return web.Response(body=self.body, content_type="application/json")

    async def start(self) -> None:
        """Listen on a free loopback port."""
        handler = web.Server(self._answer, access_log=None)

        def accept() -> asyncio.Protocol:
            self.connections += 1
            return handler()

        self._handler = handler
        self._server = await asyncio.get_running_loop().create_server(accept, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"

    async def close(self) -> None:
        """Stop listening and close the connections still open."""
        if self._server is not None:
            self._server.close()
        if self._handler is not None:
            await self._handler.shutdown(0)
        if self._server is not None:
            await self._server.wait_closed()


@pytest_asyncio.fixture
async def static_server() -> AsyncIterator[StaticServer]:
    """A running :class:`StaticServer` (an empty page until its body is changed)."""
    server = StaticServer()
    await server.start()
    try:
        yield server
    finally:
        await server.close()
