"""The transport seam: what any transport must do, and how the client runs one it is given.

``AccountsClient(transport=...)`` takes any object with one method,
``async send(request, timeout) -> TransportResponse``: send a built request within a time
limit, return the status, the headers and the body. The client's own aiohttp transport
(:mod:`._transport`) is one; :class:`juspay_accounts.testing.MockTransport` is another, for
tests without sockets; an httpx or a recording transport are others.

:class:`GivenTransport` runs a transport it is given under the client's rules, as the
aiohttp one runs its session: it replaces the API key's forms in the answer's headers
before anything reads them (the body is redacted where it becomes an error, in
:func:`~juspay_accounts._response.decode_list_response`), turns a transport's timeouts and
socket errors into the library's errors (with nothing of the request chained), and refuses
requests once the client is closed. It never closes the transport: whoever made it does.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Final, NamedTuple, Protocol, runtime_checkable

from multidict import CIMultiDict, CIMultiDictProxy

from juspay_accounts._config import (
    DEFAULT_KEEPALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RESPONSE_BYTES,
)
from juspay_accounts._redact import redact_headers, redact_text
from juspay_accounts._transport import Transport
from juspay_accounts.exceptions import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    JuspayError,
)

if TYPE_CHECKING:
    import ssl
    from collections.abc import Mapping

    import aiohttp

    from juspay_accounts._redact import Secrets
    from juspay_accounts._request import Request

__all__ = [
    "AsyncTransport",
    "GivenTransport",
    "TransportRequest",
    "TransportResponse",
    "Wire",
    "make_transport",
]

_CLOSED: Final = "this AccountsClient is closed; create a new one"


class TransportRequest(NamedTuple):
    """One HTTP request, built and checked by the client, for a transport to send as it is."""

    method: str
    """``"GET"``."""
    url: str
    """The whole URL, already percent-encoded: send it without encoding it again."""
    headers: Mapping[str, str]
    """Every header to send, the ``Authorization`` with the API key among them."""


class TransportResponse(NamedTuple):
    """A transport's answer: what came back, nothing read into it yet."""

    status: int
    """The HTTP status code."""
    headers: Mapping[str, str]
    """The answer's headers (looked up in any case by the client)."""
    body: bytes
    """The body, decoded from any ``Content-Encoding``."""


@runtime_checkable
class AsyncTransport(Protocol):
    """What ``AccountsClient(transport=...)`` needs: one method that sends a request.

    Raise :class:`~juspay_accounts.APIConnectionError` (or :class:`TimeoutError`,
    :class:`OSError`, which the client maps to it) when no answer came: those are retried.
    A library error you raise reaches the caller with its message, but without what it
    chains (``raise APIConnectionError(...) from exc``: an HTTP library's error can hold
    the request's headers, and so the key); anything else reaches it as it is. Follow no
    redirects, keep no cookies, and read no more of a body than the client can use.
    """

    async def send(self, request: TransportRequest, timeout: float | None) -> TransportResponse:  # noqa: ASYNC109
        """Send ``request``; give up after ``timeout`` seconds (``None``: no limit)."""
        ...


class Wire(Protocol):
    """What the fetcher and the facade need of the transport under them (either kind)."""

    @property
    def closed(self) -> bool:
        """Whether the client was closed."""
        ...

    @property
    def session_given(self) -> bool:
        """Whether what sends (a session, a transport) is the caller's, never closed here."""
        ...

    @property
    def proxy(self) -> str | None:
        """The proxy as it may be shown, if any."""
        ...

    @property
    def pool_size(self) -> int | None:
        """The size of a connection pool made here (``None``: the pool is the caller's)."""
        ...

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The aiohttp session requests go through, if there is one yet."""
        ...

    def closed_event(self) -> asyncio.Event:
        """An event set when the client closes, for the running loop."""
        ...

    async def send(
        self, request: Request, time_limit: float | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send one built request; the answer, its headers with the key's forms replaced."""
        ...

    def secrets(self, request: Request) -> Secrets:
        """The forms to keep out of what is quoted of ``request``'s answer (ask after sending)."""
        ...

    async def aclose(self) -> None:
        """Refuse further requests; close what was made here."""
        ...


