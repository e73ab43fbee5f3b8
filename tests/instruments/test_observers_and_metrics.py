"""Observers (AccountsClient(observers=[...])) and OpenTelemetry metrics (meter_provider=...).

Through MockTransport: the events are the client's, whatever sends the bytes. Metrics are
read with the SDK's InMemoryMetricReader.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import juspay_accounts as ja
from juspay_accounts import _timing
from juspay_accounts.testing import MockRequest, MockResponse, MockTransport

KEY = "sk_observed_0123456789"
PAGE = {"list": [], "offset": 0, "count": 0, "total": 0}
NO_WAIT = ja.RetryPolicy().without_waiting()


class Recorder(ja.Observer):
    """Keeps every event."""

    def __init__(self) -> None:
        """Nothing yet."""
        self.events: list[tuple[str, object]] = []

    def on_request(self, event: ja.RequestEvent) -> None:
        """Keep it."""
        self.events.append(("request", event))

    def on_retry(self, event: ja.RetryEvent) -> None:
        """Keep it."""
        self.events.append(("retry", event))

    def on_retry_refused(self, event: ja.RetryEvent) -> None:
        """Keep it."""
        self.events.append(("refused", event))

    def on_rate_limit_wait(self, seconds: float) -> None:
        """Keep it."""
        self.events.append(("wait", seconds))

    def on_coalesced(self, customer_id: str) -> None:
        """Keep it."""
        self.events.append(("coalesced", customer_id))


def failing_then_ok(failures: int) -> MockTransport:
    """A transport that answers 503 ``failures`` times, then a page, for ever."""
    count = itertools.count()

    def handler(_request: MockRequest) -> MockResponse:
        if next(count) < failures:
            return MockResponse(503, headers={"x-request-id": "req_503"})
        return MockResponse(200, json=PAGE)

    return MockTransport(handler)


def metric_points(reader: InMemoryMetricReader) -> dict[str, list[Any]]:
    """Every data point of every metric, by metric name."""
    data = reader.get_metrics_data()
    points: dict[str, list[Any]] = {}
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points.setdefault(metric.name, []).extend(metric.data.data_points)
    return points


@pytest.mark.asyncio
async def test_an_observer_hears_each_request_and_retry() -> None:
    """Two 503s then a page: three request events (status, attempt), two retry events."""
    recorder = Recorder()
    async with ja.AccountsClient(
        KEY,
        base_url="https://api.example.test",
        transport=failing_then_ok(2),
        retry=NO_WAIT,
        observers=[recorder],
    ) as client:
        await client.list_accounts("cst_1")
    kinds = [kind for kind, _ in recorder.events]
    assert ["request", "retry", "request", "retry", "request"] == kinds
    requests = [e for kind, e in recorder.events if kind == "request"]
    assert [503, 503, 200] == [e.status for e in requests]  # type: ignore[attr-defined]
    assert [1, 2, 3] == [e.attempt for e in requests]  # type: ignore[attr-defined]
    assert ["503", "503", None] == [e.error_type for e in requests]  # type: ignore[attr-defined]
    first = requests[0]
    assert ("api.example.test", 443, "https") == (
        first.server_address,  # type: ignore[attr-defined]
        first.server_port,  # type: ignore[attr-defined]
        first.url_scheme,  # type: ignore[attr-defined]
    )


@pytest.mark.asyncio
async def test_an_observer_that_raises_never_fails_a_call(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A broken observer: the calls succeed, and one WARNING says so."""

    class Broken(ja.Observer):
        def on_request(self, event: ja.RequestEvent) -> None:
            raise RuntimeError(event.customer_id)

    async with ja.AccountsClient(KEY, transport=failing_then_ok(0), observers=[Broken()]) as client:
        await client.list_accounts("cst_1")
        await client.list_accounts("cst_2")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert 1 == len(warnings)
    assert "cst_" not in warnings[0].getMessage()


