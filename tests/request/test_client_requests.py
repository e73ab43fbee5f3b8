"""What the client puts on the wire (seen at the fake server) and how it maps transport failures."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest
import yarl

import juspay_accounts as ja

if TYPE_CHECKING:
    import aioresponses

    from juspay_accounts.testing import FakeJuspay

API_KEY = "test_key_5FA0B3C2D1E4"
DATA = Path(__file__).parents[1] / "data"
LIST_URL = "https://sandbox.juspay.in/customers/cst_123/customer-accounts/list"
SEED_200 = json.loads((DATA / "seed_200.json").read_text())


def sent(mocked: aioresponses.aioresponses) -> list[tuple[str, yarl.URL, dict[str, str]]]:
    """Every (method, url, headers) aioresponses intercepted, in order."""
    return [
        (method, url, dict(call.kwargs["headers"]))
        for (method, url), calls in mocked.requests.items()
        for call in calls
    ]


# aiohttp's own headers on every request; everything else on the wire is the client's.
AIOHTTP_HEADERS = {"Host", "Accept-Encoding"}


@pytest.mark.asyncio
async def test_one_get_with_exact_headers(fake: FakeJuspay) -> None:
    """list_accounts sends exactly one GET with the documented headers and no others."""
    fake.add_account("cst_123")
    fake.add_account("cst_123")
    async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
        page = await client.list_accounts("cst_123")
    assert 2 == len(page.accounts)
    (request,) = fake.requests
    assert ("GET", "/customers/cst_123/customer-accounts/list", "") == (
        request.method,
        request.raw_path,
        request.query_string,
    )
    headers = request.headers
    expected = {"Authorization", "Content-Type", "Accept", "User-Agent", "x-routing-id"}
    assert {h.lower() for h in expected} == {h.lower() for h in headers} - {
        h.lower() for h in AIOHTTP_HEADERS
    }
    key = base64.b64encode(f"{fake.api_key}:".encode()).decode()
    assert "Basic " + key == headers["Authorization"]
    assert "cst_123" == headers["x-routing-id"]
    assert "application/x-www-form-urlencoded" == headers["Content-Type"]
    assert "application/json" == headers["Accept"]
    assert headers["User-Agent"].startswith(f"juspay-accounts/{ja.__version__} ")


@pytest.mark.asyncio
async def test_query_routing_merchant_and_version(fake: FakeJuspay) -> None:
    """offset, count, routing id, merchant id and API version all reach the server."""
    fake.add_customer("cst_123")
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, merchant_id="m_1", api_version="2023-06-30"
    ) as client:
        await client.list_accounts("cst_123", offset=10, count=10, routing_id="cart_9")
    (request,) = fake.requests
    assert {"offset": "10", "count": "10"} == dict(request.query)
    assert ("cart_9", "m_1", "2023-06-30") == (
        request.headers["x-routing-id"],
        request.headers["x-merchantid"],
        request.headers["version"],
    )


@pytest.mark.asyncio
async def test_hostile_id_is_sent_as_one_encoded_segment(fake: FakeJuspay) -> None:
    """The id reaches the wire percent-encoded as one segment, not re-encoded or normalised."""
    customer_id = "../../admin?x=1#f"
    fake.add_customer(customer_id)
    async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
        await client.list_accounts(customer_id)
    (request,) = fake.requests
    assert "/customers/..%2F..%2Fadmin%3Fx%3D1%23f/customer-accounts/list" == request.raw_path
    assert customer_id == request.customer_id
    assert customer_id == request.headers["x-routing-id"]


@pytest.mark.asyncio
async def test_redirect_is_not_followed(mocked: aioresponses.aioresponses) -> None:
    """A 302 is raised as APIError; the request is made once and never to the new location."""
    mocked.get(LIST_URL, status=302, headers={"Location": "https://evil.example/x"})
    async with ja.AccountsClient(API_KEY) as client:
        with pytest.raises(ja.APIError) as info:
            await client.list_accounts("cst_123")
    assert 302 == info.value.status
    assert [("GET", yarl.URL(LIST_URL))] == [(m, u) for m, u, _ in sent(mocked)]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (aiohttp.ClientConnectionError("refused"), ja.APIConnectionError),
        (aiohttp.ServerDisconnectedError(), ja.APIConnectionError),
        (aiohttp.ClientPayloadError("cut short"), ja.APIConnectionError),
        (aiohttp.ServerTimeoutError("slow"), ja.APITimeoutError),
        (TimeoutError(), ja.APITimeoutError),
    ],
)
async def test_transport_failures_become_library_errors(
    mocked: aioresponses.aioresponses, failure: Exception, expected: type[ja.JuspayError]
) -> None:
    """Aiohttp and asyncio failures are re-raised as the library's own, chained from the cause."""
    mocked.get(LIST_URL, exception=failure)
    async with ja.AccountsClient(API_KEY, retry=ja.RetryPolicy.disabled()) as client:
        with pytest.raises(expected) as info:
            await client.list_accounts("cst_123")
    assert type(info.value) is expected
    assert info.value.__cause__ is failure
    assert "sandbox.juspay.in" in str(info.value)


@pytest.mark.asyncio
async def test_concurrent_calls_share_one_client(mocked: aioresponses.aioresponses) -> None:
    """Many concurrent calls on one client all complete, over one owned session."""
    for i in range(20):
        mocked.get(
            f"https://sandbox.juspay.in/customers/c{i}/customer-accounts/list", payload=SEED_200
        )
    async with ja.AccountsClient(API_KEY) as client:
        pages = await asyncio.gather(*(client.list_accounts(f"c{i}") for i in range(20)))
        session = client._transport.session
    assert 20 == len(pages)
    assert session is not None
    assert session.closed


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"timeout": 0}, "timeout"),
        ({"timeout": -1.0}, "timeout"),
        ({"max_connections": 0}, "max_connections"),
        ({"merchant_id": "m\r\nx"}, "merchant_id"),
        ({"base_url": "juspay.in"}, "base_url"),
    ],
)
def test_invalid_configuration_is_refused_at_construction(
    kwargs: dict[str, object], match: str
) -> None:
    """Bad settings fail when the client is built, not on the first call."""
    with pytest.raises(ValueError, match=match):
        ja.AccountsClient(API_KEY, **kwargs)  # type: ignore[arg-type]
