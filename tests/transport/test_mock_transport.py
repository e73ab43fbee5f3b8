"""The transport seam: AccountsClient(transport=...) and juspay_accounts.testing.MockTransport.

No sockets: the handler answers. What the client does above the wire (retries, deadlines,
pagination, the fan-out, redaction of the key, the closed state) runs as it does over
aiohttp; what goes on the wire is tested against the fake server elsewhere.
"""

from __future__ import annotations

import asyncio
import base64
import pickle
import re
import ssl

import pytest

import juspay_accounts as ja
from juspay_accounts.testing import MockRequest, MockResponse, MockTransport

KEY = "sk_mock_transport_0123456789"
NO_WAIT = ja.RetryPolicy().without_waiting()


def page(ids: list[str], *, offset: int = 0, total: int | None = None) -> dict[str, object]:
    """A Juspay list page holding accounts with these ids."""
    accounts = [
        {
            "customer_account_id": account_id,
            "customer_id": "cst_1",
            "object": "customer_account",
            "account_details": {"vpa": f"{account_id}@upi"},
            "currency": "INR",
            "validation_status": "ACTIVE",
            "validation_amount": 1,
            "date_created": "2024-01-01T00:00:00Z",
            "last_validated": "2024-01-01T00:00:00Z",
        }
        for account_id in ids
    ]
    return {
        "list": accounts,
        "offset": str(offset),
        "count": str(len(accounts)),
        "total": str(len(accounts) if total is None else total),
        "object": "list",
    }


def client(transport: MockTransport, **options: object) -> ja.AccountsClient:
    """A client over ``transport``."""
    return ja.AccountsClient(KEY, base_url="https://mock.invalid", transport=transport, **options)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_the_handler_sees_the_request_and_its_answer_is_the_page() -> None:
    """One call: the handler gets method, url (a str) and headers; its JSON is the page."""
    seen: list[MockRequest] = []

    def handler(request: MockRequest) -> MockResponse:
        seen.append(request)
        return MockResponse(200, json=page(["acc_1"]), headers={"x-request-id": "req_1"})

    async with client(MockTransport(handler)) as accounts:
        result = await accounts.list_accounts("cst_1", routing_id="route_1")
    [request] = seen
    assert "GET" == request.method
    assert isinstance(request.url, str)
    assert "https://mock.invalid/customers/cst_1/customer-accounts/list" == request.url
    basic = base64.b64encode(f"{KEY}:".encode()).decode()
    assert f"Basic {basic}" == request.headers["Authorization"]
    assert "route_1" == request.headers["x-routing-id"]
    assert ["acc_1"] == [a.customer_account_id for a in result.accounts]
    assert "req_1" == result.request_id


@pytest.mark.asyncio
async def test_an_async_handler_and_retries_through_the_seam() -> None:
    """Two 503s then a page: retried under the policy, three requests, stats counted."""
    answers = [MockResponse(503), MockResponse(503), MockResponse(200, json=page(["acc_1"]))]

    async def handler(_request: MockRequest) -> MockResponse:
        await asyncio.sleep(0)
        return answers.pop(0)

    transport = MockTransport(handler)
    async with client(transport, retry=NO_WAIT) as accounts:
        result = await accounts.list_accounts("cst_1")
        stats = accounts.stats
    assert 1 == len(result.accounts)
    assert 3 == len(transport.requests)
    assert (3, 2) == (stats.requests, stats.retries)


@pytest.mark.asyncio
async def test_a_walk_of_a_thousand_pages_stops_at_max_pages_without_sockets() -> None:
    """A server that never ends its pages: the default max_pages (1000) stops the walk."""

    def endless(request: MockRequest) -> MockResponse:
        offset = int(request.url.partition("offset=")[2].partition("&")[0] or 0)
        return MockResponse(200, json=page([f"acc_{offset}"], offset=offset, total=10**9))

    transport = MockTransport(endless)
    async with client(transport) as accounts:
        with pytest.raises(ja.PaginationError, match="max_pages=1000"):
            await accounts.all_accounts("cst_1", page_size=1)
    assert 1000 == len(transport.requests)


@pytest.mark.asyncio
async def test_a_fan_out_through_the_seam_reports_each_customer() -> None:
    """Each customer's answer (a page, a 404) lands in its own result."""

    def handler(request: MockRequest) -> MockResponse:
        if "/missing/" in request.url:
            return MockResponse(404, json={"status": "Not Found", "error_code": "not_found"})
        return MockResponse(200, json=page(["acc_1", "acc_2"]))

    async with client(MockTransport(handler)) as accounts:
        results = await accounts.gather_accounts(["cst_1", "missing", "cst_2"])
    assert {"cst_1": 2, "cst_2": 2} == {cid: len(r.accounts) for cid, r in results.items() if r.ok}
    assert isinstance(results["missing"].error, ja.NotFoundError)


