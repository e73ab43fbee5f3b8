"""The fake Juspay behaves like the documented endpoint, so tests built on it mean something."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from multidict import CIMultiDict

from juspay_accounts.testing import DEFAULT_API_KEY, FakeJuspay, Fault

SEED_401 = json.loads((Path(__file__).parents[1] / "data" / "seed_401.json").read_text())
SEED_404 = json.loads((Path(__file__).parents[1] / "data" / "seed_404.json").read_text())


def auth(key: str = DEFAULT_API_KEY) -> dict[str, str]:
    """Headers a correct client sends."""
    token = base64.b64encode(f"{key}:".encode()).decode()
    return {"Authorization": f"Basic {token}", "x-routing-id": "r"}


async def get(
    fake: FakeJuspay, path: str, headers: dict[str, str]
) -> tuple[int, CIMultiDict[str], Any]:
    """GET ``path`` on the fake with raw aiohttp; return status, headers and JSON body."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(fake.url + path, headers=headers) as resp,
    ):
        return resp.status, CIMultiDict(resp.headers), await resp.json()


def shape(body: Any) -> Any:  # noqa: ANN401 - JSON
    """The body with request ids blanked, for comparing with the seed."""
    body = json.loads(json.dumps(body))
    if isinstance(body.get("error_info"), dict) and "request_id" in body["error_info"]:
        body["error_info"]["request_id"] = "<id>"
    return body


@pytest.mark.asyncio
async def test_envelope_and_request_id(fake: FakeJuspay) -> None:
    """A success answer is the documented envelope with an x-request-id header."""
    account = fake.add_account("c")
    status, headers, body = await get(fake, "/customers/c/customer-accounts/list", auth())
    assert 200 == status
    assert {"list": [account], "offset": 0, "count": 1, "total": 1, "object": "list"} == body
    assert headers["x-request-id"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"x-routing-id": "r"},
        auth("other_key"),
        {"Authorization": "Bearer x", "x-routing-id": "r"},
    ],
)
async def test_bad_auth_gets_seed_401(fake: FakeJuspay, headers: dict[str, str]) -> None:
    """Missing or wrong credentials get Juspay's 401 body, with the header's request id."""
    fake.add_customer("c")
    status, resp_headers, body = await get(fake, "/customers/c/customer-accounts/list", headers)
    assert 401 == status
    assert shape(SEED_401) == shape(body)
    assert resp_headers["x-request-id"] == body["error_info"]["request_id"]


@pytest.mark.asyncio
async def test_unknown_customer_gets_seed_404(fake: FakeJuspay) -> None:
    """An unknown customer gets Juspay's 404 body."""
    status, _, body = await get(fake, "/customers/nobody/customer-accounts/list", auth())
    assert 404 == status
    assert shape(SEED_404) == shape(body)


@pytest.mark.asyncio
async def test_missing_routing_id_is_400(fake: FakeJuspay) -> None:
    """x-routing-id is required, as documented."""
    fake.add_customer("c")
    headers = auth()
    del headers["x-routing-id"]
    status, _, body = await get(fake, "/customers/c/customer-accounts/list", headers)
    assert 400 == status
    assert "MISSING_MANDATORY_PARAMETER" == body["error_info"]["code"]
    assert [{"field_name": "x-routing-id", "reason": "Mandatory header missing."}] == body[
        "error_info"
    ]["fields"]


@pytest.mark.asyncio
@pytest.mark.parametrize("query", ["offset=-1", "count=x", "offset=1.5"])
async def test_invalid_window_is_400_with_field(fake: FakeJuspay, query: str) -> None:
    """A malformed offset or count is a 400 naming the field."""
    fake.add_customer("c")
    status, _, body = await get(fake, f"/customers/c/customer-accounts/list?{query}", auth())
    assert 400 == status
    assert query.split("=", maxsplit=1)[0] == body["error_info"]["fields"][0]["field_name"]


@pytest.mark.asyncio
async def test_pages_respect_offset_count_and_cap(fake: FakeJuspay) -> None:
    """offset/count slice the list; max_page_size caps count; total is always the full size."""
    accounts = [fake.add_account("c") for _ in range(5)]
    fake.max_page_size = 3
    _, _, body = await get(fake, "/customers/c/customer-accounts/list?offset=1", auth())
    assert (accounts[1:4], 1, 3, 5) == (body["list"], body["offset"], body["count"], body["total"])
    _, _, body = await get(fake, "/customers/c/customer-accounts/list?offset=4&count=2", auth())
    assert (accounts[4:], 1) == (body["list"], body["count"])
    _, _, body = await get(fake, "/customers/c/customer-accounts/list?offset=9", auth())
    assert ([], 0, 5) == (body["list"], body["count"], body["total"])


