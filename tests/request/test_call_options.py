"""Per-call options (``timeout``, ``headers``, ``merchant_id``) and ``client.with_options``."""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any, Final

import pytest

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

pytestmark = pytest.mark.asyncio


def _customers(fake: FakeJuspay, *ids: str, accounts: int = 1) -> None:
    for customer in ids:
        fake.add_customer(customer)
        for _ in range(accounts):
            fake.add_account(customer)


async def test_extra_headers_arrive_at_the_server(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """Headers given to one call are sent with it, and only with it."""
    _customers(fake, "cst_1")
    await client.list_accounts("cst_1", headers={"X-Correlation-Id": "abc-123"})
    await client.list_accounts("cst_1")
    assert ["abc-123", None] == [r.headers.get("x-correlation-id") for r in fake.requests]


async def test_extra_headers_replace_defaults_case_insensitively(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """A header given in another case replaces the default rather than doubling it."""
    _customers(fake, "cst_1")
    await client.list_accounts("cst_1", headers={"user-agent": "billing-svc/2"})
    assert ["billing-svc/2"] == fake.requests[0].headers.getall("User-Agent")


@pytest.mark.parametrize(
    "name",
    ["Authorization", "authorization", "X-Routing-Id", "x-routing-id", "Proxy-Authorization"],
)
async def test_headers_cannot_replace_credentials_or_routing(
    fake: FakeJuspay, client: ja.AccountsClient, name: str
) -> None:
    """Authorization and the routing header are the client's own: a ValueError, nothing sent."""
    _customers(fake, "cst_1")
    with pytest.raises(ValueError, match=name) as info:
        await client.list_accounts("cst_1", headers={name: "Basic c2VjcmV0"})
    assert "c2VjcmV0" not in str(info.value)  # the value is never echoed
    assert [] == fake.requests


# Every header that frames the message or the connection or belongs to the transport, each
# with a value that would desynchronise a pooled connection (or reroute it) if it were sent,
# and what the refusal names as the option that sets the thing instead.
_TRANSPORT_HEADERS: Final = {
    "Content-Length": ("10", "aiohttp frames each message"),
    "Transfer-Encoding": ("chunked", "aiohttp frames each message"),
    "Connection": ("close", "max_connections="),
    "Keep-Alive": ("timeout=600", "max_connections="),
    "Upgrade": ("websocket", "aiohttp frames each message"),
    "TE": ("trailers", "aiohttp frames each message"),
    "Trailer": ("X-Checksum", "aiohttp frames each message"),
    "Expect": ("100-continue", "aiohttp frames each message"),
    "Host": ("evil.example", "base_url="),
    "Proxy-Authorization": ("Basic c2VjcmV0", "proxy="),
    "Proxy-Connection": ("keep-alive", "proxy="),
    "Proxy-Anything": ("x", "proxy="),
}


@pytest.mark.parametrize("spelling", [str, str.lower, str.upper, str.swapcase])
@pytest.mark.parametrize("name", sorted(_TRANSPORT_HEADERS))
async def test_transport_headers_are_refused_and_the_pool_stays_in_step(
    fake: FakeJuspay, name: str, spelling: Callable[[str], str]
) -> None:
    """Framing, connection, host and proxy headers are refused in any case, naming the option.

    Refused by with_options and by a call, before anything is sent; the one pooled
    connection then serves the next calls as if nothing had been tried.
    """
    _customers(fake, "cst_1", "cst_2")
    value, option = _TRANSPORT_HEADERS[name]
    given = {spelling(name): value}
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, max_connections=1, retry=ja.RetryPolicy.disabled()
    ) as client:
        await client.list_accounts("cst_1")
        with pytest.raises(ValueError, match=re.escape(spelling(name))) as refused:
            client.with_options(headers=given)
        assert option in str(refused.value)
        assert "c2VjcmV0" not in str(refused.value)  # a value is never echoed
        with pytest.raises(ValueError, match=re.escape(spelling(name))):
            await client.list_accounts("cst_2", headers=given)
        with pytest.raises(ValueError, match=re.escape(spelling(name))):
            await client.gather_accounts(["cst_2"], headers=given)
        async with asyncio.timeout(5):  # a desynchronised connection would hang or answer 400
            pages = [await client.list_accounts(c) for c in ("cst_2", "cst_1")]
    assert [1, 1] == [len(page.accounts) for page in pages]
    assert ["cst_1", "cst_2", "cst_1"] == [r.customer_id for r in fake.requests]


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({"X-Note": "a\r\nInjected: yes"}, "control characters"),
        ({"X-Note": "tab\there"}, "control characters"),
        ({"Bad Name": "x"}, "not a valid HTTP header name"),
        ({"X-Note:": "x"}, "not a valid HTTP header name"),
        ({"": "x"}, "not a valid HTTP header name"),
    ],
)
async def test_bad_headers_are_refused_before_sending(
    fake: FakeJuspay, client: ja.AccountsClient, headers: dict[str, str], error: str
) -> None:
    """A header that could not be sent safely is a ValueError, as in ids; nothing is sent."""
    _customers(fake, "cst_1")
    with pytest.raises(ValueError, match=error):
        await client.list_accounts("cst_1", headers=headers)
    assert [] == fake.requests


