"""Fetching pages for the facade: one request under the retry policy, then whole walks.

:class:`PageFetcher` turns a built :class:`~juspay_accounts._request.Request` into an
:class:`~juspay_accounts.AccountPage` (through the transport, under
:func:`~juspay_accounts._retry.call_with_retries`), and drives a
:class:`~juspay_accounts._pagination.PageWalk` page after page. Everything it is given has
been checked where it entered the library (:mod:`._client`), so nothing is checked twice.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import TYPE_CHECKING

from juspay_accounts import _request, _response
from juspay_accounts._pagination import PageWalk
from juspay_accounts._retry import RateLimitHold, RetryPolicy, call_with_retries

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable

    from juspay_accounts._models import AccountPage, CustomerAccount
    from juspay_accounts._ratelimit import Budget
    from juspay_accounts._stats import ClientStats
    from juspay_accounts._transport import Transport

__all__ = ["PageFetcher"]


class PageFetcher:
    """Fetch pages over one client's transport, sharing its rate-limit hold and its counts.

    Args:
        settings: The client's checked settings (base URL and headers).
        transport: Where requests go.
        timeout: The time limit of one attempt (``None`` for none).
        stats: Where retries are counted (the transport counts requests).
        budget: The client's rate limit, opened (``None`` for none): every attempt takes
            a token from it, and a 429's hold is shared through it.
    """

    __slots__ = ("_budget", "_hold", "_settings", "_stats", "_timeout", "_transport")

    def __init__(
        self,
        settings: _request.Settings,
        transport: Transport,
        *,
        timeout: float | None,
        stats: ClientStats,
        budget: Budget | None = None,
    ) -> None:
        """Start with no rate-limit hold; nothing is sent yet."""
        self._settings = settings
        self._transport = transport
        self._timeout = timeout
        self._stats = stats
        self._budget = budget
        self._hold = RateLimitHold()

    async def aclose(self) -> None:
        """Close the rate-limit budget (its Redis connection, if any)."""
        if self._budget is not None:
            await self._budget.aclose()

    async def page(
        self,
        request: _request.Request,
        customer_id: str,
        offset: int | None,
        policy: RetryPolicy,
    ) -> AccountPage:
        """Send ``request`` (built once) under ``policy``; decode the page it returns."""

        async def attempt(time_limit: float | None) -> AccountPage:
            status, headers, body = await self._transport.send(request, time_limit)
            return _response.decode_list_response(status, headers, body, offset_sent=offset)

        return await call_with_retries(
            attempt,
            policy=policy,
            attempt_timeout=self._timeout,
            hold=self._hold,
            customer_id=customer_id,
            # Set when the client closes: ends the waits between attempts.
            closed=self._transport.closed_event(),
            stats=self._stats,
            budget=self._budget,
        )

    def _walk_page(
        self, walk: PageWalk, offset: int, routing_id: str, policy: RetryPolicy
    ) -> Awaitable[AccountPage]:
        request = _request.build_checked_list_request(
            self._settings, walk.customer_id, routing_id, offset=offset, count=walk.page_size
        )
        return self.page(request, walk.customer_id, offset, policy)

    async def walk(
        self, walk: PageWalk, routing_id: str, policy: RetryPolicy
    ) -> AsyncGenerator[AccountPage, None]:
        """Yield each page of ``walk``, without the accounts already yielded."""
        while (offset := walk.next_offset()) is not None:
            yield walk.accept(await self._walk_page(walk, offset, routing_id, policy))

    @staticmethod
    async def accounts_in(
        pages: AsyncGenerator[AccountPage, None],
    ) -> AsyncGenerator[CustomerAccount, None]:
        """Each account of each page, in order; closing it closes ``pages``."""
        async with contextlib.aclosing(pages):
            async for page in pages:
                for account in page.accounts:
                    yield account

    async def pages_of(
        self, walk: PageWalk, routing_id: str, policy: RetryPolicy
    ) -> list[tuple[CustomerAccount, ...]]:
        """The accounts of each page of ``walk``, in order."""
        # The same walk as walk(), as a plain loop: the fan-out runs it once per customer,
        # and skipping the async generator saves about 10 µs each.
        pages: list[tuple[CustomerAccount, ...]] = []
        while (offset := walk.next_offset()) is not None:
            page = await self._walk_page(walk, offset, routing_id, policy)
            pages.append(walk.accept(page).accounts)
        return pages

    async def customer_accounts(
        self,
        customer_id: str,
        *,
        page_size: int | None,
        max_pages: int | None,
        policy: RetryPolicy,
    ) -> tuple[CustomerAccount, ...]:
        """One customer of a fan-out: its id checked here, once; its limits by the fan-out.

        A bad id is an InvalidInputError that fails this customer alone.
        """
        routing = _request.check_ids(customer_id, None)
        walk = PageWalk(customer_id, page_size=page_size, max_pages=max_pages)
        pages = await self.pages_of(walk, routing, policy)
        # Most customers fit in one page: hand on its tuple without copying it.
        return pages[0] if len(pages) == 1 else tuple(itertools.chain.from_iterable(pages))