@pytest.mark.asyncio
async def test_the_key_in_an_answer_never_reaches_its_error() -> None:
    """A handler that reflects the key, in a header and the body: neither reaches the error."""

    def reflecting(_request: MockRequest) -> MockResponse:
        return MockResponse(400, content=f"bad key {KEY}".encode(), headers={"x-echo": KEY})

    async with client(MockTransport(reflecting)) as accounts:
        with pytest.raises(ja.BadRequestError) as caught:
            await accounts.list_accounts("cst_1")
    error = caught.value
    assert KEY not in error.body
    assert KEY not in str(error)
    assert KEY not in "".join(error.headers.values())


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("failure", "expected"),
    [(TimeoutError(), ja.APITimeoutError), (OSError(f"reset, key {KEY}"), ja.APIConnectionError)],
    ids=["timeout", "socket error"],
)
async def test_a_transport_failure_is_a_retried_connection_error_without_the_key(
    failure: BaseException, expected: type[ja.JuspayError]
) -> None:
    """TimeoutError and OSError from a transport become the library's, retried, key-free."""
    calls: list[int] = []

    def failing(_request: MockRequest) -> MockResponse:
        calls.append(1)
        raise failure

    async with client(MockTransport(failing), retry=NO_WAIT) as accounts:
        with pytest.raises(expected) as caught:
            await accounts.list_accounts("cst_1")
    assert 4 == len(calls)  # retried under the default policy
    assert KEY not in str(caught.value)
    # It says where it failed, and how: the host, and the time limit or the socket's error.
    assert "mock.invalid" in str(caught.value)
    assert ("within 30 s" if expected is ja.APITimeoutError else "OSError: reset") in str(
        caught.value
    )
    assert (None, None) == (caught.value.__cause__, caught.value.__context__)
    pickle.loads(pickle.dumps(caught.value))  # noqa: S301 - our own bytes: still picklable


class _HttpLibraryError(Exception):
    """An HTTP library's error that keeps the request it failed on (as httpx's does)."""

    def __init__(self, request: MockRequest) -> None:
        super().__init__("connection reset")
        self.request_headers = dict(request.headers)


@pytest.mark.asyncio
async def test_a_connection_error_a_transport_chains_reaches_the_caller_unchained() -> None:
    """``raise APIConnectionError(...) from exc``: the message stays, the chain (the key) goes."""

    def library_send(request: MockRequest) -> MockResponse:
        raise _HttpLibraryError(request)

    def failing(request: MockRequest) -> MockResponse:
        try:
            return library_send(request)
        except _HttpLibraryError as exc:
            raise ja.APIConnectionError("the transport lost the connection") from exc

    async with client(MockTransport(failing), retry=ja.RetryPolicy.disabled()) as accounts:
        with pytest.raises(ja.APIConnectionError, match="lost the connection") as caught:
            await accounts.list_accounts("cst_1")
    error = caught.value
    assert (None, None) == (error.__cause__, error.__context__)
    token = base64.b64encode(f"{KEY}:".encode()).decode()
    assert token not in repr(pickle.loads(pickle.dumps(error)).__dict__)  # noqa: S301 - ours


@pytest.mark.asyncio
async def test_a_bug_in_the_handler_reaches_the_caller_as_it_is() -> None:
    """Anything else the handler raises is not a connection error: it is not retried or hidden."""
    calls: list[int] = []

    def buggy(_request: MockRequest) -> MockResponse:
        calls.append(1)
        raise ZeroDivisionError

    async with client(MockTransport(buggy), retry=NO_WAIT) as accounts:
        with pytest.raises(ZeroDivisionError):
            await accounts.list_accounts("cst_1")
    assert 1 == len(calls)


@pytest.mark.asyncio
async def test_a_closed_client_sends_nothing_and_leaves_the_transport_open() -> None:
    """After aclose() calls raise ClientClosedError; the transport is the caller's."""
    transport = MockTransport(lambda _r: MockResponse(200, json=page([])))
    accounts = client(transport)
    await accounts.list_accounts("cst_1")
    await accounts.aclose()
    with pytest.raises(ja.ClientClosedError):
        await accounts.list_accounts("cst_1")
    assert 1 == len(transport.requests)


@pytest.mark.asyncio
async def test_a_client_closed_before_any_call_sends_nothing() -> None:
    """Closing a client that never sent (``async with`` and no call) is quiet; then it refuses."""
    transport = MockTransport(lambda _r: MockResponse(200, json=page([])))
    async with client(transport) as accounts:
        pass
    with pytest.raises(ja.ClientClosedError):
        await accounts.list_accounts("cst_1")
    assert [] == transport.requests


