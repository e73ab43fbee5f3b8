"""Retries, waits, deadlines and the shared rate-limit hold, against injected faults.

No test sleeps for real beyond a few tens of milliseconds: waits go through a recording
fake sleep, and where a deadline matters the retry clock is faked too.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import json
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest
import pytest_asyncio

import juspay_accounts as ja
from juspay_accounts import _response
from juspay_accounts.testing import FakeJuspay, Fault

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from retry.conftest import FakeTime

DATA = Path(__file__).parents[1] / "data"
SEED_404 = (DATA / "seed_404.json").read_text()
HTML_502 = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@pytest_asyncio.fixture
async def seeded(fake: FakeJuspay) -> FakeJuspay:
    """The fake server with customer cst_1 holding two accounts."""
    fake.add_account("cst_1")
    fake.add_account("cst_1", bank_account=fake.make_bank_account())
    return fake


@pytest_asyncio.fixture
async def timed_client(seeded: FakeJuspay, fake_time: FakeTime) -> AsyncIterator[ja.AccountsClient]:
    """A client with the default policy whose waits are recorded by fake_time."""
    policy = ja.RetryPolicy(sleep=fake_time.sleep)
    async with ja.AccountsClient(seeded.api_key, base_url=seeded.url, retry=policy) as client:
        yield client


# -- what is retried ---------------------------------------------------------------


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [408, 429, 500, 502, 503, 504])
async def test_transient_status_is_retried_and_recovers(
    timed_client: ja.AccountsClient, seeded: FakeJuspay, fake_time: FakeTime, status: int
) -> None:
    """A transient status once, then success: two requests, one backoff wait, the full page."""
    seeded.inject(Fault.respond(status, HTML_502))
    page = await timed_client.list_accounts("cst_1")
    assert 2 == len(page.accounts)
    assert 2 == len(seeded.requests)
    assert 1 == len(fake_time.sleeps)
    assert 0 <= fake_time.sleeps[0] <= 0.5


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (400, (DATA / "error_400_fields.json").read_text(), ja.BadRequestError),
        (401, (DATA / "seed_401.json").read_text(), ja.AuthenticationError),
        (403, (DATA / "error_403_bad_origin.json").read_text(), ja.PermissionDeniedError),
        (404, SEED_404, ja.NotFoundError),
        (409, "{}", ja.APIError),
        (422, "{}", ja.APIError),
        (302, "", ja.APIError),
        (200, "<html>maintenance</html>", ja.ResponseValidationError),
        (200, '{"list": [{"customer_id": "x"}]}', ja.ResponseValidationError),
    ],
)
async def test_permanent_failure_is_not_retried(
    timed_client: ja.AccountsClient,
    seeded: FakeJuspay,
    fake_time: FakeTime,
    status: int,
    body: str,
    error: type[ja.JuspayError],
) -> None:
    """Client errors, redirects and malformed 200s make exactly one request and no wait."""
    seeded.inject(Fault.respond(status, body), times=5)
    with pytest.raises(error) as info:
        await timed_client.list_accounts("cst_1")
    assert type(info.value) is error
    assert 1 == info.value.attempts
    assert 1 == len(seeded.requests)
    assert [] == fake_time.sleeps


@pytest.mark.asyncio
async def test_one_dropped_connection_is_resent_by_aiohttp(
    timed_client: ja.AccountsClient, seeded: FakeJuspay, fake_time: FakeTime
) -> None:
    """The client library resends a dropped GET once: the server sees 2, no retry of ours."""
    seeded.inject(Fault.drop_connection())
    page = await timed_client.list_accounts("cst_1")
    assert 2 == len(page.accounts)
    assert ["drop", None] == [r.fault for r in seeded.requests]
    assert [] == fake_time.sleeps


@pytest.mark.asyncio
async def test_two_dropped_connections_are_retried_by_the_library(
    timed_client: ja.AccountsClient, seeded: FakeJuspay, fake_time: FakeTime
) -> None:
    """Two drops defeat aiohttp's resend; the library's retry recovers (3 requests, 1 wait)."""
    seeded.inject(Fault.drop_connection(), times=2)
    page = await timed_client.list_accounts("cst_1")
    assert 2 == len(page.accounts)
    assert ["drop", "drop", None] == [r.fault for r in seeded.requests]
    assert 1 == len(fake_time.sleeps)


@pytest.mark.asyncio
async def test_body_cut_short_is_retried(
    timed_client: ja.AccountsClient, seeded: FakeJuspay, fake_time: FakeTime
) -> None:
    """A body cut short is a connection failure, retried once to success."""
    seeded.inject(Fault.cut_body_short())
    page = await timed_client.list_accounts("cst_1")
    assert 2 == len(page.accounts)
    assert ["cut_short", None] == [r.fault for r in seeded.requests]
    assert 1 == len(fake_time.sleeps)


@pytest.mark.asyncio
async def test_body_cut_short_without_retries_is_connection_error(seeded: FakeJuspay) -> None:
    """With retries off, a body cut short surfaces as APIConnectionError from aiohttp's error."""
    seeded.inject(Fault.cut_body_short())
    policy = ja.RetryPolicy.disabled()
    async with ja.AccountsClient(seeded.api_key, base_url=seeded.url, retry=policy) as client:
        with pytest.raises(ja.APIConnectionError) as info:
            await client.list_accounts("cst_1")
    assert type(info.value) is ja.APIConnectionError
    assert "ClientPayloadError" in str(info.value)


