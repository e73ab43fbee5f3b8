"""OpenTelemetry traces of the client's calls (the optional ``otel`` extra).

Only ``opentelemetry-api`` is imported, and only if it is installed: without it the client
holds ``None`` instead of a :class:`Tracing` and its only cost is that one attribute check.
With the API but no SDK configured, the first call asks the API for the global provider
(reading the environment); later calls only check that none has been set since, and start
no span (see docs/performance-notes.md).

What is recorded, and what never is:

* one span per logical call (``AccountsClient.list_accounts``), its parent the caller's
  current span, or the walk's or fan-out's span;
* under it, one ``CLIENT`` span per HTTP attempt, named and described by the HTTP client
  semantic conventions: ``http.request.method``, ``server.address``, ``server.port``,
  ``url.template`` (never the URL, which holds the customer id),
  ``http.response.status_code``, ``error.type``, ``http.request.resend_count``, and
  Juspay's request id as ``juspay.request_id``;
* a walk (``iter_pages``, ``iter_accounts``, ``all_accounts``) and a fan-out get a parent
  span of their own.

No attribute, status description or event holds the API key, an account number, a VPA or
an exception's message (which can quote the customer id); the customer id itself is
recorded (``juspay.customer_id``) only with ``trace_customer_ids=True``.

Tracing never fails a call: the application's provider, tracer, span processors and
exporters run inside the library's calls, so every use of them goes through
:class:`Tracing`, which catches what they raise. The first failure of a client is logged
at WARNING (later ones at DEBUG), and the call it happened in goes on untraced: each span
the library starts is a guarded span (:class:`_GuardedSpan`) whose methods catch and report
a failure and then stop touching the span, except to end it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final, TypeVar

import yarl

from juspay_accounts.exceptions import JuspayError

try:
    from opentelemetry import trace as otel_trace
except ImportError:  # pragma: no cover - a test hides the module, in a subprocess
    HAVE_OTEL = False
else:
    HAVE_OTEL = True

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from opentelemetry.context import Context
    from opentelemetry.trace import Span, SpanContext, Status, StatusCode, Tracer, TracerProvider
    from opentelemetry.util import types

    from juspay_accounts._models import AccountPage

__all__ = ["HAVE_OTEL", "Tracing", "make_tracing"]

_LOG: Final = logging.getLogger("juspay_accounts")
_SCOPE: Final = "juspay_accounts"
_UNKNOWN: Final = object()
_TEMPLATE: Final = "/customers/{customer_id}/customer-accounts/list"
_T = TypeVar("_T")


def _error_type(exc: BaseException) -> str:
    """The exception's fully qualified class name: never its message."""
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


_FAILURE_CHARS: Final = 200
"""How much of a tracing failure's message the log record keeps."""

_FAILED: Final = (
    "tracing failed in %s (%s: %s); the call goes on untraced (further tracing failures "
    "of this client are logged at DEBUG)"
)
# What the extra brings, named so that the line works before a release too.
_NEEDS_OTEL: Final = (
    "tracer_provider needs OpenTelemetry (the otel extra): "
    "python -m pip install 'opentelemetry-api>=1.27'"
)


class _Health:
    """Whether one call's tracing still works; shared by the call's span and its attempts'."""

    __slots__ = ("ok", "tracing")

    def __init__(self, tracing: Tracing) -> None:
        self.ok = True
        self.tracing = tracing

    def fail(self, exc: Exception, what: str) -> None:
        """Tracing failed in ``what``: the call goes on untraced; say so (once at WARNING)."""
        self.ok = False
        self.tracing.failed(exc, what)