async def test_header_of_wrong_type_is_a_type_error(client: ja.AccountsClient) -> None:
    """A header value that is not a str is a TypeError."""
    with pytest.raises(TypeError, match="X-Count"):
        await client.list_accounts("cst_1", headers={"X-Count": 3})  # type: ignore[dict-item]


async def test_merchant_id_per_call(fake: FakeJuspay) -> None:
    """merchant_id on a call replaces the client's for that call only."""
    _customers(fake, "cst_1")
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, merchant_id="m_main") as client:
        await client.list_accounts("cst_1", merchant_id="m_other")
        await client.list_accounts("cst_1")
    assert ["m_other", "m_main"] == [r.headers["x-merchantid"] for r in fake.requests]


async def test_merchant_id_with_control_characters_is_refused(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """A per-call merchant id is checked as the client's is."""
    with pytest.raises(ValueError, match="merchant_id"):
        await client.list_accounts("cst_1", merchant_id="m\n1")
    assert [] == fake.requests


async def test_timeout_per_call_is_shorter(fake: FakeJuspay) -> None:
    """timeout= on a call bounds each of its attempts instead of the client's timeout."""
    _customers(fake, "cst_1")
    fake.inject(Fault.answer_late(0.3))
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, timeout=30, retry=ja.RetryPolicy.disabled()
    ) as client:
        with pytest.raises(ja.APITimeoutError, match=r"within 0\.05 s"):
            await client.list_accounts("cst_1", timeout=0.05)


@pytest.mark.parametrize("deadline", [60.0, None])
async def test_timeout_none_per_call_lifts_the_client_limit(
    fake: FakeJuspay, deadline: float | None
) -> None:
    """timeout=None on a call waits for a slow answer the client's own timeout would cut."""
    _customers(fake, "cst_1")
    fake.inject(Fault.answer_late(0.2))
    policy = ja.RetryPolicy(max_attempts=1, deadline=deadline)  # None: no limit at all
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, timeout=0.05, retry=policy
    ) as client:
        page = await client.list_accounts("cst_1", timeout=None)
    assert 1 == len(page.accounts)


@pytest.mark.parametrize("timeout", [0, -1.0, float("nan")])
async def test_bad_timeout_per_call(client: ja.AccountsClient, timeout: float) -> None:  # noqa: ASYNC109 - the option under test
    """A per-call timeout must be positive or None."""
    with pytest.raises(ValueError, match="timeout"):
        await client.list_accounts("cst_1", timeout=timeout)


def _walks(
    client: ja.AccountsClient,
    **options: Any,  # noqa: ANN401 - the options under test, passed through
) -> dict[str, Callable[[], Coroutine[Any, Any, object]]]:
    async def pages() -> object:
        return [p async for p in client.iter_pages("cst_1", page_size=1, **options)]

    async def accounts() -> object:
        return [a async for a in client.iter_accounts("cst_1", page_size=1, **options)]

    async def all_accounts() -> object:
        return await client.all_accounts("cst_1", page_size=1, **options)

    async def fan_out() -> object:
        async with client.accounts_for_customers(["cst_1"], page_size=1, **options) as results:
            return [r async for r in results]

    async def gather() -> object:
        return await client.gather_accounts(["cst_1"], page_size=1, **options)

    return {
        "iter_pages": pages,
        "iter_accounts": accounts,
        "all_accounts": all_accounts,
        "accounts_for_customers": fan_out,
        "gather_accounts": gather,
    }


@pytest.mark.parametrize(
    "method",
    ["iter_pages", "iter_accounts", "all_accounts", "accounts_for_customers", "gather_accounts"],
)
async def test_walks_and_fan_outs_take_the_same_options(
    fake: FakeJuspay, client: ja.AccountsClient, method: str
) -> None:
    """headers= and merchant_id= reach every page's request of a walk or a fan-out."""
    _customers(fake, "cst_1", accounts=3)
    await _walks(client, headers={"X-Job": "nightly"}, merchant_id="m_2")[method]()
    assert 3 == len(fake.requests)
    assert {("nightly", "m_2")} == {
        (r.headers["x-job"], r.headers["x-merchantid"]) for r in fake.requests
    }


