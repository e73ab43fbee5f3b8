"""The retry budget: when Juspay fails everything, retries stay a share of the calls.

Through MockTransport (no sockets): the handler fails as the test says, and counts.
"""

from __future__ import annotations

import itertools

import pytest

import juspay_accounts as ja
from juspay_accounts import _timing
from juspay_accounts._retry_budget import RetryBudget
from juspay_accounts.testing import MockRequest, MockResponse, MockTransport

PAGE = {"list": [], "offset": 0, "count": 0, "total": 0}
CUSTOMERS = [f"cst_{n}" for n in range(300)]


def client(transport: MockTransport, policy: ja.RetryPolicy) -> ja.AccountsClient:
    """A client over ``transport`` whose policy never sleeps."""
    return ja.AccountsClient("key", transport=transport, retry=policy.without_waiting())


def always_503(_request: MockRequest) -> MockResponse:
    """Juspay down."""
    return MockResponse(503, json={"status": "error"})


@pytest.mark.asyncio
async def test_an_outage_costs_a_fifth_more_requests_not_four_times_as_many() -> None:
    """Everything fails: 300 customers send at most 1.2 x 300 requests plus the floor's 30.

    Each customer fails with its last error; those whose retry was refused say so.
    """
    transport = MockTransport(always_503)
    async with client(transport, ja.RetryPolicy()) as accounts:
        results = await accounts.gather_accounts(CUSTOMERS, concurrency=32)
    assert len(transport.requests) <= 1.2 * 300 + 3 * 10
    assert len(transport.requests) >= 300
    errors = [r.error for r in results.values()]
    assert all(isinstance(e, ja.ServerError) for e in errors)
    refused = [e for e in errors if e is not None and e.not_retried]
    assert len(refused) >= 200
    assert all("retry budget was spent" in str(e) for e in refused)


@pytest.mark.asyncio
async def test_one_answer_in_ten_failing_still_serves_every_customer() -> None:
    """10 % of answers are 503: the budget has room for every retry; everyone succeeds."""
    counter = itertools.count(1)

    def flaky(_request: MockRequest) -> MockResponse:
        if next(counter) % 10 == 0:
            return MockResponse(503)
        return MockResponse(200, json=PAGE)

    transport = MockTransport(flaky)
    async with client(transport, ja.RetryPolicy()) as accounts:
        results = await accounts.gather_accounts(CUSTOMERS, concurrency=32)
    assert all(r.ok for r in results.values())


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("policy", "requests"),
    [(ja.RetryPolicy(retry_budget=None), 4 * 300), (ja.RetryPolicy.disabled(), 300)],
    ids=["no budget", "disabled"],
)
async def test_without_a_budget_every_call_retries_as_before(
    policy: ja.RetryPolicy, requests: int
) -> None:
    """retry_budget=None retries every call up to max_attempts; disabled() makes one attempt."""
    transport = MockTransport(always_503)
    async with client(transport, policy) as accounts:
        await accounts.gather_accounts(CUSTOMERS, concurrency=32)
    assert requests == len(transport.requests)


@pytest.mark.asyncio
async def test_the_budget_is_shared_by_the_client_and_its_views() -> None:
    """A view made with with_options spends the client's budget: the client then cannot retry."""
    transport = MockTransport(always_503)
    stingy = ja.RetryPolicy(retry_budget=0.0, retry_budget_floor=0.2)  # 2 retries per 10 s
    async with client(transport, stingy) as accounts:
        view = accounts.with_options(merchant_id="m_1")
        with pytest.raises(ja.ServerError) as first:
            await view.list_accounts("cst_1")  # spends both retries
        with pytest.raises(ja.ServerError) as second:
            await accounts.list_accounts("cst_2")
    assert 3 == first.value.attempts  # its third retry was refused
    assert 1 == second.value.attempts  # no retry left for it at all
    assert first.value.not_retried is not None
    assert second.value.not_retried is not None
    assert 4 == len(transport.requests)


def test_the_window_slides(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries spent more than 10 s ago no longer count; calls made then no longer earn."""
    now = [1000.0]
    monkeypatch.setattr(_timing, "clock", lambda: now[0])
    budget = RetryBudget()
    for _ in range(10):
        budget.note_call()
    assert [True, True, False] == [budget.try_retry(0.2, 0.0) for _ in range(3)]
    now[0] += 9.5
    assert not budget.try_retry(0.2, 0.0)  # still within the window
    now[0] += 1.0
    assert not budget.try_retry(0.2, 0.0)  # the calls left the window too
    assert budget.try_retry(0.2, 0.1)  # the floor: one retry per 10 s
    now[0] += 1000.0  # long idle: every bucket emptied at once
    assert budget.try_retry(0.0, 0.1)


@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf"), True, "0.2"])
def test_a_bad_budget_is_refused(value: object) -> None:
    """retry_budget must be a non-negative finite number or None."""
    with pytest.raises(ValueError, match="retry_budget must be"):
        ja.RetryPolicy(retry_budget=value)  # type: ignore[arg-type]


def _budget_at(monkeypatch: pytest.MonkeyPatch, start: float) -> tuple[RetryBudget, list[float]]:
    """A new budget on a clock the test moves (``now[0]``), starting at ``start``."""
    now = [start]
    monkeypatch.setattr(_timing, "clock", lambda: now[0])
    return RetryBudget(), now


def test_a_new_budget_has_seen_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Even on a clock that starts at zero: no calls to earn retries, no retries spent."""
    budget, _now = _budget_at(monkeypatch, 0.0)
    assert not budget.try_retry(0.2, 0.0)  # no calls have earned a retry
    assert budget.try_retry(0.0, 0.1)  # the floor's one retry per window is free


@pytest.mark.parametrize(
    ("made_at", "then", "allowed"),
    [
        (1000.0, [1001.0], True),  # a second later the calls still count
        (992.0, [1000.0, 1001.0], True),  # the window's oldest second still counts
        (991.0, [1000.0, 1001.0], False),  # one second older: gone, moving a second at a time
        (1000.0, [1019.0], False),  # a long jump empties every bucket, the last one too
    ],
)
def test_the_window_is_exactly_the_last_ten_seconds(
    monkeypatch: pytest.MonkeyPatch, made_at: float, then: list[float], allowed: bool
) -> None:
    """Ten calls at ``made_at`` earn two retries (ratio 0.2) while they are in the window.

    The clock then visits each time of ``then`` (a refused retry at each, which spends
    nothing), and the last one asks for a retry.
    """
    budget, now = _budget_at(monkeypatch, made_at)
    for _ in range(10):
        budget.note_call()
    for moment in then[:-1]:
        now[0] = moment
        assert not budget.try_retry(0.0, 0.0)
    now[0] = then[-1]
    assert allowed == budget.try_retry(0.2, 0.0)