@pytest.mark.asyncio
async def test_attempt_timeout_is_retried(seeded: FakeJuspay) -> None:
    """An answer later than the per-attempt timeout is an APITimeoutError, retried to success."""
    seeded.inject(Fault.answer_late(5.0))
    policy = ja.RetryPolicy().without_waiting()
    async with ja.AccountsClient(
        seeded.api_key, base_url=seeded.url, timeout=0.02, retry=policy
    ) as client:
        page = await client.list_accounts("cst_1")
    assert 2 == len(page.accounts)
    assert ["late", None] == [r.fault for r in seeded.requests]


@pytest.mark.asyncio
async def test_exhausted_retries_raise_the_last_error_with_attempts(
    timed_client: ja.AccountsClient, seeded: FakeJuspay, fake_time: FakeTime
) -> None:
    """After max_attempts the last error is raised, the class a single attempt would raise."""
    seeded.inject(Fault.respond(503, HTML_502), times=10)
    with pytest.raises(ja.ServerError) as info:
        await timed_client.list_accounts("cst_1")
    assert 4 == info.value.attempts
    assert 4 == len(seeded.requests)
    assert 3 == len(fake_time.sleeps)
    assert "after 4 attempts" in str(info.value)
    assert info.value.request_id is not None


@pytest.mark.asyncio
async def test_backoff_windows_grow_exponentially(seeded: FakeJuspay, fake_time: FakeTime) -> None:
    """Full-jitter waits fall inside windows of initial_delay * 2**n, capped at max_delay."""
    seeded.inject(Fault.respond(500, ""), times=20)
    policy = ja.RetryPolicy(
        max_attempts=8, initial_delay=1.0, max_delay=5.0, deadline=None, sleep=fake_time.sleep
    )
    async with ja.AccountsClient(seeded.api_key, base_url=seeded.url, retry=policy) as client:
        with pytest.raises(ja.ServerError):
            await client.list_accounts("cst_1")
    windows = [1.0, 2.0, 4.0, 5.0, 5.0, 5.0, 5.0]
    assert len(windows) == len(fake_time.sleeps)
    assert all(0 <= wait <= window for wait, window in zip(fake_time.sleeps, windows, strict=True))


# -- Retry-After -------------------------------------------------------------------


@pytest.mark.asyncio
async def test_retry_after_seconds_is_the_wait(
    timed_client: ja.AccountsClient, seeded: FakeJuspay, fake_time: FakeTime
) -> None:
    """A 429 with Retry-After: 3 waits exactly 3 s, then succeeds."""
    seeded.inject(Fault.respond(429, "{}", headers={"Retry-After": "3"}))
    await timed_client.list_accounts("cst_1")
    assert [3.0] == fake_time.sleeps
    assert 2 == len(seeded.requests)