@pytest.mark.parametrize(
    "method",
    ["iter_pages", "iter_accounts", "all_accounts", "accounts_for_customers", "gather_accounts"],
)
async def test_walks_and_fan_outs_refuse_bad_headers_at_the_call(
    fake: FakeJuspay, client: ja.AccountsClient, method: str
) -> None:
    """A walk or fan-out checks its headers before sending anything."""
    _customers(fake, "cst_1")
    with pytest.raises(ValueError, match="Authorization"):
        await _walks(client, headers={"Authorization": "Basic x"})[method]()
    assert [] == fake.requests


async def test_walk_timeout_per_call(fake: FakeJuspay) -> None:
    """timeout= on a walk bounds each page's attempts."""
    _customers(fake, "cst_1")
    fake.inject(Fault.answer_late(0.3))
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, retry=ja.RetryPolicy.disabled()
    ) as client:
        result = await client.gather_accounts(["cst_1"], timeout=0.05)
    assert isinstance(result["cst_1"].error, ja.APITimeoutError)


async def test_with_options_sends_its_settings(fake: FakeJuspay) -> None:
    """with_options changes merchant id, API version and headers for the new client only."""
    _customers(fake, "cst_1")
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, merchant_id="m_main", api_version="2023-06-30"
    ) as client:
        other = client.with_options(
            merchant_id="m_sub", api_version="2024-01-01", headers={"X-Tenant": "t9"}
        )
        await other.list_accounts("cst_1")
        await other.list_accounts("cst_1", headers={"X-Job": "j"})
        await client.list_accounts("cst_1")
        bare = client.with_options(merchant_id=None, api_version=None)
        await bare.list_accounts("cst_1")
    seen = [
        (
            r.headers.get("x-merchantid"),
            r.headers.get("version"),
            r.headers.get("x-tenant"),
            r.headers.get("x-job"),
        )
        for r in fake.requests
    ]
    assert [
        ("m_sub", "2024-01-01", "t9", None),
        ("m_sub", "2024-01-01", "t9", "j"),
        ("m_main", "2023-06-30", None, None),
        (None, None, None, None),
    ] == seen


async def test_with_options_shares_stats_and_session(fake: FakeJuspay) -> None:
    """A with_options client counts into the same stats and dies with the same session."""
    _customers(fake, "cst_1")
    client = ja.AccountsClient(fake.api_key, base_url=fake.url)
    other = client.with_options(headers={"X-Tenant": "t9"})
    await other.list_accounts("cst_1")
    await client.list_accounts("cst_1")
    assert 2 == client.stats.requests
    assert client.stats is other.stats
    await client.aclose()
    assert other.closed
    with pytest.raises(ja.ClientClosedError):
        await other.list_accounts("cst_1")


async def test_with_options_shares_the_rate_limit_hold(fake: FakeJuspay) -> None:
    """A 429 with Retry-After seen through a with_options client holds the original back too."""
    _customers(fake, "cst_1")
    delays: list[float] = []

    async def record(seconds: float) -> None:
        delays.append(seconds)

    policy = ja.RetryPolicy(max_attempts=1, initial_delay=0.0, sleep=record)
    fake.inject(Fault.respond(429, b"{}", headers={"Retry-After": "7"}))
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, retry=policy) as client:
        with pytest.raises(ja.RateLimitError):
            await client.with_options(merchant_id="m_sub").list_accounts("cst_1")
        await client.list_accounts("cst_1")
    assert 1 == len(delays)
    assert 6.5 < delays[0] <= 7.0


async def test_with_options_retry_and_timeout(fake: FakeJuspay) -> None:
    """with_options(retry=, timeout=) replace the policy and the attempt timeout."""
    _customers(fake, "cst_1")
    fake.inject(Fault.respond(503, "busy"), times=2)
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, retry=ja.RetryPolicy.disabled()
    ) as client:
        patient = client.with_options(retry=ja.RetryPolicy(max_attempts=3).without_waiting())
        page = await patient.list_accounts("cst_1")
        assert 1 == len(page.accounts)
        assert patient.retry.max_attempts == 3
        assert client.retry.max_attempts == 1
        fake.inject(Fault.answer_late(0.3))
        with pytest.raises(ja.APITimeoutError, match=r"within 0\.05 s"):
            await client.with_options(timeout=0.05).list_accounts("cst_1")


async def test_with_options_refuses_bad_values(client: ja.AccountsClient) -> None:
    """with_options checks what it is given as the constructor does."""
    with pytest.raises(ValueError, match="timeout"):
        client.with_options(timeout=0)
    with pytest.raises(ValueError, match="x-routing-id"):
        client.with_options(headers={"x-routing-id": "r"})
    with pytest.raises(ValueError, match="merchant_id"):
        client.with_options(merchant_id="")


async def test_with_options_repr_hides_the_key(client: ja.AccountsClient) -> None:
    """The derived client's repr names no credential, as the original's does."""
    other = client.with_options(headers={"X-Tenant": "t9"})
    assert repr(client) == repr(other)