@pytest.mark.asyncio
async def test_requests_are_recorded(fake: FakeJuspay) -> None:
    """Each request is recorded with method, raw path, query, headers and decoded customer id."""
    fake.add_customer("a/b")
    await get(fake, "/customers/a%2Fb/customer-accounts/list?count=2", auth())
    (recorded,) = fake.requests
    assert ("GET", "/customers/a%2Fb/customer-accounts/list", {"count": "2"}, "count=2", "a/b") == (
        recorded.method,
        recorded.raw_path,
        dict(recorded.query),
        recorded.query_string,
        recorded.customer_id,
    )
    assert "r" == recorded.headers["X-Routing-Id"]


@pytest.mark.asyncio
async def test_other_paths_are_404(fake: FakeJuspay) -> None:
    """Paths other than the list endpoint are 404 with a Juspay-shaped body."""
    status, _, body = await get(fake, "/customers/a/b/customer-accounts/list", auth())
    assert 404 == status
    assert "RESOURCE_NOT_FOUND" == body["error_info"]["code"]


def test_account_defaults_are_realistic_and_repeatable() -> None:
    """Generated accounts look like Juspay's and the same seed gives the same data."""
    one, two = FakeJuspay(seed=7), FakeJuspay(seed=7)
    first = one.add_account("c", validation_status="CREATED")
    assert first == two.add_account("c", validation_status="CREATED")
    assert first["customer_account_id"].startswith("banh_")
    assert 21 == len(first["customer_account_id"])
    assert "last_validated" not in first
    assert "last_validated" in one.add_account("c", validation_status="ACTIVE")
    assert 2 == len(one.accounts_of("c"))
    assert "fake_juspay" not in repr(one)


def test_url_before_start_is_a_clear_error() -> None:
    """Asking for the URL of a server that is not running says how to start it."""
    with pytest.raises(RuntimeError, match="not started"):
        _ = FakeJuspay().url


@pytest.mark.asyncio
async def test_faults_are_scripted_per_customer_and_counted(fake: FakeJuspay) -> None:
    """inject() applies to the next N matching requests, in order, then stops."""
    fake.add_customer("a")
    fake.add_customer("b")
    fake.inject(
        Fault.respond(503, "<html>busy</html>", headers={"Retry-After": "2"}),
        times=2,
        customer_id="b",
    )
    assert 2 == fake.pending_faults
    path = "/customers/{}/customer-accounts/list"
    async with aiohttp.ClientSession() as session:
        answers = []
        for customer in ("a", "b", "b", "b"):
            async with session.get(fake.url + path.format(customer), headers=auth()) as resp:
                answers.append((resp.status, resp.headers.get("Retry-After"), resp.content_type))
    assert [
        (200, None, "application/json"),
        (503, "2", "text/html"),
        (503, "2", "text/html"),
        (200, None, "application/json"),
    ] == answers
    assert [None, "respond", "respond", None] == [r.fault for r in fake.requests]
    assert 0 == fake.pending_faults


@pytest.mark.asyncio
async def test_clear_faults_and_reset_counters(fake: FakeJuspay) -> None:
    """Faults can be dropped; counters and recorded requests can be reset."""
    fake.add_customer("a")
    fake.inject(Fault.drop_connection(), times=3)
    fake.clear_faults()
    await get(fake, "/customers/a/customer-accounts/list", auth())
    assert (1, 1) == (len(fake.requests), fake.peak_in_flight)
    fake.reset_counters()
    assert (0, 0) == (len(fake.requests), fake.peak_in_flight)
    with pytest.raises(ValueError, match="times"):
        fake.inject(Fault.drop_connection(), times=0)


def test_fault_content_types() -> None:
    """Fault.respond guesses the content type from the body unless told."""
    assert "application/json" == Fault.respond(500, '{"a": 1}').headers["Content-Type"]
    assert "text/html" == Fault.respond(502, "<html/>").headers["Content-Type"]
    assert "text/plain" == Fault.respond(503, "busy").headers["Content-Type"]
    assert "text/csv" == Fault.respond(200, "a,b", content_type="text/csv").headers["Content-Type"]


@pytest.mark.asyncio
async def test_peak_in_flight_counts_concurrent_requests(fake: FakeJuspay) -> None:
    """The fake measures how many requests it answered at once."""
    fake.add_customer("a")
    fake.inject(Fault.answer_late(0.02), times=5)
    async with aiohttp.ClientSession() as session:

        async def one() -> int:
            url = fake.url + "/customers/a/customer-accounts/list"
            async with session.get(url, headers=auth()) as resp:
                return resp.status

        assert [200] * 5 == await asyncio.gather(*(one() for _ in range(5)))
    assert 5 == fake.peak_in_flight
    assert 0 == fake.in_flight
