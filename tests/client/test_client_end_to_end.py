"""The real client against the fake Juspay over real HTTP: results, errors, session ownership."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import socket
import time
import warnings

import aiohttp
import pytest

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault


@pytest.mark.asyncio
async def test_lists_what_the_server_holds(fake: FakeJuspay, client: ja.AccountsClient) -> None:
    """Every field the fake serves comes back typed, in order."""
    upi = fake.add_account("cst_1", vpa="alice@upi", validation_status="PENDING")
    bank = fake.add_account(
        "cst_1",
        bank_account=fake.make_bank_account(),
        validation_status="CREATED",
        validation_amount="1.00",
    )
    page = await client.list_accounts("cst_1")
    assert [upi["customer_account_id"], bank["customer_account_id"]] == [
        a.customer_account_id for a in page.accounts
    ]
    first, second = page.accounts
    assert ("alice@upi", ja.ValidationStatus.PENDING) == (
        first.account_details.vpa,
        first.validation_status,
    )
    bank_account = second.account_details.bank_account
    assert bank_account is not None
    assert bank["account_details"]["bank_account"]["account"] == bank_account.account
    assert "12" == bank_account.juspay_bank_code
    assert second.last_validated is None
    assert dt.UTC == first.date_created.tzinfo
    assert (0, 2, 2, False) == (page.offset, page.count, page.total, page.has_more)


@pytest.mark.asyncio
async def test_offset_count_and_server_page_cap(
    client: ja.AccountsClient, fake: FakeJuspay
) -> None:
    """offset/count are honoured, and a server cap returns fewer than asked, reported truthfully."""
    ids = [fake.add_account("cst_1")["customer_account_id"] for _ in range(7)]
    fake.max_page_size = 2
    page = await client.list_accounts("cst_1", offset=3, count=5)
    assert ids[3:5] == [a.customer_account_id for a in page.accounts]
    assert (3, 2, 7, True, 5) == (
        page.offset,
        page.count,
        page.total,
        page.has_more,
        page.next_offset,
    )
    assert {"offset": "3", "count": "5"} == dict(fake.requests[-1].query)


@pytest.mark.asyncio
async def test_customer_without_accounts_is_an_empty_page(
    client: ja.AccountsClient, fake: FakeJuspay
) -> None:
    """A known customer with no accounts gets an empty page, not an error."""
    fake.add_customer("cst_empty")
    page = await client.list_accounts("cst_empty")
    assert ((), 0, False) == (page.accounts, page.total, page.has_more)


@pytest.mark.asyncio
async def test_unknown_customer_is_not_found(client: ja.AccountsClient, fake: FakeJuspay) -> None:
    """The fake answers an unknown customer with the seed 404; the request id matches the header."""
    with pytest.raises(ja.NotFoundError) as info:
        await client.list_accounts("cst_nobody")
    assert ("object_not_found", "RESOURCE_NOT_FOUND") == (info.value.error_code, info.value.code)
    assert info.value.request_id
    assert 1 == len(fake.requests)


@pytest.mark.asyncio
async def test_wrong_key_is_authentication_error(fake: FakeJuspay) -> None:
    """A wrong API key is an AuthenticationError whose message does not contain the key."""
    fake.add_customer("cst_1")
    async with ja.AccountsClient("sk_wrong_key_XYZ", base_url=fake.url) as client:
        with pytest.raises(ja.AuthenticationError) as info:
            await client.list_accounts("cst_1")
    assert "sk_wrong_key_XYZ" not in str(info.value)
    assert "sk_wrong_key_XYZ" not in repr(info.value)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "customer_id", ["a/b", "..", ".", "../x", "q?x=1#y", "100%", "ünï cødé", "+&;=@:"]
)
async def test_hostile_ids_reach_the_server_intact(
    client: ja.AccountsClient, fake: FakeJuspay, customer_id: str
) -> None:
    """Whatever the id holds, the server decodes exactly that id from one path segment."""
    account = fake.add_account(customer_id)
    page = await client.list_accounts(customer_id)
    assert [account["customer_account_id"]] == [a.customer_account_id for a in page.accounts]
    (recorded,) = fake.requests
    assert customer_id == recorded.customer_id
    assert recorded.raw_path.startswith("/customers/")
    assert 4 == recorded.raw_path.count("/")


@pytest.mark.asyncio
async def test_white_label_path_prefix(fake: FakeJuspay) -> None:
    """A base URL with a path prefix puts the prefix before /customers."""
    async with ja.AccountsClient(fake.api_key, base_url=fake.url + "/juspay/") as client:
        with pytest.raises(ja.NotFoundError):
            await client.list_accounts("cst_1")
    assert "/juspay/customers/cst_1/customer-accounts/list" == fake.requests[-1].raw_path


@pytest.mark.asyncio
async def test_connection_refused_is_connection_error() -> None:
    """Nothing listening on the port gives APIConnectionError, not an aiohttp exception."""
    async with ja.AccountsClient("k", base_url=f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(ja.APIConnectionError) as info:
            await client.list_accounts("cst_1", retry=ja.RetryPolicy().without_waiting())
    assert 4 == info.value.attempts
    assert isinstance(info.value.__cause__, aiohttp.ClientError)
    assert type(info.value) is ja.APIConnectionError


@pytest.mark.asyncio
async def test_given_session_is_used_and_left_open(fake: FakeJuspay) -> None:
    """A session the caller passes carries the requests and is never closed by the client."""
    fake.add_customer("cst_1")
    async with aiohttp.ClientSession() as session:
        async with ja.AccountsClient(fake.api_key, base_url=fake.url, session=session) as client:
            await client.list_accounts("cst_1")
        assert client.closed
        assert not session.closed
        async with session.get(fake.url + "/health") as response:
            assert 404 == response.status


@pytest.mark.asyncio
@pytest.mark.parametrize("given_session", [False, True], ids=["own session", "given session"])
async def test_timeout_cuts_a_slow_answer(fake: FakeJuspay, given_session: bool) -> None:
    """The client's timeout ends a 30 s answer early, on its own session and on a given one."""
    fake.add_customer("cst_1")
    fake.inject(Fault.answer_late(30.0))
    # A given session's own default timeout is 300 s: only the client's can cut this answer.
    async with contextlib.AsyncExitStack() as stack:
        session = None
        if given_session:
            session = await stack.enter_async_context(aiohttp.ClientSession())
        client = await stack.enter_async_context(
            ja.AccountsClient(
                fake.api_key,
                base_url=fake.url,
                timeout=0.2,
                session=session,
                retry=ja.RetryPolicy.disabled(),
            )
        )
        started = time.monotonic()
        # The guard fails the test in 10 s rather than waiting out the server's 30.
        async with asyncio.timeout(10):
            with pytest.raises(ja.APITimeoutError) as info:
                await client.list_accounts("cst_1")
        elapsed = time.monotonic() - started
    assert 0.1 < elapsed < 5.0
    assert "within 0.20 s" in str(info.value)
    assert ["late"] == [r.fault for r in fake.requests]