@pytest.mark.asyncio
async def test_retry_after_http_date_is_the_wait(
    timed_client: ja.AccountsClient, seeded: FakeJuspay, fake_time: FakeTime
) -> None:
    """A 503 with Retry-After as an HTTP date waits until that moment."""
    when = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=20)
    seeded.inject(
        Fault.respond(
            503, "", headers={"Retry-After": email.utils.format_datetime(when, usegmt=True)}
        )
    )
    await timed_client.list_accounts("cst_1")
    (wait,) = fake_time.sleeps
    assert 18.0 <= wait <= 20.0


@pytest.mark.asyncio
@pytest.mark.parametrize(("status", "error"), [(429, ja.RateLimitError), (503, ja.ServerError)])
async def test_retry_after_above_cap_fails_at_once(
    timed_client: ja.AccountsClient,
    seeded: FakeJuspay,
    fake_time: FakeTime,
    status: int,
    error: type[ja.APIError],
) -> None:
    """A Retry-After longer than max_retry_after is not slept: the error tells when to return."""
    seeded.inject(Fault.respond(status, "", headers={"Retry-After": "3600"}))
    with pytest.raises(error) as info:
        await timed_client.list_accounts("cst_1")
    assert 3600.0 == info.value.retry_after
    assert 1 == len(seeded.requests)
    assert [] == fake_time.sleeps


# -- deadline ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_deadline_stops_retries_before_a_wait_that_would_pass_it(
    seeded: FakeJuspay, fake_time: FakeTime
) -> None:
    """With a 1 s deadline and 0.6 s waits, the second wait is never started."""
    seeded.inject(Fault.respond(503, "", headers={"Retry-After": "0.6"}), times=10)
    policy = ja.RetryPolicy(max_attempts=10, deadline=1.0, sleep=fake_time.sleep)
    async with ja.AccountsClient(seeded.api_key, base_url=seeded.url, retry=policy) as client:
        with pytest.raises(ja.ServerError) as info:
            await client.list_accounts("cst_1")
    assert [0.6] == fake_time.sleeps
    assert 2 == info.value.attempts
    assert 2 == len(seeded.requests)


@pytest.mark.asyncio
async def test_deadline_bounds_each_attempt(seeded: FakeJuspay) -> None:
    """A slow answer is cut at the deadline even when the per-attempt timeout is longer."""
    seeded.inject(Fault.answer_late(5.0), times=5)
    policy = ja.RetryPolicy(deadline=0.05).without_waiting()
    async with ja.AccountsClient(
        seeded.api_key, base_url=seeded.url, timeout=30.0, retry=policy
    ) as client:
        started = time.monotonic()
        with pytest.raises(ja.APITimeoutError) as info:
            await client.list_accounts("cst_1")
        elapsed = time.monotonic() - started
    assert elapsed < 1.0
    assert "within 0.05 s" in str(info.value)
    assert 1 == len(seeded.requests)


# -- the shared rate-limit hold ----------------------------------------------------


@pytest.mark.asyncio
async def test_a_429_holds_back_every_call_on_the_client(
    seeded: FakeJuspay, fake_time: FakeTime
) -> None:
    """After one call's 429 with Retry-After: 2, another call waits ~2 s (plus jitter) first."""
    seeded.add_account("cst_2")
    seeded.inject(Fault.respond(429, "", headers={"Retry-After": "2"}), customer_id="cst_1")
    policy = ja.RetryPolicy(sleep=fake_time.sleep)
    async with ja.AccountsClient(seeded.api_key, base_url=seeded.url, retry=policy) as client:
        with pytest.raises(ja.RateLimitError):
            await client.list_accounts("cst_1", retry=attrs.evolve(policy, max_attempts=1))
        assert [] == fake_time.sleeps
        page = await client.list_accounts("cst_2")
    assert 1 == len(page.accounts)
    (held,) = fake_time.sleeps
    assert 2.0 <= held <= 2.0 + policy.initial_delay
    assert ["cst_1", "cst_2"] == [r.customer_id for r in seeded.requests]