def test_a_client_over_a_transport_waits_in_one_event_loop_then_another() -> None:
    """Each ``asyncio.run`` gets waits bound to its own loop: closing ends the second's wait."""
    answers = iter([503, 200])

    def flaky(_request: MockRequest) -> MockResponse:
        return MockResponse(next(answers, 503), json=page(["acc_1"]))

    async def brief(_seconds: float) -> None:
        await asyncio.sleep(0)

    async def forever(_seconds: float) -> None:
        await asyncio.Event().wait()

    accounts = client(MockTransport(flaky), retry=ja.RetryPolicy(sleep=brief))

    async def first() -> int:  # a retry: its wait is bound to this loop
        return len((await accounts.list_accounts("cst_1")).accounts)

    async def second() -> None:  # a retry that waits until the client is closed
        waiting = asyncio.ensure_future(
            accounts.list_accounts("cst_1", retry=ja.RetryPolicy(sleep=forever))
        )
        for _ in range(20):
            await asyncio.sleep(0)
        await accounts.aclose()
        async with asyncio.timeout(5):
            with pytest.raises(ja.ClientClosedError):
                await waiting

    assert 1 == asyncio.run(first())
    asyncio.run(second())


@pytest.mark.asyncio
async def test_a_transport_s_headers_are_read_in_any_case() -> None:
    """A plain dict of headers from a transport, named in capitals, reads as HTTP's do."""
    headers = {"RETRY-AFTER": "7", "X-REQUEST-ID": "req_CAPS"}
    answer = MockResponse(429, json={"status": "Too Many Requests"}, headers=headers)
    async with client(MockTransport(lambda _r: answer), retry=ja.RetryPolicy.disabled()) as c:
        with pytest.raises(ja.RateLimitError) as caught:
            await c.list_accounts("cst_1")
    assert (7.0, "req_CAPS") == (caught.value.retry_after, caught.value.request_id)


@pytest.mark.asyncio
async def test_a_timeout_without_a_time_limit_names_the_host() -> None:
    """timeout=None: a transport's TimeoutError is still the host's, with no limit quoted."""

    def hangs_up(_request: MockRequest) -> MockResponse:
        raise TimeoutError

    once = ja.RetryPolicy(max_attempts=1, deadline=None)
    accounts = client(MockTransport(hangs_up), timeout=None, retry=once)
    async with accounts:
        with pytest.raises(ja.APITimeoutError) as caught:
            await accounts.list_accounts("cst_1")
    assert "no answer from mock.invalid" in str(caught.value)
    assert "within" not in str(caught.value)


def test_a_transport_with_aiohttp_settings_is_refused() -> None:
    """transport= with session/proxy/ssl settings: ValueError naming them, not silently ignored."""
    transport = MockTransport(lambda _r: MockResponse(200))
    with pytest.raises(ValueError, match=r"proxy, max_connections configure"):
        ja.AccountsClient(KEY, transport=transport, proxy="http://proxy:3128", max_connections=5)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("session", object()),
        ("proxy", "http://proxy:3128"),
        ("trust_env", True),
        ("ssl_context", ssl.create_default_context()),
        ("max_connections", 5),
        ("keepalive_timeout", 3.0),
        ("max_response_bytes", 1000),
    ],
)
def test_each_aiohttp_setting_with_a_transport_is_named(setting: str, value: object) -> None:
    """Each of the own transport's settings, given with transport=: refused, naming it alone."""
    transport = MockTransport(lambda _r: MockResponse(200))
    with pytest.raises(ValueError, match=rf"\b{setting}\b") as info:
        ja.AccountsClient(KEY, transport=transport, **{setting: value})  # type: ignore[arg-type]
    others = {"session", "proxy", "trust_env", "ssl_context", "max_connections"} - {setting}
    assert not [name for name in others if re.search(rf"\b{name}\b", str(info.value))]


def test_something_that_is_not_a_transport_is_refused() -> None:
    """An object without an async send(): TypeError at construction, naming what was given."""
    with pytest.raises(TypeError, match="async send") as info:
        ja.AccountsClient(KEY, transport=object())  # type: ignore[arg-type]
    assert re.search(r"\bobject\b", str(info.value))  # the type given


@pytest.mark.asyncio
async def test_a_closed_client_with_a_transport_says_it_is_closed() -> None:
    """Closed, then called: ClientClosedError saying so, and the transport is not asked."""
    transport = MockTransport(lambda _r: MockResponse(200, json=page([])))
    accounts = client(transport)
    await accounts.aclose()
    with pytest.raises(ja.ClientClosedError, match="closed"):
        await accounts.list_accounts("cst_1")
    assert [] == transport.requests


def test_mock_response_json_and_content() -> None:
    """json= is encoded with a JSON content type; content= is sent as it is; bad types refused."""
    answer = MockResponse(201, json={"a": 1})
    assert (201, b'{"a": 1}') == (answer.status_code, answer.content)
    assert "application/json" == answer.headers["Content-Type"]
    raw = MockResponse(200, content=b"x", headers={"content-type": "text/plain"})
    assert ({"content-type": "text/plain"}, b"x") == (raw.headers, raw.content)
    with pytest.raises(TypeError):
        MockResponse(200, content="text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        MockTransport("not callable")  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_handler_that_returns_something_else_is_a_clear_type_error() -> None:
    """A handler returning a dict, not a MockResponse: TypeError saying so."""
    async with client(MockTransport(lambda _r: {"status": 200})) as accounts:  # type: ignore[arg-type,return-value]
        with pytest.raises(TypeError, match="must return a MockResponse"):
            await accounts.list_accounts("cst_1")