if HAVE_OTEL:

    class _GuardedSpan(otel_trace.Span):
        """A span of the application's SDK whose every method is kept from failing a call.

        What a span processor or exporter raises (in ``on_end``, through :meth:`end`), or a
        span method raises, is caught and reported once per client; the call's tracing then
        stops, except that a span started is still ended.
        """

        __slots__ = ("_ended", "_health", "_span")

        def __init__(self, span: Span, health: _Health) -> None:
            self._span = span
            self._health = health
            self._ended = False

        def get_span_context(self) -> SpanContext:
            return self._span.get_span_context()

        def is_recording(self) -> bool:
            if self._health.ok:
                try:
                    return self._span.is_recording()
                except Exception as exc:  # noqa: BLE001 - tracing must never fail a call
                    self._health.fail(exc, "Span.is_recording")
            return False

        def set_attribute(self, key: str, value: types.AttributeValue) -> None:
            if self._health.ok:
                try:
                    self._span.set_attribute(key, value)
                except Exception as exc:  # noqa: BLE001 - tracing must never fail a call
                    self._health.fail(exc, "Span.set_attribute")

        def set_attributes(self, attributes: Mapping[str, types.AttributeValue]) -> None:
            if self._health.ok:
                try:
                    self._span.set_attributes(attributes)
                except Exception as exc:  # noqa: BLE001 - tracing must never fail a call
                    self._health.fail(exc, "Span.set_attributes")

        def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
            if self._health.ok:
                try:
                    self._span.set_status(status, description)
                except Exception as exc:  # noqa: BLE001 - tracing must never fail a call
                    self._health.fail(exc, "Span.set_status")

        def add_event(
            self,
            name: str,
            attributes: types.Attributes = None,
            timestamp: int | None = None,
        ) -> None:
            if self._health.ok:
                try:
                    self._span.add_event(name, attributes, timestamp)
                except Exception as exc:  # noqa: BLE001 - tracing must never fail a call
                    self._health.fail(exc, "Span.add_event")

        def update_name(self, name: str) -> None:
            if self._health.ok:
                try:
                    self._span.update_name(name)
                except Exception as exc:  # noqa: BLE001 - tracing must never fail a call
                    self._health.fail(exc, "Span.update_name")

        def record_exception(
            self,
            exception: BaseException,
            attributes: types.Attributes = None,
            timestamp: int | None = None,
            escaped: bool = False,  # noqa: FBT001, FBT002 - the API's own signature
        ) -> None:
            del exception, attributes, timestamp, escaped  # an exception's message never

        def end(self, end_time: int | None = None) -> None:
            # Ended even after a failure: an SDK keeps a span started and never ended.
            if self._ended:
                return
            self._ended = True
            try:
                self._span.end(end_time)
            except Exception as exc:  # noqa: BLE001 - e.g. a span processor's on_end
                self._health.fail(exc, "Span.end (a span processor's on_end, an exporter)")


