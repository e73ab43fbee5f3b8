"""Limits that hold against a hostile server: compressed bombs, leaky exceptions, cookies."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import socket
import struct
import tracemalloc
import zlib
from typing import TYPE_CHECKING

import aiohttp
import pytest
from aiohttp import web

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

SECRET = "sk_live_SUPERSECRET_9f8e7d6c5b4a"
TOKEN = base64.b64encode(f"{SECRET}:".encode()).decode()
MIB = 1 << 20
EMPTY_PAGE = b'{"list": [], "offset": 0, "count": 0, "total": 0}'


def bomb(size: int, encoding: str) -> bytes:
    """``size`` zero bytes (a multiple of 1 MiB) gzip- or deflate-compressed, built in milliseconds.

    After a full flush the compressor starts afresh, so every further MiB of zeros compresses
    to the same bytes: compress two, repeat the second, and write the real checksum at the end.
    """
    block = bytes(MIB)
    wbits = 31 if encoding == "gzip" else 15
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeated = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    if encoding == "gzip":
        crc = 0
        for _ in range(size // MIB):
            crc = zlib.crc32(block, crc)
        end = compressor.flush()[:-8] + struct.pack("<II", crc, size & 0xFFFFFFFF)
    else:
        adler = 1
        for _ in range(size // MIB):
            adler = zlib.adler32(block, adler)
        end = compressor.flush()[:-4] + struct.pack(">I", adler)
    return first + repeated * (size // MIB - 1) + end


@contextlib.asynccontextmanager
async def serve(
    handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
) -> AsyncIterator[str]:
    """Run ``handler`` for every path on a purpose-built aiohttp server on 127.0.0.1."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def peak_memory_of(run: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[int]]:
    """Wrap ``run`` to return the peak of traced memory (bytes) while it ran."""

    async def measured() -> int:
        tracemalloc.start()
        try:
            await run()
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        return peak

    return measured


# -- 10.1: compressed bodies are limited after decoding ---------------------------------------


@pytest.mark.parametrize(("encoding", "inflated"), [("gzip", 300 * MIB), ("deflate", 200 * MIB)])
@pytest.mark.asyncio
async def test_compressed_bomb_is_refused_within_the_limit(encoding: str, inflated: int) -> None:
    """A 200 OK bomb (~300 KiB on the wire, 200-300 MiB decoded) is refused; memory stays small."""
    body = bomb(inflated, encoding)
    assert len(body) < 320 * 1024

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(
            body=body, headers={"Content-Encoding": encoding, "Content-Type": "application/json"}
        )

    async with (
        serve(handler) as url,
        ja.AccountsClient(SECRET, base_url=url, retry=ja.RetryPolicy.disabled()) as client,
    ):

        async def call() -> None:
            with pytest.raises(ja.ResponseValidationError, match="larger than max_response_bytes"):
                await client.list_accounts("c")

        peak = await peak_memory_of(call)()
    # The limit (16 MiB) of decoded bytes, plus a generous constant; on main it was ~600 MiB.
    assert peak < ja.DEFAULT_MAX_RESPONSE_BYTES + 8 * MIB, f"peak {peak / MIB:.0f} MiB"


@pytest.mark.asyncio
async def test_compressed_error_body_is_cut_after_decoding() -> None:
    """A 503 whose 60 KiB gzip body decodes to 60 MiB is read only to the 64 KiB error cap."""
    body = bomb(60 * MIB, "gzip")
    assert len(body) < 64 * 1024  # under the cap on the wire: only decoding can tell

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(status=503, body=body, headers={"Content-Encoding": "gzip"})

    async with (
        serve(handler) as url,
        ja.AccountsClient(SECRET, base_url=url, retry=ja.RetryPolicy.disabled()) as client,
    ):

        async def call() -> None:
            with pytest.raises(ja.ServerError) as info:
                await client.list_accounts("c")
            assert 503 == info.value.status

        peak = await peak_memory_of(call)()
    assert peak < 4 * MIB, f"peak {peak / MIB:.1f} MiB"


@pytest.mark.asyncio
async def test_compressed_page_within_the_limit_is_decoded() -> None:
    """A gzip page well under the limit still decodes to the page (the bomb guard keeps it)."""
    page = EMPTY_PAGE[:-1] + b', "pad": "' + b"x" * 100_000 + b'"}'

    async def handler(_request: web.Request) -> web.Response:
        return web.Response(
            body=zlib.compress(page, wbits=31),
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        )

    async with (
        serve(handler) as url,
        ja.AccountsClient(SECRET, base_url=url, max_response_bytes=len(page)) as client,
    ):
        assert 0 == (await client.list_accounts("c")).total


# -- the 64 KiB cap on error bodies, measured on the wire --------------------------------------


@pytest.mark.parametrize("chunked", [True, False])
@pytest.mark.asyncio
async def test_error_body_read_stops_near_the_cap(chunked: bool) -> None:
    """A 64 MiB 503 body is not read to its end: the server can send only a few MiB of it."""
    total = 64 * MIB
    done = asyncio.Event()
    sent = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(status=503, headers={"Content-Type": "text/plain"})
        if chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = total
        await response.prepare(request)
        piece = b"x" * 65536
        try:
            while sent < total:
                await response.write(piece)
                sent += len(piece)
            await response.write_eof()
        except (ConnectionError, OSError):
            pass  # the client stopped reading and closed the connection
        finally:
            done.set()
        return response

    async with (
        serve(handler) as url,
        ja.AccountsClient(SECRET, base_url=url, retry=ja.RetryPolicy.disabled()) as client,
    ):
        with pytest.raises(ja.ServerError) as info:
            await client.list_accounts("c")
        await asyncio.wait_for(done.wait(), 10)
    assert "x" * 2048 == info.value.body
    # Socket buffers let the server get a few MiB out; without the cap the client reads all 64.
    assert sent < 16 * MIB, f"the server sent {sent / MIB:.1f} MiB"