@pytest.mark.asyncio
async def test_metrics_follow_the_semantic_conventions_and_carry_no_customer() -> None:
    """A duration point per request with the conventions' attributes; counters of retries."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    async with ja.AccountsClient(
        KEY,
        base_url="https://api.example.test",
        transport=failing_then_ok(1),
        retry=NO_WAIT,
        meter_provider=provider,
    ) as client:
        await client.list_accounts("cst_secret_person")
    points = metric_points(reader)
    durations = points["http.client.request.duration"]
    assert 2 == sum(p.count for p in durations)
    attributes = [dict(p.attributes) for p in durations]
    assert {
        "http.request.method": "GET",
        "server.address": "api.example.test",
        "server.port": 443,
        "url.scheme": "https",
        "http.response.status_code": 503,
        "error.type": "503",
    } in attributes
    assert 1 == sum(p.value for p in points["juspay.client.retries"])
    everything = repr(points)
    assert "cst_secret_person" not in everything
    assert KEY not in everything


@pytest.mark.asyncio
async def test_metrics_count_refusals_waits_and_coalesced_calls() -> None:
    """The budget's refusals, the rate limit's waits and the coalesced calls are counted."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    released = asyncio.Event()

    async def slow(_request: MockRequest) -> MockResponse:
        await released.wait()
        return MockResponse(200, json=PAGE)

    async with ja.AccountsClient(
        KEY,
        transport=MockTransport(slow),
        meter_provider=provider,
        coalesce=True,
        rate_limit=ja.RateLimit(1000),
    ) as client:
        calls = [asyncio.ensure_future(client.list_accounts("cst_1")) for _ in range(3)]
        for _ in range(10):
            await asyncio.sleep(0)
        released.set()
        await asyncio.gather(*calls)
    stingy = ja.RetryPolicy(retry_budget=0.0, retry_budget_floor=0.0).without_waiting()
    async with ja.AccountsClient(
        KEY, transport=failing_then_ok(5), meter_provider=provider, retry=stingy
    ) as client:
        with pytest.raises(ja.ServerError):
            await client.list_accounts("cst_2")
    points = metric_points(reader)
    assert 2 == sum(p.value for p in points["juspay.client.coalesced_calls"])
    assert 1 == sum(p.value for p in points["juspay.client.retry_budget.refusals"])


@pytest.mark.asyncio
async def test_a_rate_limit_wait_is_observed() -> None:
    """A call that waited for a token is told, with how long it waited."""
    recorder = Recorder()
    async with ja.AccountsClient(
        KEY,
        transport=failing_then_ok(0),
        rate_limit=ja.RateLimit(20, burst=1),
        observers=[recorder],
    ) as client:
        await asyncio.gather(client.list_accounts("cst_1"), client.list_accounts("cst_2"))
    waits = [seconds for kind, seconds in recorder.events if kind == "wait"]
    assert 1 == len(waits)
    assert 0.0 < waits[0] <= 0.1  # type: ignore[operator]


def test_a_meter_provider_that_is_not_one_is_refused() -> None:
    """meter_provider=object(): TypeError at construction."""
    with pytest.raises(TypeError, match="MeterProvider"):
        ja.AccountsClient(KEY, meter_provider=object())
    with pytest.raises(TypeError, match="Observer"):
        ja.AccountsClient(KEY, observers=[object()])  # type: ignore[list-item]


