"""OpenTelemetry traces: the spans a call, a walk and a fan-out make, and what they never hold."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import subprocess
import sys
import textwrap
from typing import TYPE_CHECKING, Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk import trace as sdk_trace
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

import juspay_accounts as ja
from juspay_accounts import _tracing
from juspay_accounts.testing import FakeJuspay, Fault, MockResponse, MockTransport

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from pathlib import Path

    from opentelemetry.context import Context

_ATTEMPT = "GET /customers/{customer_id}/customer-accounts/list"


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    """An in-memory exporter collecting every finished span."""
    return InMemorySpanExporter()


@pytest.fixture
def provider(exporter: InMemorySpanExporter) -> Iterator[TracerProvider]:
    """An SDK tracer provider that exports to ``exporter`` as each span ends."""
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield tracer_provider
    tracer_provider.shutdown()


def _client(
    fake: FakeJuspay,
    provider: TracerProvider,
    **kwargs: Any,  # noqa: ANN401 - passed through to AccountsClient
) -> ja.AccountsClient:
    policy = ja.RetryPolicy().without_waiting()
    return ja.AccountsClient(
        fake.api_key, base_url=fake.url, retry=policy, tracer_provider=provider, **kwargs
    )


def _by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [s for s in spans if s.name == name]


def _parent_id(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def _span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return int(span.context.span_id)


@pytest.mark.asyncio
async def test_retried_call_gives_one_call_span_and_two_attempt_spans(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A call retried once: one call span, two CLIENT attempt spans under it, 503 then 200."""
    fake.add_account("cst_1")
    fake.inject(Fault.respond(503, "busy", headers={"x-request-id": "r-first"}))
    async with _client(fake, provider) as client:
        page = await client.list_accounts("cst_1")
    spans = exporter.get_finished_spans()
    assert 3 == len(spans)
    (call,) = _by_name(spans, "AccountsClient.list_accounts")
    attempts = _by_name(spans, _ATTEMPT)
    assert [_span_id(call)] * 2 == [_parent_id(a) for a in attempts]
    assert [trace.SpanKind.CLIENT] * 2 == [a.kind for a in attempts]
    first, second = (dict(a.attributes or {}) for a in attempts)
    port = int(fake.url.rsplit(":", 1)[1])
    assert {
        "http.request.method": "GET",
        "server.address": "127.0.0.1",
        "server.port": port,
        "url.template": "/customers/{customer_id}/customer-accounts/list",
        "http.response.status_code": 503,
        "error.type": "503",
        "juspay.request_id": "r-first",
    } == first
    assert 200 == second["http.response.status_code"]
    assert 1 == second["http.request.resend_count"]
    assert "error.type" not in second
    assert page.request_id == second["juspay.request_id"]
    assert [trace.StatusCode.ERROR, trace.StatusCode.UNSET] == [
        a.status.status_code for a in attempts
    ]
    assert trace.StatusCode.UNSET == call.status.status_code
    assert page.request_id == (call.attributes or {})["juspay.request_id"]
    assert 2 == (call.attributes or {})["juspay.attempts"]


