"""The public facade, :class:`AccountsClient`: one call, a page walk or a fan-out.

It checks what the caller passes, once, where it enters; builds each request with
:mod:`._request`; and leaves sending, retrying and walking pages to
:class:`._fetcher.PageFetcher` over :class:`._transport.Transport`.
"""

from __future__ import annotations

import copy
import functools
import itertools
import logging
from typing import TYPE_CHECKING, Any, Final, Self

from juspay_accounts import _request
from juspay_accounts._environments import api_key_from_environment, base_url_from_environment
from juspay_accounts._fanout import CustomerResult, CustomerResultStream, refuse_single_id
from juspay_accounts._fetcher import PageFetcher
from juspay_accounts._instruments import Instruments, Observer
from juspay_accounts._metrics import make_meter_watch
from juspay_accounts._pagination import DEFAULT_MAX_PAGES, PageWalk, positive_int_or_none
from juspay_accounts._policy import RetryPolicy
from juspay_accounts._ratelimit import RateLimit, open_store
from juspay_accounts._request import KEEP, Keep
from juspay_accounts._sharing import DEFAULT_CACHE_SIZE, Sharing
from juspay_accounts._stats import ClientStats
from juspay_accounts._throttle import Throttle
from juspay_accounts._tracing import Tracing, make_tracing
from juspay_accounts._transport import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_USER_AGENT,
    make_transport,
)
from juspay_accounts.exceptions import ClientClosedError, JuspayError

if TYPE_CHECKING:
    import ssl
    from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Mapping
    from types import TracebackType

    import aiohttp

    from juspay_accounts._models import AccountPage, CustomerAccount
    from juspay_accounts._seam import AsyncTransport

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_TIMEOUT", "AccountsClient"]

DEFAULT_TIMEOUT: Final = 30.0
"""Seconds one request may take, from connecting to the last byte of the body."""

DEFAULT_CONCURRENCY: Final = 16
"""How many customers a fan-out fetches at once unless told otherwise."""

_LOG: Final = logging.getLogger("juspay_accounts")


def _sharing_for(
    *, coalesce: bool, cache_ttl: float | None, cache_size: int, instruments: Instruments
) -> Sharing | None:
    """The client's coalescing and cache, checked; ``None`` when both are off (no cost)."""
    flag: object = coalesce  # checked at run time: a string is an easy mistake
    ttl: object = cache_ttl
    if not isinstance(flag, bool):
        msg = f"coalesce must be True or False, got {coalesce!r}"
        raise TypeError(msg)
    if ttl is not None and (
        isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl < float("inf")
    ):
        msg = f"cache_ttl must be a positive number of seconds or None, got {cache_ttl!r}"
        raise ValueError(msg)
    positive_int_or_none(cache_size, "cache_size")
    if not coalesce and cache_ttl is None:
        return None
    return Sharing(
        coalesce=coalesce, cache_ttl=cache_ttl, cache_size=cache_size, instruments=instruments
    )


