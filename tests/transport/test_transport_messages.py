"""The transport's own words: failure messages, what a refused body error carries, chains."""

from __future__ import annotations

import asyncio
import ssl

import aiohttp
import pytest
from aiohttp.client_reqrep import ConnectionKey

import juspay_accounts as ja
from juspay_accounts import _config, _failures, _request, _transport
from juspay_accounts.testing import FakeJuspay, Fault


def test_one_line_collapses_white_space_and_cuts_at_the_limit() -> None:
    """Messages are one line; one longer than the limit ends in an ellipsis, at the limit."""
    assert "a b c" == _failures._one_line(" a \n b\t\tc ")
    exact = "x" * _failures._MESSAGE_CHARS
    assert exact == _failures._one_line(exact)
    cut = _failures._one_line("y" * (_failures._MESSAGE_CHARS + 5))
    assert "y" * (_failures._MESSAGE_CHARS - 1) + "…" == cut


def test_describe_names_the_class_and_its_message_only() -> None:
    """An error is described by class and message; a message-less one by its class alone."""
    assert "ClientConnectionError: refused" == _failures._describe(
        aiohttp.ClientConnectionError("refused")
    )
    assert "TimeoutError" == _failures._describe(TimeoutError())


def chain(cause: BaseException | None, context: BaseException | None) -> BaseException:
    """An error with the given cause and context."""
    error = RuntimeError("outer")
    error.__cause__, error.__context__ = cause, context
    return error


class Carrier(Exception):  # noqa: N818 - a stand-in for aiohttp's errors
    """An error holding request_info, as aiohttp's ClientResponseError does."""

    request_info = "headers"


def test_carries_request_looks_through_the_whole_chain() -> None:
    """request_info anywhere in the cause/context chain counts, past a missing link."""
    assert _failures.carries_request(chain(Carrier(), None))
    assert _failures.carries_request(chain(None, chain(None, Carrier())))
    assert not _failures.carries_request(chain(ValueError(), None))


def test_carries_request_ends_on_a_cycle() -> None:
    """A chain that loops back on itself is walked once."""
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    assert not _failures.carries_request(first)


@pytest.mark.parametrize("encoding", [None, "identity", ""])
@pytest.mark.asyncio
async def test_a_refused_body_says_where_it_came_from(
    fake: FakeJuspay, encoding: str | None
) -> None:
    """A success body over max_response_bytes (not compressed) is refused unread, by its length."""
    headers = {"x-request-id": "req_9"}
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    fake.inject(Fault.respond(200, '{"list": []}' + " " * 100, headers=headers))
    policy = ja.RetryPolicy.disabled()
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, max_response_bytes=10, retry=policy
    ) as client:
        with pytest.raises(ja.ResponseValidationError) as info:
            await client.list_accounts("cst_1")
    assert (200, ("body larger than 10 bytes @ $",), "req_9") == (
        info.value.status,
        info.value.errors,
        info.value.request_id,
    )
    assert (
        "HTTP 200 answer refused: the body (Content-Length 112; not read) is larger than "
        "max_response_bytes=10"
    ) == info.value.args[0]


@pytest.mark.asyncio
async def test_a_chunked_body_is_refused_once_past_the_limit(fake: FakeJuspay) -> None:
    """A body without Content-Length is counted as it arrives and refused past the limit."""
    fake.inject(Fault.respond(200, '{"list": []}' + " " * 100, chunked=True))
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, max_response_bytes=10, retry=ja.RetryPolicy.disabled()
    ) as client:
        with pytest.raises(ja.ResponseValidationError) as info:
            await client.list_accounts("cst_1")
    assert (
        "HTTP 200 answer refused: the body (more than 10 bytes decoded) is larger than "
        "max_response_bytes=10"
    ) == info.value.args[0]


@pytest.mark.asyncio
async def test_limits_at_their_edges(fake: FakeJuspay) -> None:
    """A body of exactly max_response_bytes is read; a 300's body is an error body, not refused."""
    body = '{"list": []}'
    fake.inject(Fault.respond(200, body))
    fake.inject(Fault.respond(300, "x" * 50))
    async with ja.AccountsClient(
        fake.api_key,
        base_url=fake.url,
        max_response_bytes=len(body),
        retry=ja.RetryPolicy.disabled(),
    ) as client:
        assert () == (await client.list_accounts("cst_1")).accounts
        with pytest.raises(ja.APIError) as info:
            await client.list_accounts("cst_1")
        assert (300, "x" * 50) == (info.value.status, info.value.body)
        assert 2 == client.stats.requests


@pytest.mark.asyncio
async def test_max_connections_bounds_the_requests_in_flight() -> None:
    """The client's own session opens at most max_connections connections at once."""
    async with FakeJuspay(latency=0.05) as fake:
        for customer in ("c1", "c2", "c3"):
            fake.add_account(customer)
        async with ja.AccountsClient(fake.api_key, base_url=fake.url, max_connections=1) as client:
            await asyncio.gather(*(client.list_accounts(c) for c in ("c1", "c2", "c3")))
        assert 1 == fake.peak_in_flight
        assert 3 == len(fake.requests)


