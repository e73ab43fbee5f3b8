"""Coalescing (AccountsClient(coalesce=True)) and the page cache (cache_ttl=...).

Through MockTransport, whose async handler holds each answer until the test releases it,
so "concurrent" is exact: every caller has asked before the one request is answered.
"""

from __future__ import annotations

import asyncio

import pytest

import juspay_accounts as ja
from juspay_accounts import _timing
from juspay_accounts.testing import MockRequest, MockResponse, MockTransport

ACCOUNT = {
    "customer_account_id": "banh_1",
    "customer_id": "cst_1",
    "account_details": {"vpa": "alice@upi"},
    "validation_status": "PENDING",
    "date_created": "2024-01-01T00:00:00Z",
}
PAGE = {"list": [ACCOUNT], "offset": 0, "count": 1, "total": 1}


class Gate:
    """A handler that answers only when released; it counts what it was asked."""

    def __init__(self, answer: MockResponse | None = None) -> None:
        """Closed until :meth:`release`."""
        self.released = asyncio.Event()
        self.answer = answer or MockResponse(200, json=PAGE)
        self.transport = MockTransport(self.handle)

    async def handle(self, _request: MockRequest) -> MockResponse:
        """Wait for the release, then answer."""
        await self.released.wait()
        return self.answer

    @property
    def sent(self) -> int:
        """Requests that reached the transport."""
        return len(self.transport.requests)


def client(gate: Gate, **options: object) -> ja.AccountsClient:
    """A client over the gate, retrying without waiting."""
    policy = ja.RetryPolicy().without_waiting()
    return ja.AccountsClient("key", transport=gate.transport, retry=policy, **options)  # type: ignore[arg-type]


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


@pytest.mark.asyncio
async def test_fifty_callers_one_request_and_the_first_cancelled() -> None:
    """50 concurrent calls for one customer are 1 request; the first cancelled, 49 get it."""
    gate = Gate()
    async with client(gate, coalesce=True) as accounts:
        calls = [asyncio.ensure_future(accounts.list_accounts("cst_1")) for _ in range(50)]
        await _settle()
        calls[0].cancel()
        await _settle()
        gate.released.set()
        pages = await asyncio.gather(*calls[1:])
        with pytest.raises(asyncio.CancelledError):
            await calls[0]
    assert 1 == gate.sent
    assert 49 == len(pages)
    assert all(page == pages[0] for page in pages)


@pytest.mark.asyncio
async def test_a_failure_is_shared_like_a_result() -> None:
    """The one request fails (a 404): every caller gets that failure; still one request."""
    gate = Gate(MockResponse(404, json={"status": "Not Found", "error_code": "nope"}))
    async with client(gate, coalesce=True) as accounts:
        calls = [asyncio.ensure_future(accounts.list_accounts("cst_1")) for _ in range(5)]
        await _settle()
        gate.released.set()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
    assert 1 == gate.sent
    assert all(isinstance(o, ja.NotFoundError) for o in outcomes)


@pytest.mark.asyncio
async def test_different_pages_are_not_coalesced() -> None:
    """Another customer, offset, count or merchant is another request."""
    gate = Gate()
    async with client(gate, coalesce=True) as accounts:
        calls = [
            accounts.list_accounts("cst_1"),
            accounts.list_accounts("cst_2"),
            accounts.list_accounts("cst_1", offset=10),
            accounts.list_accounts("cst_1", count=5),
            accounts.list_accounts("cst_1", merchant_id="m_2"),
            accounts.list_accounts("cst_1", headers={"x-trace": "a"}),
        ]
        tasks = [asyncio.ensure_future(c) for c in calls]
        await _settle()
        gate.released.set()
        await asyncio.gather(*tasks)
    assert 6 == gate.sent


@pytest.mark.asyncio
async def test_a_caller_with_a_shorter_deadline_gets_its_own_timeout() -> None:
    """A second caller whose deadline ends first times out; the first still gets the page."""
    gate = Gate()
    async with client(gate, coalesce=True) as accounts:
        patient = asyncio.ensure_future(accounts.list_accounts("cst_1"))
        await _settle()
        hurried = ja.RetryPolicy(deadline=0.05)
        with pytest.raises(ja.APITimeoutError, match="deadline"):
            await accounts.list_accounts("cst_1", retry=hurried)
        gate.released.set()
        page = await patient
    assert 1 == gate.sent
    assert 1 == len(page.accounts)


@pytest.mark.asyncio
async def test_when_every_caller_leaves_the_request_is_cancelled() -> None:
    """Nobody waits any more: the shared request is cancelled, not left running, quietly."""
    gate = Gate()
    reported: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(
        lambda _loop, context: reported.append(context)
    )
    async with client(gate, coalesce=True) as accounts:
        calls = [asyncio.ensure_future(accounts.list_accounts("cst_1")) for _ in range(3)]
        await _settle()
        for call in calls:
            call.cancel()
        await asyncio.gather(*calls, return_exceptions=True)
        await _settle()
        gate.released.set()
        page = await accounts.list_accounts("cst_1")  # a new request, not the abandoned one
    assert 2 == gate.sent
    assert 1 == len(page.accounts)
    assert [] == reported  # nothing for the loop to complain of (an unretrieved failure...)


