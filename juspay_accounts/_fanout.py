"""Fan-out: every account of many customers, at most ``concurrency`` requests at a time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Final, Self, cast

import attrs

from juspay_accounts.exceptions import ClientClosedError, JuspayError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Iterator
    from types import TracebackType

    from juspay_accounts._models import CustomerAccount

__all__ = ["CustomerResult", "FanOut"]

_END: Final = object()
"""Marks the end of the input ids (``None`` could be an id, if a wrong one)."""


@attrs.frozen
class CustomerResult:
    """The outcome of fetching one customer's accounts in a fan-out.

    Attributes:
        customer_id: The customer.
        accounts: Every account across all pages, each once (empty when ``error`` is set).
        error: The error that ended this customer (after retries), or ``None``.
    """

    customer_id: str
    accounts: tuple[CustomerAccount, ...] = ()
    error: JuspayError | None = None

    @property
    def ok(self) -> bool:
        """Whether every account was fetched."""
        return self.error is None


class FanOut(AsyncIterator[CustomerResult]):
    """An async iterator of :class:`CustomerResult`, one per distinct customer, as each completes.

    Made by :meth:`AccountsClient.accounts_for_customers`. The ids are read lazily, only
    when a slot is free, so the input may be endless; at most ``concurrency`` customers
    (so at most ``concurrency`` requests) are in flight, and at most that many finished
    results wait for you.

    Leaving the ``async for`` early, or cancelling the task that runs it, cancels the work
    in flight. For cleanup that is finished when the block ends, use it as an async
    context manager::

        async with client.accounts_for_customers(ids) as results:
            async for result in results:
                ...
    """

    __slots__ = (
        "_async_ids",
        "_closed",
        "_concurrency",
        "_exhausted",
        "_fetch",
        "_finished",
        "_seen",
        "_sync_ids",
        "_tasks",
    )

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[list[CustomerAccount]]],
        customer_ids: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int,
    ) -> None:
        """Prepare the fan-out; nothing is read or sent until the first ``__anext__``."""
        self._fetch = fetch
        # Iterating starts here but reads nothing: ids are taken only as slots free up.
        self._async_ids: AsyncIterator[str] | None = None
        self._sync_ids: Iterator[str] = iter(())
        if isinstance(customer_ids, AsyncIterable):
            self._async_ids = aiter(customer_ids)
        else:
            self._sync_ids = iter(customer_ids)
        self._concurrency = concurrency
        self._seen: set[str] = set()
        self._tasks: set[asyncio.Task[CustomerResult]] = set()
        self._finished: asyncio.Queue[asyncio.Task[CustomerResult]] = asyncio.Queue()
        self._exhausted = False
        self._closed = False

    def __repr__(self) -> str:
        """Say how far the fan-out has come."""
        return (
            f"<FanOut concurrency={self._concurrency} in_flight={len(self._tasks)} "
            f"seen={len(self._seen)}{' closed' if self._closed else ''}>"
        )

    async def _one(self, customer_id: str) -> CustomerResult:
        try:
            return CustomerResult(customer_id, tuple(await self._fetch(customer_id)))
        except ClientClosedError:
            raise  # not this customer's failure: the whole fan-out is over
        except JuspayError as exc:
            return CustomerResult(customer_id, (), exc)

    async def _top_up(self) -> None:
        """Start customers until ``concurrency`` are in flight or the input runs out."""
        seen, tasks = self._seen, self._tasks
        while not self._exhausted and len(tasks) < self._concurrency:
            item: object
            if self._async_ids is not None:
                try:
                    item = await anext(self._async_ids)
                except StopAsyncIteration:
                    item = _END
            else:
                item = next(self._sync_ids, _END)
            if item is _END:
                self._exhausted = True
                return
            customer_id = cast("str", item)  # checked (as a str) when its request is built
            if customer_id in seen:
                continue
            seen.add(customer_id)
            task = asyncio.create_task(self._one(customer_id))
            # Each task queues itself when done, so waiting for the next result costs the
            # same whatever the concurrency (asyncio.wait on every pending task cost about
            # 40 µs per result at concurrency 64).
            task.add_done_callback(self._finished.put_nowait)
            tasks.add(task)

    async def __anext__(self) -> CustomerResult:
        """The next customer's result, in the order they complete."""
        try:
            result = await self._next_result()
        except BaseException:
            # Cancelled, or a bug or a bad id surfaced: stop everything before raising.
            await self.aclose()
            raise
        if result is None:
            await self.aclose()
            raise StopAsyncIteration
        return result

    async def _next_result(self) -> CustomerResult | None:
        while not self._closed:
            await self._top_up()
            if not self._tasks:
                return None
            task = await self._finished.get()
            self._tasks.discard(task)
            if task.cancelled():
                continue
            # A task's exception is not a customer's failure (those are results) but a
            # closed client, a bug, or an id of a wrong type.
            failure = task.exception()
            if failure is not None:
                raise failure
            return task.result()
        return None

    async def aclose(self) -> None:
        """Cancel the work in flight and wait until it has stopped; again, it does nothing."""
        self._closed = True
        tasks, self._tasks = self._tasks, set()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        while not self._finished.empty():  # finished but never taken: retrieve their outcome
            task = self._finished.get_nowait()
            if not task.cancelled():
                task.exception()

    async def __aenter__(self) -> Self:
        """Return the fan-out itself."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Cancel what is still in flight (see :meth:`aclose`)."""
        await self.aclose()

    def __del__(self) -> None:
        """Cancel the work in flight when the iterator is dropped, e.g. after a ``break``."""
        for task in self._tasks:
            # The loop may already be closed (a fan-out dropped at interpreter exit).
            with contextlib.suppress(RuntimeError):
                task.cancel()
