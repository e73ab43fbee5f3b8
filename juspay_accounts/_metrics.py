"""OpenTelemetry metrics of the client's requests (the optional ``otel`` extra): an observer.

What is recorded, by OpenTelemetry's HTTP client semantic conventions where they say:

* ``http.client.request.duration`` (histogram, seconds): one point per request sent (each
  attempt), with ``http.request.method``, ``server.address``, ``server.port``,
  ``url.scheme``, and ``http.response.status_code`` when an answer came, ``error.type``
  when the attempt failed;
* ``juspay.client.retries`` (counter): retries decided, with ``error.type``;
* ``juspay.client.retry_budget.refusals`` (counter): retries the budget refused;
* ``juspay.client.rate_limit.waits`` (counter) and ``juspay.client.rate_limit.wait``
  (histogram, seconds): calls that waited for the rate limit, and how long;
* ``juspay.client.coalesced_calls`` (counter): calls that shared another's request.

No customer id, key, account data or error message is in any attribute: only the fixed
host, port, scheme and method, a status code and an error's class name.

Off costs (almost) nothing: with the global provider and no SDK configured, the observer
is not installed; :meth:`MeterWatch.check` then costs one attribute read per call until an
SDK's provider appears (as tracing does).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final

import yarl

from juspay_accounts._instruments import Observer

try:
    from opentelemetry import metrics as otel_metrics
except ImportError:  # pragma: no cover - a test hides the module, in a subprocess
    HAVE_OTEL_METRICS = False
else:
    HAVE_OTEL_METRICS = True

if TYPE_CHECKING:
    from juspay_accounts._instruments import Instruments, RequestEvent, RetryEvent

__all__ = ["HAVE_OTEL_METRICS", "MeterWatch", "Metrics", "make_meter_watch"]

_LOG: Final = logging.getLogger("juspay_accounts")
_SCOPE: Final = "juspay_accounts"
_UNKNOWN: Final = object()


class Metrics(Observer):
    """Records the client's events as OpenTelemetry metrics (see the module)."""

    def __init__(self, meter: Any, base_url: str) -> None:  # noqa: ANN401 - an otel Meter
        """Create the instruments on ``meter``."""
        url = yarl.URL(base_url)
        self._common: dict[str, str | int] = {
            "http.request.method": "GET",
            "server.address": url.host or "",
            "server.port": url.port or 0,
            "url.scheme": url.scheme,
        }
        self._duration = meter.create_histogram(
            "http.client.request.duration",
            unit="s",
            description="Duration of HTTP client requests.",
        )
        self._retries = meter.create_counter(
            "juspay.client.retries", unit="{retry}", description="Retries decided."
        )
        self._refusals = meter.create_counter(
            "juspay.client.retry_budget.refusals",
            unit="{retry}",
            description="Retries the client's retry budget refused.",
        )
        self._waits = meter.create_counter(
            "juspay.client.rate_limit.waits",
            unit="{call}",
            description="Calls that waited for the rate limit.",
        )
        self._wait = meter.create_histogram(
            "juspay.client.rate_limit.wait",
            unit="s",
            description="How long calls waited for the rate limit.",
        )
        self._coalesced = meter.create_counter(
            "juspay.client.coalesced_calls",
            unit="{call}",
            description="Calls that shared a request already in flight.",
        )

    def on_request(self, event: RequestEvent) -> None:
        """One point of the request-duration histogram."""
        attributes = dict(self._common)
        if event.status is not None:
            attributes["http.response.status_code"] = event.status
        if event.error_type is not None:
            attributes["error.type"] = event.error_type
        self._duration.record(event.duration, attributes)

    def on_retry(self, event: RetryEvent) -> None:
        """Count a retry, by the failure's type."""
        self._retries.add(1, {"error.type": event.error_type})

    def on_retry_refused(self, event: RetryEvent) -> None:
        """Count a refusal, by the failure's type."""
        self._refusals.add(1, {"error.type": event.error_type})

    def on_rate_limit_wait(self, seconds: float) -> None:
        """Count a wait, and how long it was."""
        self._waits.add(1)
        self._wait.record(seconds)

    def on_coalesced(self, customer_id: str) -> None:
        """Count a call that shared a request (never its customer)."""
        del customer_id
        self._coalesced.add(1)


class MeterWatch:
    """Installs :class:`Metrics` on a client's instruments once a meter provider exists.

    Given a provider, at once. Else the global one, once the application has set an SDK's:
    until then each call costs one check (the API keeps the global provider in a module
    variable), and metrics start with the first call after it is set.
    """

    __slots__ = ("_base_url", "_done", "_provider")

    def __init__(self, provider: Any, base_url: str) -> None:  # noqa: ANN401 - a MeterProvider
        """Watch for ``provider`` (``None``: the global one)."""
        self._provider = provider
        self._base_url = base_url
        self._done = False

    def check(self, instruments: Instruments) -> bool:
        """Install the metrics observer if a provider is there now; ``True`` once settled."""
        if self._done:
            return True
        provider = self._provider
        if provider is None:
            if getattr(otel_metrics._internal, "_METER_PROVIDER", _UNKNOWN) is None:  # noqa: SLF001
                return False  # no SDK yet: ask again at the next call (one attribute read)
            provider = otel_metrics.get_meter_provider()
        self._done = True
        if isinstance(provider, otel_metrics.NoOpMeterProvider):
            return True
        try:
            from juspay_accounts._version import __version__  # noqa: PLC0415 - once

            meter = provider.get_meter(_SCOPE, __version__)
            instruments.add(Metrics(meter, self._base_url))
        except Exception as exc:  # noqa: BLE001 - metrics never fail a call
            _LOG.warning("metrics are off: the meter provider failed (%s)", type(exc).__name__)
        return True


def make_meter_watch(provider: Any, base_url: str) -> MeterWatch | None:  # noqa: ANN401
    """A :class:`MeterWatch` with the otel extra installed, else ``None`` (metrics off).

    Raises:
        ValueError: a ``meter_provider`` is given without the otel extra.
        TypeError: ``meter_provider`` has no ``get_meter``.
    """
    if not HAVE_OTEL_METRICS:
        if provider is not None:
            msg = "meter_provider needs the otel extra (see the README's install section)"
            raise ValueError(msg)
        return None
    if provider is not None and not callable(getattr(provider, "get_meter", None)):
        msg = (
            f"meter_provider must be an OpenTelemetry MeterProvider, got {type(provider).__name__}"
        )
        raise TypeError(msg)
    return MeterWatch(provider, base_url)