@pytest.mark.asyncio
async def test_concurrent_calls_wait_out_the_hold(
    seeded: FakeJuspay, recorded_sleeps: FakeTime
) -> None:
    """Calls whose backoff is shorter than a hold set by another call's 429 wait for the hold."""
    # The real clock here: a shared fake clock would let the first sleeper end the hold.
    fake_time = recorded_sleeps
    for i in range(2, 6):
        seeded.add_account(f"cst_{i}")
    seeded.inject(Fault.respond(429, "", headers={"Retry-After": "5"}), customer_id="cst_1")
    seeded.inject(Fault.respond(500, ""), times=4)
    policy = ja.RetryPolicy(initial_delay=0.1, sleep=fake_time.sleep)
    async with ja.AccountsClient(seeded.api_key, base_url=seeded.url, retry=policy) as client:
        pages = await asyncio.gather(*(client.list_accounts(f"cst_{i}") for i in range(1, 6)))
    assert [2, 1, 1, 1, 1] == [len(p.accounts) for p in pages]
    assert all(wait >= 4.0 for wait in fake_time.sleeps), fake_time.sleeps


ABSURD = ["99999999999", "Fri, 31 Dec 9999 23:59:59 GMT"]


@pytest.mark.asyncio
@pytest.mark.parametrize("retry_after", ABSURD)
async def test_absurd_retry_after_holds_others_only_for_max_retry_after(
    fake: FakeJuspay, fake_time: FakeTime, retry_after: str
) -> None:
    """The 429'd call fails fast with what was asked; others wait max_retry_after, then send."""
    fake.add_account("cst_1")
    fake.add_account("cst_2")
    fake.inject(Fault.respond(429, "", headers={"Retry-After": retry_after}), customer_id="cst_1")
    policy = ja.RetryPolicy(sleep=fake_time.sleep, deadline=None)
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, retry=policy) as client:
        with pytest.raises(ja.RateLimitError) as info:
            await client.list_accounts("cst_1")
        assert info.value.retry_after is not None
        assert info.value.retry_after > 10**10
        assert [] == fake_time.sleeps
        page = await client.list_accounts("cst_2")
    assert 1 == len(page.accounts)
    (held,) = fake_time.sleeps
    # Before the fix: every later call fails "not sent" for thousands of years.
    assert policy.max_retry_after <= held <= policy.max_retry_after + policy.initial_delay
    assert ["cst_1", "cst_2"] == [r.customer_id for r in fake.requests]


@pytest.mark.asyncio
async def test_hold_is_capped_by_the_policy_of_the_call_that_got_the_429(
    fake: FakeJuspay, fake_time: FakeTime
) -> None:
    """A call whose policy allows 300 s holds the client 300 s; one allowing 10 s is not sent."""
    fake.add_account("cst_1")
    fake.inject(Fault.respond(429, "", headers={"Retry-After": "99999"}))
    patient = ja.RetryPolicy(sleep=fake_time.sleep, deadline=None, max_retry_after=300.0)
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, retry=patient) as client:
        with pytest.raises(ja.RateLimitError):
            await client.list_accounts("cst_1")
        hurried = attrs.evolve(patient, max_retry_after=10.0)
        with pytest.raises(ja.RateLimitError, match="not sent") as info:
            await client.list_accounts("cst_1", retry=hurried)
        assert 300.0 == info.value.retry_after
        fake_time.now += 300.0
        assert 1 == len((await client.list_accounts("cst_1", retry=hurried)).accounts)
    assert 2 == len(fake.requests)