def _check_timeout(timeout: float | None) -> float | None:
    given: object = timeout  # checked at run time: aiohttp's own ClientTimeout is an easy mistake
    if given is not None and (isinstance(given, bool) or not isinstance(given, int | float)):
        msg = (
            f"timeout must be seconds as a number (timeout=30.0) or None, "
            f"not {type(given).__name__}: the client makes aiohttp's timeout from it"
        )
        raise TypeError(msg)
    if timeout is not None and not timeout > 0:  # also refuses NaN
        msg = f"timeout must be a positive number of seconds or None, got {timeout!r}"
        raise ValueError(msg)
    return timeout


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
            ``trust_env``, ``ssl_context``, ``max_connections`` or ``max_response_bytes``,
            which configure the aiohttp transport.
        max_connections: The size of the connection pool of a session the client
            creates (ignored when ``session`` is given).
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
        self._settings = _request.make_settings(
            api_key=api_key_from_environment() if api_key is None else api_key,
            base_url=base_url_from_environment() if base_url is None else base_url,
            user_agent=DEFAULT_USER_AGENT if user_agent is None else user_agent,
            merchant_id=merchant_id,
            api_version=api_version,
            allow_insecure_http=allow_insecure_http,
        )
        _check_timeout(timeout)
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
            sharing=_sharing_for(
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
            settings = _request.derive_settings(
                settings, headers=headers, merchant_id=merchant_id, api_version=api_version
            )
        # A shallow copy: the transport, stats and tracing are shared, and the fetcher's
        # view shares the rate-limit hold and budget.
        view = copy.copy(self)
        view._settings = settings
        view._fetcher = self._fetcher.derive(
            settings, None if timeout is KEEP else (_check_timeout(timeout),)
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
        # The common call, with no per-call option, is checked here without a call.
        client = (
            self
            if timeout is KEEP and headers is None and merchant_id is None
            else self._for_call(timeout, headers, merchant_id)
        )
        request = _request.build_list_request(
            client._settings, customer_id, offset=offset, count=count, routing_id=routing_id
        )
        policy = client._retry if retry is None else retry
        return await client._fetcher.page(request, customer_id, offset, policy, use_cache=cache)

    def _policy(self, retry: RetryPolicy | None) -> RetryPolicy:
        return self._retry if retry is None else retry

    def iter_pages(
        self,
        customer_id: str,
        *,
        page_size: int | None = None,
        routing_id: str | None = None,
        max_pages: int | None = DEFAULT_MAX_PAGES,
        retry: RetryPolicy | None = None,
        timeout: float | Keep | None = KEEP,
        headers: Mapping[str, str] | None = None,
        merchant_id: str | None = None,
    ) -> AsyncGenerator[AccountPage, None]:
        """Walk every page of a customer's accounts: ``async for page in client.iter_pages(...)``.

        The first request asks for ``offset=0`` (and ``count=page_size`` when given); each
        next offset is the previous one plus the accounts actually received, because the
        server may return fewer than asked. The walk ends when the offset reaches ``total``
        or a page comes back empty. Every page's request gets the full retry policy and the
        same routing id. One page is held in memory at a time.

        If ``total`` changes mid-walk, the walk logs a warning and never yields the same
        ``customer_account_id`` twice (a page comes back without the accounts already
        yielded). A growing total is followed; a shrinking one (an account deleted, so
        later ones moved back) sends the walk again from offset 0, so that no account
        present for the whole walk is missed.

        Args:
            customer_id: The customer.
            page_size: The ``count`` to ask for; ``None`` asks for everything at once.
            routing_id: The ``x-routing-id`` for every page; defaults to ``customer_id``.
            max_pages: Refuse to fetch more than this many pages (a guard against a server
                that never ends): :data:`DEFAULT_MAX_PAGES` (1000) unless given; ``None``
                for no bound.
            retry: Overrides the client's retry policy for every page.
            timeout: As in :meth:`list_accounts`, for every page's attempts.
            headers: As in :meth:`list_accounts`, for every page.
            merchant_id: As in :meth:`list_accounts`, for every page.

        Raises:
            PaginationError: a page came back at another offset than asked, held only
                accounts already yielded while ``total`` stood still, ``total`` kept
                shrinking, or the walk needed more than ``max_pages`` pages.
            JuspayError: as :meth:`list_accounts` raises for any page.
        """
        # Checked here, at the call, and never again for the pages.
        client = self._for_call(timeout, headers, merchant_id)
        walk = PageWalk.checked(customer_id, page_size=page_size, max_pages=max_pages)
        routing = _request.check_ids(customer_id, routing_id)
        return client._fetcher.walk(walk, routing, client._policy(retry), "iter_pages")

    def iter_accounts(
        self,
        customer_id: str,
        *,
        page_size: int | None = None,
        routing_id: str | None = None,
        max_pages: int | None = DEFAULT_MAX_PAGES,
        retry: RetryPolicy | None = None,
        timeout: float | Keep | None = KEEP,
        headers: Mapping[str, str] | None = None,
        merchant_id: str | None = None,
    ) -> AsyncGenerator[CustomerAccount, None]:
        """Every account of a customer, page after page, each once (see :meth:`iter_pages`)."""
        client = self._for_call(timeout, headers, merchant_id)
        walk = PageWalk.checked(customer_id, page_size=page_size, max_pages=max_pages)
        routing = _request.check_ids(customer_id, routing_id)
        pages = client._fetcher.walk(walk, routing, client._policy(retry), "iter_accounts")
        return PageFetcher.accounts_in(pages)

    async def all_accounts(
        self,
        customer_id: str,
        *,
        page_size: int | None = None,
        routing_id: str | None = None,
        max_pages: int | None = DEFAULT_MAX_PAGES,
        retry: RetryPolicy | None = None,
        timeout: float | Keep | None = KEEP,
        headers: Mapping[str, str] | None = None,
        merchant_id: str | None = None,
    ) -> list[CustomerAccount]:
        """Every account of a customer as a list, across all pages (see :meth:`iter_pages`)."""
        client = self._for_call(timeout, headers, merchant_id)
        walk = PageWalk.checked(customer_id, page_size=page_size, max_pages=max_pages)
        routing = _request.check_ids(customer_id, routing_id)
        pages = await client._fetcher.pages_of(walk, routing, client._policy(retry))
        return list(itertools.chain.from_iterable(pages))

    def accounts_for_customers(
        self,
        customer_ids: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        page_size: int | None = None,
        max_pages: int | None = DEFAULT_MAX_PAGES,
        retry: RetryPolicy | None = None,
        dedupe: bool = True,
        timeout: float | Keep | None = KEEP,
        headers: Mapping[str, str] | None = None,
        merchant_id: str | None = None,
    ) -> CustomerResultStream:
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
            timeout: As in :meth:`list_accounts`, for every request's attempts.
            headers: As in :meth:`list_accounts`, for every request.
            merchant_id: As in :meth:`list_accounts`, for every request.
            dedupe: Fetch each distinct id once (the ids seen are remembered, about 100 to
                160 bytes each, for as long as the fan-out runs). Pass ``False`` for an
                endless source: memory then stays flat, and a repeated id is fetched (and
                yielded) again.

        Returns:
            A :class:`CustomerResultStream`: an async iterator, also an async context
            manager. Leaving the ``async for`` early (or dropping the iterator, or
            cancelling the task running it) cancels the work in flight at once.

        Raises:
            TypeError: ``customer_ids`` is a single ``str`` or ``bytes``, not ids.
        """
        refuse_single_id(customer_ids)
        # Checked once, here; each customer's walk trusts them.
        positive_int_or_none(concurrency, "concurrency")
        positive_int_or_none(page_size, "page_size")
        positive_int_or_none(max_pages, "max_pages")
        client = self._for_call(timeout, headers, merchant_id)
        pool = self._transport.pool_size
        if pool is not None and concurrency > pool:
            _LOG.warning(
                "concurrency %d is above max_connections %d: requests will queue for "
                "connections; raise max_connections",
                concurrency,
                pool,
            )

        tracing = self._tracing
        span = None if tracing is None else tracing.start("accounts_for_customers", None, None)
        fetch = functools.partial(
            client._fetcher.customer_accounts,
            page_size=page_size,
            max_pages=max_pages,
            policy=client._policy(retry),
            parent=None if tracing is None else tracing.context(span),
        )
        if span is None:
            return CustomerResultStream(fetch, customer_ids, concurrency=concurrency, dedupe=dedupe)
        counts = {"juspay.customers": 0, "juspay.failed_customers": 0}

        async def counted(customer_id: str) -> tuple[CustomerAccount, ...]:
            counts["juspay.customers"] += 1
            try:
                return await fetch(customer_id)
            except JuspayError:
                counts["juspay.failed_customers"] += 1
                raise

        def end() -> None:
            span.set_attributes(counts)
            Tracing.end(span)

        return CustomerResultStream(
            counted, customer_ids, concurrency=concurrency, dedupe=dedupe, on_close=end
        )

    @property
    def _tracing(self) -> Tracing | None:
        return self._fetcher.tracing

    async def gather_accounts(
        self,
        customer_ids: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        page_size: int | None = None,
        max_pages: int | None = DEFAULT_MAX_PAGES,
        retry: RetryPolicy | None = None,
        timeout: float | Keep | None = KEEP,
        headers: Mapping[str, str] | None = None,
        merchant_id: str | None = None,
    ) -> dict[str, CustomerResult]:
        """Run :meth:`accounts_for_customers` to the end; return the results by customer id.

        Ids are always de-duplicated here: the dictionary holds one entry per id anyway.

        Raises:
            TypeError: ``customer_ids`` is a single ``str`` or ``bytes``, not ids.
        """
        results: dict[str, CustomerResult] = {}
        async with self.accounts_for_customers(
            customer_ids,
            concurrency=concurrency,
            page_size=page_size,
            max_pages=max_pages,
            retry=retry,
            timeout=timeout,
            headers=headers,
            merchant_id=merchant_id,
        ) as fan_out:
            async for result in fan_out:
                results[result.customer_id] = result
        return results