@pytest.mark.parametrize("event_first", [False, True])
@pytest.mark.asyncio
async def test_a_closed_transport_refuses_to_send(fake: FakeJuspay, event_first: bool) -> None:
    """After aclose the transport sends nothing, even in the loop it served (and knows)."""
    transport = _transport.Transport(
        session=None,
        max_connections=1,
        timeout=5.0,
        max_response_bytes=100,
        proxy=None,
        trust_env=False,
        ssl_context=None,
    )
    settings = _config.make_settings(api_key=fake.api_key, base_url=fake.url, user_agent="t")
    request = _request.build_list_request(settings, "cst_1")
    if event_first:
        assert not transport.closed_event().is_set()  # as the client asks before each call
    assert 404 == (await transport.send(request, 5.0))[0]
    await transport.aclose()
    with pytest.raises(ja.ClientClosedError) as info:
        await transport.send(request, 5.0)
    assert "this AccountsClient is closed; create a new one" == info.value.args[0]
    assert 1 == len(fake.requests)


@pytest.mark.asyncio
async def test_a_closed_given_session_is_named(fake: FakeJuspay) -> None:
    """A given session closed under the client is a ClientClosedError saying what to do."""
    session = aiohttp.ClientSession()
    client = ja.AccountsClient(fake.api_key, base_url=fake.url, session=session)
    await session.close()
    with pytest.raises(ja.ClientClosedError) as info:
        await client.list_accounts("cst_1")
    assert (
        "the aiohttp session passed to this client is closed; keep it open while the client "
        "is in use"
    ) == info.value.args[0]
    await client.aclose()


def test_a_timeout_the_client_did_not_set_is_described() -> None:
    """A timeout with no client time limit (a middleware's) names the error and says so."""
    transport = _transport.Transport(
        session=None,
        max_connections=1,
        timeout=None,
        max_response_bytes=1,
        proxy=None,
        trust_env=False,
        ssl_context=None,
    )
    failure = transport._failure(TimeoutError("slow proxy"), "api.juspay.in", None)
    assert isinstance(failure, ja.APITimeoutError)
    assert (
        "no answer from api.juspay.in: TimeoutError: slow proxy, though this client set no "
        "time limit (the session's own timeout or middleware did)"
    ) == failure.args[0]
    timed = transport._failure(TimeoutError(), "api.juspay.in", 2.5)
    assert "no answer from api.juspay.in within 2.50 s" == timed.args[0]


_KEY = "sk_live_0123456789"


def _certificate_error() -> aiohttp.ClientConnectorCertificateError:
    """Aiohttp's certificate failure, its reason quoting the key (as a hostile peer might)."""
    key = ConnectionKey("api.juspay.in", 443, True, True, None, None, None)  # noqa: FBT003
    reason = ssl.SSLCertVerificationError(1, f"certificate verify failed: {_KEY}")
    return aiohttp.ClientConnectorCertificateError(key, reason)


@pytest.mark.parametrize(
    ("error", "time_limit", "kind", "message"),
    [
        (
            TimeoutError(f"proxy said {_KEY}"),
            None,
            ja.APITimeoutError,
            (
                "no answer from api.juspay.in: TimeoutError: proxy said <redacted>, though this "
                "client set no time limit (the session's own timeout or middleware did)"
            ),
        ),
        (
            aiohttp.ClientConnectionError(f"reset after {_KEY}"),
            1.0,
            ja.APIConnectionError,
            "request to api.juspay.in failed: ClientConnectionError: reset after <redacted>",
        ),
        (
            _certificate_error(),
            1.0,
            ja.APICertificateError,
            (
                "the TLS certificate of api.juspay.in could not be verified: "
                "ClientConnectorCertificateError: Cannot connect to host api.juspay.in:443 "
                "ssl:True [SSLCertVerificationError: (1, 'certificate verify failed: <redacted>')]"
            ),
        ),
        (
            RuntimeError(f"Session is closed {_KEY}"),
            1.0,
            ja.ClientClosedError,
            (
                "the aiohttp session cannot send from this event loop (RuntimeError: Session is "
                f"closed <redacted>): {_failures.NEW_SESSION_HINT}"
            ),
        ),
    ],
)
def test_each_failure_message_is_exact_and_without_the_key(
    error: BaseException, time_limit: float | None, kind: type[ja.JuspayError], message: str
) -> None:
    """Every kind of transport failure gets its own error and words, the key replaced in them."""
    failure = _failures.request_failure(
        error, "api.juspay.in", time_limit, closed=False, secrets=(_KEY,)
    )
    assert kind is type(failure)
    assert message == failure.args[0]


@pytest.mark.asyncio
async def test_closing_mid_request_says_so(fake: FakeJuspay) -> None:
    """A request in flight when the client closes ends with ClientClosedError, word for word."""
    fake.add_customer("cst_1")
    fake.inject(Fault.answer_late(30.0))
    client = ja.AccountsClient(fake.api_key, base_url=fake.url, retry=ja.RetryPolicy.disabled())
    call = asyncio.create_task(client.list_accounts("cst_1"))
    async with asyncio.timeout(10):
        while not fake.requests:  # noqa: ASYNC110 - the fake has no "request seen" event
            await asyncio.sleep(0.01)
    await client.aclose()
    with pytest.raises(ja.ClientClosedError) as info:
        await call
    assert "the client was closed while this request was in flight" == info.value.args[0]
