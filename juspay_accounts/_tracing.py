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
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

import yarl

try:
    from opentelemetry import trace as otel_trace
except ImportError:  # pragma: no cover - a test hides the module, in a subprocess
    HAVE_OTEL = False
else:
    HAVE_OTEL = True

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from opentelemetry.context import Context
    from opentelemetry.trace import Span, Tracer, TracerProvider

    from juspay_accounts._models import AccountPage

__all__ = ["HAVE_OTEL", "Tracing", "make_tracing"]

_LOG: Final = logging.getLogger("juspay_accounts")
_SCOPE: Final = "juspay_accounts"
_UNKNOWN: Final = object()
_TEMPLATE: Final = "/customers/{customer_id}/customer-accounts/list"


def _error_type(exc: BaseException) -> str:
    """The exception's fully qualified class name: never its message."""
    cls = type(exc)
    return f"{cls.__module__}.{cls.__qualname__}"


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
    )

    def __init__(
        self, provider: TracerProvider | None, *, base_url: str, trace_customer_ids: bool
    ) -> None:
        """Prepare the attributes every attempt span shares; no tracer is looked up yet."""
        self._provider = provider
        self._tracer: Tracer | None = None
        self._asked = False
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
        from juspay_accounts._version import __version__  # noqa: PLC0415 - once per client

        tracer = provider.get_tracer(_SCOPE, __version__)
        if isinstance(tracer, otel_trace.NoOpTracer):
            return None  # e.g. OTEL_SDK_DISABLED=true
        self._tracer = tracer
        return tracer

    def start(
        self,
        name: str,
        customer_id: str | None,
        parent: Context | None,
        attributes: Mapping[str, int] | None = None,
    ) -> Span | None:
        """Start a logical call's span (``AccountsClient.<name>``), or ``None`` when off."""
        tracer = self.tracer()
        if tracer is None:
            return None
        span = tracer.start_span(f"AccountsClient.{name}", parent, attributes=attributes)
        if self._customer_ids and customer_id is not None:
            span.set_attribute("juspay.customer_id", customer_id)
        return span

    def context(self, span: Span | None) -> Context | None:
        """The context that makes ``span`` the parent of the spans started with it."""
        if span is None:
            return None
        return otel_trace.set_span_in_context(span)

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

    def attempts(
        self,
        call: Span,
        send: Callable[[float | None], Awaitable[tuple[int, Mapping[str, str], bytes]]],
        decode: Callable[[int, Mapping[str, str], bytes], AccountPage],
    ) -> Callable[[float | None], Awaitable[AccountPage]]:
        """Wrap one call's attempt so that each attempt is a ``CLIENT`` span under ``call``."""
        trace = otel_trace
        tracer = self.tracer()
        assert tracer is not None  # noqa: S101 - ``call`` was started with it
        parent = trace.set_span_in_context(call)
        name, attributes = self._attempt_name, self._attempt_attributes
        sent = 0

        async def attempt(time_limit: float | None) -> AccountPage:
            nonlocal sent
            span = tracer.start_span(
                name, parent, kind=trace.SpanKind.CLIENT, attributes=attributes
            )
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
                return decode(status, headers, body)
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
            # What the extra brings, named so that the line works before a release too.
            msg = (
                "tracer_provider needs OpenTelemetry (the otel extra): "
                "python -m pip install 'opentelemetry-api>=1.27'"
            )
            raise ValueError(msg)
        return None
    return Tracing(provider, base_url=base_url, trace_customer_ids=trace_customer_ids)