@pytest.mark.asyncio
async def test_given_session_with_raise_for_status_still_gets_library_errors(
    fake: FakeJuspay,
) -> None:
    """A session configured with raise_for_status still yields NotFoundError, with its body read."""
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        client = ja.AccountsClient(fake.api_key, base_url=fake.url, session=session)
        with pytest.raises(ja.NotFoundError) as info:
            await client.list_accounts("cst_none")
        await client.aclose()
    assert "Customer account not found." == info.value.developer_message


@pytest.mark.asyncio
async def test_owned_session_is_created_lazily_and_closed(fake: FakeJuspay) -> None:
    """The session is made on first use and closed by aclose; a second aclose is harmless."""
    fake.add_customer("cst_1")
    client = ja.AccountsClient(fake.api_key, base_url=fake.url)
    assert session_of(client) is None
    await client.list_accounts("cst_1")
    session = session_of(client)
    assert session is not None
    assert (False, False) == (session.closed, client.closed)
    await client.aclose()
    assert (True, True) == (session.closed, client.closed)
    await client.aclose()
    assert (True, True) == (session.closed, client.closed)


@pytest.mark.asyncio
async def test_closed_client_refuses_calls(fake: FakeJuspay) -> None:
    """After aclose a call is a clear RuntimeError and sends nothing."""
    client = ja.AccountsClient(fake.api_key, base_url=fake.url)
    await client.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await client.list_accounts("cst_1")
    with pytest.raises(RuntimeError, match="closed"):
        async with client:
            pass
    assert [] == fake.requests


def session_of(client: ja.AccountsClient) -> aiohttp.ClientSession | None:
    """The session a client sends with, if it has one yet."""
    return client._transport.session


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_client_can_be_built_outside_a_running_loop() -> None:
    """Building a client at import time (no loop) works; the session comes later in the loop."""
    port = free_port()
    client = ja.AccountsClient("k", base_url=f"http://127.0.0.1:{port}")

    async def use() -> None:
        async with FakeJuspay(api_key="k", port=port) as fake:
            fake.add_customer("c")
            async with client:
                assert 0 == (await client.list_accounts("c")).total

    asyncio.run(use())
    assert client.closed


@pytest.mark.asyncio
async def test_no_unclosed_session_warning(fake: FakeJuspay) -> None:
    """An owned session is closed by the context manager; nothing warns at garbage collection."""
    fake.add_customer("cst_1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
            await client.list_accounts("cst_1")
            session = session_of(client)
        del client
        gc.collect()
    assert session is not None
    assert session.closed
    assert [] == [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]


@pytest.mark.asyncio
async def test_one_client_serves_concurrent_calls(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """Fifty concurrent calls on one client each get their own customer's accounts."""
    expected = {f"cst_{i}": fake.add_account(f"cst_{i}")["customer_account_id"] for i in range(50)}
    pages = await asyncio.gather(*(client.list_accounts(c) for c in expected))
    assert list(expected.values()) == [p.accounts[0].customer_account_id for p in pages]
    assert 50 == len(fake.requests)


def test_repr_shows_target_not_key() -> None:
    """The client's repr names the base URL and never the key."""
    client = ja.AccountsClient("sk_live_SECRET123", base_url=ja.EU_PRODUCTION_URL)
    assert "https://api.juspay.io" in repr(client)
    assert "SECRET123" not in repr(client)
    assert "https://api.juspay.io" == client.base_url
