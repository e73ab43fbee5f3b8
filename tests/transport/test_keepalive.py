"""keepalive_timeout: how long an idle connection of the client's pool waits for the next call."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

import juspay_accounts as ja
from juspay_accounts._config import DEFAULT_KEEPALIVE_TIMEOUT
from juspay_accounts.testing import MockResponse, MockTransport

if TYPE_CHECKING:
    from conftest import StaticServer

# Short enough for a test, long enough that a busy machine does not stretch the short gap
# past it: the calls after SHORT_GAP reuse the connection, the one after LONG_GAP cannot.
KEEPALIVE = 0.25
SHORT_GAP = 0.02
LONG_GAP = 0.45


@pytest.mark.asyncio
async def test_a_call_within_the_keepalive_reuses_the_connection(
    static_server: StaticServer,
) -> None:
    """A gap shorter than keepalive_timeout opens no connection; a longer one opens one."""
    async with ja.AccountsClient(
        "key", base_url=static_server.url, keepalive_timeout=KEEPALIVE
    ) as client:
        await client.list_accounts("cst_1")
        assert 1 == static_server.connections
        await asyncio.sleep(SHORT_GAP)
        await client.list_accounts("cst_1")
        assert 1 == static_server.connections
        await asyncio.sleep(LONG_GAP)
        await client.list_accounts("cst_1")
        assert 2 == static_server.connections
    assert 3 == static_server.requests


@pytest.mark.asyncio
async def test_the_default_keepalive_is_aiohttps(static_server: StaticServer) -> None:
    """By default an idle connection outlives the long gap (aiohttp's 15 s), and is reused."""
    async with ja.AccountsClient("key", base_url=static_server.url) as client:
        await client.list_accounts("cst_1")
        await asyncio.sleep(LONG_GAP)
        await client.list_accounts("cst_1")
        assert 1 == static_server.connections
        session = client._transport.session
        assert session is not None
        connector: Any = session.connector
        assert DEFAULT_KEEPALIVE_TIMEOUT == connector._keepalive_timeout == 15.0


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (0, ValueError, "keepalive_timeout must be a positive, finite number of seconds, got 0"),
        (
            -1.5,
            ValueError,
            "keepalive_timeout must be a positive, finite number of seconds, got -1.5",
        ),
        (
            float("nan"),
            ValueError,
            "keepalive_timeout must be a positive, finite number of seconds, got nan",
        ),
        (
            float("inf"),
            ValueError,
            "keepalive_timeout must be a positive, finite number of seconds, got inf",
        ),
        (None, TypeError, "keepalive_timeout must be a number of seconds, got NoneType"),
        (True, TypeError, "keepalive_timeout must be a number of seconds, got bool"),
        ("30", TypeError, "keepalive_timeout must be a number of seconds, got str"),
    ],
)
def test_a_bad_keepalive_is_refused(value: object, error: type[Exception], message: str) -> None:
    """keepalive_timeout must be a positive, finite number of seconds."""
    with pytest.raises(error) as info:
        ja.AccountsClient("key", keepalive_timeout=value)  # type: ignore[arg-type]
    assert message == str(info.value)


def test_a_whole_number_of_seconds_is_accepted() -> None:
    """An int is a number of seconds too (kept as a float, as aiohttp takes it)."""
    client = ja.AccountsClient("key", keepalive_timeout=60)
    transport: Any = client._transport
    assert 60.0 == transport._keepalive_timeout


def test_keepalive_with_a_transport_given_is_refused() -> None:
    """keepalive_timeout configures the client's own aiohttp transport: not with transport=."""
    mock = MockTransport(lambda _request: MockResponse(200, json={"list": []}))
    with pytest.raises(ValueError, match=r"^keepalive_timeout configure the client's own"):
        ja.AccountsClient("key", transport=mock, keepalive_timeout=60)
