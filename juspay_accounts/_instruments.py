"""The instrumentation seam: what happened, told once, to everyone who counts or logs it.

The retry loop, the fetcher, the throttle and the page sharing report events here, and
nowhere else: a request (attempt) ended, a retry was decided or refused, a call waited for
the rate limit, a call shared another's request. :class:`Instruments` keeps the client's
:class:`~juspay_accounts.ClientStats`, writes the retry log record, and hands each event to
the observers: the OpenTelemetry metrics (:mod:`._metrics`, with the ``otel`` extra) and
any :class:`Observer` of the user's (``AccountsClient(observers=[...])``). Adding a metric
is one file: an observer.

An observer that raises never fails a call: the error is logged at WARNING, once per
observer, and the observer is skipped for that event. With no observer, an event costs a
counter's increment and one check.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Final, Protocol

import attrs

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping

    from juspay_accounts._request import Request
    from juspay_accounts._stats import ClientStats

__all__ = ["Instruments", "Observer", "RequestEvent", "RetryEvent"]

_LOG: Final = logging.getLogger("juspay_accounts")


@attrs.frozen(kw_only=True)
class RequestEvent:
    """One HTTP request (one attempt of a call) ended, with an answer or without one.

    Attributes:
        customer_id: The customer the request was about (it identifies a person: keep it
            out of metric labels).
        attempt: 1 for a call's first attempt, 2 for its first retry, and so on.
        status: The answer's HTTP status, or ``None`` when no answer came.
        error_type: Why the attempt failed, as OpenTelemetry's ``error.type`` has it: the
            status code as text for an HTTP error, the exception's class name when no
            answer came or it could not be read; ``None`` for a success.
        duration: Seconds from sending to the answer read (or the failure).
        server_address: The host requests go to.
        server_port: Its port.
        url_scheme: ``"https"`` (or ``"http"`` for a loopback fake).
    """

    customer_id: str
    attempt: int
    status: int | None
    error_type: str | None
    duration: float
    server_address: str
    server_port: int
    url_scheme: str


@attrs.frozen(kw_only=True)
class RetryEvent:
    """A failed attempt of a call is retried (or, refused by the retry budget, is not).

    Attributes:
        customer_id: The customer (keep it out of metric labels).
        attempt: The attempt that failed.
        status: Its HTTP status, or ``None`` when no answer came.
        error_type: The error's class name.
        delay: Seconds the call waits before the retry (0.0 when it is refused).
    """

    customer_id: str
    attempt: int
    status: int | None
    error_type: str
    delay: float


class Observer:
    """Told what the client does; subclass it and override what you need (all do nothing).

    Pass instances as ``AccountsClient(observers=[...])``. Methods are called in the
    event loop, synchronously: keep them quick (increment a counter, append to a
    list), never blocking. An exception raised in one is logged once at WARNING and
    never reaches the call.
    """

    def on_request(self, event: RequestEvent) -> None:
        """An HTTP request (an attempt) ended."""

    def on_retry(self, event: RetryEvent) -> None:
        """A failed attempt will be retried after ``event.delay`` seconds."""

    def on_retry_refused(self, event: RetryEvent) -> None:
        """A failed attempt would have been retried, but the retry budget was spent."""

    def on_rate_limit_wait(self, seconds: float) -> None:
        """A call waited ``seconds`` for the rate limit (a token, or a 429's hold)."""

    def on_coalesced(self, customer_id: str) -> None:
        """A call shared a request already in flight for the same page (``coalesce=True``)."""


class Watch(Protocol):
    """Something that adds an observer once it can (the metrics, once a provider is set)."""

    def check(self, instruments: Instruments) -> bool:
        """Add the observer if it can now; ``True`` once there is nothing more to do."""
        ...


class Instruments:
    """One client's stats, retry log and observers (shared by its ``with_options`` views)."""

    __slots__ = ("_broken", "_watch", "observers", "stats")

    def __init__(
        self,
        stats: ClientStats,
        observers: Iterable[Observer] = (),
        watch: Watch | None = None,
    ) -> None:
        """Count into ``stats``; tell ``observers``; let ``watch`` add the metrics later.

        Raises:
            TypeError: an observer is not an :class:`Observer`.
        """
        self.stats = stats
        given: tuple[object, ...] = tuple(observers)  # checked at run time
        for observer in given:
            if not isinstance(observer, Observer):
                msg = (
                    "observers must be juspay_accounts.Observer instances (subclass it), got "
                    f"{type(observer).__name__}"
                )
                raise TypeError(msg)
        self.observers: tuple[Observer, ...] = tuple(observers)
        self._broken: set[int] = set()
        self._watch = watch

    def call_started(self) -> None:
        """Before a call: let the watch add the metrics once a meter provider is set."""
        watch = self._watch
        if watch is not None and watch.check(self):
            self._watch = None

    def observed(
        self,
        send: Callable[[Request, float | None], Awaitable[tuple[int, Mapping[str, str], bytes]]],
        customer_id: str,
        where: tuple[str, int, str],
    ) -> Callable[[Request, float | None], Awaitable[tuple[int, Mapping[str, str], bytes]]]:
        """``send``, telling the observers of each request: its outcome and duration."""
        attempt = 0
        address, port, scheme = where

        async def observed_send(
            request: Request, time_limit: float | None
        ) -> tuple[int, Mapping[str, str], bytes]:
            nonlocal attempt
            attempt += 1
            started = time.perf_counter()
            status: int | None = None
            error_type: str | None = None
            try:
                answer = await send(request, time_limit)
            except Exception as exc:
                error_type = type(exc).__name__
                raise
            else:
                status = answer[0]
                if status >= 400:  # noqa: PLR2004 - the semantic conventions' error range
                    error_type = str(status)
                return answer
            finally:
                self.request(
                    RequestEvent(
                        customer_id=customer_id,
                        attempt=attempt,
                        status=status,
                        error_type=error_type,
                        duration=time.perf_counter() - started,
                        server_address=address,
                        server_port=port,
                        url_scheme=scheme,
                    )
                )

        return observed_send

    def add(self, observer: Observer) -> None:
        """Tell ``observer`` too from now on (the metrics, once a meter provider is set)."""
        self.observers = (*self.observers, observer)

    def _tell(self, method: str, *args: object) -> None:
        for observer in self.observers:
            try:
                getattr(observer, method)(*args)
            except Exception as exc:  # noqa: BLE001 - an observer never fails a call
                if id(observer) not in self._broken:
                    self._broken.add(id(observer))
                    _LOG.warning(
                        "observer %s failed in %s (%s); calls go on without it for that event",
                        type(observer).__name__,
                        method,
                        type(exc).__name__,
                    )

    def request(self, event: RequestEvent) -> None:
        """An attempt ended (only made when someone observes: see :attr:`observers`)."""
        self._tell("on_request", event)

    def retry(self, event: RetryEvent, max_attempts: int, request_id: str | None) -> None:
        """A retry was decided: count it, log it (INFO), tell the observers."""
        self.stats.retries += 1
        # INFO, not WARNING: a retry usually succeeds, and when retries run out the caller
        # gets the error itself.
        failure = f"HTTP {event.status}" if event.status is not None else event.error_type
        _LOG.info(
            "customer %s: attempt %d of %d failed (%s, request id %s); retrying in %.3f s",
            event.customer_id,
            event.attempt,
            max_attempts,
            failure,
            request_id,
            event.delay,
            extra={
                "juspay_customer_id": event.customer_id,
                "juspay_attempt": event.attempt,
                "juspay_status": event.status,
                "juspay_error": event.error_type,
                "juspay_request_id": request_id,
                "juspay_delay": event.delay,
            },
        )
        if self.observers:
            self._tell("on_retry", event)

    def retry_refused(self, event: RetryEvent) -> None:
        """The retry budget refused a retry."""
        if self.observers:
            self._tell("on_retry_refused", event)

    def rate_limit_wait(self, seconds: float) -> None:
        """A call waited for the rate limit."""
        if self.observers:
            self._tell("on_rate_limit_wait", seconds)

    def coalesced(self, customer_id: str) -> None:
        """A call shared another's request."""
        if self.observers:
            self._tell("on_coalesced", customer_id)
