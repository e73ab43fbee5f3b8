"""One 429 with an absurd Retry-After holds the client back for max_retry_after at most."""

from __future__ import annotations

import asyncio
import datetime as dt

import attrs
import pytest

import juspay_accounts as ja
from juspay_accounts import _protocol, _retry
from juspay_accounts.testing import FakeJuspay, Fault


@attrs.define
class FakeTime:
    """A retry clock that only moves when the library sleeps, and a record of the sleeps."""

    now: float = 1000.0
    sleeps: list[float] = attrs.field(factory=list)

    def clock(self) -> float:
        """The fake monotonic clock."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Record the wait, move the clock, and let other tasks run."""
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> FakeTime:
    """Fake the retry clock."""
    faked = FakeTime()
    monkeypatch.setattr(_retry, "_clock", faked.clock)
    return faked


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
    # Today: every later call fails "not sent" for thousands of years.
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
    assert _protocol.parse_retry_after(value, now=now) is None


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