class Tracing:
    """One client's tracing: finds its tracer, starts and ends the spans.

    Args:
        provider: The tracer provider given to the client, or ``None`` for the global one,
            looked up at each call until the application has configured one.
        base_url: The client's base URL, for ``server.*`` and ``url.template``.
        trace_customer_ids: Whether spans record the customer id.
    """

    __slots__ = (
        "_asked",
        "_attempt_attributes",
        "_attempt_name",
        "_customer_ids",
        "_provider",
        "_tracer",
        "_warned",
    )

    def __init__(
        self, provider: TracerProvider | None, *, base_url: str, trace_customer_ids: bool
    ) -> None:
        """Prepare the attributes every attempt span shares; no tracer is looked up yet."""
        self._provider = provider
        self._tracer: Tracer | None = None
        self._asked = False
        self._warned = False
        self._customer_ids = trace_customer_ids
        url = yarl.URL(base_url)
        template = url.path.rstrip("/") + _TEMPLATE
        self._attempt_name = f"GET {template}"
        self._attempt_attributes: Mapping[str, str | int] = {
            "http.request.method": "GET",
            "server.address": url.host or "",
            "server.port": url.port or 0,
            "url.template": template,
        }

    def tracer(self) -> Tracer | None:
        """The tracer to use, or ``None`` while no SDK is configured (nothing to record)."""
        if self._tracer is not None:
            return self._tracer
        if (
            self._asked
            and self._provider is None
            and getattr(otel_trace, "_TRACER_PROVIDER", _UNKNOWN) is None
        ):
            # Asked before, and still no global provider: get_tracer_provider() would look
            # OTEL_PYTHON_TRACER_PROVIDER up in the environment again, about 8k
            # instructions per call. The API keeps the global provider in this module
            # variable; where a version does not, every call asks as below. (So the
            # environment is read at the first call: a provider named there later is not.)
            return None
        self._asked = True
        provider = self._provider
        if provider is None:
            try:
                provider = otel_trace.get_tracer_provider()
            except Exception as exc:  # noqa: BLE001 - tracing must never fail a call
                # e.g. OTEL_PYTHON_TRACER_PROVIDER naming a provider that is not installed:
                # the API raises StopIteration, which a coroutine turns into RuntimeError.
                _LOG.warning(
                    "tracing is off: OpenTelemetry's global tracer provider could not be "
                    "loaded (%s: %s)",
                    type(exc).__name__,
                    exc,
                )
                return None
        if isinstance(provider, otel_trace.ProxyTracerProvider | otel_trace.NoOpTracerProvider):
            return None  # the API's placeholder: an SDK may be configured later
        self._tracer = self._tracer_of(provider)
        return self._tracer

    def _tracer_of(self, provider: TracerProvider) -> Tracer | None:
        """The provider's tracer for this library, or ``None`` (disabled, or it failed)."""
        from juspay_accounts._version import __version__  # noqa: PLC0415 - once per client

        try:
            tracer = provider.get_tracer(_SCOPE, __version__)
        except Exception as exc:  # noqa: BLE001 - tracing must never fail a call
            self.failed(exc, "TracerProvider.get_tracer")
            return None  # asked again at the next call
        # A NoOpTracer: e.g. OTEL_SDK_DISABLED=true.
        return None if isinstance(tracer, otel_trace.NoOpTracer) else tracer

    def start(self, name: str, customer_id: str | None, parent: Context | None) -> Span | None:
        """Start a logical call's span (``AccountsClient.<name>``), or ``None`` when off."""
        tracer = self.tracer()
        if tracer is None:
            return None
        try:
            started = tracer.start_span(f"AccountsClient.{name}", parent)
        except Exception as exc:  # noqa: BLE001 - e.g. a span processor's on_start
            self.failed(exc, "Tracer.start_span (a span processor's on_start)")
            return None
        span = _GuardedSpan(started, _Health(self))
        if self._customer_ids and customer_id is not None:
            span.set_attribute("juspay.customer_id", customer_id)
        return span

    def context(self, span: Span | None) -> Context | None:
        """The context that makes ``span`` the parent of the spans started with it."""
        if span is None:
            return None
        return otel_trace.set_span_in_context(span)

    def failed(self, exc: Exception, what: str) -> None:
        """Report a failure inside tracing: at WARNING the first time for this client."""
        text = " ".join(str(exc).split())[:_FAILURE_CHARS]
        level = logging.DEBUG if self._warned else logging.WARNING
        self._warned = True
        _LOG.log(level, _FAILED, what, type(exc).__name__, text)

    @staticmethod
    def end(
        span: Span | None, exc: BaseException | None = None, request_id: str | None = None
    ) -> None:
        """End ``span``; an error marks it failed with the error's class, never its message."""
        if span is None:
            return
        if request_id is not None:
            span.set_attribute("juspay.request_id", request_id)
        if isinstance(exc, Exception):  # a cancellation or a closed generator is no failure
            span.set_attribute("error.type", _error_type(exc))
            span.set_status(otel_trace.StatusCode.ERROR, type(exc).__name__)
        span.end()

    def fan_out(
        self, fetcher: Callable[[Context | None], Callable[[str], Awaitable[_T]]]
    ) -> tuple[Callable[[str], Awaitable[_T]], Callable[[], None] | None]:
        """A fan-out's span: each customer's fetch counted under it, and what ends it.

        ``fetcher(parent)`` is the fetch of one customer whose spans are children of
        ``parent``. The span (``AccountsClient.accounts_for_customers``) ends when the
        fan-out closes, with ``juspay.customers`` and ``juspay.failed_customers``.
        """
        span = self.start("accounts_for_customers", None, None)
        fetch = fetcher(self.context(span))
        if span is None:
            return fetch, None
        counts = {"juspay.customers": 0, "juspay.failed_customers": 0}

        async def counted(customer_id: str) -> _T:
            counts["juspay.customers"] += 1
            try:
                return await fetch(customer_id)
            except JuspayError:
                counts["juspay.failed_customers"] += 1
                raise

        def end() -> None:
            span.set_attributes(counts)
            Tracing.end(span)

        return counted, end

    def attempts(
        self,
        call: Span,
        send: Callable[[float | None], Awaitable[tuple[int, Mapping[str, str], bytes]]],
        decode: Callable[[int, Mapping[str, str], bytes], Awaitable[AccountPage]],
    ) -> Callable[[float | None], Awaitable[AccountPage]]:
        """Wrap one call's attempt so that each attempt is a ``CLIENT`` span under ``call``."""
        trace = otel_trace
        tracer = self._tracer
        assert tracer is not None  # noqa: S101 - ``call`` was started with it
        assert isinstance(call, _GuardedSpan)  # noqa: S101 - started by start()
        health = call._health  # noqa: SLF001 - the call's and its attempts' health is one
        parent = trace.set_span_in_context(call)
        name, attributes = self._attempt_name, self._attempt_attributes
        sent = 0

        async def untraced(time_limit: float | None) -> AccountPage:
            return await decode(*await send(time_limit))

        async def attempt(time_limit: float | None) -> AccountPage:
            nonlocal sent
            if not health.ok:  # tracing failed earlier in this call: it goes on untraced
                return await untraced(time_limit)
            try:
                started = tracer.start_span(
                    name, parent, kind=trace.SpanKind.CLIENT, attributes=attributes
                )
            except Exception as exc:  # noqa: BLE001 - e.g. a span processor's on_start
                health.fail(exc, "Tracer.start_span (a span processor's on_start)")
                return await untraced(time_limit)
            span = _GuardedSpan(started, health)
            if sent:
                span.set_attribute("http.request.resend_count", sent)
            sent += 1
            call.set_attribute("juspay.attempts", sent)
            error: str | None = None
            try:
                status, headers, body = await send(time_limit)
                span.set_attribute("http.response.status_code", status)
                request_id = headers.get("x-request-id")
                if request_id is not None:
                    span.set_attribute("juspay.request_id", request_id)
                if status >= 400:  # noqa: PLR2004 - the semantic conventions' error range
                    error = str(status)
                return await decode(status, headers, body)
            except Exception as exc:
                error = error or _error_type(exc)
                raise
            finally:
                if error is not None:
                    span.set_attribute("error.type", error)
                    span.set_status(trace.StatusCode.ERROR, error)
                span.end()

        return attempt


def make_tracing(
    provider: Any,  # noqa: ANN401 - a TracerProvider, when the API is installed
    *,
    base_url: str,
    trace_customer_ids: bool,
) -> Tracing | None:
    """A :class:`Tracing` when ``opentelemetry-api`` is installed, else ``None`` (tracing off)."""
    if not HAVE_OTEL:
        if provider is not None:
            raise ValueError(_NEEDS_OTEL)
        return None
    if provider is not None and not (
        isinstance(provider, otel_trace.TracerProvider)
        or callable(getattr(provider, "get_tracer", None))
    ):
        msg = (
            "tracer_provider must be an OpenTelemetry TracerProvider (such as "
            "opentelemetry.sdk.trace.TracerProvider()) or None for the global one, "
            f"got {type(provider).__name__}"
        )
        raise TypeError(msg)
    return Tracing(provider, base_url=base_url, trace_customer_ids=trace_customer_ids)