def test_a_request_left_in_flight_by_an_earlier_event_loop_is_not_waited_for() -> None:
    """A coalescing client used from a second event loop sends its own request.

    The first loop stops while its call and the shared request are still in flight (an
    application's loop ended without waiting for its tasks): the second loop's call must
    not wait for a task of a loop that is gone.
    """
    gate = Gate()
    accounts = client(gate, coalesce=True)

    async def start() -> None:
        asyncio.ensure_future(accounts.list_accounts("cst_1"))  # noqa: RUF006 - left pending
        await _settle()

    first = asyncio.new_event_loop()
    try:
        first.run_until_complete(start())  # the loop stops; its tasks stay pending

        async def second() -> int:
            gate.released = asyncio.Event()
            gate.released.set()
            return len((await accounts.list_accounts("cst_1")).accounts)

        assert 1 == asyncio.run(second())
    finally:  # the first loop's tasks cancelled and finished, then the loop closed
        pending = asyncio.all_tasks(first)
        for task in pending:
            task.cancel()
        first.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        first.run_until_complete(accounts.aclose())
        first.close()
    assert 2 == gate.sent


@pytest.mark.asyncio
async def test_without_coalesce_each_call_sends_its_own_request() -> None:
    """The default: no coalescing."""
    gate = Gate()
    async with client(gate) as accounts:
        calls = [asyncio.ensure_future(accounts.list_accounts("cst_1")) for _ in range(3)]
        await _settle()
        gate.released.set()
        await asyncio.gather(*calls)
    assert 3 == gate.sent


@pytest.mark.asyncio
async def test_the_cache_serves_a_page_until_its_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    """cache_ttl=30: a page fetched 29 s ago is served as it was; at 31 s it is fetched again."""
    now = [1000.0]
    monkeypatch.setattr(_timing, "clock", lambda: now[0])
    gate = Gate()
    gate.released.set()
    async with client(gate, cache_ttl=30.0) as accounts:
        first = await accounts.list_accounts("cst_1")
        now[0] += 29.0
        assert first is await accounts.list_accounts("cst_1")
        assert 1 == gate.sent
        fresh = await accounts.list_accounts("cst_1", cache=False)  # skips, and refreshes
        assert 2 == gate.sent
        now[0] += 29.0
        assert fresh is await accounts.list_accounts("cst_1")
        now[0] += 2.0
        await accounts.list_accounts("cst_1")
    assert 3 == gate.sent


@pytest.mark.asyncio
async def test_errors_are_never_cached() -> None:
    """A failure is not kept: the next call asks again."""
    gate = Gate(MockResponse(404, json={"status": "Not Found"}))
    gate.released.set()
    async with client(gate, cache_ttl=60.0) as accounts:
        for _ in range(2):
            with pytest.raises(ja.NotFoundError):
                await accounts.list_accounts("cst_1")
    assert 2 == gate.sent


@pytest.mark.asyncio
async def test_the_cache_keeps_at_most_cache_size_pages() -> None:
    """cache_size=2: a third customer pushes out the least recently used."""
    gate = Gate()
    gate.released.set()
    async with client(gate, cache_ttl=60.0, cache_size=2) as accounts:
        for customer_id in ("cst_a", "cst_b", "cst_a", "cst_c", "cst_a", "cst_b"):
            await accounts.list_accounts(customer_id)
    # a, b fetched; a from the cache; c pushes out b; a from the cache; b fetched again.
    assert ["cst_a", "cst_b", "cst_c", "cst_b"] == [
        r.url.split("/")[4] for r in gate.transport.requests
    ]


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"cache_ttl": 0}, ValueError),
        ({"cache_ttl": float("nan")}, ValueError),
        ({"cache_ttl": float("inf")}, ValueError),
        ({"cache_ttl": True}, ValueError),
        ({"cache_ttl": "30"}, ValueError),
        ({"cache_size": 0}, ValueError),
        ({"coalesce": "yes"}, TypeError),
    ],
)
def test_bad_options_are_refused(options: dict[str, object], error: type[Exception]) -> None:
    """A cache_ttl that is not a positive number, a cache_size below 1, a non-bool coalesce.

    The error names the option and the value given.
    """
    ((name, value),) = options.items()
    with pytest.raises(error, match=rf"\b{name}\b") as info:
        ja.AccountsClient("key", **options)  # type: ignore[arg-type]
    assert repr(value) in str(info.value)


@pytest.mark.parametrize("ttl", [0.5, 1e-3, 10**9])
def test_any_positive_finite_cache_ttl_is_taken(ttl: float) -> None:
    """Half a second, a millisecond, or years: each is a time to keep a page for."""
    ja.AccountsClient("key", cache_ttl=ttl)


@pytest.mark.asyncio
async def test_a_page_expires_at_its_ttl_and_coalescing_fills_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At exactly cache_ttl a page is fetched again; a coalesced request fills the cache."""
    now = [1000.0]
    monkeypatch.setattr(_timing, "clock", lambda: now[0])
    gate = Gate()
    gate.released.set()
    async with client(gate, cache_ttl=30.0, coalesce=True) as accounts:
        await accounts.list_accounts("cst_1")
        await accounts.list_accounts("cst_1")  # from the cache the shared request filled
        assert 1 == gate.sent
        now[0] += 30.0
        await accounts.list_accounts("cst_1")
    assert 2 == gate.sent