@pytest.mark.asyncio
async def test_request_events_say_what_failed_and_for_whom() -> None:
    """No answer: the exception's class and no status; a 400: "400"; the customer; a duration."""
    recorder = Recorder()

    def handler(request: MockRequest) -> MockResponse:
        if "cst_down" in request.url:
            raise ja.APIConnectionError("reset")
        return MockResponse(400, json={"status": "Bad Request"})

    async with ja.AccountsClient(
        KEY,
        transport=MockTransport(handler),
        retry=ja.RetryPolicy.disabled(),
        observers=[recorder],
    ) as client:
        with pytest.raises(ja.APIConnectionError):
            await client.list_accounts("cst_down")
        with pytest.raises(ja.BadRequestError):
            await client.list_accounts("cst_bad")
    down, bad = [e for kind, e in recorder.events if kind == "request"]
    assert ("cst_down", None, "APIConnectionError") == (
        down.customer_id,  # type: ignore[attr-defined]
        down.status,  # type: ignore[attr-defined]
        down.error_type,  # type: ignore[attr-defined]
    )
    assert ("cst_bad", 400, "400") == (
        bad.customer_id,  # type: ignore[attr-defined]
        bad.status,  # type: ignore[attr-defined]
        bad.error_type,  # type: ignore[attr-defined]
    )
    assert 0.0 <= bad.duration < 5.0  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_an_observed_request_keeps_its_time_limit() -> None:
    """With observers, each attempt still gets the client's time limit."""
    limits: list[float | None] = []

    class Recording:
        async def send(
            self,
            request: ja.TransportRequest,
            timeout: float | None,  # noqa: ASYNC109 - the seam's signature
        ) -> ja.TransportResponse:
            del request
            limits.append(timeout)
            return ja.TransportResponse(200, {"content-type": "application/json"}, b"{}")

    async with ja.AccountsClient(
        KEY, transport=Recording(), timeout=7.0, observers=[Recorder()]
    ) as client:
        with pytest.raises(ja.ResponseValidationError):
            await client.list_accounts("cst_1")
    assert [7.0] == limits