@pytest.mark.asyncio
async def test_default_policy_fails_fast_rather_than_waiting_out_its_deadline(
    fake: FakeJuspay, fake_time: FakeTime
) -> None:
    """With the default 60 s deadline a 60 s hold is not waited out for an attempt with no time."""
    fake.add_account("cst_1")
    fake.inject(Fault.respond(429, "", headers={"Retry-After": "99999999999"}))
    policy = ja.RetryPolicy(sleep=fake_time.sleep)
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, retry=policy) as client:
        with pytest.raises(ja.RateLimitError):
            await client.list_accounts("cst_1")
        with pytest.raises(ja.RateLimitError, match="not sent") as info:
            await client.list_accounts("cst_1")
        assert info.value.retry_after is not None
        assert info.value.retry_after <= policy.max_retry_after
        fake_time.now += policy.max_retry_after
        assert 1 == len((await client.list_accounts("cst_1")).accounts)
    assert [] == fake_time.sleeps


@pytest.mark.parametrize(
    "value",
    ["-5", "-0.5", "-1e9", "soon", "", "inf", "1e400", "Wed, 21 Oct 2015 07:27:00 GMT", "\x00"],
)
def test_negative_garbage_and_past_retry_after_are_ignored(value: str) -> None:
    """Negative, unreadable and past-date Retry-After values are ignored (None)."""
    now = dt.datetime(2015, 10, 21, 7, 28, tzinfo=dt.UTC)
    assert _response.parse_retry_after(value, now=now) is None


@pytest.mark.asyncio
async def test_negative_retry_after_sets_no_hold(fake: FakeJuspay, fake_time: FakeTime) -> None:
    """A 429 with Retry-After: -5 carries no retry_after and holds nothing back."""
    fake.add_account("cst_1")
    fake.inject(Fault.respond(429, "", headers={"Retry-After": "-5"}))
    policy = ja.RetryPolicy(sleep=fake_time.sleep, max_attempts=1)
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, retry=policy) as client:
        with pytest.raises(ja.RateLimitError) as info:
            await client.list_accounts("cst_1")
        assert info.value.retry_after is None
        assert 1 == len((await client.list_accounts("cst_1")).accounts)
    assert [] == fake_time.sleeps


# -- cancellation ------------------------------------------------------------------


def acquired_connections(client: ja.AccountsClient) -> int:
    """How many connections the client's pool has checked out right now."""
    session = client._transport.session
    assert session is not None
    connector = session.connector
    assert connector is not None
    return len(connector._acquired)


@pytest.mark.asyncio
async def test_cancel_during_backoff_wait_propagates_at_once(seeded: FakeJuspay) -> None:
    """Cancelling a call while it waits to retry raises CancelledError promptly, no retry made."""
    sleeping = asyncio.Event()

    async def slow_sleep(_seconds: float) -> None:
        sleeping.set()
        await asyncio.Event().wait()  # until cancelled

    seeded.inject(Fault.respond(503, ""), times=5)
    policy = ja.RetryPolicy(initial_delay=100.0, max_delay=100.0, deadline=None, sleep=slow_sleep)
    async with ja.AccountsClient(seeded.api_key, base_url=seeded.url, retry=policy) as client:
        task = asyncio.create_task(client.list_accounts("cst_1"))
        await asyncio.wait_for(sleeping.wait(), 5)
        started = time.monotonic()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert time.monotonic() - started < 0.5
        assert 0 == acquired_connections(client)
    assert 1 == len(seeded.requests)


@pytest.mark.asyncio
async def test_cancel_during_request_propagates_and_frees_the_connection(
    seeded: FakeJuspay, client: ja.AccountsClient
) -> None:
    """Cancelling an in-flight request raises CancelledError and checks no connection out."""
    seeded.inject(Fault.answer_late(30.0))
    task = asyncio.create_task(client.list_accounts("cst_1"))
    while seeded.in_flight == 0:  # noqa: ASYNC110 - polling the fake server's counter
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert 0 == acquired_connections(client)
    assert 1 == len(seeded.requests)


