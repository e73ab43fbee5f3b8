"""The transport: owns (or borrows) the aiohttp session and moves one request's bytes.

:class:`Transport` is the one seam between the client facade and aiohttp: it creates its
session lazily inside the running event loop (or uses the one it was given, and never
closes that), sends a :class:`~juspay_accounts._request.Request`, reads the answer within
the size limits, and maps aiohttp's and asyncio's failures to the library's own errors.

A session belongs to the event loop it was made in. The transport's own session is made
per loop and closed as that loop shuts down (``asyncio.run`` finalises async generators
before closing its loop, and one of them holds the session), so one client can serve one
``asyncio.run`` after another; a given session is only ever used in its own loop.
"""

from __future__ import annotations

import asyncio
import logging
import platform
from typing import TYPE_CHECKING, Final

import aiohttp

from juspay_accounts import _timing
from juspay_accounts._config import (
    DEFAULT_KEEPALIVE_TIMEOUT,
    check_keepalive_timeout,
)
from juspay_accounts._failures import NEW_SESSION_HINT, carries_request, request_failure
from juspay_accounts._network import (
    check_proxy,
    check_ssl_context,
    proxy_credentials,
    proxy_from_env,
    refuse_changed_ssl_context,
    shown_proxy,
)
from juspay_accounts._redact import (
    Secrets,
    joined_secrets,
    redact_headers,
    redact_text,
)
from juspay_accounts._version import __version__
from juspay_accounts.exceptions import (
    ClientClosedError,
    JuspayError,
    ResponseValidationError,
)

if TYPE_CHECKING:
    import ssl
    from collections.abc import AsyncGenerator, Mapping

    import yarl

    from juspay_accounts._request import Request

__all__ = ["DEFAULT_USER_AGENT", "Transport"]

_ERROR_BODY_BYTES: Final = 64 * 1024
"""How much of an error body is read: enough for any Juspay error, little of a proxy's page."""

DEFAULT_USER_AGENT: Final = (
    f"juspay-accounts/{__version__} aiohttp/{aiohttp.__version__} "
    f"Python/{platform.python_version()}"
)
"""The ``User-Agent`` sent unless the client is given another."""

_LOG: Final = logging.getLogger("juspay_accounts")


