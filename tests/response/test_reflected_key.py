"""A server or proxy that reflects the request back cannot make the library show the key.

Echo endpoints, firewall pages that quote the request's headers, or a broken status line
built from them put the ``Authorization`` value into what the client reads. Whatever the
library quotes of such an answer (an exception and its chain, a request id, the headers
it keeps, a log record, a span) must not show the key or its base64 form, even cut short,
over the client's aiohttp transport and over a transport it is given alike. A page that
decodes is the server's data, handed over as it came.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import pickle
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import juspay_accounts as ja
from juspay_accounts import _fetcher, _redact, _response
from juspay_accounts.testing import MockRequest, MockResponse, MockTransport

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator

SECRET = "sk_reflected_a?a0123456789"  # its base64 form holds a "/"
TOKEN = base64.b64encode(f"{SECRET}:".encode()).decode()
# What must never show: the key, its base64 form, and any long prefix of that form (a
# message cut short must not leave most of the key behind).
NEEDLES = (
    SECRET,
    TOKEN.rstrip("="),
    TOKEN[:24],
    TOKEN.replace("/", "\\/"),
    TOKEN.rstrip("=").split("/")[1],  # what follows the "/": 16 characters of the key's form
)

PAGE = {
    "list": [],
    "offset": 0,
    "count": 0,
    "total": 0,
    "object": "list",
}


ACCOUNT = {
    "customer_account_id": "acc_1",
    "customer_id": "cst_1",
    "object": "customer_account",
    "account_details": {"vpa": "asha@upi"},
    "currency": "INR",
    "validation_status": "ACTIVE",
    "validation_amount": 1,
    "date_created": "2024-01-01T00:00:00Z",
    "last_validated": "2024-01-01T00:00:00Z",
}


def page_with(auth: bytes, field: str) -> bytes:
    """A one-account page whose account has ``field`` set to the Authorization value."""
    account = ACCOUNT | {field: auth.decode()}
    return json.dumps(PAGE | {"list": [account], "count": 1, "total": 1}).encode()


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
    # The decoder quotes a bad value's repr cut to 40 characters: most of the key, were
    # the error made from the answer as it came.
    "200 whose account's date is the header": lambda _, auth: answer(
        b"200 OK", page_with(auth, "date_created")
    ),
    "200 whose body is the request, not JSON": lambda request, _: answer(b"200 OK", request),
    "503 quoting the header in its JSON, x-request-id and another header": lambda _, auth: answer(
        b"503 Busy",
        b'{"error_message": "%s", "error_info": {"user_message": "%s"}}' % (auth, auth),
        b"x-request-id: %s\r\nX-Echo: %s\r\n" % (auth, auth),
    ),
    "404 quoting the header in error_info.fields": lambda _, auth: answer(
        b"404 Nope",
        b'{"error_info": {"fields": [{"field_name": "%s", "reason": "%s"}]}}' % (auth, auth),
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


# aiohttp refuses these answers itself (its parse error quotes them): no transport could
# hand them over as an answer.
UNPARSABLE = {"status line made of the header", "header line without a colon"}
TRANSPORTS = ("aiohttp", "given")


def request_bytes(request: MockRequest) -> bytes:
    """The request a MockTransport handler got, as it would have crossed the wire."""
    lines = [f"{request.method} {request.url} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in request.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def mock_response(raw: bytes) -> MockResponse:
    """The HTTP/1.1 answer ``raw`` as a MockResponse."""
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines)
    return MockResponse(int(status_line.split()[1]), content=body, headers=headers)


@contextlib.asynccontextmanager
async def reflecting_client(
    transport: str,
    make: Callable[[bytes, bytes], bytes],
    api_key: str = SECRET,
    **options: Any,  # noqa: ANN401 - passed through to AccountsClient
) -> AsyncIterator[ja.AccountsClient]:
    """A client whose every answer is ``make(request, authorization)``.

    Over ``"aiohttp"``, the client's own transport to a reflecting server on loopback; over
    ``"given"``, a MockTransport that makes the same answer (the seam's GivenTransport).
    """
    retry = ja.RetryPolicy.disabled()
    if transport == "aiohttp":
        async with (
            reflecting_server(make) as url,
            ja.AccountsClient(api_key, base_url=url, retry=retry, **options) as client,
        ):
            yield client
        return

    def handler(request: MockRequest) -> MockResponse:
        return mock_response(
            make(request_bytes(request), request.headers["Authorization"].encode())
        )

    mock = MockTransport(handler)
    base_url = "https://reflecting.invalid"
    async with ja.AccountsClient(
        api_key, base_url=base_url, retry=retry, transport=mock, **options
    ) as client:
        yield client


def both_transports(cases: Iterable[str]) -> list[Any]:
    """``(transport, case)`` for each case, over both transports where a transport can."""
    return [
        pytest.param(transport, case, id=f"{transport}-{case}")
        for transport in TRANSPORTS
        for case in cases
        if not (transport == "given" and case in UNPARSABLE)
    ]


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
    """Everything the exceptions reachable from ``exc`` show: str, repr, args, attributes.

    A library error is pickled too (its pickle is what a worker process would send on).
    """
    return "\n".join(
        f"{e!s}\n{e!r}\n{e.args!r}\n{vars(e)!r}"
        + (pickle.dumps(e).decode("latin-1") if isinstance(e, ja.JuspayError) else "")
        for e in everything_reachable(exc)
    )


@pytest.mark.parametrize(("transport", "case"), both_transports(REFLECTING))
@pytest.mark.asyncio
async def test_reflected_key_never_shows(
    transport: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An answer that reflects the Authorization header gives an error without the key."""
    caplog.set_level(logging.DEBUG)
    async with reflecting_client(transport, REFLECTING[case]) as client:
        with pytest.raises(ja.JuspayError) as info:
            await client.list_accounts("cst_1")
        results = await client.gather_accounts(["cst_2"])
    failure = results["cst_2"].error
    assert failure is not None
    text = shown(info.value) + shown(failure) + caplog.text
    assert "<redacted>" in text  # the server did reflect the key, and it was seen
    assert [] == [needle for needle in NEEDLES if needle in text]


# The paths a traced call takes (the attempt's span reads the request id; the page is
# decoded by the tracing's attempt) and a body decoded in a worker thread.
TRACED = [
    "200 whose account's date is the header",
    "200 whose body is the request, not JSON",
    "503 quoting the header in its JSON, x-request-id and another header",
]


@pytest.mark.parametrize(("transport", "case"), both_transports(TRACED))
@pytest.mark.asyncio
async def test_reflected_key_never_shows_in_a_traced_call(
    transport: str, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Traced, the error, its chain, the logs and every span are without the key."""
    caplog.set_level(logging.DEBUG)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        async with reflecting_client(
            transport, REFLECTING[case], tracer_provider=provider
        ) as client:
            with pytest.raises(ja.JuspayError) as info:
                await client.list_accounts("cst_1")
            results = await client.gather_accounts(["cst_2"])
    finally:
        provider.shutdown()
    failure = results["cst_2"].error
    assert failure is not None
    spans = " ".join(span.to_json() for span in exporter.get_finished_spans())
    assert "juspay.request_id" in spans or "503" not in case  # the span did read it
    text = shown(info.value) + shown(failure) + caplog.text + spans
    assert "<redacted>" in text
    assert [] == [needle for needle in NEEDLES if needle in text]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.asyncio
async def test_reflected_key_in_a_large_body_decoded_off_the_loop(transport: str) -> None:
    """A 2xx body too large to decode on the loop, quoting the key: no key in its error."""
    filler = b" " * _fetcher.DECODE_OFF_LOOP_BYTES
    make = lambda _, auth: answer(b"200 OK", b"<html>denied %s</html>%s" % (auth, filler))  # noqa: E731
    async with reflecting_client(transport, make) as client:
        with pytest.raises(ja.ResponseValidationError) as info:
            await client.list_accounts("cst_1")
    text = shown(info.value)
    assert "denied Basic <redacted>" in info.value.body
    assert [] == [needle for needle in NEEDLES if needle in text]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.asyncio
async def test_a_page_that_decodes_is_handed_over_as_it_came(
    transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A good page is the server's data: an account id that is the header is not rewritten.

    Only what the library quotes is redacted (errors, the headers it keeps, logs, spans); a
    page that decodes is not searched for the key, and nothing logs its accounts.
    """
    caplog.set_level(logging.DEBUG)
    make = lambda _, auth: answer(b"200 OK", page_with(auth, "customer_account_id"))  # noqa: E731
    async with reflecting_client(transport, make) as client:
        page = await client.list_accounts("cst_1")
    assert f"Basic {TOKEN}" == page.accounts[0].customer_account_id
    assert [] == [needle for needle in NEEDLES if needle in caplog.text]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.asyncio
async def test_reflected_key_in_a_page_request_id(
    transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A good page whose x-request-id reflects the header keeps the key out of it and the logs."""
    caplog.set_level(logging.DEBUG)
    body = json.dumps(PAGE).encode()
    make = lambda _, auth: answer(b"200 OK", body, b"x-request-id: %s\r\n" % auth)  # noqa: E731
    async with reflecting_client(transport, make) as client:
        page = await client.list_accounts("cst_1")
    assert "Basic <redacted>" == page.request_id
    text = f"{page!r} {dict(page.headers)!r} {caplog.text}"
    assert [] == [needle for needle in NEEDLES if needle in text]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.asyncio
async def test_a_reflection_cut_short_is_redacted_as_far_as_it_goes(
    transport: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A server that echoes the first 30 characters of the header (a request id, an error).

    Most of the base64 form is there, without its end: from 16 characters on, a form cut
    short is replaced as far as it matches, on a page and in an error.
    """
    caplog.set_level(logging.DEBUG)
    body = json.dumps(PAGE).encode()
    make = lambda _, auth: answer(b"200 OK", body, b"x-request-id: %s\r\n" % auth[:30])  # noqa: E731
    async with reflecting_client(transport, make) as client:
        page = await client.list_accounts("cst_1")
    assert "Basic <redacted>" == page.request_id
    make = lambda _, auth: answer(b"404 Not Found", b"seen: %s." % auth[6:30])  # noqa: E731
    async with reflecting_client(transport, make) as client:
        with pytest.raises(ja.NotFoundError) as caught:
            await client.list_accounts("cst_1")
    assert "seen: <redacted>." in caught.value.body
    text = f"{page!r} {dict(page.headers)!r} {shown(caught.value)} {caplog.text}"
    assert [] == [needle for needle in NEEDLES if needle in text]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.asyncio
async def test_answers_without_the_key_are_untouched(transport: str) -> None:
    """Redaction changes nothing in an answer that does not hold the key."""
    body = json.dumps(PAGE | {"total": "Basic abc"}).encode()
    make = lambda _, __: answer(b"200 OK", body, b"x-request-id: Basic abc\r\n")  # noqa: E731
    async with reflecting_client(transport, make) as client:
        with pytest.raises(ja.ResponseValidationError) as info:
            await client.list_accounts("cst_1")
    assert "Basic abc" == info.value.request_id
    assert "<redacted>" not in shown(info.value)


# A key whose every form is a valid header name (no "/", "+" or "=" in its base64 form).
NAME_KEY = "sk_live_NameReflected12345"
NAME_TOKEN = base64.b64encode(f"{NAME_KEY}:".encode()).decode()


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("status", [b"200 OK", b"503 Busy"])
@pytest.mark.asyncio
async def test_reflected_key_in_header_names_never_shows(
    status: bytes, transport: str, caplog: pytest.LogCaptureFixture
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
    async with reflecting_client(transport, make, NAME_KEY) as client:
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


# -- the decoder on its own: where an answer becomes an error ---------------------------

AUTH = f"Basic {TOKEN}"
FORMS = _redact.secret_forms(AUTH)

# (status, headers, body) holding the key, each through another part of the decoder.
ANSWERS: dict[str, tuple[int, dict[str, str], bytes]] = {
    "200 not JSON": (200, {}, b"<html>no entry for " + AUTH.encode() + b"</html>"),
    "200 account date": (200, {}, page_with(AUTH.encode(), "date_created")),
    "200 count, its repr cut to 40 characters": (
        200,
        {},
        json.dumps(PAGE | {"count": AUTH}).encode(),
    ),
    "200 not an object, x-request-id": (200, {"x-request-id": AUTH}, json.dumps([AUTH]).encode()),
    "201 list missing, a header's name": (201, {TOKEN: "1"}, json.dumps({"x": AUTH}).encode()),
    "429 everywhere": (
        429,
        {"x-request-id": AUTH, "Retry-After": "1", "X-Echo": AUTH},
        json.dumps(
            {
                "error_code": AUTH,
                "error_message": AUTH,
                "error_info": {
                    "developer_message": AUTH,
                    "request_id": AUTH,
                    "fields": [{"field_name": AUTH, "reason": AUTH}],
                },
            }
        ).encode(),
    ),
    "302 Location": (302, {"Location": f"https://elsewhere.test/?k={TOKEN}"}, b""),
    "500 slashes escaped": (
        500,
        {},
        b'{"error_message": "%s"}' % AUTH.replace("/", "\\/").encode(),
    ),
    "503 the bare key, cut short": (503, {}, b"key " + SECRET.encode() + b"x" * 5000),
}


@pytest.mark.parametrize("case", list(ANSWERS))
def test_decoder_makes_the_error_from_the_redacted_answer(case: str) -> None:
    """Given the key's forms, an answer holding them gives an error that shows none of them."""
    status, headers, body = ANSWERS[case]
    with pytest.raises(ja.JuspayError) as info:
        _response.decode_list_response(status, CIMultiDict(headers), body, secrets=FORMS)
    error = info.value
    assert (None, None) == (error.__cause__, error.__context__)
    text = shown(error)
    assert "<redacted>" in text
    assert [] == [needle for needle in NEEDLES if needle in text]


@pytest.mark.parametrize("case", list(ANSWERS))
def test_decoder_gives_the_same_error_class_redacted_or_not(case: str) -> None:
    """The redacted answer's error is of the class the answer as it came gives."""
    status, headers, body = ANSWERS[case]
    with pytest.raises(ja.JuspayError) as plain:
        _response.decode_list_response(status, CIMultiDict(headers), body)
    with pytest.raises(ja.JuspayError) as redacted:
        _response.decode_list_response(status, CIMultiDict(headers), body, secrets=FORMS)
    assert type(plain.value) is type(redacted.value)
    assert [] != [needle for needle in NEEDLES if needle in shown(plain.value)]  # a real case


@pytest.mark.parametrize(
    ("status", "body"),
    [(200, b"not json"), (200, json.dumps(PAGE | {"total": "Basic abc"}).encode()), (404, b"{}")],
)
def test_decoder_keeps_an_error_without_the_key_as_it_is(status: int, body: bytes) -> None:
    """An answer that holds no form of the key gives the very error it gives without forms."""
    headers = CIMultiDict({"x-request-id": "req_1"})
    with pytest.raises(ja.JuspayError) as plain:
        _response.decode_list_response(status, headers, body)
    with pytest.raises(ja.JuspayError) as given:
        _response.decode_list_response(status, headers, body, secrets=FORMS)
    assert shown(plain.value) == shown(given.value)


def test_a_key_whose_quote_broke_the_json_still_fails_the_page() -> None:
    """An answer readable only once the key is replaced is refused, without the key."""
    key = 'sk_quote"d_0123456789'
    forms = _redact.secret_forms("Basic " + base64.b64encode(f"{key}:".encode()).decode())
    body = b'{"list": [], "note": "%s"}' % key.encode()
    with pytest.raises(ja.ResponseValidationError) as info:
        _response.decode_list_response(200, CIMultiDict(), body, secrets=forms)
    assert (
        "the body could not be read as it came: it holds a secret, shown as <redacted> @ $",
    ) == (info.value.errors)
    assert '"note": "<redacted>"' in info.value.body
    assert 200 == info.value.status
    assert key not in shown(info.value)


@settings(suppress_health_check=[HealthCheck.too_slow])  # examples: the profile's
@given(
    status=st.sampled_from([200, 201, 302, 400, 401, 403, 404, 429, 500, 503]),
    form=st.sampled_from([AUTH, TOKEN, SECRET, TOKEN.replace("/", "\\/")]),
    where=st.floats(min_value=0, max_value=1),
    in_request_id=st.booleans(),
)
def test_whatever_holds_the_key_fails_without_showing_it(
    status: int, form: str, where: float, *, in_request_id: bool
) -> None:
    """A form of the key anywhere in a page's text (or its request id) never shows in an error."""
    base = page_with(b"2024-01-01T00:00:00Z", "date_created")
    at = round(where * len(base))
    body = base[:at] + form.encode() + base[at:]
    headers = CIMultiDict({"x-request-id": form} if in_request_id else {})
    try:
        _response.decode_list_response(status, headers, body, secrets=FORMS)
    except ja.JuspayError as exc:
        text = shown(exc)
        assert [] == [needle for needle in NEEDLES if needle in text]
    else:  # the form sat inside a string: a page, handed over as it came
        assert 200 <= status < 300


def test_a_key_of_eight_characters_is_redacted_too() -> None:
    """The shortest key that is looked for (8 characters) is replaced where it is echoed."""
    key = "k8chars!"
    forms = _redact.secret_forms("Basic " + base64.b64encode(f"{key}:".encode()).decode())
    with pytest.raises(ja.NotFoundError) as info:
        _response.decode_list_response(404, CIMultiDict(), b"no key " + key.encode(), secrets=forms)
    assert "no key <redacted>" == info.value.body
