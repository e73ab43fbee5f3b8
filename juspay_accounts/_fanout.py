"""Fan-out: many customers' accounts, at most ``concurrency`` at once, as a stream of results.

Lifetime: the customers' tasks hold neither the :class:`CustomerResultStream` nor the iterator an
``async for`` takes from it (they hold only the fetch function and an :class:`_Inbox`), so
whichever of those is dropped last (after a ``break``, an exception, or simply being
forgotten) is freed at once by reference counting and its ``__del__`` cancels the tasks
then and there. A ``__del__`` on an object the tasks referred to would never run.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any, Final, Self, cast

import attrs

from juspay_accounts._models import CustomerAccount, json_converter
from juspay_accounts.exceptions import ClientClosedError, JuspayError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Iterator
    from types import TracebackType

__all__ = ["CustomerResult", "CustomerResultStream", "refuse_single_id"]

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

    def to_dict(self) -> dict[str, Any]:
        """The outcome as JSON-ready values.

        ``{"customer_id": ..., "status": "ok" | "failed", "accounts": [...], "error": ...}``:
        the accounts as :meth:`CustomerAccount.to_dict` gives them, and ``error`` ``None``
        or ``{"type": "NotFoundError", "message": ..., "status": 404, "code": ...,
        "request_id": ...}`` (``status`` and ``code`` are ``None`` for an error that is not
        Juspay's answer, such as a timeout). The API key is never in it.
        """
        error = self.error
        return {
            "customer_id": self.customer_id,
            "status": "ok" if error is None else "failed",
            "accounts": json_converter().unstructure(self.accounts, list[CustomerAccount]),
            "error": None
            if error is None
            else {
                "type": type(error).__name__,
                "message": str(error),
                "status": getattr(error, "status", None),
                "code": getattr(error, "code", None),
                "request_id": error.request_id,
            },
        }


def refuse_single_id(customer_ids: object) -> None:
    """Refuse a single ``str`` or ``bytes`` given as ids: iterable, but not customer ids."""
    if isinstance(customer_ids, str | bytes | bytearray):
        msg = (
            "customer_ids must be an iterable of ids, not a single id "
            f"({type(customer_ids).__name__}): pass [customer_id]"
        )
        raise TypeError(msg)


async def _one(
    fetch: Callable[[str], Awaitable[tuple[CustomerAccount, ...]]], customer_id: str
) -> CustomerResult:
    """One customer's outcome; a module function, so that its task holds no fan-out.

    A bad id (empty, control characters, a lone surrogate) is an ``InvalidInputError``
    from the request's checks, so it fails this customer alone; an id of a wrong type is a
    ``TypeError``, a programming error that stops the fan-out.
    """
    try:
        return CustomerResult(customer_id, await fetch(customer_id))
    except ClientClosedError:
        raise  # not this customer's failure: the whole fan-out is over
    except JuspayError as exc:
        return CustomerResult(customer_id, (), exc)


async def _read(ids: AsyncIterator[str]) -> object:
    """The next id of an async source, or ``_END``."""
    try:
        return await anext(ids)
    except StopAsyncIteration:
        return _END


class _Inbox:
    """Where finished tasks land, and the waiters woken when anything happens.

    The tasks' done callbacks hold this object, and nothing else of the fan-out. Several
    tasks may read one fan-out at once (workers sharing it): each waits on a future of its
    own, and all are woken, so none is left waiting for a result another has taken.
    """

    __slots__ = ("_waiters", "finished")

    def __init__(self) -> None:
        self.finished: collections.deque[asyncio.Task[CustomerResult]] = collections.deque()
        self._waiters: list[asyncio.Future[None]] = []

    def put(self, task: asyncio.Task[CustomerResult]) -> None:
        self.finished.append(task)
        self.wake()

    def wake(self, _: object = None) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Until a task finishes or the id being read arrives."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            self._waiters.remove(waiter)


class _Run:
    """The state of one fan-out: the ids, the tasks in flight, the results not yet taken."""

    __slots__ = (
        "async_ids",
        "closed",
        "concurrency",
        "exhausted",
        "fetch",
        "inbox",
        "iterated",
        "on_close",
        "reading",
        "seen",
        "source_error",
        "started",
        "sync_ids",
        "tasks",
    )

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[tuple[CustomerAccount, ...]]],
        customer_ids: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int,
        dedupe: bool,
        on_close: Callable[[], None] | None,
    ) -> None:
        self.fetch = fetch
        self.on_close = on_close
        # Iterating starts here but reads nothing: ids are taken only as slots free up.
        self.async_ids: AsyncIterator[str] | None = None
        self.sync_ids: Iterator[str] = iter(())
        if isinstance(customer_ids, AsyncIterable):
            self.async_ids = aiter(customer_ids)
        else:
            self.sync_ids = iter(customer_ids)
        self.concurrency = concurrency
        self.seen: set[str] | None = set() if dedupe else None
        self.started = 0
        self.tasks: set[asyncio.Task[CustomerResult]] = set()
        self.inbox = _Inbox()
        self.reading: asyncio.Task[object] | None = None
        self.source_error: BaseException | None = None
        self.exhausted = False
        self.closed = False
        self.iterated = False  # an ``async for`` (an _Iteration) has started on it

    def start(self, item: object) -> None:
        """Start fetching the customer ``item`` (an id read from the source) unless seen."""
        if item is _END:
            self.exhausted = True
            return
        customer_id = cast("str", item)  # checked (as a str) when its fetch starts
        seen = self.seen
        if seen is not None:
            if customer_id in seen:
                return
            seen.add(customer_id)
        self.started += 1
        task = asyncio.create_task(_one(self.fetch, customer_id))
        # Each task queues itself when done, so waiting for the next result costs the
        # same whatever the concurrency (asyncio.wait on every pending task cost about
        # 40 µs per result at concurrency 64).
        task.add_done_callback(self.inbox.put)
        self.tasks.add(task)

    def top_up(self) -> None:
        """Read ids while a slot is free: a sync source at once, an async one in a task."""
        tasks, concurrency = self.tasks, self.concurrency
        if self.async_ids is None:
            while not self.exhausted and len(tasks) < concurrency:
                try:
                    item = next(self.sync_ids, _END)
                except Exception as exc:  # noqa: BLE001 - the caller's; raised in order
                    self.fail_source(exc)
                    return
                self.start(item)
        elif not self.exhausted and self.reading is None and len(tasks) < concurrency:
            self.reading = asyncio.create_task(_read(self.async_ids))
            self.reading.add_done_callback(self.inbox.wake)

    def take_read(self) -> None:
        """Start the customer whose id the reading task has brought, if it is done."""
        reading = self.reading
        if reading is None or not reading.done():
            return
        self.reading = None
        if reading.cancelled():
            self.fail_source(asyncio.CancelledError())
            return
        failure = reading.exception()
        if failure is not None:
            self.fail_source(failure)
            return
        self.start(reading.result())

    def fail_source(self, exc: BaseException) -> None:
        self.source_error = exc
        self.exhausted = True

    async def next(self) -> CustomerResult | None:
        """The next finished result; ``None`` once the input and the work are done.

        Order: a finished result is handed out as soon as it is there, never kept waiting
        for the next id. When the source has raised, the results already finished come
        first, then the source's exception (the customers still in flight are cancelled).
        """
        finished = self.inbox.finished
        while not self.closed:
            self.take_read()
            self.top_up()
            if finished:
                task = finished.popleft()
                self.tasks.discard(task)
                if task.cancelled():
                    continue
                # Raises the task's exception, which is not a customer's failure (those are
                # results) but a closed client, a bug, or an id of a wrong type.
                return task.result()
            if self.source_error is not None:
                raise self.source_error
            if not self.tasks and self.reading is None:
                return None  # top_up starts reading whenever there is something to read
            await self.inbox.wait()
        return None

    def cancel(self) -> None:
        """Cancel everything in flight, at once (it ends on the loop's next turn)."""
        self.closed = True
        for task in self.tasks:
            task.cancel()
        if self.reading is not None:
            self.reading.cancel()
        on_close, self.on_close = self.on_close, None
        if on_close is not None:
            on_close()

    async def aclose(self) -> None:
        """Cancel the work in flight and wait until it has stopped."""
        self.cancel()
        tasks, reading = self.tasks, self.reading
        self.tasks, self.reading = set(), None
        if tasks or reading is not None:
            also = () if reading is None else (reading,)
            # Every task that finished but was never taken is among them: cancel() above
            # already kept it from warning that its exception was never retrieved.
            await asyncio.gather(*tasks, *also, return_exceptions=True)

    def drop(self) -> None:
        """Stop everything without awaiting: the iteration has been left, or dropped."""
        if self.closed:
            return
        # The loop may already be closed (a fan-out dropped at interpreter exit).
        with contextlib.suppress(RuntimeError):
            # Task.cancel() also keeps a task that has already failed from warning that
            # its exception was never retrieved.
            self.cancel()


async def _next_or_stop(run: _Run) -> CustomerResult:
    try:
        result = await run.next()
    except GeneratorExit:
        # This call is being closed without being awaited to its end (collected after its
        # loop closed): stop the work, but a closing coroutine must not await.
        run.drop()
        raise
    except BaseException:
        # Cancelled, or a bug, a bad id or the source's error surfaced: stop everything
        # before raising.
        await run.aclose()
        raise
    if result is None:
        await run.aclose()
        raise StopAsyncIteration
    return result


class _Iteration(AsyncIterator["CustomerResult"]):
    """What one ``async for`` over a :class:`CustomerResultStream` holds (dropped at its end)."""

    __slots__ = ("_run",)

    def __init__(self, run: _Run) -> None:
        self._run = run
        run.iterated = True

    async def __anext__(self) -> CustomerResult:
        return await _next_or_stop(self._run)

    def __del__(self) -> None:
        # The loop was left (break, return, an exception) or the iterator dropped: no task
        # refers to this object, so this runs at that moment. One loop's end stops the run
        # for every loop reading it, so a count of the live loops would not change a thing.
        self._run.drop()


class CustomerResultStream(AsyncIterator[CustomerResult]):
    """An async iterator of :class:`CustomerResult`, one per customer, as each completes.

    Made by :meth:`AccountsClient.accounts_for_customers`. The ids are read lazily, only
    when a slot is free, so the input may be endless; at most ``concurrency`` customers
    (so at most ``concurrency`` requests) are in flight, and at most that many finished
    results wait for you. A result is handed out as soon as it is finished, even while the
    next id is slow to come.

    Leaving the ``async for`` (``break``, ``return``, an exception), dropping the fan-out,
    or cancelling the task that runs it cancels the work in flight at once: no new request
    starts. A fan-out is iterated once. To also wait until the cancelled work has wound
    down before going on, use it as an async context manager::

        async with client.accounts_for_customers(ids) as results:
            async for result in results:
                ...
    """

    __slots__ = ("_run",)

    def __init__(
        self,
        fetch: Callable[[str], Awaitable[tuple[CustomerAccount, ...]]],
        customer_ids: Iterable[str] | AsyncIterable[str],
        *,
        concurrency: int,
        dedupe: bool = True,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        """Prepare the fan-out; nothing is read or sent until the first result is asked for.

        ``on_close`` is called once, when the fan-out stops (its trace span ends there).
        """
        try:
            self._run = _Run(
                fetch, customer_ids, concurrency=concurrency, dedupe=dedupe, on_close=on_close
            )
        except BaseException:  # ids that are not iterable: the fan-out never starts
            if on_close is not None:
                on_close()
            raise

    def __repr__(self) -> str:
        """Say how far the fan-out has come."""
        run = self._run
        return (
            f"<{type(self).__name__} concurrency={run.concurrency} in_flight={len(run.tasks)} "
            f"started={run.started}{' closed' if run.closed else ''}>"
        )

    def __aiter__(self) -> AsyncIterator[CustomerResult]:  # noqa: PYI034 - a new one per loop
        """An iterator whose end (leaving the ``async for``) cancels the work in flight."""
        return _Iteration(self._run)

    async def __anext__(self) -> CustomerResult:
        """The next customer's result, in the order they complete."""
        return await _next_or_stop(self._run)

    async def aclose(self) -> None:
        """Cancel the work in flight and wait until it has stopped; again, it does nothing."""
        await self._run.aclose()

    async def __aenter__(self) -> Self:
        """Return the fan-out itself."""
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Cancel what is still in flight and wait for it (see :meth:`aclose`)."""
        await self.aclose()

    def __del__(self) -> None:
        """Cancel the work in flight when the fan-out is dropped, unless a loop is reading it."""
        # ``async for result in client.accounts_for_customers(ids)`` drops the fan-out at
        # once and keeps only the iterator: the loop's end is what stops the work then.
        run = getattr(self, "_run", None)  # None: refused when it was made
        if run is not None and not run.iterated:
            run.drop()
