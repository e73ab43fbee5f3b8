"""The in-process rate limit (``RateLimit(store="memory://")``), on a faked clock.

Start times are read on the faked clock when aiohttp starts each request (the
``started_at`` fixture), so the waits are the limiter's and the test takes no real time.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import pytest

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault

if TYPE_CHECKING:
    import aiohttp

    from ratelimit.conftest import FakeTime


def _client(
    fake: FakeJuspay,
    session: aiohttp.ClientSession,
    fake_time: FakeTime,
    limit: ja.RateLimit | None,
    **policy: float | None,
) -> ja.AccountsClient:
    retry = ja.RetryPolicy(sleep=fake_time.sleep, **policy)  # type: ignore[arg-type]
    return ja.AccountsClient(
        fake.api_key, base_url=fake.url, session=session, retry=retry, rate_limit=limit
    )


@pytest.mark.asyncio
async def test_burst_then_per_second(
    fake: FakeJuspay,
    fake_time: FakeTime,
    started_at: tuple[aiohttp.ClientSession, list[float]],
) -> None:
    """A burst of 3 starts at once, then one request every 1/per_second seconds."""
    session, starts = started_at
    fake.add_customer("cst_1")
    async with _client(fake, session, fake_time, ja.RateLimit(10, burst=3)) as client:
        await fake_time.run(asyncio.gather(*(client.list_accounts("cst_1") for _ in range(8))))
    assert [0.0, 0.0, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5] == starts


@pytest.mark.asyncio
async def test_without_a_limit_all_start_at_once(
    fake: FakeJuspay,
    fake_time: FakeTime,
    started_at: tuple[aiohttp.ClientSession, list[float]],
) -> None:
    """Without rate_limit nothing waits (the measure above is the limit's doing)."""
    session, starts = started_at
    fake.add_customer("cst_1")
    async with _client(fake, session, fake_time, None) as client:
        await fake_time.run(asyncio.gather(*(client.list_accounts("cst_1") for _ in range(5))))
    assert [0.0] * 5 == starts


@pytest.mark.asyncio
async def test_default_burst_is_per_second(
    fake: FakeJuspay,
    fake_time: FakeTime,
    started_at: tuple[aiohttp.ClientSession, list[float]],
) -> None:
    """Without burst, per_second requests start at once, the next a 1/per_second later."""
    session, starts = started_at
    fake.add_customer("cst_1")
    async with _client(fake, session, fake_time, ja.RateLimit(4)) as client:
        await fake_time.run(asyncio.gather(*(client.list_accounts("cst_1") for _ in range(6))))
    assert [0.0, 0.0, 0.0, 0.0, 0.25, 0.5] == starts


@pytest.mark.asyncio
async def test_retries_take_tokens(
    fake: FakeJuspay,
    fake_time: FakeTime,
    started_at: tuple[aiohttp.ClientSession, list[float]],
) -> None:
    """A retry waits for the budget like any request: one a second, retries included."""
    session, starts = started_at
    fake.add_customer("cst_1")
    fake.inject(Fault.respond(503, b"busy", headers={"Retry-After": "0"}), times=2)
    async with _client(fake, session, fake_time, ja.RateLimit(1)) as client:
        await fake_time.run(client.list_accounts("cst_1"))
    assert [0.0, 1.0, 2.0] == starts


@pytest.mark.asyncio
async def test_waiting_for_the_budget_counts_against_the_deadline(
    fake: FakeJuspay,
    fake_time: FakeTime,
    started_at: tuple[aiohttp.ClientSession, list[float]],
) -> None:
    """Calls whose token would come too late for their deadline are refused, never sent."""
    session, starts = started_at
    fake.add_customer("cst_1")
    limit = ja.RateLimit(1)
    async with _client(fake, session, fake_time, limit, deadline=1.5) as client:
        outcomes = await fake_time.run(
            asyncio.gather(
                *(client.list_accounts("cst_1") for _ in range(4)), return_exceptions=True
            )
        )
        refused = outcomes[2:]
        assert all(isinstance(e, ja.RateLimitError) for e in refused), outcomes
        assert all(str(e).startswith("not sent") for e in refused)
        assert fake_time.now - 1000.0 <= 1.5  # nobody outlived the deadline
        # The refused calls took nothing: the next token is the one after the second call's.
        await fake_time.run(client.list_accounts("cst_1"))
    assert [0.0, 1.0, 2.0] == starts


@pytest.mark.asyncio
async def test_budget_is_per_client_with_memory_store(
    fake: FakeJuspay,
    fake_time: FakeTime,
    started_at: tuple[aiohttp.ClientSession, list[float]],
) -> None:
    """memory:// is the client's own: two clients with one RateLimit each get a budget."""
    session, starts = started_at
    fake.add_customer("cst_1")
    limit = ja.RateLimit(1)
    async with (
        _client(fake, session, fake_time, limit) as first,
        _client(fake, session, fake_time, limit) as second,
    ):
        await fake_time.run(
            asyncio.gather(first.list_accounts("cst_1"), second.list_accounts("cst_1"))
        )
    assert [0.0, 0.0] == starts


@pytest.mark.asyncio
async def test_closing_the_client_ends_a_budget_wait(fake: FakeJuspay) -> None:
    """A call waiting for the budget ends with ClientClosedError when the client closes."""
    fake.add_customer("cst_1")
    client = ja.AccountsClient(
        fake.api_key,
        base_url=fake.url,
        rate_limit=ja.RateLimit(0.01),
        retry=ja.RetryPolicy(deadline=None),  # else the 100 s wait is refused at once
    )
    await client.list_accounts("cst_1")  # spends the only token for 100 s
    waiting = asyncio.ensure_future(client.list_accounts("cst_1"))
    await asyncio.sleep(0.01)
    await client.aclose()
    with pytest.raises(ja.ClientClosedError):
        await waiting
    assert 1 == len(fake.requests)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"per_second": 0}, "per_second must be a number of at least 0.001"),
        ({"per_second": float("nan")}, "per_second must be"),
        ({"per_second": True}, "per_second must be"),
        ({"per_second": 1, "burst": 0}, "burst must be an int of at least 1"),
        ({"per_second": 1, "burst": 2.5}, "burst must be an int"),
        ({"per_second": 1, "key": ""}, "key must be a non-empty"),
        ({"per_second": 1, "store": "http://localhost"}, "store must be 'memory://' or a redis"),
        ({"per_second": 1, "store": "memory://x"}, "store must be 'memory://' or a redis"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], error: str) -> None:
    """Each bad argument is a ValueError naming it, at construction."""
    with pytest.raises(ValueError, match=error):
        ja.RateLimit(**kwargs)  # type: ignore[arg-type]