class Transport:
    """Send requests over an aiohttp session: one the caller gave, or one it creates and owns.

    Args:
        session: A session to send with; never closed here, and never used from another
            event loop than its own. Without one, the transport creates its own on first
            use in each event loop (keeping no cookies) and closes it in :meth:`aclose`, or
            when that loop shuts down.
        max_connections: The connection pool size of a session the transport creates.
        timeout: The usual time limit of one attempt (``None`` for none); a ``send`` with
            this limit reuses one prepared :class:`aiohttp.ClientTimeout`.
        max_response_bytes: The largest success body read.
        proxy: The ``http://`` or ``https://`` proxy the own session sends through (its
            user name and password are sent as ``Proxy-Authorization``, never shown).
        trust_env: Let the own session take its proxy from ``HTTP_PROXY``/``HTTPS_PROXY``
            and ``NO_PROXY`` (read when it is created), as aiohttp's ``trust_env`` does,
            without aiohttp's other use of it (``.netrc`` credentials, which would clash with
            the API key's header).
        ssl_context: The TLS settings of the own session (a private CA, a client
            certificate); it must verify certificates and host names.
        keepalive_timeout: Seconds an idle connection of the own session's pool stays
            open (checked with :func:`check_keepalive_timeout`).

    Raises:
        ValueError: ``max_connections`` or ``max_response_bytes`` is below 1, the
            session was made with ``auth=`` (it would clash with the API key's header), a
            session is given together with ``proxy``, ``trust_env`` or ``ssl_context``
            (configure your session instead), ``proxy`` is not an http(s) URL, or
            ``ssl_context`` does not verify.
    """

    __slots__ = (
        "_client_timeout",
        "_closed",
        "_closed_event",
        "_closer",
        "_given",
        "_keepalive_timeout",
        "_loop",
        "_max_connections",
        "_max_response_bytes",
        "_owned",
        "_proxy",
        "_proxy_secrets",
        "_ssl_context",
        "_timeout",
        "_trust_env",
    )

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None,
        max_connections: int,
        timeout: float | None,
        max_response_bytes: int,
        proxy: str | None,
        trust_env: bool,
        ssl_context: ssl.SSLContext | None,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
    ) -> None:
        """Check the limits; no session is created yet."""
        if max_connections < 1:
            msg = f"max_connections must be at least 1, got {max_connections}"
            raise ValueError(msg)
        if max_response_bytes < 1:
            msg = f"max_response_bytes must be at least 1, got {max_response_bytes}"
            raise ValueError(msg)
        if session is not None and session.auth is not None:
            msg = (
                "the session was created with auth=, which would clash with the API key's "
                "Authorization header (aiohttp refuses both): pass a session without auth"
            )
            raise ValueError(msg)
        if session is not None and (proxy is not None or trust_env or ssl_context is not None):
            msg = (
                "proxy, trust_env and ssl_context configure the session the client creates: "
                "with session= given, set them on that session (or its connector) instead"
            )
            raise ValueError(msg)
        self._proxy = check_proxy(proxy)
        # The forms of the proxy's credentials, kept out of answers as the key is (_redact).
        self._proxy_secrets = proxy_credentials(self._proxy)
        self._trust_env = bool(trust_env)
        self._ssl_context = check_ssl_context(ssl_context)
        self._given = session
        self._owned: aiohttp.ClientSession | None = None
        self._closer: AsyncGenerator[None, None] | None = None
        # The event loop the session (and the closed event) belong to; None before first use.
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed_event = asyncio.Event()  # binds to a loop only when first waited on
        self._max_connections = max_connections
        self._keepalive_timeout = check_keepalive_timeout(keepalive_timeout)
        self._max_response_bytes = max_response_bytes
        self._timeout = timeout
        self._client_timeout = aiohttp.ClientTimeout(total=timeout)
        self._closed = False

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session requests go through, if any yet (``None`` again once an own one closed)."""
        return self._given if self._given is not None else self._owned

    @property
    def proxy(self) -> str | None:
        """The configured proxy as it may be shown: without its user name and password."""
        return shown_proxy(self._proxy)

    @property
    def session_given(self) -> bool:
        """Whether the session was given by the caller (and so is never closed here)."""
        return self._given is not None

    @property
    def pool_size(self) -> int | None:
        """The pool size of the session made here (``None`` with a session given)."""
        return None if self._given is not None else self._max_connections

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called."""
        return self._closed

    async def aclose(self) -> None:
        """Refuse further requests, wake retry waits, and close the session created here."""
        self._closed = True
        self._closed_event.set()
        owned, self._owned = self._owned, None
        closer, self._closer = self._closer, None
        if closer is not None:
            await closer.aclose()
        if owned is not None:
            await owned.close()

    def closed_event(self) -> asyncio.Event:
        """An event set when the transport closes, for the running loop (an Event binds to one).

        Raises:
            ClientClosedError: the transport is closed, or its session cannot serve this loop.
        """
        if self._closed or asyncio.get_running_loop() is not self._loop:
            self._adopt_running_loop()
        return self._closed_event

    def _adopt_running_loop(self) -> None:
        """Serve the running event loop from now on, or say why this cannot be done."""
        if self._closed:
            msg = "this AccountsClient is closed; create a new one"
            raise ClientClosedError(msg)
        if self._loop is not None:
            self._leave_loop(self._loop)
        self._loop = asyncio.get_running_loop()

    def _leave_loop(self, old: asyncio.AbstractEventLoop) -> None:
        """Forget the finished loop ``old`` and what belonged to it, or say why not."""
        if self._given is not None:
            msg = (
                "the aiohttp session passed to this client was used in another event loop, and "
                f"cannot serve this one: {NEW_SESSION_HINT}"
            )
            raise ClientClosedError(msg)
        if self._owned is not None and not self._owned.closed:
            how = (
                "was closed without finalising async generators (asyncio.run and "
                "asyncio.Runner do), so its session is still open: await client.aclose() "
                "before the loop ends, and create a new client"
                if old.is_closed()
                else "is still open: create one client per event loop"
            )
            msg = f"this client's session belongs to another event loop, which {how}"
            raise ClientClosedError(msg)
        # The old loop finished, closing its session on the way out: start afresh.
        self._owned = self._closer = None
        self._closed_event = asyncio.Event()

    async def _open_session(self, url: yarl.URL) -> aiohttp.ClientSession:
        """A session created here for the running loop, when there is none open to use."""
        if self._given is not None:  # only a closed one gets here
            msg = (
                "the aiohttp session passed to this client is closed; keep it open while "
                "the client is in use"
            )
            raise ClientClosedError(msg)
        if self._owned is not None:
            # Only a session closed as its loop shuts down gets here: a call made during
            # that shutdown (by another async generator's clean-up) after the session closed.
            msg = "this client's session is closed: its event loop is shutting down"
            raise ClientClosedError(msg)
        # Created here, inside the running loop, rather than in __init__, so that a client can
        # be built at import time or outside any loop. Juspay's API is stateless: a cookie one
        # answer sets must not ride along with another customer's request.
        # The proxy from the environment is read once per session, for the one host this
        # client talks to. aiohttp's own trust_env is not used: it would also read ~/.netrc
        # for credentials, and refuse them next to the API key's Authorization header.
        proxy = self._proxy
        if proxy is None and self._trust_env:
            proxy = await asyncio.to_thread(proxy_from_env, url)  # may read files, as aiohttp
            self._proxy_secrets = proxy_credentials(proxy)
        # ssl=True: aiohttp's default context, which verifies.
        connector = aiohttp.TCPConnector(
            limit=self._max_connections,
            ssl=self._ssl_context or True,
            keepalive_timeout=self._keepalive_timeout,
        )
        session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), proxy=proxy
        )
        # Closed inside its own loop when that loop shuts down, if not before (_timing).
        closer = _timing.close_with_loop(session.close)
        await anext(closer)  # suspended inside its try, and known to the loop from now on
        self._owned, self._closer = session, closer
        return session

    async def send(
        self, request: Request, time_limit: float | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send one request and read the answer (within limits), mapping transport failures.

        Returns:
            The status, the headers and the body (an error body cut short).

        Raises:
            ClientClosedError: the transport is closed, or was closed mid-request.
            ValueError: the ``ssl_context`` no longer verifies (changed after the check);
                nothing was sent.
            APITimeoutError: no complete answer within ``time_limit`` seconds.
            APIConnectionError: any other failure to send or receive.
            ResponseValidationError: a success body larger than ``max_response_bytes``.
        """
        if self._closed or asyncio.get_running_loop() is not self._loop:
            self._adopt_running_loop()
        session = self._owned if self._given is None else self._given
        if session is None or session.closed:
            session = await self._open_session(request.url)  # connects nowhere yet
        secrets = self._checked_secrets(request)
        url = request.url
        debug = _LOG.isEnabledFor(logging.DEBUG)
        if debug:
            _LOG.debug("%s %s", request.method, url.path_safe)
        cause: BaseException
        failure: JuspayError
        try:
            async with session.request(
                request.method,
                url,
                headers=request.headers,
                allow_redirects=False,
                raise_for_status=False,
                timeout=(
                    self._client_timeout
                    if time_limit == self._timeout
                    else aiohttp.ClientTimeout(total=time_limit)
                ),
            ) as response:
                status, headers = response.status, response.headers
                body = await self._read(response, secrets)
        except (TimeoutError, aiohttp.ClientError, RuntimeError) as exc:
            if isinstance(exc, (RecursionError, NotImplementedError)):
                raise  # a bug to see, not a session that cannot be used
            cause = exc
            failure = self._failure(exc, url.host, time_limit, secrets.text)
        else:
            # A server that reflects the request must not get the key (or the proxy's
            # credentials) into what the library makes of its answer: the headers are read
            # before anything else (the request id is logged, traced, kept with the page),
            # so they are redacted here; the body only where it becomes an error, in
            # _response.decode_list_response (see _redact).
            answer_headers = redact_headers(headers, secrets)
            if debug:
                _LOG.debug(
                    "%s %s -> %s (request id %s)",
                    request.method,
                    url.path_safe,
                    status,
                    answer_headers.get("x-request-id"),
                )
            return status, answer_headers, body
        # Raised outside the except clauses, so Python does not chain the original error as
        # __context__: aiohttp's ClientResponseError family carries the request headers, the
        # API key among them, and must not be reachable from what the library raises.
        if carries_request(cause):
            raise failure
        raise failure from cause

    def secrets(self, request: Request) -> Secrets:
        """The forms to keep out of what is quoted of ``request``'s answer.

        The key's, and the proxy's credentials when the proxy has some (one from the
        environment is known once the session is made: ask after sending).
        """
        if self._proxy_secrets is None:
            return request.secrets
        return joined_secrets(request.secrets, self._proxy_secrets)

    def _checked_secrets(self, request: Request) -> Secrets:
        """:meth:`secrets`, the TLS settings checked once more first.

        The ``ssl_context`` was checked when the client was built, but an SSLContext is
        mutable and the session's new connections use this same object: one whose
        verification was switched off since is refused (a ValueError, nothing sent).
        """
        if self._ssl_context is not None:
            refuse_changed_ssl_context(self._ssl_context)
        # secrets(), inlined: a call per request costs more than these two lines.
        if self._proxy_secrets is None:
            return request.secrets
        return joined_secrets(request.secrets, self._proxy_secrets)

    def _failure(
        self,
        exc: BaseException,
        host: str | None,
        time_limit: float | None,
        secrets: tuple[str, ...] = (),
    ) -> JuspayError:
        """The library's error for an aiohttp or asyncio failure of one request."""
        return request_failure(exc, host, time_limit, closed=self._closed, secrets=secrets)

    async def _read(self, response: aiohttp.ClientResponse, secrets: Secrets) -> bytes:
        """The body, refusing a success body over the limit and cutting an error body short.

        Both limits count decoded bytes: ``Content-Length`` (and so ``read()``) is trusted
        only for a body sent without ``Content-Encoding``; a compressed one is counted as
        ``response.content`` inflates it, so a small gzip bomb stops at the limit.
        """
        success = 200 <= response.status < 300  # noqa: PLR2004 - the success range
        limit = self._max_response_bytes if success else _ERROR_BODY_BYTES
        length = response.content_length
        encoding = response.headers.get(aiohttp.hdrs.CONTENT_ENCODING, "identity")
        if length is not None and encoding in ("identity", ""):
            if length <= limit:
                return await response.read()
            if success:
                raise self._too_large(response, f"Content-Length {length}; not read", secrets)
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_ERROR_BODY_BYTES):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                if success:
                    raise self._too_large(response, f"more than {limit} bytes decoded", secrets)
                break  # an error body: the first part says all there is to say
        return b"".join(chunks)[:limit]

    def _too_large(
        self, response: aiohttp.ClientResponse, size: str, secrets: Secrets
    ) -> ResponseValidationError:
        request_id = response.headers.get("x-request-id")
        return ResponseValidationError(
            f"HTTP {response.status} answer refused: the body ({size}) is larger than "
            f"max_response_bytes={self._max_response_bytes}",
            status=response.status,
            errors=(f"body larger than {self._max_response_bytes} bytes @ $",),
            request_id=None if request_id is None else redact_text(request_id, secrets.text),
        )
