"""The thin aiohttp layer: send what :mod:`._protocol` builds, hand back what it deciphers."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import platform
from typing import TYPE_CHECKING, Final, Self

import aiohttp
import yarl

from juspay_accounts import _protocol
from juspay_accounts._fanout import CustomerResult, FanOut
from juspay_accounts._pagination import PageWalk, check_limit
from juspay_accounts._retry import ClientStats, RateLimitHold, RetryPolicy, call_with_retries
from juspay_accounts._version import __version__
from juspay_accounts.exceptions import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ResponseValidationError,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping
    from types import TracebackType

    from juspay_accounts._models import AccountPage, CustomerAccount

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "EU_PRODUCTION_URL",
    "EU_SANDBOX_URL",
    "PRODUCTION_STATIC_IP_URL",
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "AccountsClient",
]

SANDBOX_URL: Final = "https://sandbox.juspay.in"
"""Juspay's India sandbox."""
PRODUCTION_URL: Final = "https://api.juspay.in"
"""Juspay's India production."""
PRODUCTION_STATIC_IP_URL: Final = "https://api-ns1.juspay.in"
"""Juspay's India production behind a static IP, for allow-listing firewalls."""
EU_SANDBOX_URL: Final = "https://sandbox.juspay.io"
"""Juspay's EU sandbox."""
EU_PRODUCTION_URL: Final = "https://api.juspay.io"
"""Juspay's EU production."""

DEFAULT_TIMEOUT: Final = 30.0
"""Seconds one request may take, from connecting to the last byte of the body."""

DEFAULT_CONCURRENCY: Final = 16
"""How many customers a fan-out fetches at once unless told otherwise."""

DEFAULT_MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
"""The largest success body the client reads (16 MiB); a larger one is refused unread."""

_ERROR_BODY_BYTES: Final = 64 * 1024
"""How much of an error body is read: enough for any Juspay error, little of a proxy's page."""

_LOG: Final = logging.getLogger("juspay_accounts")
_USER_AGENT: Final = (
    f"juspay-accounts/{__version__} aiohttp/{aiohttp.__version__} "
    f"Python/{platform.python_version()}"
)


