"""A server or proxy that reflects the request back cannot make the library show the key.

Echo endpoints, firewall pages that quote the request's headers, or a broken status line
built from them put the ``Authorization`` value into what the client reads. Whatever the
library makes of such an answer (an exception, a page, a log record) must not show the
key or its base64 form, even cut short.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from typing import TYPE_CHECKING

import pytest

import juspay_accounts as ja

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

SECRET = "sk_reflected_a?a0123456789"  # its base64 form holds a "/"
TOKEN = base64.b64encode(f"{SECRET}:".encode()).decode()
# What must never show: the key, its base64 form, and any long prefix of that form (a
# message cut short must not leave most of the key behind).
NEEDLES = (SECRET, TOKEN.rstrip("="), TOKEN[:24], TOKEN.replace("/", "\\/"))

PAGE = {
    "list": [],
    "offset": 0,
    "count": 0,
    "total": 0,
    "object": "list",
}


def answer(status: bytes, body: bytes = b"", headers: bytes = b"") -> bytes:
    """An HTTP/1.1 answer with a Content-Length."""
    head = b"HTTP/1.1 %s\r\nContent-Length: %d\r\nContent-Type: application/json\r\n"
    return head % (status, len(body)) + headers + b"\r\n" + body


# Each case builds the answer from the raw request and the Authorization value it carried.
REFLECTING: dict[str, Callable[[bytes, bytes], bytes]] = {
    "500 whose body is the request": lambda request, _: answer(b"500 Oops", request),
    "400 quoting the header in its JSON": lambda _, auth: answer(
        b"400 Bad",
        b'{"error_info": {"developer_message": "bad header %s", "request_id": "%s"}}'
        % (auth, auth),
    ),
    "401 with slashes escaped as in PHP's JSON": lambda _, auth: answer(
        b"401 No", b'{"error_info": {"user_message": "%s"}}' % auth.replace(b"/", b"\\/")
    ),
    "200 whose total is the header": lambda _, auth: answer(
        b"200 OK", b'{"list": [], "offset": 0, "count": 0, "total": "%s"}' % auth
    ),
    "200 whose list is the header": lambda _, auth: answer(
        b"200 OK", b'{"list": "%s", "offset": 0, "count": 0, "total": 0}' % auth
    ),
    "503 whose x-request-id is the header": lambda _, auth: answer(
        b"503 Busy", b"{}", b"x-request-id: %s\r\n" % auth
    ),
    "503 whose x-request-id holds every form of the key at once": lambda _, auth: answer(
        b"503 Busy",
        b"{}",
        b"x-request-id: %s %s %s\r\n" % (SECRET.encode(), auth, auth.replace(b"/", b"\\/")),
    ),
    "302 whose Location holds the header": lambda _, auth: answer(
        b"302 Found", b"", b"Location: http://elsewhere.test/?a=%s\r\n" % auth.replace(b" ", b"+")
    ),
    "status line made of the header": lambda _, auth: b"HTTP/1.1 2" + auth + b" OK\r\n\r\n",
    "header line without a colon": lambda _, auth: (
        b"HTTP/1.1 200 OK\r\nAuthorization " + auth + b"\r\nContent-Length: 2\r\n\r\n{}"
    ),
}


@contextlib.asynccontextmanager
async def reflecting_server(make: Callable[[bytes, bytes], bytes]) -> AsyncIterator[str]:
    """A TCP server on loopback answering each request with ``make(request, authorization)``."""

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            request = await reader.readuntil(b"\r\n\r\n")
            auth = next(
                line.split(b":", 1)[1].strip()
                for line in request.split(b"\r\n")
                if line.lower().startswith(b"authorization:")
            )
            writer.write(make(request, auth))
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


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
        linked = [current.__cause__, current.__context__, *current.args, *vars(current).values()]
        stack.extend(e for e in linked if isinstance(e, BaseException))


def shown(exc: BaseException) -> str:
    """Everything the exceptions reachable from ``exc`` show: str, repr, args, attributes."""
    return "\n".join(f"{e!s}\n{e!r}\n{e.args!r}\n{vars(e)!r}" for e in everything_reachable(exc))


@pytest.mark.parametrize("case", list(REFLECTING))
@pytest.mark.asyncio
async def test_reflected_key_never_shows(case: str, caplog: pytest.LogCaptureFixture) -> None:
    """An answer that reflects the Authorization header gives an error without the key."""
    caplog.set_level(logging.DEBUG)
    async with (
        reflecting_server(REFLECTING[case]) as url,
        ja.AccountsClient(SECRET, base_url=url, retry=ja.RetryPolicy.disabled()) as client,
    ):
        with pytest.raises(ja.JuspayError) as info:
            await client.list_accounts("cst_1")
        results = await client.gather_accounts(["cst_2"])
    failure = results["cst_2"].error
    assert failure is not None
    text = shown(info.value) + shown(failure) + caplog.text
    assert "<redacted>" in text  # the server did reflect the key, and it was seen
    assert [] == [needle for needle in NEEDLES if needle in text]


@pytest.mark.asyncio
async def test_reflected_key_in_a_page_request_id(caplog: pytest.LogCaptureFixture) -> None:
    """A good page whose x-request-id reflects the header keeps the key out of it and the logs."""
    caplog.set_level(logging.DEBUG)
    body = json.dumps(PAGE).encode()
    make = lambda _, auth: answer(b"200 OK", body, b"x-request-id: %s\r\n" % auth)  # noqa: E731
    async with (
        reflecting_server(make) as url,
        ja.AccountsClient(SECRET, base_url=url, retry=ja.RetryPolicy.disabled()) as client,
    ):
        page = await client.list_accounts("cst_1")
    assert "Basic <redacted>" == page.request_id
    text = f"{page!r} {caplog.text}"
    assert [] == [needle for needle in NEEDLES if needle in text]


@pytest.mark.asyncio
async def test_answers_without_the_key_are_untouched() -> None:
    """Redaction changes nothing in an answer that does not hold the key."""
    body = json.dumps(PAGE | {"total": "Basic abc"}).encode()
    make = lambda _, __: answer(b"200 OK", body, b"x-request-id: Basic abc\r\n")  # noqa: E731
    async with (
        reflecting_server(make) as url,
        ja.AccountsClient(SECRET, base_url=url, retry=ja.RetryPolicy.disabled()) as client,
    ):
        with pytest.raises(ja.ResponseValidationError) as info:
            await client.list_accounts("cst_1")
    assert "Basic abc" == info.value.request_id
    assert "<redacted>" not in shown(info.value)


# A key whose every form is a valid header name (no "/", "+" or "=" in its base64 form).
NAME_KEY = "sk_live_NameReflected12345"
NAME_TOKEN = base64.b64encode(f"{NAME_KEY}:".encode()).decode()


@pytest.mark.parametrize("status", [b"200 OK", b"503 Busy"])
@pytest.mark.asyncio
async def test_reflected_key_in_header_names_never_shows(
    status: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """An answer whose header names are made of the key keeps it out of headers and logs."""
    caplog.set_level(logging.DEBUG)
    assert "/" not in NAME_TOKEN
    assert "+" not in NAME_TOKEN
    body = json.dumps(PAGE).encode()
    headers = b"%s: 1\r\nX-%s: 2\r\n%s: 3\r\n" % (
        NAME_KEY.encode(),
        NAME_TOKEN.encode(),
        NAME_TOKEN.encode(),
    )
    make = lambda _, __: answer(status, body, headers)  # noqa: E731
    async with (
        reflecting_server(make) as url,
        ja.AccountsClient(NAME_KEY, base_url=url, retry=ja.RetryPolicy.disabled()) as client,
    ):
        try:
            page = await client.list_accounts("cst_1")
        except ja.ServerError as exc:
            seen, text = exc.headers, shown(exc)
        else:
            seen, text = page.headers, repr(page)
    names = "\n".join(seen.keys())
    text += f"\n{names}\n{dict(seen)!r}\n{caplog.text}"
    assert "<redacted>" in names
    needles = (NAME_KEY, NAME_TOKEN)
    assert [] == [needle for needle in needles if needle in text]