def test_the_slowest_rate_is_taken() -> None:
    """One request every 1000 s, the least the message names, is a rate."""
    assert 0.001 == ja.RateLimit(0.001).per_second


def test_store_must_be_a_string() -> None:
    """A store that is not a string is a TypeError."""
    with pytest.raises(TypeError, match="store must be a string"):
        ja.RateLimit(1, store=None)  # type: ignore[arg-type]


def test_client_refuses_a_rate_limit_of_another_type() -> None:
    """rate_limit=5 (not a RateLimit) is a TypeError at construction."""
    with pytest.raises(TypeError, match="rate_limit must be a RateLimit or None, got int"):
        ja.AccountsClient("key", rate_limit=5)  # type: ignore[arg-type]


def test_bucket_size_defaults_to_per_second_rounded_down() -> None:
    """burst=None means per_second, rounded down, at least 1."""
    assert (10, 2, 1, 7) == (
        ja.RateLimit(10).bucket_size,
        ja.RateLimit(2.9).bucket_size,
        ja.RateLimit(0.5).bucket_size,
        ja.RateLimit(10, burst=7).bucket_size,
    )


def test_client_exposes_its_rate_limit() -> None:
    """client.rate_limit is what was given."""
    limit = ja.RateLimit(3)
    assert limit == ja.AccountsClient("key", rate_limit=limit).rate_limit


def test_repr_hides_the_store_password() -> None:
    """The password in a Redis URL never shows in the repr."""
    limit = ja.RateLimit(1, store="redis://user:s3cret-pw@127.0.0.1:6379/0")
    assert "s3cret-pw" not in repr(limit)
    assert "redis://user:***@127.0.0.1:6379/0" in repr(limit)


def test_redis_store_without_the_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the redis extra, a redis:// store fails at construction, naming the extra."""
    monkeypatch.setitem(sys.modules, "redis.asyncio.connection", None)
    with pytest.raises(ja.RateLimitStoreError, match=r"install the redis extra"):
        ja.RateLimit(1, store="redis://127.0.0.1:6379/0")
    assert ja.RateLimit(1).shared is False  # memory:// needs nothing more


@pytest.mark.asyncio
async def test_a_tiny_rate_is_kept_exactly(
    fake: FakeJuspay,
    fake_time: FakeTime,
    started_at: tuple[aiohttp.ClientSession, list[float]],
) -> None:
    """0.0015 a second is one start every 666.67 s, not a rate rounded to the millisecond."""
    session, starts = started_at
    fake.add_customer("cst_1")
    limit = ja.RateLimit(0.0015, burst=1)
    async with _client(fake, session, fake_time, limit, deadline=None) as client:
        await fake_time.run(asyncio.gather(*(client.list_accounts("cst_1") for _ in range(3))))
    assert [0.0, 666.666667, 1333.333333] == starts


@pytest.mark.asyncio
async def test_a_429_hold_holds_back_calls_that_take_tokens(
    fake: FakeJuspay,
    fake_time: FakeTime,
    started_at: tuple[aiohttp.ClientSession, list[float]],
) -> None:
    """With a budget too, a 429's Retry-After holds the client's next call until it ends."""
    session, starts = started_at
    fake.add_customer("cst_1")
    fake.inject(Fault.respond(429, b"slow down", headers={"Retry-After": "1"}), times=1)
    limit = ja.RateLimit(100)
    async with _client(fake, session, fake_time, limit, max_attempts=1) as client:

        async def scenario() -> None:
            with pytest.raises(ja.RateLimitError):
                await client.list_accounts("cst_1")
            await client.list_accounts("cst_1")

        await fake_time.run(scenario())
    assert 0.0 == starts[0]
    assert 1.0 <= starts[1] <= 1.0 + 0.5  # the hold, and at most its jitter


@pytest.mark.asyncio
async def test_without_waiting_a_hold_and_a_token_are_skipped_not_spun_on(
    fake: FakeJuspay,
) -> None:
    """without_waiting() skips a 30 s hold and a 10 s token wait at once, in real time."""
    fake.add_customer("cst_1")
    fake.inject(Fault.respond(429, b"slow down", headers={"Retry-After": "30"}), times=1)
    policy = ja.RetryPolicy(max_attempts=1).without_waiting()
    limit = ja.RateLimit(0.1)
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, retry=policy, rate_limit=limit
    ) as client:
        with pytest.raises(ja.RateLimitError):
            await client.list_accounts("cst_1")
        async with asyncio.timeout(5):  # a bound on the failure (a spin), not a wait
            await client.list_accounts("cst_1")
    assert 2 == len(fake.requests)
