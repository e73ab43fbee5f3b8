"""The command line never prints the API key, even when a server echoes it into the data.

The library hands a page that decodes over as the server sent it (docs/security.md); the
CLI's output goes to files and CI logs, so it writes every form of the key as
``<redacted>``. In-process, against a loopback server on a thread of its own.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from typing import TYPE_CHECKING

import pytest

from juspay_accounts.cli import main

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "sk_live_cliReflected0123456789"
TOKEN = base64.b64encode(f"{KEY}:".encode()).decode()


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answer one request with an account whose id and VPA quote its Authorization header."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    auth = next(
        line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("authorization:")
    )
    account = {
        "customer_account_id": f"echo {auth}",
        "customer_id": "cst_1",
        "account_details": {"vpa": f"{KEY}@upi"},
        "validation_status": "ACTIVE",
        "date_created": "2024-01-01T00:00:00Z",
    }
    body = json.dumps({"list": [account], "offset": 0, "count": 1, "total": 1}).encode()
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )
    await writer.drain()
    writer.close()


@pytest.fixture
def echo_server() -> Iterator[str]:
    """The echoing server's base URL, served from a thread's own event loop."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: list[asyncio.Server] = []

    async def serve() -> None:
        holder.append(await asyncio.start_server(_echo, "127.0.0.1", 0))
        started.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(serve()), loop.run_forever()))
    thread.start()
    started.wait(10)
    port = holder[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:

        async def stop() -> None:
            holder[0].close()
            await holder[0].wait_closed()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "table"])
def test_a_key_echoed_into_an_account_is_never_printed(
    echo_server: str,
    fmt: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In every format, the echoed ``Authorization`` and the key itself are ``<redacted>``."""
    monkeypatch.setenv("JUSPAY_API_KEY", KEY)
    args = ["list", "--base-url", echo_server, "--format", fmt, "--no-progress"]
    assert 0 == main([*args, "--show-account-numbers", "cst_1"])
    out, err = capsys.readouterr()
    assert "<redacted>" in out
    assert [] == [form for form in (KEY, TOKEN.rstrip("=")) if form in out + err]