def test_cancellation_is_never_retryable() -> None:
    """The predicate is an allow-list: cancellation and other exceptions are not retried."""
    policy = ja.RetryPolicy()
    assert not policy.should_retry(asyncio.CancelledError())
    assert not policy.should_retry(KeyboardInterrupt())
    assert not policy.should_retry(ValueError())
    assert policy.should_retry(ja.APITimeoutError("slow"))
    assert policy.should_retry(ja.ServerError(status=500))
    assert not policy.should_retry(ja.ResponseValidationError("bad", status=200))


# -- logging -----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_each_retry_is_logged_without_credentials(
    seeded: FakeJuspay, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    """Each retry logs at INFO with customer, attempt, status, delay and request id; no key."""
    seeded.inject(Fault.respond(503, "", headers={"Retry-After": "1.5"}), times=2)
    policy = ja.RetryPolicy(sleep=fake_time.sleep)
    caplog.set_level(logging.DEBUG)
    async with ja.AccountsClient(seeded.api_key, base_url=seeded.url, retry=policy) as client:
        await client.list_accounts("cst_1")
    retries = [
        r for r in caplog.records if r.name == "juspay_accounts" and r.levelno == logging.INFO
    ]
    assert 2 == len(retries)
    first = retries[0]
    assert (
        "customer cst_1: attempt 1 of 4 failed (HTTP 503, request id "
        f"{first.juspay_request_id}); retrying in 1.500 s"  # type: ignore[attr-defined]
    ) == first.getMessage()
    assert first.juspay_request_id  # type: ignore[attr-defined]
    assert (1, 503, 1.5) == (first.juspay_attempt, first.juspay_status, first.juspay_delay)  # type: ignore[attr-defined]
    token = seeded.requests[0].headers["Authorization"].split()[1]
    for record in caplog.records:
        text = record.getMessage() + json.dumps(vars(record), default=str)
        assert seeded.api_key not in text
        assert token not in text


# -- the policy itself -------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": True},
        {"initial_delay": -1},
        {"max_delay": float("nan")},
        {"deadline": 0},
        {"max_retry_after": -5},
    ],
)
def test_policy_refuses_nonsense(kwargs: dict[str, object]) -> None:
    """Impossible settings fail when the policy is built."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ja.RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_disabled_and_without_waiting() -> None:
    """disabled() makes one attempt; without_waiting() keeps everything but the sleeping."""
    assert 1 == ja.RetryPolicy.disabled().max_attempts
    policy = ja.RetryPolicy(max_attempts=7, deadline=None)
    quick = policy.without_waiting()
    assert (7, None, policy.retry_statuses) == (
        quick.max_attempts,
        quick.deadline,
        quick.retry_statuses,
    )
    assert quick.sleep is not policy.sleep
    assert ja.DEFAULT_RETRY_STATUSES == frozenset({408, 429, 500, 502, 503, 504})


@pytest.mark.asyncio
async def test_per_call_policy_overrides_the_client(seeded: FakeJuspay) -> None:
    """A client with retries off still retries a call that passes its own policy."""
    seeded.inject(Fault.respond(502, HTML_502), times=2)
    async with ja.AccountsClient(
        seeded.api_key, base_url=seeded.url, retry=ja.RetryPolicy.disabled()
    ) as client:
        with pytest.raises(ja.ServerError):
            await client.list_accounts("cst_1")
        page = await client.list_accounts("cst_1", retry=ja.RetryPolicy().without_waiting())
    assert 2 == len(page.accounts)
    assert 3 == len(seeded.requests)


@pytest.mark.asyncio
@pytest.mark.parametrize("status", sorted(ja.DEFAULT_RETRY_STATUSES))
async def test_retry_after_is_the_wait_on_every_retried_status(
    timed_client: ja.AccountsClient, seeded: FakeJuspay, fake_time: FakeTime, status: int
) -> None:
    """Retry-After is honoured on any retried answer, not only 429 and 503 (docs/retries.md)."""
    seeded.inject(Fault.respond(status, "{}", headers={"Retry-After": "7"}))
    await timed_client.list_accounts("cst_1")
    assert [7.0] == fake_time.sleeps
    assert 2 == len(seeded.requests)
