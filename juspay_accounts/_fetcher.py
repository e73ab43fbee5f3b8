"""Fetching pages for the facade: one request under the retry policy, then whole walks.

:class:`PageFetcher` turns a built :class:`~juspay_accounts._request.Request` into an
:class:`~juspay_accounts.AccountPage` (through the transport, under
:func:`~juspay_accounts._retry.call_with_retries`), and drives a
:class:`~juspay_accounts._pagination.PageWalk` page after page. Everything it is given has
been checked where it entered the library (:mod:`._client`), so nothing is checked twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import itertools
from typing import TYPE_CHECKING, Final

import yarl

from juspay_accounts import _request, _response
from juspay_accounts._config import KEEP, Keep
from juspay_accounts._pagination import PageWalk
from juspay_accounts._retry import call_with_retries
from juspay_accounts._sharing import page_key
from juspay_accounts._tracing import Tracing
from juspay_accounts.exceptions import JuspayError

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping

    from opentelemetry.context import Context
    from opentelemetry.trace import Span

    from juspay_accounts._config import Settings
    from juspay_accounts._instruments import Instruments
    from juspay_accounts._models import AccountPage, CustomerAccount
    from juspay_accounts._policy import RetryPolicy
    from juspay_accounts._redact import Secrets
    from juspay_accounts._seam import Wire
    from juspay_accounts._sharing import Sharing
    from juspay_accounts._throttle import Throttle

    CustomerFetch = Callable[[str], Awaitable[tuple[CustomerAccount, ...]]]
    """The fetch of one customer's accounts, as a fan-out runs it."""

__all__ = ["DECODE_OFF_LOOP_BYTES", "PageFetcher", "decode_page"]

DECODE_OFF_LOOP_BYTES: Final = 256 * 1024
"""A success body larger than this is decoded in a worker thread, not on the event loop.

About 700 accounts, a few milliseconds of decoding: below it, the thread's hop costs more
than the stall it saves. Above it, decoding (about 4 µs per account, 40 ms or more for a
10,000-account customer) would stop every other task of the application for that long; in
a thread, the event loop gets the GIL back every ``sys.getswitchinterval()`` (5 ms). See
"Big customers" in docs/design.md.
"""


async def decode_page(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    offset_sent: int | None,
    secrets: Secrets | None = None,
) -> AccountPage:
    """:func:`~juspay_accounts._response.decode_list_response`, off the loop for a large body."""
    if len(body) > DECODE_OFF_LOOP_BYTES:
        return await asyncio.to_thread(
            _response.decode_list_response,
            status,
            headers,
            body,
            offset_sent=offset_sent,
            secrets=secrets,
        )
    return _response.decode_list_response(
        status, headers, body, offset_sent=offset_sent, secrets=secrets
    )