class AccountsClient:
    """An asyncio client for Juspay's customer-accounts API.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with AccountsClient(api_key, base_url=SANDBOX_URL) as client:
            page = await client.list_accounts("cst_123")

    One client serves any number of concurrent calls; create it once per application
    and share it.

    Args:
        api_key: The API key from the Juspay dashboard. It is sent as HTTP Basic
            credentials and never appears in a repr, a log record or an exception.
        base_url: Where Juspay lives: :data:`SANDBOX_URL`, :data:`PRODUCTION_URL`, an EU
            host, a white-label host, or a fake server. Any path in it is kept as a prefix.
        merchant_id: Sent as ``x-merchantid`` when given.
        api_version: Sent as the ``version`` header (a date such as ``"2023-06-30"``)
            when given.
        timeout: Seconds one attempt may take, from connecting to the last byte of the
            body; ``None`` for no limit. The retry policy's ``deadline`` bounds the whole
            call.
        retry: How calls ride out transient failures; see :class:`RetryPolicy`. Each call
            may override it.
        session: An :class:`aiohttp.ClientSession` to send with. The client uses it and
            never closes it. Without one, the client creates its own (in the running
            event loop, on first use) and closes it in :meth:`aclose`.
        max_connections: The size of the connection pool of a session the client
            creates (ignored when ``session`` is given).
        user_agent: Replaces the default ``User-Agent``, which names this library,
            aiohttp and Python with their versions.
        max_response_bytes: The largest success body read (16 MiB by default). A larger
            one is refused with :class:`ResponseValidationError` without being read into
            memory.
        allow_insecure_http: Allow a plain ``http://`` ``base_url`` to a host other than
            loopback. Off by default, because the API key would cross the network
            unencrypted. (TLS certificates are always verified, unless you pass a session
            of your own that does otherwise.)

    Raises:
        ValueError: ``api_key`` is empty or ``base_url`` is not an absolute http(s) URL,
            or another argument is invalid.
    """

    __slots__ = (
        "_client_timeout",
        "_closed",
        "_closed_event",
        "_hold",
        "_max_connections",
        "_max_response_bytes",
        "_owned_session",
        "_retry",
        "_session",
        "_settings",
        "_stats",
        "_timeout",
    )

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = SANDBOX_URL,
        merchant_id: str | None = None,
        api_version: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        user_agent: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        allow_insecure_http: bool = False,
    ) -> None:
        """Check the configuration; nothing is sent and no session is created yet."""
        self._settings = _protocol.make_settings(
            api_key=api_key,
            base_url=base_url,
            user_agent=_USER_AGENT if user_agent is None else user_agent,
            merchant_id=merchant_id,
            api_version=api_version,
            allow_insecure_http=allow_insecure_http,
        )
        if timeout is not None and not timeout > 0:
            msg = f"timeout must be a positive number of seconds or None, got {timeout!r}"
            raise ValueError(msg)
        if max_connections < 1:
            msg = f"max_connections must be at least 1, got {max_connections}"
            raise ValueError(msg)
        if max_response_bytes < 1:
            msg = f"max_response_bytes must be at least 1, got {max_response_bytes}"
            raise ValueError(msg)
        self._max_response_bytes = max_response_bytes
        self._timeout = timeout
        self._client_timeout = aiohttp.ClientTimeout(total=timeout)
        self._retry = RetryPolicy() if retry is None else retry
        self._hold = RateLimitHold()
        self._stats = ClientStats()
        self._session = session
        self._owned_session: aiohttp.ClientSession | None = None
        self._max_connections = max_connections
        self._closed = False
        # Wakes calls waiting to retry when the client closes (no loop needed to create it).
        self._closed_event = asyncio.Event()

    def __repr__(self) -> str:
        """Say where the client points, never with the API key."""
        owner = "given" if self._owned_session is None and self._session else "own"
        return (
            f"<AccountsClient base_url={self._settings.base_url!r} session={owner}"
            f"{' closed' if self._closed else ''}>"
        )

    @property
    def base_url(self) -> str:
        """The base URL requests go to, without a trailing slash."""
        return self._settings.base_url

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy calls use unless they pass their own."""
        return self._retry

    @property
    def stats(self) -> ClientStats:
        """Running counts of the requests sent and the retries made by this client."""
        return self._stats

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called."""
        return self._closed

    async def __aenter__(self) -> Self:
        """Return the client itself; the session is created on first use."""
        if self._closed:
            msg = "this AccountsClient is closed; create a new one"
            raise ClientClosedError(msg)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client (see :meth:`aclose`)."""
        await self.aclose()

    async def aclose(self) -> None:
        """Close the client, and the session it created, if any; a given session stays open.

        Calls in flight on the client's own session, and calls waiting to retry, end with
        :class:`ClientClosedError` (a fan-out raises it); their connections are released.
        Calling it again does nothing.
        """
        self._closed = True
        self._closed_event.set()
        owned, self._owned_session = self._owned_session, None
        if owned is not None:
            self._session = None
            await owned.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            msg = "this AccountsClient is closed; create a new one"
            raise ClientClosedError(msg)
        if self._session is None:
            # Created here, inside the running loop, rather than in __init__, so that a
            # client can be built at import time or outside any loop.
            connector = aiohttp.TCPConnector(limit=self._max_connections)
            self._owned_session = self._session = aiohttp.ClientSession(connector=connector)
        return self._session

    async def list_accounts(
        self,
        customer_id: str,
        *,
        offset: int | None = None,
        count: int | None = None,
        routing_id: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> AccountPage:
        """Fetch one page of a customer's accounts: one ``GET``, retried if it fails transiently.

        Args:
            customer_id: The customer. Sent percent-encoded as one path segment, so any
                content is safe.
            offset: The position of the first account to return; sent only when given.
            count: How many accounts to return at most; sent only when given. Juspay
                may return fewer: trust the page, not the request.
            routing_id: The ``x-routing-id`` header; defaults to ``customer_id``, as Juspay
                recommends. Use the same one for every call about one customer.
            retry: Overrides the client's retry policy for this call.

        Returns:
            The page, with the ``offset``, ``count`` and ``total`` Juspay reported.

        Raises:
            ValueError: ``customer_id`` or ``routing_id`` is empty or contains control
                characters, ``offset`` is negative or ``count`` is below 1. Nothing is sent.
            APIError: Juspay answered with an error (a subclass by status, such as
                :class:`NotFoundError`), after any retries; ``attempts`` says how many.
            APIConnectionError: no usable answer arrived (:class:`APITimeoutError` for
                a timeout), after any retries.
            ResponseValidationError: the answer is not the documented shape.
        """
        request = _protocol.build_list_request(
            self._settings, customer_id, offset=offset, count=count, routing_id=routing_id
        )

        async def attempt(time_limit: float | None) -> AccountPage:
            status, headers, body = await self._send(request, time_limit)
            return _protocol.decode_list_response(status, headers, body, offset_sent=offset)

        return await call_with_retries(
            attempt,
            policy=self._retry if retry is None else retry,
            attempt_timeout=self._timeout,
            hold=self._hold,
            customer_id=customer_id,
            closed=self._closed_event,
            stats=self._stats,
        )

    def iter_pages(
        self,
        customer_id: str,
        *,
        page_size: int | None = None,
        routing_id: str | None = None,
        max_pages: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncIterator[AccountPage]:
        """Walk every page of a customer's accounts: ``async for page in client.iter_pages(...)``.

        The first request asks for ``offset=0`` (and ``count=page_size`` when given); each
        next offset is the previous one plus the accounts actually received, because the
        server may return fewer than asked. The walk ends when the offset reaches ``total``
        or a page comes back empty. Every page's request gets the full retry policy and the
        same routing id. One page is held in memory at a time.

        If ``total`` changes mid-walk, the walk goes on against the new total, logs a
        warning, and never yields the same ``customer_account_id`` twice (a page comes back
        without the accounts already yielded).

        Args:
            customer_id: The customer.
            page_size: The ``count`` to ask for; ``None`` asks for everything at once.
            routing_id: The ``x-routing-id`` for every page; defaults to ``customer_id``.
            max_pages: Refuse to fetch more than this many pages (a guard against a server
                that never ends).
            retry: Overrides the client's retry policy for every page.

        Raises:
            PaginationError: a page came back at another offset than asked, held only
                accounts already yielded while ``total`` stood still, or the walk needed
                more than ``max_pages`` pages.
            JuspayError: as :meth:`list_accounts` raises for any page.
        """
        walk = PageWalk(customer_id, page_size=page_size, max_pages=max_pages)
        _protocol.check_ids(customer_id, routing_id)  # fail at the call, not at the first page
        return self._walk(walk, routing_id, retry)

    async def _walk(
        self, walk: PageWalk, routing_id: str | None, retry: RetryPolicy | None
    ) -> AsyncIterator[AccountPage]:
        while (offset := walk.next_offset()) is not None:
            page = await self.list_accounts(
                walk.customer_id,
                offset=offset,
                count=walk.page_size,
                routing_id=routing_id,
                retry=retry,
            )
            yield walk.accept(page)

    def iter_accounts(
        self,
        customer_id: str,
        *,
        page_size: int | None = None,
        routing_id: str | None = None,
        max_pages: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> AsyncIterator[CustomerAccount]:
        """Every account of a customer, page after page, each once (see :meth:`iter_pages`)."""
        pages = self.iter_pages(
            customer_id,
            page_size=page_size,
            routing_id=routing_id,
            max_pages=max_pages,
            retry=retry,
        )
        return self._accounts_of(pages)

    @staticmethod
    async def _accounts_of(pages: AsyncIterator[AccountPage]) -> AsyncIterator[CustomerAccount]:
        async with contextlib.aclosing(pages):  # type: ignore[type-var]
            async for page in pages:
                for account in page.accounts:
                    yield account

    async def all_accounts(
        self,
        customer_id: str,
        *,
        page_size: int | None = None,
        routing_id: str | None = None,
        max_pages: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> list[CustomerAccount]:
        """Every account of a customer as a list, across all pages (see :meth:`iter_pages`)."""
        # The same walk as iter_pages, as a plain loop: the fan-out calls this once per
        # customer, and skipping the async generator saves about 10 µs each.
        walk = PageWalk(customer_id, page_size=page_size, max_pages=max_pages)
        accounts: list[CustomerAccount] = []
        while (offset := walk.next_offset()) is not None:
            page = await self.list_accounts(
                customer_id, offset=offset, count=walk.page_size, routing_id=routing_id, retry=retry
            )
            accounts.extend(walk.accept(page).accounts)
        return accounts

    def accounts_for_customers(
        self,
        customer_ids: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        page_size: int | None = None,
        max_pages: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> FanOut:
        """Fetch every account of many customers at once, yielding each as it completes.

        ``async for result in client.accounts_for_customers(ids)`` gives one
        :class:`CustomerResult` per distinct customer id: its complete ``accounts`` across all
        pages, or the ``error`` that ended it (after retries). One customer's failure never
        stops the others.

        Args:
            customer_ids: Any iterable or async iterable of ids, read lazily: it may be
                endless. Duplicates are fetched once.
            concurrency: The most customers (and so requests, pages included) in flight at
                once. A client that made its own session has ``max_connections``
                connections (100 by default); keep ``concurrency`` at or below it.
            page_size: The ``count`` to ask for on each page; ``None`` asks for everything.
            max_pages: Per customer, as in :meth:`iter_pages`.
            retry: Overrides the client's retry policy for every request.

        Returns:
            An async iterator, also an async context manager. Leaving the ``async for``
            early, or cancelling the task running it, cancels the work in flight.
        """
        check_limit(concurrency, "concurrency")
        check_limit(page_size, "page_size")
        check_limit(max_pages, "max_pages")
        if (
            self._owned_session is None
            and self._session is None
            and concurrency > self._max_connections
        ):
            _LOG.warning(
                "concurrency %d is above max_connections %d: requests will queue for "
                "connections; raise max_connections",
                concurrency,
                self._max_connections,
            )

        fetch = functools.partial(
            self.all_accounts, page_size=page_size, max_pages=max_pages, retry=retry
        )
        return FanOut(fetch, customer_ids, concurrency=concurrency)

    async def gather_accounts(
        self,
        customer_ids: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        page_size: int | None = None,
        max_pages: int | None = None,
        retry: RetryPolicy | None = None,
    ) -> dict[str, CustomerResult]:
        """Run :meth:`accounts_for_customers` to the end; return the results by customer id."""
        results: dict[str, CustomerResult] = {}
        async with self.accounts_for_customers(
            customer_ids,
            concurrency=concurrency,
            page_size=page_size,
            max_pages=max_pages,
            retry=retry,
        ) as fan_out:
            async for result in fan_out:
                results[result.customer_id] = result
        return results

    async def _send(
        self, request: _protocol.Request, time_limit: float | None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """Send one request and read the answer (within limits), mapping transport failures."""
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