class GivenTransport:
    """A transport the client was given, run under the client's rules (see the module)."""

    __slots__ = ("_closed", "_closed_event", "_loop", "_transport")

    def __init__(self, transport: AsyncTransport) -> None:
        """Check that ``transport`` has the one method; nothing is sent yet."""
        given: object = transport  # checked at run time: any object can be passed
        if not isinstance(given, AsyncTransport) or not asyncio.iscoroutinefunction(given.send):
            msg = (
                "transport must have an async send(request, timeout) method (see "
                f"juspay_accounts.AsyncTransport), got {type(transport).__name__}"
            )
            raise TypeError(msg)
        self._transport = transport
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed_event = asyncio.Event()

    @property
    def proxy(self) -> str | None:
        """None: a given transport's proxy is its own business."""
        return None

    @property
    def session_given(self) -> bool:
        """True: the transport is the caller's, and never closed here."""
        return True

    @property
    def pool_size(self) -> None:
        """None: a given transport's connections are its own business."""
        return None

    @property
    def session(self) -> None:
        """None: no aiohttp session of the client's."""
        return None

    @property
    def closed(self) -> bool:
        """Whether the client was closed."""
        return self._closed

    def closed_event(self) -> asyncio.Event:
        """An event set when the client closes, for the running loop.

        Raises:
            ClientClosedError: the client is closed.
        """
        if self._closed:
            raise ClientClosedError(_CLOSED)
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # an Event binds to the loop that first waits on it
            self._loop, self._closed_event = loop, asyncio.Event()
        return self._closed_event

    async def aclose(self) -> None:
        """Refuse further requests and wake waiting calls; the transport stays open."""
        self._closed = True
        self._closed_event.set()

    def secrets(self, request: Request) -> Secrets:
        """The forms of the key that ``request`` carries: a given transport's proxy is its own."""
        return request.secrets

    async def send(
        self, request: Request, time_limit: float | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send through the given transport; the answer's headers redacted, failures mapped."""
        if self._closed:
            raise ClientClosedError(_CLOSED)
        outgoing = TransportRequest(request.method, str(request.url), request.headers)
        failure: JuspayError
        try:
            status, headers, body = await self._transport.send(outgoing, time_limit)
        except JuspayError as exc:
            # The transport's own error, as the protocol asks: raised as it is, but with
            # nothing chained (an HTTP library's error may hold the request's headers, and
            # so the key).
            exc.__cause__ = exc.__context__ = None
            failure = exc
        except TimeoutError:
            failure = APITimeoutError(
                f"no answer from {request.url.host} within {time_limit:g} s"
                if time_limit is not None
                else f"no answer from {request.url.host}"
            )
        except OSError as exc:
            text = redact_text(f"{type(exc).__name__}: {exc}", request.secrets.text)
            failure = APIConnectionError(f"could not reach {request.url.host}: {text}")
        else:
            if not isinstance(headers, CIMultiDictProxy):
                headers = CIMultiDictProxy(CIMultiDict(headers))
            # As the aiohttp transport: the headers are read first (logged, traced, kept);
            # the body is redacted only where it becomes an error.
            return status, redact_headers(headers, request.secrets), bytes(body)
        # Raised outside the except clauses: nothing of the transport's error (which may
        # quote the request, and so the key) is chained.
        raise failure


def make_transport(
    transport: AsyncTransport | None,
    *,
    session: aiohttp.ClientSession | None,
    max_connections: int,
    timeout: float | None,
    max_response_bytes: int,
    proxy: str | None,
    trust_env: bool,
    ssl_context: ssl.SSLContext | None,
    keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
) -> Wire:
    """The client's transport: the one it was given, or its own aiohttp one.

    Raises:
        ValueError: a ``transport`` is given with one of the aiohttp transport's settings
            (``session``, ``proxy``, ``trust_env``, ``ssl_context``, ``max_connections``,
            ``keepalive_timeout``, ``max_response_bytes``): they would be silently ignored.
        TypeError: ``transport`` has no async ``send`` method.
    """
    if transport is None:
        return Transport(
            session=session,
            max_connections=max_connections,
            timeout=timeout,
            max_response_bytes=max_response_bytes,
            proxy=proxy,
            trust_env=trust_env,
            ssl_context=ssl_context,
            keepalive_timeout=keepalive_timeout,
        )
    ignored = [
        name
        for name, value, default in (
            ("session", session, None),
            ("proxy", proxy, None),
            ("trust_env", trust_env, False),
            ("ssl_context", ssl_context, None),
            ("max_connections", max_connections, DEFAULT_MAX_CONNECTIONS),
            ("keepalive_timeout", keepalive_timeout, DEFAULT_KEEPALIVE_TIMEOUT),
            ("max_response_bytes", max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES),
        )
        if value != default
    ]
    if ignored:
        msg = (
            f"{', '.join(ignored)} configure the client's own aiohttp transport: with "
            "transport= given, configure that transport instead"
        )
        raise ValueError(msg)
    return GivenTransport(transport)
