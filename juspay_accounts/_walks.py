"""The facade's walks and fan-outs: every page of a customer, or of many customers at once.

:class:`Walks` holds the methods of :class:`~juspay_accounts.AccountsClient` that walk
pages (``iter_pages``, ``iter_accounts``, ``all_accounts``) and fan out over customers
(``accounts_for_customers``, ``gather_accounts``); the client inherits them. They check
what the caller passes, once, and leave the walking to the fetcher.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final

from juspay_accounts import _request
from juspay_accounts._config import DEFAULT_CONCURRENCY, KEEP, Keep, positive_int_or_none
from juspay_accounts._fanout import CustomerResult, CustomerResultStream, refuse_single_id
from juspay_accounts._fetcher import PageFetcher
from juspay_accounts._pagination import DEFAULT_MAX_PAGES, PageWalk

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterable, Iterable, Mapping

    from juspay_accounts._models import AccountPage, CustomerAccount
    from juspay_accounts._policy import RetryPolicy
    from juspay_accounts._seam import Wire

__all__ = ["Walks"]

_LOG: Final = logging.getLogger("juspay_accounts")


class Walks:
    """The walk and fan-out methods of :class:`~juspay_accounts.AccountsClient`."""

    __slots__ = ()

    # What the client provides (see AccountsClient).
    _fetcher: PageFetcher
    _retry: RetryPolicy
    _transport: Wire

    def _for_call(
        self,
        timeout: float | Keep | None,
        headers: Mapping[str, str] | None,
        merchant_id: str | None,
    ) -> Walks:
        raise NotImplementedError

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
        return list(await client._fetcher.accounts(walk, routing, client._policy(retry)))

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

        # The fetch of each customer, and (when tracing) what ends the fan-out's span.
        fetch, on_close = client._fetcher.fan_out(
            page_size=page_size, max_pages=max_pages, policy=client._policy(retry)
        )
        return CustomerResultStream(
            fetch, customer_ids, concurrency=concurrency, dedupe=dedupe, on_close=on_close
        )

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