class PageFetcher:
    """Fetch pages over one client's transport, sharing its throttle and its counts.

    Args:
        settings: The client's checked settings (base URL and headers).
        transport: Where requests go.
        timeout: The time limit of one attempt (``None`` for none).
        instruments: The client's stats, retry log and observers (the seam).
        throttle: The client's 429 hold and rate budget: every attempt goes through it.
        sharing: The client's coalescing and page cache, ``None`` when both are off.
        tracing: The client's OpenTelemetry tracing, ``None`` without the otel extra.
    """

    __slots__ = (
        "_instruments",
        "_settings",
        "_sharing",
        "_throttle",
        "_timeout",
        "_transport",
        "_where",
        "tracing",
    )

    def __init__(
        self,
        settings: Settings,
        transport: Wire,
        *,
        timeout: float | None,
        instruments: Instruments,
        throttle: Throttle,
        tracing: Tracing | None = None,
        sharing: Sharing | None = None,
    ) -> None:
        """Nothing is sent yet."""
        self._sharing = sharing
        self.tracing = tracing
        self._settings = settings
        self._transport = transport
        self._timeout = timeout
        self._instruments = instruments
        self._throttle = throttle
        base = yarl.URL(settings.base_url)
        # What the observers are told of where requests go: host, port, scheme.
        self._where = (base.host or "", base.port or 0, base.scheme)

    def derive(self, settings: Settings, timeout: float | Keep | None = KEEP) -> PageFetcher:
        """A fetcher with other settings (and timeout, unless :data:`KEEP`) sharing the rest.

        The throttle (429 hold and budget), the transport, the counts and the tracing are the
        same objects: a ``with_options`` view of a client waits out the same hold.
        """
        view = copy.copy(self)
        view._settings = settings  # noqa: SLF001 - a copy of this same class
        if timeout is not KEEP:
            view._timeout = timeout  # noqa: SLF001 - a copy of this same class
        return view

    async def aclose(self) -> None:
        """Close the throttle's budget (its Redis connections, if any)."""
        await self._throttle.aclose()

    def page(
        self,
        request: _request.Request,
        customer_id: str,
        offset: int | None,
        policy: RetryPolicy,
        parent: Context | None = None,
        *,
        use_cache: bool = True,
    ) -> Awaitable[AccountPage]:
        """Send ``request`` (built once) under ``policy``; decode the page it returns.

        With coalescing or a cache (the client's ``sharing``), the page may come from a
        request in flight or from the cache (``use_cache=False`` skips the cache). When
        tracing, the call's span is a child of ``parent`` (``None``: the current span).
        """
        self._instruments.call_started()
        sharing = self._sharing
        if sharing is None:
            return self._fetch(request, customer_id, offset, policy, parent)
        return sharing.page(
            page_key(request),
            functools.partial(self._fetch, request, customer_id, offset, policy, parent),
            use_cache=use_cache,
            deadline=policy.deadline,
            customer_id=customer_id,
        )

    async def _fetch(
        self,
        request: _request.Request,
        customer_id: str,
        offset: int | None,
        policy: RetryPolicy,
        parent: Context | None,
    ) -> AccountPage:
        """One request under the retry policy, traced when tracing is on, and observed."""
        instruments = self._instruments
        stats = instruments.stats
        transport = self._transport
        send: Callable[
            [_request.Request, float | None], Awaitable[tuple[int, Mapping[str, str], bytes]]
        ] = transport.send
        if instruments.observers:
            send = instruments.observed(send, customer_id, self._where)

        async def attempt(time_limit: float | None) -> AccountPage:
            stats.requests += 1
            status, headers, body = await send(request, time_limit)
            # The decoder keeps these out of any error the answer becomes.
            secrets = transport.secrets(request)
            # decode_page() inlined: a coroutine per page costs more than this test.
            if len(body) > DECODE_OFF_LOOP_BYTES:
                return await decode_page(status, headers, body, offset_sent=offset, secrets=secrets)
            return _response.decode_list_response(
                status, headers, body, offset_sent=offset, secrets=secrets
            )

        tracing = self.tracing
        span = None if tracing is None else tracing.start("list_accounts", customer_id, parent)
        run: Callable[[float | None], Awaitable[AccountPage]] = attempt
        # Untraced, nothing more is made per call: the partials and the span's ending cost
        # about 3k instructions per lookup (docs/performance-notes.md).
        if tracing is not None and span is not None:
            counted = send

            async def count_and_send(
                time_limit: float | None,
            ) -> tuple[int, Mapping[str, str], bytes]:
                stats.requests += 1
                return await counted(request, time_limit)

            async def decode(status: int, headers: Mapping[str, str], body: bytes) -> AccountPage:
                secrets = transport.secrets(request)  # after sending, as above
                return await decode_page(status, headers, body, offset_sent=offset, secrets=secrets)

            run = tracing.attempts(span, count_and_send, decode)
        try:
            page = await call_with_retries(
                run,
                policy=policy,
                attempt_timeout=self._timeout,
                throttle=self._throttle,
                customer_id=customer_id,
                # Set when the client closes: ends the waits between attempts.
                closed=self._transport.closed_event(),
                instruments=instruments,
            )
        except BaseException as exc:
            if span is not None:
                Tracing.end(span, exc, exc.request_id if isinstance(exc, JuspayError) else None)
            raise
        if span is not None:
            Tracing.end(span, None, page.request_id)
        return page

    def _walk_span(
        self, name: str, customer_id: str, parent: Context | None
    ) -> tuple[Span | None, Context | None]:
        """A walk's span (``AccountsClient.<name>``, a child of ``parent``) and its context."""
        tracing = self.tracing
        span = None if tracing is None else tracing.start(name, customer_id, parent)
        if tracing is None or span is None:
            return None, parent
        return span, tracing.context(span)

    async def _next_page(
        self, walk: PageWalk, routing_id: str, policy: RetryPolicy, parent: Context | None
    ) -> AccountPage | None:
        """The walk's one step: the next page, asked for and checked, or ``None`` at the end."""
        offset = walk.next_offset()
        if offset is None:
            return None
        request = _request.build_checked_list_request(
            self._settings, walk.customer_id, routing_id, offset=offset, count=walk.page_size
        )
        return walk.accept(await self.page(request, walk.customer_id, offset, policy, parent))

    async def walk(
        self,
        walk: PageWalk,
        routing_id: str,
        policy: RetryPolicy,
        name: str,
    ) -> AsyncGenerator[AccountPage, None]:
        """Yield each page of ``walk``, without the accounts already yielded.

        When tracing, the walk is one span (``AccountsClient.<name>``) over its pages'.
        """
        span, parent = self._walk_span(name, walk.customer_id, None)
        try:
            while (page := await self._next_page(walk, routing_id, policy, parent)) is not None:
                yield page
        except BaseException as exc:  # closing the generator early included
            _end_walk(span, walk, exc)
            raise
        _end_walk(span, walk, None)

    async def accounts(
        self,
        walk: PageWalk,
        routing_id: str,
        policy: RetryPolicy,
        parent: Context | None = None,
    ) -> tuple[CustomerAccount, ...]:
        """Every account of ``walk``, as one tuple (one ``all_accounts`` span).

        The same steps as :meth:`walk`, in a coroutine rather than an async generator: a
        walk run to its end needs none, and asyncio refuses one started while the loop
        shuts down (a clean-up's ``all_accounts`` or fan-out would warn, or fail under
        ``-W error``).
        """
        span, parent = self._walk_span("all_accounts", walk.customer_id, parent)
        pages: list[tuple[CustomerAccount, ...]] = []
        try:
            while (page := await self._next_page(walk, routing_id, policy, parent)) is not None:
                pages.append(page.accounts)
        except BaseException as exc:
            _end_walk(span, walk, exc)
            raise
        _end_walk(span, walk, None)
        # Most customers fit in one page: hand on its tuple without copying it.
        return pages[0] if len(pages) == 1 else tuple(itertools.chain.from_iterable(pages))

    @staticmethod
    async def accounts_in(
        pages: AsyncGenerator[AccountPage, None],
    ) -> AsyncGenerator[CustomerAccount, None]:
        """Each account of each page, in order; closing it closes ``pages``."""
        async with contextlib.aclosing(pages):
            async for page in pages:
                for account in page.accounts:
                    yield account

    def fan_out(
        self, *, page_size: int | None, max_pages: int | None, policy: RetryPolicy
    ) -> tuple[CustomerFetch, Callable[[], None] | None]:
        """What a fan-out runs for each customer, and what ends its span (when tracing)."""
        tracing = self.tracing

        def fetcher(parent: Context | None) -> CustomerFetch:
            return functools.partial(
                self.customer_accounts,
                page_size=page_size,
                max_pages=max_pages,
                policy=policy,
                parent=parent,
            )

        if tracing is None:
            return fetcher(None), None
        return tracing.fan_out(fetcher)

    async def customer_accounts(
        self,
        customer_id: str,
        *,
        page_size: int | None,
        max_pages: int | None,
        policy: RetryPolicy,
        parent: Context | None = None,
    ) -> tuple[CustomerAccount, ...]:
        """One customer of a fan-out: its id checked here, once; its limits by the fan-out.

        A bad id is an InvalidInputError that fails this customer alone.
        """
        routing = _request.check_ids(customer_id, None)
        walk = PageWalk(customer_id, page_size=page_size, max_pages=max_pages)
        return await self.accounts(walk, routing, policy, parent)


def _end_walk(span: Span | None, walk: PageWalk, exc: BaseException | None) -> None:
    """End a walk's span (if tracing), with the number of pages it fetched."""
    if span is not None:
        span.set_attribute("juspay.pages", walk.pages)
        Tracing.end(span, exc)
