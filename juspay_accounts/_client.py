"""The public facade, :class:`AccountsClient`: one call, a page walk or a fan-out.

It checks what the caller passes, once, where it enters; builds each request with
:mod:`._request`; and leaves sending, retrying and walking pages to
:class:`._fetcher.PageFetcher` over :class:`._transport.Transport`.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any, Self

from juspay_accounts import _request
from juspay_accounts._config import (
    DEFAULT_CONCURRENCY,
    DEFAULT_KEEPALIVE_TIMEOUT,
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    KEEP,
    Keep,
    check_timeout,
    derive_settings,
    make_settings,
)
from juspay_accounts._environments import api_key_from_environment, base_url_from_environment
from juspay_accounts._fetcher import PageFetcher
from juspay_accounts._instruments import Instruments, Observer
from juspay_accounts._metrics import make_meter_watch
from juspay_accounts._policy import RetryPolicy
from juspay_accounts._ratelimit import RateLimit, open_store
from juspay_accounts._seam import make_transport
from juspay_accounts._sharing import DEFAULT_CACHE_SIZE, sharing_for
from juspay_accounts._stats import ClientStats
from juspay_accounts._throttle import Throttle
from juspay_accounts._tracing import make_tracing
from juspay_accounts._transport import DEFAULT_USER_AGENT
from juspay_accounts._walks import Walks
from juspay_accounts.exceptions import ClientClosedError

if TYPE_CHECKING:
    import ssl
    from collections.abc import Iterable, Mapping
    from types import TracebackType

    import aiohttp

    from juspay_accounts._models import AccountPage
    from juspay_accounts._seam import AsyncTransport

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_TIMEOUT", "AccountsClient"]


class AccountsClient(Walks):
    """An asyncio client for Juspay's customer-accounts API.

    Use it as an async context manager, or call :meth:`aclose` when done::

        async with AccountsClient(api_key, base_url=SANDBOX_URL) as client:
            page = await client.list_accounts("cst_123")

    One client serves any number of concurrent calls; create it once per application
    and share it.

    Args:
        api_key: The API key from the Juspay dashboard. It is sent as HTTP Basic
            credentials and never appears in a repr, a log record or an exception.
            ``None`` (the default) reads it from ``$JUSPAY_API_KEY``.
        base_url: Where Juspay lives: :data:`SANDBOX_URL`, :data:`PRODUCTION_URL`, an EU
            host, a white-label host, or a fake server. Any path in it is kept as a prefix.
            ``None`` (the default) reads it from ``$JUSPAY_BASE_URL``, and uses
            :data:`SANDBOX_URL` when that is unset or blank. An argument always wins over
            the environment.
        merchant_id: Sent as ``x-merchantid`` when given.
        api_version: Sent as the ``version`` header (a date such as ``"2023-06-30"``)
            when given.
        timeout: Seconds one attempt may take, from connecting to the last byte of the
            body; ``None`` for no limit. The retry policy's ``deadline`` bounds the whole
            call.
        retry: How calls ride out transient failures; see :class:`RetryPolicy`. Each call
            may override it.
        session: An :class:`aiohttp.ClientSession` to send with, used as you configured
            it (its cookie jar included) and never closed by the client. It must not be
            made with ``auth=`` (the client sends the key itself), and serves only the
            event loop it was created in. Without one, the client creates its own, which
            keeps no cookies, on first use in each event loop, and closes it in
            :meth:`aclose` or when that loop shuts down.
        transport: Any object with an async ``send(request, timeout)`` method (see
            :class:`AsyncTransport`) to send through instead of the client's own aiohttp
            transport: :class:`juspay_accounts.testing.MockTransport` in tests, or your
            own. The client still counts, redacts, retries and rate-limits; it never
            closes a transport it was given. Not with ``session``, ``proxy``,
            ``trust_env``, ``ssl_context``, ``max_connections``, ``keepalive_timeout`` or
            ``max_response_bytes``, which configure the aiohttp transport.
        max_connections: The size of the connection pool of a session the client
            creates (ignored when ``session`` is given).
        keepalive_timeout: Seconds an idle connection of a session the client creates
            stays open for the next call (aiohttp's ``keepalive_timeout``: 15 by default;
            ignored when ``session`` is given). A call after a longer gap opens a new
            connection, paying TCP and TLS handshakes again: raise it when calls come less
            often (see :doc:`/production`). A positive, finite number.
        user_agent: Replaces the default ``User-Agent``, which names this library,
            aiohttp and Python with their versions.
        max_response_bytes: The largest success body read (16 MiB by default), counted
            after decoding any ``Content-Encoding``. A larger one is refused with
            :class:`ResponseValidationError`: unread when ``Content-Length`` says so, else
            as soon as the limit is passed, so a small gzip bomb never inflates past it.
        allow_insecure_http: Allow a plain ``http://`` ``base_url`` to a host other than
            loopback. Off by default, because the API key would cross the network
            unencrypted. (TLS certificates are always verified, unless you pass a session
            of your own that does otherwise.)
        rate_limit: How many requests may start per second, retries included, across
            every call on the client; with a Redis store, across every process sharing it
            (see :class:`RateLimit`). ``None`` (the default) sets no limit ahead of time.
        proxy: An ``http://`` or ``https://`` proxy URL for the session the client creates,
            such as ``"http://user:password@proxy:3128"``; the credentials are sent as
            ``Proxy-Authorization`` and never shown in a repr, a log record or an exception.
            See :doc:`/production`.
        trust_env: Take the proxy from ``HTTP_PROXY``/``HTTPS_PROXY``, honouring
            ``NO_PROXY``, as aiohttp does (read when the session is created); ``.netrc`` is
            never read.
        ssl_context: An :class:`ssl.SSLContext` for the session the client creates: a
            private CA bundle (a TLS-inspecting proxy), a client certificate. It must verify
            certificates and host names: verification cannot be switched off, here or later
            (a context changed after the client was built makes every call a
            ``ValueError``, with nothing sent).
        tracer_provider: The OpenTelemetry ``TracerProvider`` to trace calls with (the
            ``otel`` extra); ``None`` uses the global one, once the application has
            configured it. Pass ``opentelemetry.trace.NoOpTracerProvider()`` to keep this
            client's calls out of traces. See :doc:`/production`.
        trace_customer_ids: Record the customer id on the spans (``juspay.customer_id``).
            Off by default: a customer id identifies a person.
        coalesce: Concurrent calls for the same page (customer, offset, count, merchant,
            headers) share one request: every caller gets its result, or its failure; a
            caller that is cancelled leaves the request to the others; one whose deadline
            ends first gets its own timeout. Off by default. See :doc:`/production`.
        cache_ttl: Seconds a fetched page is kept and returned without a request (errors
            never are); ``None`` (the default) keeps nothing. ``list_accounts(...,
            cache=False)`` skips it for one call.
        cache_size: The most pages the cache keeps; the least recently used go first.
        observers: :class:`Observer` instances told of every request, retry, refused
            retry, rate-limit wait and coalesced call (your own counters or logs); one
            that raises never fails a call. See :doc:`/production`.
        meter_provider: The OpenTelemetry ``MeterProvider`` to record metrics with (the
            ``otel`` extra): ``http.client.request.duration`` and the client's counters;
            ``None`` uses the global one once the application has set an SDK's.

    Raises:
        ValueError: ``api_key`` is empty (or not given, and ``$JUSPAY_API_KEY`` is not set)
            or ``base_url`` is not an absolute http(s) URL,
            ``session`` was made with ``auth=``, ``proxy``, ``trust_env`` or
            ``ssl_context`` come with a ``session`` (set them on your session instead),
            ``ssl_context`` does not verify, or another argument is invalid.
        TypeError: an argument has the wrong type, such as a ``tracer_provider`` that is not
            a tracer provider.
    """

    __slots__ = (
        "_fetcher",
        "_rate_limit",
        "_retry",
        "_settings",
        "_stats",
        "_transport",
    )

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        merchant_id: str | None = None,
        api_version: str | None = None,
        timeout: float | None = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
        transport: AsyncTransport | None = None,
        max_connections: int = 100,
        keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
        user_agent: str | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        allow_insecure_http: bool = False,
        rate_limit: RateLimit | None = None,
        proxy: str | None = None,
        trust_env: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        tracer_provider: Any = None,  # noqa: ANN401 - a TracerProvider, from the otel extra
        trace_customer_ids: bool = False,
        coalesce: bool = False,
        cache_ttl: float | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
        observers: Iterable[Observer] = (),
        meter_provider: Any = None,  # noqa: ANN401 - a MeterProvider, from the otel extra
    ) -> None:
        """Check the configuration; nothing is sent and no session is created yet."""
        self._settings = make_settings(
            api_key=api_key_from_environment() if api_key is None else api_key,
            base_url=base_url_from_environment() if base_url is None else base_url,
            user_agent=DEFAULT_USER_AGENT if user_agent is None else user_agent,
            merchant_id=merchant_id,
            api_version=api_version,
            allow_insecure_http=allow_insecure_http,
        )
        check_timeout(timeout)
        self._stats = ClientStats()
        self._transport = make_transport(
            transport,
            session=session,
            max_connections=max_connections,
            timeout=timeout,
            max_response_bytes=max_response_bytes,
            proxy=proxy,
            trust_env=trust_env,
            ssl_context=ssl_context,
            keepalive_timeout=keepalive_timeout,
        )
        self._retry = RetryPolicy() if retry is None else retry
        given: object = rate_limit  # checked at run time too: a number is an easy mistake
        if given is not None and not isinstance(given, RateLimit):
            msg = f"rate_limit must be a RateLimit or None, got {type(given).__name__}"
            raise TypeError(msg)
        self._rate_limit = rate_limit
        # The seam every count, log record and metric goes through (_instruments).
        instruments = Instruments(
            self._stats,
            observers,
            make_meter_watch(meter_provider, self._settings.base_url),
        )
        self._fetcher = PageFetcher(
            self._settings,
            self._transport,
            timeout=timeout,
            instruments=instruments,
            throttle=Throttle(None if rate_limit is None else open_store(rate_limit), instruments),
            # None without the otel extra: then tracing costs one attribute check per call.
            tracing=make_tracing(
                tracer_provider,
                base_url=self._settings.base_url,
                trace_customer_ids=trace_customer_ids,
            ),
            sharing=sharing_for(
                coalesce=coalesce,
                cache_ttl=cache_ttl,
                cache_size=cache_size,
                instruments=instruments,
            ),
        )

    def __repr__(self) -> str:
        """Say where the client points, never with the API key."""
        owner = "given" if self._transport.session_given else "own"
        proxy = self._transport.proxy
        return (
            f"<AccountsClient base_url={self._settings.base_url!r}"
            f"{'' if proxy is None else f' proxy={proxy!r}'} session={owner}"
            f"{' closed' if self._transport.closed else ''}>"
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
    def rate_limit(self) -> RateLimit | None:
        """The rate limit every call on this client shares, or ``None``."""
        return self._rate_limit

    @property
    def stats(self) -> ClientStats:
        """Running counts of the requests sent and the retries made by this client."""
        return self._stats

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` has been called."""
        return self._transport.closed

    async def __aenter__(self) -> Self:
        """Return the client itself; the session is created on first use."""
        if self._transport.closed:
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
        await self._transport.aclose()
        await self._fetcher.aclose()

    def with_options(
        self,
        *,
        merchant_id: str | Keep | None = KEEP,
        api_version: str | Keep | None = KEEP,
        timeout: float | Keep | None = KEEP,
        retry: RetryPolicy | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AccountsClient:
        """A client with some settings changed, sharing this one's session, hold and stats.

        ``client.with_options(merchant_id="m_2").list_accounts(...)``: what is not given
        stays as it is; ``merchant_id=None`` or ``api_version=None`` stops sending that
        header. ``headers`` are added to every request (on top of any this client already
        adds) and replace defaults such as ``User-Agent``, in any case.

        The new client sends through the same session and connection pool, waits out the
        same rate-limit hold (and budget) and counts into the same :attr:`stats`. It is a
        view, not a second client: closing either closes both, so close the original when
        the application shuts down, and do not use the view in ``async with``.

        Raises:
            ValueError: ``headers`` names a header the client sets itself
                (``Authorization``, ``x-routing-id``, ``Host``, any ``Proxy-*``, or one that
                frames the message or the connection, such as ``Content-Length`` or
                ``Connection``), a header name is invalid, a value
                holds control characters, or ``timeout`` is not positive.
        """
        settings = self._settings
        if headers or merchant_id is not KEEP or api_version is not KEEP:
            settings = derive_settings(
                settings, headers=headers, merchant_id=merchant_id, api_version=api_version
            )
        # A shallow copy: the transport, stats and tracing are shared, and the fetcher's
        # view shares the rate-limit hold and budget.
        view = copy.copy(self)
        view._settings = settings
        view._fetcher = self._fetcher.derive(
            settings, timeout if timeout is KEEP else check_timeout(timeout)
        )
        if retry is not None:
            view._retry = retry
        return view

    def _for_call(
        self,
        timeout: float | Keep | None,
        headers: Mapping[str, str] | None,
        merchant_id: str | None,
    ) -> AccountsClient:
        """This client, or a view with one call's options."""
        if timeout is KEEP and headers is None and merchant_id is None:
            return self
        return self.with_options(
            timeout=timeout,
            headers=headers,
            merchant_id=KEEP if merchant_id is None else merchant_id,
        )

    async def list_accounts(
        self,
        customer_id: str,
        *,
        offset: int | None = None,
        count: int | None = None,
        routing_id: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | Keep | None = KEEP,
        headers: Mapping[str, str] | None = None,
        merchant_id: str | None = None,
        cache: bool = True,
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
            timeout: Seconds each attempt of this call may take, instead of the client's;
                ``None`` for no limit (the retry policy's ``deadline`` still holds).
            headers: Extra headers for this call (see :meth:`with_options`).
            merchant_id: The ``x-merchantid`` for this call, instead of the client's.
            cache: ``False`` fetches the page even when the client's cache (``cache_ttl``)
                holds it, and keeps the fresh one.

        Returns:
            The page, with the ``offset``, ``count`` and ``total`` Juspay reported, and
            the answer's ``headers``.

        Raises:
            ValueError: ``customer_id`` or ``routing_id`` is empty, contains control
                characters or cannot be encoded (a lone surrogate): an
                :class:`InvalidInputError`; or ``offset`` is negative or ``count`` is below
                1, or an option is refused as :meth:`with_options` refuses it. Nothing is
                sent.
            APIError: Juspay answered with an error (a subclass by status, such as
                :class:`NotFoundError`), after any retries; ``attempts`` says how many.
            APIConnectionError: no usable answer arrived (:class:`APITimeoutError` for
                a timeout), after any retries.
            ResponseValidationError: the answer is not the documented shape.
        """
        client = self._for_call(timeout, headers, merchant_id)
        request = _request.build_list_request(
            client._settings, customer_id, offset=offset, count=count, routing_id=routing_id
        )
        policy = client._retry if retry is None else retry
        return await client._fetcher.page(request, customer_id, offset, policy, use_cache=cache)
