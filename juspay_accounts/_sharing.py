"""One request for many callers: single-flight coalescing and a short cache of pages.

Both are off by default and are per client (its ``with_options`` views share them). A page
is the same page when its request is the same: the same URL (customer, offset, count) and
the same headers (merchant, version, routing id, extra headers).

- **Coalescing** (``coalesce=True``): while a request is in flight, another call for the
  same page waits for its answer instead of sending its own. Every caller gets the result,
  or the failure, of that one request. A caller that is cancelled leaves; the request goes
  on for the others (and is cancelled when nobody waits for it any more). A caller whose
  own deadline ends first gets its own timeout.
- **The cache** (``cache_ttl=seconds``): a page fetched less than ``cache_ttl`` ago is
  returned without a request; errors are never kept. At most ``cache_size`` pages, the
  least recently used dropped first.

Hand-written rather than ``async-lru`` or ``cachetools``: the runtime dependencies stay
aiohttp, attrs, cattrs and tenacity; an ordered dict is the whole LRU, and neither library
shares one in-flight request between callers with different deadlines.
"""

from __future__ import annotations

import asyncio
import collections
from typing import TYPE_CHECKING, Final

from juspay_accounts import _timing
from juspay_accounts._config import positive_int_or_none
from juspay_accounts.exceptions import APITimeoutError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable

    from juspay_accounts._instruments import Instruments
    from juspay_accounts._models import AccountPage
    from juspay_accounts._request import Request

__all__ = ["DEFAULT_CACHE_SIZE", "Sharing", "page_key", "sharing_for"]

DEFAULT_CACHE_SIZE: Final = 1024
"""The most pages a client's cache keeps."""


def page_key(request: Request) -> Hashable:
    """What makes two requests ask for the same page: the URL and every header."""
    return request.url, tuple(sorted(request.headers.items()))


class _Flight:
    """One request in flight, and how many callers wait for it."""

    __slots__ = ("task", "waiting")

    def __init__(self, task: asyncio.Future[AccountPage]) -> None:
        self.task = task
        self.waiting = 0


def _retrieve(task: asyncio.Future[AccountPage]) -> None:
    """Mark a finished flight's failure as seen (its callers may all have left)."""
    if not task.cancelled():
        task.exception()


class Sharing:
    """A client's coalescing and page cache (see the module)."""

    __slots__ = ("_cache", "_coalesce", "_flights", "_instruments", "_loop", "_size", "_ttl")

    def __init__(
        self,
        *,
        coalesce: bool,
        cache_ttl: float | None,
        cache_size: int,
        instruments: Instruments | None = None,
    ) -> None:
        """Nothing in flight, nothing cached; coalesced calls told to ``instruments``."""
        self._instruments = instruments
        self._coalesce = coalesce
        self._ttl = cache_ttl
        self._size = cache_size
        self._cache: collections.OrderedDict[Hashable, tuple[float, AccountPage]] = (
            collections.OrderedDict()
        )
        self._flights: dict[Hashable, _Flight] = {}
        self._loop: asyncio.AbstractEventLoop | None = None

    async def page(
        self,
        key: Hashable,
        fetch: Callable[[], Awaitable[AccountPage]],
        *,
        use_cache: bool,
        deadline: float | None,
        customer_id: str,
    ) -> AccountPage:
        """The page for ``key``: cached, shared with a request in flight, or fetched.

        ``deadline``: this caller's own limit in seconds, when it waits for another's
        request. ``customer_id``: whose page, told to the instruments when coalesced.
        """
        if use_cache and self._ttl is not None:
            cached = self._cache.get(key)
            if cached is not None:
                if cached[0] > _timing.clock():
                    self._cache.move_to_end(key)
                    return cached[1]
                del self._cache[key]
        if not self._coalesce:
            return self._keep(key, await fetch())
        flights = self._flights_of_this_loop()
        flight = flights.get(key)
        if flight is None:
            flight = _Flight(asyncio.ensure_future(self._fetch_and_keep(key, fetch)))
            flights[key] = flight
            flight.task.add_done_callback(_retrieve)
            flight.task.add_done_callback(lambda _task: self._land(key, flight))
            deadline = None  # the request runs under this caller's own policy
        elif self._instruments is not None:
            self._instruments.coalesced(customer_id)
        flight.waiting += 1
        try:
            return await asyncio.wait_for(asyncio.shield(flight.task), deadline)
        except TimeoutError:
            if flight.task.done():
                raise  # the request's own timeout, shared like any failure
            msg = (
                f"no answer within this call's deadline of {deadline:g} s (it waited for "
                "the same page's request, still in flight)"
            )
            raise APITimeoutError(msg) from None
        finally:
            flight.waiting -= 1
            if not flight.waiting and not flight.task.done():
                flight.task.cancel()  # nobody waits for it any more

    def _flights_of_this_loop(self) -> dict[Hashable, _Flight]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a task belongs to one loop; an earlier loop's are gone
            self._loop, self._flights = loop, {}
        return self._flights

    def _land(self, key: Hashable, flight: _Flight) -> None:
        if self._flights.get(key) is flight:
            del self._flights[key]

    async def _fetch_and_keep(
        self, key: Hashable, fetch: Callable[[], Awaitable[AccountPage]]
    ) -> AccountPage:
        return self._keep(key, await fetch())

    def _keep(self, key: Hashable, page: AccountPage) -> AccountPage:
        """Cache a page just fetched (with a cache), dropping the least recently used."""
        if self._ttl is not None:
            self._cache[key] = (_timing.clock() + self._ttl, page)
            self._cache.move_to_end(key)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return page


def sharing_for(
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