@pytest.mark.asyncio
async def test_spans_carry_the_library_as_their_scope(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Every span's instrumentation scope is this library, at its version."""
    fake.add_account("cst_1")
    async with _client(fake, provider) as client:
        await client.list_accounts("cst_1")
    scopes = {
        (s.instrumentation_scope.name, s.instrumentation_scope.version)
        for s in exporter.get_finished_spans()
        if s.instrumentation_scope is not None
    }
    assert {("juspay_accounts", ja.__version__)} == scopes


@pytest.mark.asyncio
async def test_a_400_attempt_is_failed_with_its_status_as_the_description(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """400 is the first status of the error range: the attempt span says ``400`` twice."""
    fake.add_account("cst_1")
    fake.inject(Fault.respond(400, "bad"))
    async with _client(fake, provider) as client:
        with pytest.raises(ja.APIError):
            await client.list_accounts("cst_1")
    (attempt,) = _by_name(exporter.get_finished_spans(), _ATTEMPT)
    assert "400" == (attempt.attributes or {})["error.type"]
    assert (trace.StatusCode.ERROR, "400") == (
        attempt.status.status_code,
        attempt.status.description,
    )


@pytest.mark.asyncio
async def test_a_traced_attempt_keeps_its_time_limit(provider: TracerProvider) -> None:
    """Tracing wraps each attempt; the transport is still given the attempt's time limit."""
    transport = _Recording()
    async with ja.AccountsClient(
        "key_123456789",
        transport=transport,
        timeout=7.5,
        tracer_provider=provider,
        retry=ja.RetryPolicy(deadline=None).without_waiting(),
    ) as client:
        await client.list_accounts("cst_1")
    assert [7.5, 7.5] == transport.limits


@pytest.mark.asyncio
async def test_failed_call_span_names_the_error_class_only(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A 404 marks both spans failed: the status code on the attempt, the class on the call."""
    async with _client(fake, provider) as client:
        with pytest.raises(ja.NotFoundError):
            await client.list_accounts("cst_missing")
    (call,) = _by_name(exporter.get_finished_spans(), "AccountsClient.list_accounts")
    (attempt,) = _by_name(exporter.get_finished_spans(), _ATTEMPT)
    assert "404" == (attempt.attributes or {})["error.type"]
    assert "juspay_accounts.exceptions.NotFoundError" == (call.attributes or {})["error.type"]
    assert (trace.StatusCode.ERROR, "NotFoundError") == (
        call.status.status_code,
        call.status.description,
    )
    assert () == call.events  # no exception event: its message could name the customer


@pytest.mark.asyncio
async def test_failed_call_span_keeps_the_request_id(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A call that fails records the request id of the answer it failed on, as on success."""
    fake.inject(Fault.respond(403, "no", headers={"x-request-id": "req-refused"}))
    async with _client(fake, provider) as client:
        with pytest.raises(ja.APIError) as failed:
            await client.list_accounts("cst_1")
    assert "req-refused" == failed.value.request_id
    (call,) = _by_name(exporter.get_finished_spans(), "AccountsClient.list_accounts")
    assert "req-refused" == (call.attributes or {})["juspay.request_id"]


@pytest.mark.asyncio
async def test_cancelled_call_ends_its_span_as_no_failure(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Cancelling a traced call raises CancelledError and ends its span, not marked failed."""
    fake.inject(Fault.answer_late(30.0))
    async with _client(fake, provider) as client:
        call_task = asyncio.create_task(client.list_accounts("cst_1"))
        async with asyncio.timeout(5):  # a bound on the failure, not a wait: it takes ms
            while not fake.in_flight:  # noqa: ASYNC110 - polling the fake server's counter
                await asyncio.sleep(0.005)
        call_task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call_task
    (call,) = _by_name(exporter.get_finished_spans(), "AccountsClient.list_accounts")
    assert trace.StatusCode.UNSET == call.status.status_code
    assert "error.type" not in (call.attributes or {})


@pytest.mark.asyncio
async def test_connection_failure_attempt_span(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """An attempt that gets no answer has no status code and names the error class."""
    async with FakeJuspay() as fake:
        url, key = fake.url, fake.api_key
    async with ja.AccountsClient(
        key, base_url=url, retry=ja.RetryPolicy.disabled(), tracer_provider=provider
    ) as client:
        with pytest.raises(ja.APIConnectionError):
            await client.list_accounts("cst_1")
    (attempt,) = _by_name(exporter.get_finished_spans(), _ATTEMPT)
    attributes = dict(attempt.attributes or {})
    assert "http.response.status_code" not in attributes
    assert "juspay_accounts.exceptions.APIConnectionError" == attributes["error.type"]


@pytest.mark.asyncio
async def test_spans_never_hold_secrets_or_personal_data(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """No span holds the API key, an account number, a VPA or (by default) the customer id."""
    customer = "cst_person_4417"
    bank = fake.make_bank_account(name="Asha Rao")
    fake.add_account(customer, bank_account=bank)
    fake.add_account(customer, vpa="asha.rao@okhdfc")
    fake.inject(Fault.respond(500, '{"error_message": "account 99 for cst_person_4417"}'))
    async with _client(fake, provider) as client:
        await client.list_accounts(customer)
        await client.gather_accounts([customer, "cst_gone"], page_size=1)
        with pytest.raises(ja.NotFoundError):
            await client.all_accounts("cst_gone")
    spans = exporter.get_finished_spans()
    text = " ".join(span.to_json() for span in spans)
    assert len(spans) > 5
    for secret in (fake.api_key, bank["account"], "Asha Rao", "asha.rao", customer, "cst_gone"):
        assert secret not in text


@pytest.mark.asyncio
async def test_customer_id_only_when_opted_in(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """trace_customer_ids=True records the customer id on the call span (not the attempts)."""
    fake.add_account("cst_1")
    async with _client(fake, provider, trace_customer_ids=True) as client:
        await client.list_accounts("cst_1")
    (call,) = _by_name(exporter.get_finished_spans(), "AccountsClient.list_accounts")
    (attempt,) = _by_name(exporter.get_finished_spans(), _ATTEMPT)
    assert "cst_1" == (call.attributes or {})["juspay.customer_id"]
    assert "cst_1" not in attempt.to_json()


@pytest.mark.asyncio
async def test_customer_id_on_walk_spans_when_opted_in(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """trace_customer_ids=True records the customer id on the walks' spans too."""
    fake.add_account("cst_1")
    async with _client(fake, provider, trace_customer_ids=True) as client:
        [p async for p in client.iter_pages("cst_1")]
        await client.all_accounts("cst_1")
    spans = exporter.get_finished_spans()
    walks = [
        *_by_name(spans, "AccountsClient.iter_pages"),
        *_by_name(spans, "AccountsClient.all_accounts"),
    ]
    assert ["cst_1", "cst_1"] == [(w.attributes or {})["juspay.customer_id"] for w in walks]


@pytest.mark.asyncio
async def test_call_span_is_a_child_of_the_callers_span(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """The call span's parent is whatever span is current where the call is made."""
    fake.add_account("cst_1")
    async with _client(fake, provider) as client:
        with provider.get_tracer("app").start_as_current_span("handler") as handler:
            await client.list_accounts("cst_1")
    (call,) = _by_name(exporter.get_finished_spans(), "AccountsClient.list_accounts")
    assert handler.get_span_context().span_id == _parent_id(call)


@pytest.mark.asyncio
async def test_page_walk_gets_a_parent_span(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """iter_pages, iter_accounts and all_accounts each make one span over their pages' calls."""
    for _ in range(3):
        fake.add_account("cst_1")
    async with _client(fake, provider) as client:
        [p async for p in client.iter_pages("cst_1", page_size=2)]
        [a async for a in client.iter_accounts("cst_1", page_size=2)]
        await client.all_accounts("cst_1", page_size=2)
    spans = exporter.get_finished_spans()
    calls = _by_name(spans, "AccountsClient.list_accounts")
    walks = [
        *_by_name(spans, "AccountsClient.iter_pages"),
        *_by_name(spans, "AccountsClient.iter_accounts"),
        *_by_name(spans, "AccountsClient.all_accounts"),
    ]
    assert 3 == len(walks)
    assert 6 == len(calls)
    for walk in walks:
        assert 2 == sum(_parent_id(c) == _span_id(walk) for c in calls)
        assert 2 == (walk.attributes or {})["juspay.pages"]


@pytest.mark.asyncio
async def test_failed_walk_span_names_the_error_and_the_pages(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A walk that fails is marked failed with the error's class, and counts its pages."""
    for _ in range(3):
        fake.add_account("cst_1")
    denied = "juspay_accounts.exceptions.PermissionDeniedError"
    async with _client(fake, provider) as client:
        pages = client.iter_pages("cst_1", page_size=2)
        assert 2 == len((await anext(pages)).accounts)
        fake.inject(Fault.respond(403, "no"), customer_id="cst_1")
        with pytest.raises(ja.PermissionDeniedError):
            await anext(pages)
        fake.inject(Fault.respond(403, "no"), customer_id="cst_1")
        with pytest.raises(ja.PermissionDeniedError):
            await client.all_accounts("cst_1", page_size=2)
    spans = exporter.get_finished_spans()
    walks = [
        *_by_name(spans, "AccountsClient.iter_pages"),
        *_by_name(spans, "AccountsClient.all_accounts"),
    ]
    assert [(1, trace.StatusCode.ERROR, denied), (0, trace.StatusCode.ERROR, denied)] == [
        (
            (w.attributes or {})["juspay.pages"],
            w.status.status_code,
            (w.attributes or {})["error.type"],
        )
        for w in walks
    ]


@pytest.mark.asyncio
async def test_walk_abandoned_early_ends_its_span(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Leaving a walk after its first page still ends (and exports) the walk's span."""
    for _ in range(3):
        fake.add_account("cst_1")
    async with _client(fake, provider) as client:
        pages = client.iter_pages("cst_1", page_size=1)
        async for _page in pages:
            break
        await pages.aclose()
    (walk,) = _by_name(exporter.get_finished_spans(), "AccountsClient.iter_pages")
    assert 1 == (walk.attributes or {})["juspay.pages"]
    assert trace.StatusCode.UNSET == walk.status.status_code


@pytest.mark.asyncio
async def test_fan_out_gets_a_parent_span(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A fan-out makes one span; each customer's walk is a child of it."""
    for customer in ("cst_1", "cst_2", "cst_3"):
        fake.add_account(customer)
    async with _client(fake, provider) as client:
        results = await client.gather_accounts(["cst_1", "cst_2", "cst_3", "cst_404", "cst_405"])
    assert 3 == sum(r.ok for r in results.values())
    spans = exporter.get_finished_spans()
    (fan_out,) = _by_name(spans, "AccountsClient.accounts_for_customers")
    walks = _by_name(spans, "AccountsClient.all_accounts")
    assert [_span_id(fan_out)] * 5 == [_parent_id(w) for w in walks]
    assert {"juspay.customers": 5, "juspay.failed_customers": 2} == {
        k: v for k, v in (fan_out.attributes or {}).items() if k.startswith("juspay.")
    }


@pytest.mark.asyncio
async def test_a_fan_out_refused_for_its_ids_ends_its_span(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Ids that are not iterable: TypeError at once, the fan-out's span ended, nothing left."""
    async with _client(fake, provider) as client:
        with pytest.raises(TypeError):
            await client.gather_accounts(42)  # type: ignore[arg-type]
    gc.collect()  # the half-made fan-out is collected here, quietly
    (span,) = _by_name(exporter.get_finished_spans(), "AccountsClient.accounts_for_customers")
    assert 0 == (span.attributes or {})["juspay.customers"]


@pytest.mark.asyncio
async def test_global_provider_configured_after_the_client(
    fake: FakeJuspay,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without tracer_provider, the global provider is used, even if set after the client."""
    # A process sets its global provider once: start from "none set", restored afterwards.
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    fake.add_account("cst_1")
    async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
        await client.list_accounts("cst_1")  # no SDK yet: nothing recorded
        assert () == exporter.get_finished_spans()
        trace.set_tracer_provider(provider)  # as an application does, at any time
        await client.list_accounts("cst_1")
    names = sorted(span.name for span in exporter.get_finished_spans())
    assert ["AccountsClient.list_accounts", _ATTEMPT] == names


@pytest.mark.asyncio
async def test_no_sdk_means_no_span_and_one_provider_lookup(
    fake: FakeJuspay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With only the API installed, no span is started, and the provider is looked up once."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    lookups = []
    real = trace.get_tracer_provider

    def counted() -> trace.TracerProvider:
        lookups.append(1)
        return real()

    monkeypatch.setattr(trace, "get_tracer_provider", counted)
    tracing = _tracing.make_tracing(None, base_url=fake.url, trace_customer_ids=False)
    assert tracing is not None
    for _ in range(3):
        assert tracing.start("list_accounts", "cst_1", None) is None
    assert 1 == len(lookups)


@pytest.mark.asyncio
async def test_an_unloadable_provider_warns_once_and_fails_no_call(
    fake: FakeJuspay, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """OTEL_PYTHON_TRACER_PROVIDER naming no installed provider: tracing off, one warning."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    monkeypatch.setenv("OTEL_PYTHON_TRACER_PROVIDER", "no_such_provider")
    fake.add_account("cst_1")
    caplog.set_level(logging.WARNING, logger="juspay_accounts")
    async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
        pages = [await client.list_accounts("cst_1") for _ in range(3)]
    assert [1, 1, 1] == [len(page.accounts) for page in pages]
    warnings = [r.getMessage() for r in caplog.records if r.name == "juspay_accounts"]
    assert 1 == len(warnings), warnings
    assert warnings[0].startswith(
        "tracing is off: OpenTelemetry's global tracer provider could not be loaded ("
    )
    # What the API raised, by class and message, for the operator to fix the setting.
    with pytest.raises(Exception) as raised:  # noqa: PT011 - whatever this API version raises
        trace.get_tracer_provider()
    assert f"({type(raised.value).__name__}: {raised.value})" in warnings[0]


@pytest.mark.parametrize("traced", [False, True])
@pytest.mark.asyncio
async def test_an_answer_without_offset_takes_the_one_sent_traced_or_not(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter, traced: bool
) -> None:
    """A page whose answer leaves ``offset`` out is at the offset sent, with or without spans."""
    fake.inject(Fault.respond(200, '{"list": [], "total": 9}'))
    chosen = provider if traced else trace.NoOpTracerProvider()
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, tracer_provider=chosen) as client:
        page = await client.list_accounts("cst_1", offset=5)
    assert (5, 9) == (page.offset, page.total)
    assert traced == bool(_by_name(exporter.get_finished_spans(), _ATTEMPT))


@pytest.mark.asyncio
async def test_noop_provider_switches_tracing_off(
    fake: FakeJuspay,
    provider: TracerProvider,
    exporter: InMemorySpanExporter,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tracer_provider=NoOpTracerProvider() turns this library's spans off, the global SDK's too."""
    monkeypatch.setattr(trace, "_TRACER_PROVIDER_SET_ONCE", Once())
    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)
    trace.set_tracer_provider(provider)  # the application traces everything else
    fake.add_account("cst_1")
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, tracer_provider=trace.NoOpTracerProvider()
    ) as client:
        await client.list_accounts("cst_1")
        assert 1 == len(await client.all_accounts("cst_1"))
        await client.gather_accounts(["cst_1", "cst_2"])
    assert () == exporter.get_finished_spans()


@pytest.mark.asyncio
async def test_without_the_otel_extra_every_kind_of_call_works(
    fake: FakeJuspay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the API taken for missing (in this process), calls, walks and fan-outs all work."""
    monkeypatch.setattr(_tracing, "HAVE_OTEL", False)
    for _ in range(3):
        fake.add_account("cst_1")
    async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
        assert client._fetcher.tracing is None
        assert 3 == len((await client.list_accounts("cst_1")).accounts)
        assert [2, 1] == [len(p.accounts) async for p in client.iter_pages("cst_1", page_size=2)]
        assert 3 == len(await client.all_accounts("cst_1", page_size=2))
        results = await client.gather_accounts(["cst_1", "cst_2"], page_size=2)
    assert [3, 0] == [len(results[c].accounts) for c in ("cst_1", "cst_2")]


def test_works_without_opentelemetry(tmp_path: Path) -> None:
    """Without opentelemetry the library imports and works; tracer_provider= is refused."""
    script = textwrap.dedent(
        """
        import asyncio, sys
        sys.modules["opentelemetry"] = None  # as if the otel extra were not installed
        import juspay_accounts as ja
        from juspay_accounts.testing import FakeJuspay

        async def main():
            async with FakeJuspay() as fake:
                fake.add_account("cst_1")
                async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
                    assert client._fetcher.tracing is None
                    page = await client.list_accounts("cst_1")
                    assert 1 == len(page.accounts)
            try:
                ja.AccountsClient("k", tracer_provider=object())
            except ValueError as exc:
                print("refused:", exc)
            print("ok", "opentelemetry.trace" in sys.modules)

        asyncio.run(main())
        """
    )
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert 0 == done.returncode, done.stderr
    assert "refused: tracer_provider needs OpenTelemetry (the otel extra)" in done.stdout
    assert "pip install 'opentelemetry-api" in done.stdout  # installable before a release
    assert done.stdout.strip().endswith("ok False")


@pytest.mark.asyncio
async def test_fan_out_left_early_ends_its_span(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """Breaking out of a fan-out (no async with) still ends and exports its span."""
    for customer in ("cst_1", "cst_2", "cst_3"):
        fake.add_account(customer)
    async with _client(fake, provider) as client:
        async for _result in client.accounts_for_customers(["cst_1", "cst_2", "cst_3"]):
            break
        (fan_out,) = _by_name(
            exporter.get_finished_spans(), "AccountsClient.accounts_for_customers"
        )
    customers = (fan_out.attributes or {})["juspay.customers"]
    assert isinstance(customers, int)
    assert 1 <= customers


class _BrokenTracingError(RuntimeError):
    """What the application's broken tracing raises."""


class _RaisingProcessor(SpanProcessor):
    """A span processor that raises in ``on_start`` or ``on_end``."""

    def __init__(self, where: str) -> None:
        self.where = where

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        del span, parent_context
        if self.where == "on_start":
            raise _BrokenTracingError(f" {self.where}\n")  # folded in the warning

    def on_end(self, span: ReadableSpan) -> None:
        del span
        if self.where == "on_end":
            raise _BrokenTracingError(self.where)


class _RaisingExporter(SpanExporter):
    """An exporter that raises on every export."""

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        del spans
        raise _BrokenTracingError("export")


class _NoTracerProvider(TracerProvider):
    """An SDK provider whose ``get_tracer`` raises."""

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:  # noqa: ANN401 - the API's
        del args, kwargs
        raise _BrokenTracingError("get_tracer")


def _raise(*args: object, **kwargs: object) -> None:
    del args, kwargs
    raise _BrokenTracingError("span method")


_TRACING_FAILURES = [
    "get_tracer",
    "on_start",
    "on_end",
    "set_attribute",
    "set_attributes",
    "set_status",
    "exporter",
]


_WHERE_IT_FAILED = {
    "get_tracer": ("TracerProvider.get_tracer", "get_tracer"),
    "on_start": ("Tracer.start_span", "on_start"),
    "on_end": ("Span.end", "on_end"),
    "set_attribute": ("Span.set_attribute", "span method"),
    "set_attributes": ("Span.set_attributes", "span method"),
    "set_status": ("Span.set_status", "span method"),
}


@pytest.fixture
def broken_provider(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TracerProvider]:
    """A provider whose tracing raises at the place named by the test's parameter."""
    where: str = request.param
    provider = _NoTracerProvider() if where == "get_tracer" else TracerProvider()
    if where in {"on_start", "on_end"}:
        provider.add_span_processor(_RaisingProcessor(where))
    if where == "exporter":
        provider.add_span_processor(SimpleSpanProcessor(_RaisingExporter()))
        # The SDK logs the exporter's failure itself, at ERROR, on its own logger.
        monkeypatch.setattr(logging.getLogger("opentelemetry.sdk.trace.export"), "disabled", True)
    if where in {"set_attribute", "set_attributes", "set_status"}:
        monkeypatch.setattr(sdk_trace.Span, where, _raise)
    yield provider
    provider.shutdown()


@pytest.mark.parametrize("broken_provider", _TRACING_FAILURES, indirect=True)
@pytest.mark.asyncio
async def test_failing_tracing_fails_no_call_walk_or_fan_out_with_retries(
    fake: FakeJuspay,
    broken_provider: TracerProvider,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    """Whatever raises inside tracing, calls, walks and a retried fan-out all succeed.

    One WARNING says so (later failures are at DEBUG); nothing waits longer than without it.
    """
    fake.max_page_size = 2
    customers = [f"cst_{n}" for n in range(6)]
    for customer in customers:
        for _ in range(3):  # two pages each
            fake.add_account(customer)
    caplog.set_level(logging.DEBUG, logger="juspay_accounts")
    async with _client(fake, broken_provider) as client, asyncio.timeout(10):
        fake.inject(Fault.respond(503, "busy"))
        page = await client.list_accounts("cst_0")
        fake.inject(Fault.respond(503, "busy"), times=2)
        walked = [a async for a in client.iter_accounts("cst_1")]
        fake.inject(Fault.respond(503, "busy"), times=4)
        fake.inject(Fault.drop_connection(), times=2)
        results = await client.gather_accounts([*customers, "cst_404"], concurrency=3)
        with pytest.raises(ja.NotFoundError):
            await client.list_accounts("cst_404")
    where = request.node.callspec.params["broken_provider"]
    assert (2, 3) == (len(page.accounts), len(walked))
    assert dict.fromkeys(customers, 3) == {c: len(results[c].accounts) for c in customers}
    assert isinstance(results["cst_404"].error, ja.NotFoundError)
    records = [r for r in caplog.records if r.name == "juspay_accounts"]
    warnings = [r.getMessage() for r in records if r.levelno >= logging.WARNING]
    if broken_provider.__class__ is TracerProvider and not warnings:
        return  # the exporter: the SDK catches what it raises, and nothing reaches a call
    assert 1 == len(warnings), warnings
    assert "tracing failed in " in warnings[0]
    assert "the call goes on untraced" in warnings[0]
    # It names what failed and quotes the error, white space folded, for the operator.
    place, quoted = _WHERE_IT_FAILED[where]
    assert f"in {place} " in warnings[0]
    assert f"(_BrokenTracingError: {quoted})" in warnings[0]


@pytest.mark.asyncio
async def test_a_failing_span_processor_leaves_the_call_untraced_and_later_calls_traced(
    fake: FakeJuspay, exporter: InMemorySpanExporter
) -> None:
    """A processor that fails once: that call goes on untraced, the next one is traced."""
    failures = iter([_BrokenTracingError("once")])

    class _FailsOnce(SpanProcessor):
        def on_start(self, span: Span, parent_context: Context | None = None) -> None:
            del span, parent_context
            failure = next(failures, None)
            if failure is not None:
                raise failure

    provider = TracerProvider()
    provider.add_span_processor(_FailsOnce())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    fake.add_account("cst_1")
    async with _client(fake, provider) as client:
        await client.list_accounts("cst_1")
        assert () == exporter.get_finished_spans()
        await client.list_accounts("cst_1")
    provider.shutdown()
    assert ["AccountsClient.list_accounts", _ATTEMPT] == sorted(
        s.name for s in exporter.get_finished_spans()
    )


@pytest.mark.parametrize("given", [object(), "provider", 42])
def test_tracer_provider_that_is_not_one_is_a_type_error(given: object) -> None:
    """tracer_provider=object() is refused when the client is built, saying what is wanted."""
    with pytest.raises(TypeError, match="tracer_provider must be an OpenTelemetry TracerProvider"):
        ja.AccountsClient("key_123456789", tracer_provider=given)


class _Recording:
    """A transport that records each attempt's time limit: a 503 first, then a page."""

    def __init__(self) -> None:
        self.limits: list[float | None] = []

    async def send(
        self,
        request: ja.TransportRequest,
        timeout: float | None,  # noqa: ASYNC109 - the transport protocol's argument
    ) -> ja.TransportResponse:
        del request
        self.limits.append(timeout)
        status = 503 if len(self.limits) == 1 else 200
        return ja.TransportResponse(status, {}, b'{"list": [], "offset": 0, "total": 0}')


@pytest.mark.asyncio
async def test_an_attempt_span_that_fails_to_start_leaves_the_rest_of_the_call_untraced(
    exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    """A processor fails on the first attempt's span: the call goes on, and on untraced.

    Its retry is not traced either (this call's tracing is off), each attempt still gets
    the call's time limit, the call's own span ends, and one WARNING names what failed.
    """
    failures = iter([_BrokenTracingError("attempt")])

    class _FailsOnAnAttempt(SpanProcessor):
        def on_start(self, span: Span, parent_context: Context | None = None) -> None:
            del parent_context
            failure = next(failures, None) if span.name == _ATTEMPT else None
            if failure is not None:  # the first attempt's span only
                raise failure

    provider = TracerProvider()
    provider.add_span_processor(_FailsOnAnAttempt())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    transport = _Recording()
    caplog.set_level(logging.DEBUG, logger="juspay_accounts")
    async with ja.AccountsClient(
        "key_123456789",
        transport=transport,
        timeout=7.5,
        tracer_provider=provider,
        retry=ja.RetryPolicy(deadline=None).without_waiting(),
    ) as client:
        await client.list_accounts("cst_1")
    provider.shutdown()
    assert [7.5, 7.5] == transport.limits
    assert ["AccountsClient.list_accounts"] == [s.name for s in exporter.get_finished_spans()]
    [warning] = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert "in Tracer.start_span " in warning
    assert "(_BrokenTracingError: attempt)" in warning


class _DuckProvider:
    """A tracer provider that is not the API's class, only shaped like one (a wrapper)."""

    def __init__(self, inner: TracerProvider) -> None:
        self.inner = inner

    def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:  # noqa: ANN401 - the API's
        return self.inner.get_tracer(*args, **kwargs)


@pytest.mark.asyncio
async def test_a_provider_shaped_like_one_is_taken(
    fake: FakeJuspay, provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """An object with a get_tracer method (a vendor's wrapper) traces as a TracerProvider does."""
    fake.add_account("cst_1")
    async with _client(fake, _DuckProvider(provider)) as client:  # type: ignore[arg-type]
        await client.list_accounts("cst_1")
    assert ["AccountsClient.list_accounts", _ATTEMPT] == sorted(
        s.name for s in exporter.get_finished_spans()
    )


def test_a_provider_refused_is_named_by_its_type() -> None:
    """The TypeError says what was given, for a user to find it."""
    with pytest.raises(TypeError) as info:
        ja.AccountsClient("key_123456789", tracer_provider=42)
    assert re.search(r"\bint\b", str(info.value))  # the type given


@pytest.mark.asyncio
async def test_a_base_url_with_a_path_is_in_the_attempt_spans_template(
    provider: TracerProvider, exporter: InMemorySpanExporter
) -> None:
    """A base URL under a path (a gateway's prefix): the attempt span's name and url.template."""
    pages = MockTransport(lambda _r: MockResponse(200, json={"list": [], "total": 0}))
    async with ja.AccountsClient(
        "key_123456789",
        base_url="https://gateway.test/juspay/",
        transport=pages,
        tracer_provider=provider,
    ) as client:
        await client.list_accounts("cst_1")
    (attempt,) = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.CLIENT]
    template = "/juspay/customers/{customer_id}/customer-accounts/list"
    assert (f"GET {template}", template) == (
        attempt.name,
        (attempt.attributes or {})["url.template"],
    )


def test_without_the_otel_extra_a_provider_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tracer_provider given while the API is missing (in this process): what to install."""
    monkeypatch.setattr(_tracing, "HAVE_OTEL", False)
    with pytest.raises(ValueError, match="pip install 'opentelemetry-api"):
        ja.AccountsClient("key_123456789", tracer_provider=TracerProvider())