# -- 10.4: no key anywhere in the exception chain ---------------------------------------------


def everything_reachable(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and every exception reachable from it: causes, contexts, args and attributes."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        linked = [current.__cause__, current.__context__, *current.args]
        linked.extend(vars(current).values())
        if isinstance(current, BaseExceptionGroup):
            linked.extend(current.exceptions)
        stack.extend(e for e in linked if isinstance(e, BaseException))


def texts_of(exc: BaseException) -> list[str]:
    """What an exception shows: str, repr, args and the repr of each attribute."""
    return [
        str(exc),
        repr(exc),
        repr(exc.args),
        *(f"{name}={value!r}" for name, value in vars(exc).items()),
    ]


@contextlib.asynccontextmanager
async def raw_server(answer: bytes | None, *, after_headers: bytes = b"") -> AsyncIterator[str]:
    """A TCP server that reads a request and writes ``answer`` (``None``: never answers)."""
    release = asyncio.Event()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            if answer is None:
                await release.wait()
            else:
                writer.write(answer)
                await writer.drain()
                if after_headers:
                    await asyncio.sleep(0.01)  # the headers arrive first, then the body
                    writer.write(after_headers)
                    await writer.drain()
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        release.set()
        server.close()
        await server.wait_closed()


@contextlib.asynccontextmanager
async def refusing_server() -> AsyncIterator[str]:
    """A loopback port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


CHUNKED_HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
HOSTILE: dict[str, tuple[Callable[[], contextlib.AbstractAsyncContextManager[str]], str]] = {
    "bad status line": (
        functools.partial(raw_server, b"HTTP/1.1 abc Nope\r\nContent-Length: 0\r\n\r\n"),
        "ClientResponseError: 400, Bad status line: Invalid status code",
    ),
    "not http": (functools.partial(raw_server, b"garbage\r\n\r\n"), "Bad status line"),
    "oversized header": (
        functools.partial(raw_server, b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70_000 + b"\r\n\r\n"),
        "8190",
    ),
    "broken chunk": (
        functools.partial(raw_server, CHUNKED_HEAD + b"zz\r\n{}\r\n0\r\n\r\n"),
        "chunk size",
    ),
    "chunk cut short": (
        functools.partial(raw_server, CHUNKED_HEAD, after_headers=b"a\r\n{}"),
        "ClientPayloadError",
    ),
    "timeout": (functools.partial(raw_server, None), "no answer"),
    "refused": (refusing_server, "ClientConnectorError"),
}


@pytest.mark.parametrize("case", list(HOSTILE))
@pytest.mark.asyncio
async def test_no_key_anywhere_in_the_exception_chain(case: str) -> None:
    """Whatever breaks on the wire, no exception reachable from the library's shows the key."""
    server, expected_in_message = HOSTILE[case]
    async with (
        server() as url,
        ja.AccountsClient(
            SECRET, base_url=url, retry=ja.RetryPolicy.disabled(), timeout=0.2
        ) as client,
    ):
        with pytest.raises(ja.JuspayError) as info:
            await client.list_accounts("c")
    assert expected_in_message in str(info.value)
    chain = list(everything_reachable(info.value))
    for exc in chain:
        for text in texts_of(exc):
            for needle in (SECRET, TOKEN):
                assert needle not in text, f"{type(exc).__name__} shows the key: {text[:300]!r}"


# -- 10.7: the client's own session keeps no cookies ------------------------------------------


@pytest.mark.asyncio
async def test_own_session_sends_no_cookie_set_on_another_answer() -> None:
    """A cookie set on alice's answer (host name, not IP) is not sent with bob's request."""
    async with FakeJuspay() as fake:
        fake.add_customer("alice")
        fake.add_customer("bob")
        port = fake.url.rsplit(":", 1)[1]
        fake.inject(
            Fault.respond(200, EMPTY_PAGE, headers={"Set-Cookie": "sid=alice-session; Path=/"}),
            customer_id="alice",
        )
        async with ja.AccountsClient(fake.api_key, base_url=f"http://localhost:{port}") as client:
            await client.list_accounts("alice")
            await client.list_accounts("bob")
    assert ["alice", "bob"] == [r.customer_id for r in fake.requests]
    assert None is fake.requests[1].headers.get("Cookie")


@pytest.mark.asyncio
async def test_given_session_is_used_as_configured() -> None:
    """A session the caller passes keeps its own cookie jar: the library does not change it."""
    async with FakeJuspay() as fake:
        fake.add_customer("alice")
        port = fake.url.rsplit(":", 1)[1]
        fake.inject(
            Fault.respond(200, EMPTY_PAGE, headers={"Set-Cookie": "sid=alice-session; Path=/"})
        )
        async with (
            aiohttp.ClientSession() as session,
            ja.AccountsClient(
                fake.api_key, base_url=f"http://localhost:{port}", session=session
            ) as client,
        ):
            await client.list_accounts("alice")
            await client.list_accounts("alice")
    assert "sid=alice-session" == fake.requests[1].headers.get("Cookie")