@pytest.mark.asyncio
async def test_the_warning_names_the_observer_and_its_method(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The one WARNING for a broken observer says which observer, in which method."""

    class Fussy(ja.Observer):
        def on_retry(self, event: ja.RetryEvent) -> None:
            raise KeyError(event.attempt)

    async with ja.AccountsClient(
        KEY, transport=failing_then_ok(1), retry=NO_WAIT, observers=[Fussy()]
    ) as client:
        await client.list_accounts("cst_1")
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "Fussy" in warning
    assert "on_retry" in warning
    assert "KeyError" in warning


@pytest.mark.asyncio
async def test_a_coalesced_call_is_told_with_its_customer() -> None:
    """on_coalesced gets the customer whose request was shared."""
    recorder = Recorder()
    released = asyncio.Event()

    async def slow(_request: MockRequest) -> MockResponse:
        await released.wait()
        return MockResponse(200, json=PAGE)

    async with ja.AccountsClient(
        KEY, transport=MockTransport(slow), coalesce=True, observers=[recorder]
    ) as client:
        calls = [asyncio.ensure_future(client.list_accounts("cst_7")) for _ in range(2)]
        for _ in range(10):
            await asyncio.sleep(0)
        released.set()
        await asyncio.gather(*calls)
    assert [("coalesced", "cst_7")] == [e for e in recorder.events if e[0] == "coalesced"]


@pytest.mark.asyncio
async def test_a_retry_the_budget_refuses_is_told_with_no_delay() -> None:
    """The retry budget spent: the failed attempt is told as refused, with no wait before it."""
    recorder = Recorder()
    stingy = ja.RetryPolicy(retry_budget=0.0, retry_budget_floor=0.2).without_waiting()
    async with ja.AccountsClient(
        KEY, transport=failing_then_ok(10**6), retry=stingy, observers=[recorder]
    ) as client:
        with pytest.raises(ja.ServerError) as caught:
            await client.list_accounts("cst_1")
    assert caught.value.not_retried
    kinds = [kind for kind, _ in recorder.events]
    assert ["request", "retry", "request", "retry", "request", "refused"] == kinds
    refused = recorder.events[-1][1]
    assert isinstance(refused, ja.RetryEvent)
    assert ("cst_1", 3, 503, 0.0) == (
        refused.customer_id,
        refused.attempt,
        refused.status,
        refused.delay,
    )


def held_once(retry_after: str) -> MockTransport:
    """A transport that answers 429 (Retry-After) once, then a page, for ever."""
    count = itertools.count()

    def handler(_request: MockRequest) -> MockResponse:
        if next(count) == 0:
            return MockResponse(429, headers={"Retry-After": retry_after})
        return MockResponse(200, json=PAGE)

    return MockTransport(handler)


@pytest.mark.asyncio
@pytest.mark.parametrize("budget", [None, ja.RateLimit(100)], ids=["no rate limit", "a budget"])
async def test_a_wait_for_a_429_hold_is_observed(budget: ja.RateLimit | None) -> None:
    """A 429 asks for 2 s: the next call waits the hold out, and the observer is told.

    With a rate budget too, the wait is told once it has the token as well. The policy's
    sleep skips the wait here, so the time told is the hold's (no budget) or what passed.
    """
    recorder = Recorder()
    once = ja.RetryPolicy.disabled().without_waiting()
    async with ja.AccountsClient(
        KEY, transport=held_once("2"), rate_limit=budget, observers=[recorder], retry=once
    ) as client:
        with pytest.raises(ja.RateLimitError):
            await client.list_accounts("cst_1")
        assert [] == [e for e in recorder.events if e[0] == "wait"]
        await client.list_accounts("cst_2")  # held: waits first
    waits = [seconds for kind, seconds in recorder.events if kind == "wait"]
    assert 1 == len(waits), recorder.events
    (wait,) = waits
    assert isinstance(wait, float)
    if budget is None:
        assert 2.0 <= wait <= 2.0 + once.initial_delay
    else:
        assert 0.0 <= wait < 1.0


async def waits_told_in_line(
    monkeypatch: pytest.MonkeyPatch, limit: ja.RateLimit, calls: int, oversleep: float
) -> list[object]:
    """The rate-limit waits told to an observer when ``calls`` calls start at once.

    On a clock that moves only when the policy sleeps, by ``oversleep`` times what it was
    asked to (as a busy loop oversleeps), so the waits told are exact. No deadline: a
    caller in line then watches no clock of its own.
    """
    now = [1000.0]
    monkeypatch.setattr(_timing, "clock", lambda: now[0])

    async def sleep(seconds: float) -> None:
        now[0] += seconds * oversleep
        await asyncio.sleep(0)

    recorder = Recorder()
    async with ja.AccountsClient(
        KEY,
        transport=failing_then_ok(0),
        rate_limit=limit,
        retry=ja.RetryPolicy(deadline=None, sleep=sleep),
        observers=[recorder],
    ) as client:
        await asyncio.gather(*(client.list_accounts(f"cst_{n}") for n in range(calls)))
    return [seconds for kind, seconds in recorder.events if kind == "wait"]


@pytest.mark.asyncio
async def test_every_call_that_waited_in_line_is_observed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ten calls at once for a burst of five: each of the five that waited is told.

    The policy's sleep oversleeps three times over: the caller at the head of the line
    finds tokens for those behind it and hands them over. Each waited, and is told once,
    with how long.
    """
    limit = ja.RateLimit(20, burst=5)  # a token every 50 ms after the five
    waits = await waits_told_in_line(monkeypatch, limit, calls=10, oversleep=3)
    assert [0.15, 0.15, 0.15, 0.3, 0.3] == [round(w, 6) for w in waits]  # type: ignore[call-overload]


@pytest.mark.asyncio
async def test_a_caller_led_in_its_turn_to_a_free_token_is_observed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A caller led in its turn that finds its token free at once is told it waited.

    More callers wait than one batch of tokens holds (256): the next in line leads, and
    finds its token free. It waited in line all the same. A burst of 300 goes at once; of
    the 300 calls after it, every one waited, and each is told once (the policy's sleep
    lasts long enough for the bucket to fill again).
    """
    limit = ja.RateLimit(100, burst=300)
    waits = await waits_told_in_line(monkeypatch, limit, calls=600, oversleep=300)
    assert 300 == len(waits)
    assert {3.0} == {round(w, 6) for w in waits}  # type: ignore[call-overload]
