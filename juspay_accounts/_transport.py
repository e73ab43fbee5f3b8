"""The transport: owns (or borrows) the aiohttp session and moves one request's bytes.

:class:`Transport` is the one seam between the client facade and aiohttp: it creates its
session lazily inside the running event loop (or uses the one it was given, and never
closes that), sends a :class:`~juspay_accounts._protocol.Request`, reads the answer within
the size limits, and maps aiohttp's and asyncio's failures to the library's own errors.
"""

from __future__ import annotations

import logging
import platform
from typing import TYPE_CHECKING, Final

import aiohttp
import yarl

from juspay_accounts._version import __version__
from juspay_accounts.exceptions import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ResponseValidationError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from juspay_accounts._protocol import Request
    from juspay_accounts._stats import ClientStats

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "DEFAULT_USER_AGENT", "Transport"]

DEFAULT_MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
"""The largest success body the client reads (16 MiB); a larger one is refused unread."""

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
        session: A session to send with; never closed here. Without one, the transport
            creates its own on first use (inside the running loop) and closes it in
            :meth:`aclose`.
        max_connections: The connection pool size of a session the transport creates.
        timeout: The usual time limit of one attempt (``None`` for none); a ``send`` with
            this limit reuses one prepared :class:`aiohttp.ClientTimeout`.
        max_response_bytes: The largest success body read.
        stats: Where each request sent is counted.

    Raises:
        ValueError: ``max_connections`` or ``max_response_bytes`` is below 1.
    """

    __slots__ = (
        "_client_timeout",
        "_closed",
        "_given",
        "_max_connections",
        "_max_response_bytes",
        "_owned",
        "_stats",
        "_timeout",
    )

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None,
        max_connections: int,
        timeout: float | None,
        max_response_bytes: int,
        stats: ClientStats,
    ) -> None:
        """Check the limits; no session is created yet."""
        if max_connections < 1:
            msg = f"max_connections must be at least 1, got {max_connections}"
            raise ValueError(msg)
        if max_response_bytes < 1:
            msg = f"max_response_bytes must be at least 1, got {max_response_bytes}"
            raise ValueError(msg)
        self._given = session
        self._owned: aiohttp.ClientSession | None = None
        self._max_connections = max_connections
        self._max_response_bytes = max_response_bytes
        self._timeout = timeout
        self._client_timeout = aiohttp.ClientTimeout(total=timeout)
        self._stats = stats
        self._closed = False

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The session requests go through, if any yet (``None`` again once an own one closed)."""
        return self._given if self._given is not None else self._owned

    @property
    def session_given(self) -> bool:
        """Whether the session was given by the caller (and so is never closed here)."""
        return self._given is not None

    @property
    def max_connections(self) -> int:
        """The connection pool size of a session the transport creates."""
        return self._max_connections

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called."""
        return self._closed

    async def aclose(self) -> None:
        """Refuse further requests and close the session created here, if any."""
        self._closed = True
        owned, self._owned = self._owned, None
        if owned is not None:
            await owned.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            msg = "this AccountsClient is closed; create a new one"
            raise ClientClosedError(msg)
        if self._given is not None:
            return self._given
        if self._owned is None:
            # Created here, inside the running loop, rather than in __init__, so that a
            # client can be built at import time or outside any loop.
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            self._owned = aiohttp.ClientSession(connector=connector)
        return self._owned

    async def send(
        self, request: Request, time_limit: float | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send one request and read the answer (within limits), mapping transport failures.

        Returns:
            The status, the headers and the body (an error body cut short).

        Raises:
            ClientClosedError: the transport is closed, or was closed mid-request.
            APITimeoutError: no complete answer within ``time_limit`` seconds.
            APIConnectionError: any other failure to send or receive.
            ResponseValidationError: a success body larger than ``max_response_bytes``.
        """
        session = self._get_session()
        self._stats.requests += 1
        url = yarl.URL(request.url, encoded=True)
        debug = _LOG.isEnabledFor(logging.DEBUG)
        if debug:
            _LOG.debug("%s %s", request.method, url.path_safe)
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
                body = await self._read(response)
        except TimeoutError as exc:
            msg = f"no answer from {url.host} within {time_limit:.2f} s"
            raise APITimeoutError(msg) from exc
        except aiohttp.ClientError as exc:
            if self._closed:
                msg = "the client was closed while this request was in flight"
                raise ClientClosedError(msg) from exc
            msg = f"request to {url.host} failed: {type(exc).__name__}: {exc}"
            raise APIConnectionError(msg) from exc
        if debug:
            _LOG.debug(
                "%s %s -> %s (request id %s)",
                request.method,
                url.path_safe,
                status,
                headers.get("x-request-id"),
            )
        return status, headers, body

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        """The body, refusing a success body over the limit and cutting an error body short."""
        success = 200 <= response.status < 300  # noqa: PLR2004 - the success range
        limit = self._max_response_bytes if success else _ERROR_BODY_BYTES
        length = response.content_length
        if length is not None and length <= limit:
            return await response.read()
        if success and length is not None:
            raise self._too_large(response, f"Content-Length {length}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_ERROR_BODY_BYTES):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                if success:
                    raise self._too_large(response, f"more than {limit} bytes")
                break  # an error body: the first part says all there is to say
        return b"".join(chunks)[:limit]

    def _too_large(self, response: aiohttp.ClientResponse, size: str) -> ResponseValidationError:
        return ResponseValidationError(
            f"HTTP {response.status} answer refused unread: the body ({size}) is larger than "
            f"max_response_bytes={self._max_response_bytes}",
            status=response.status,
            errors=(f"body larger than {self._max_response_bytes} bytes @ $",),
            request_id=response.headers.get("x-request-id"),
        )
