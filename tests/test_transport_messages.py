"""The transport's own words: failure messages, what a refused body error carries, chains."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import aiohttp
import pytest

import juspay_accounts as ja
from juspay_accounts import _transport
from juspay_accounts.testing import Fault

if TYPE_CHECKING:
    from juspay_accounts.testing import FakeJuspay


def test_one_line_collapses_white_space_and_cuts_at_the_limit() -> None:
    """Messages are one line; one longer than the limit ends in an ellipsis, at the limit."""
    assert "a b c" == _transport._one_line(" a \n b\t\tc ")
    exact = "x" * _transport._MESSAGE_CHARS
    assert exact == _transport._one_line(exact)
    cut = _transport._one_line("y" * (_transport._MESSAGE_CHARS + 5))
    assert "y" * (_transport._MESSAGE_CHARS - 1) + "…" == cut


def test_describe_names_the_class_and_its_message_only() -> None:
    """An error is described by class and message; a message-less one by its class alone."""
    assert "ClientConnectionError: refused" == _transport._describe(
        aiohttp.ClientConnectionError("refused")
    )
    assert "TimeoutError" == _transport._describe(TimeoutError())


def chain(cause: BaseException | None, context: BaseException | None) -> BaseException:
    """An error with the given cause and context."""
    error = RuntimeError("outer")
    error.__cause__, error.__context__ = cause, context
    return error


class Carrier(Exception):  # noqa: N818 - a stand-in for aiohttp's errors
    """An error holding request_info, as aiohttp's ClientResponseError does."""

    request_info = "headers"


def test_carries_request_looks_through_the_whole_chain() -> None:
    """request_info anywhere in the cause/context chain counts, past a missing link."""
    assert _transport._carries_request(chain(Carrier(), None))
    assert _transport._carries_request(chain(None, chain(None, Carrier())))
    assert not _transport._carries_request(chain(ValueError(), None))


def test_carries_request_ends_on_a_cycle() -> None:
    """A chain that loops back on itself is walked once."""
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first
    assert not _transport._carries_request(first)


@pytest.mark.asyncio
async def test_a_refused_body_says_where_it_came_from(fake: FakeJuspay) -> None:
    """A success body over max_response_bytes is refused with its status, rule and request id."""
    fake.inject(Fault.respond(200, '{"list": []}' + " " * 100, headers={"x-request-id": "req_9"}))
    policy = ja.RetryPolicy.disabled()
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, max_response_bytes=10, retry=policy
    ) as client:
        with pytest.raises(ja.ResponseValidationError) as info:
            await client.list_accounts("cst_1")
    assert (200, ("body larger than 10 bytes @ $",), "req_9") == (
        info.value.status,
        info.value.errors,
        info.value.request_id,
    )


def test_a_timeout_the_client_did_not_set_is_described() -> None:
    """A timeout with no client time limit (a middleware's) names the error and says so."""
    transport = _transport.Transport(
        session=None, max_connections=1, timeout=None, max_response_bytes=1, stats=ja.ClientStats()
    )
    failure = transport._failure(TimeoutError("slow proxy"), "api.juspay.in", None)
    assert isinstance(failure, ja.APITimeoutError)
    assert (
        "no answer from api.juspay.in: TimeoutError: slow proxy, though this client set no "
        "time limit (the session's own timeout or middleware did)"
    ) == failure.args[0]
    timed = transport._failure(TimeoutError(), "api.juspay.in", 2.5)
    assert "no answer from api.juspay.in within 2.50 s" == timed.args[0]


@pytest.mark.asyncio
async def test_closing_mid_request_says_so(fake: FakeJuspay) -> None:
    """A request in flight when the client closes ends with ClientClosedError, word for word."""
    fake.add_customer("cst_1")
    fake.inject(Fault.answer_late(30.0))
    client = ja.AccountsClient(fake.api_key, base_url=fake.url, retry=ja.RetryPolicy.disabled())
    call = asyncio.create_task(client.list_accounts("cst_1"))
    async with asyncio.timeout(10):
        while not fake.requests:  # noqa: ASYNC110 - the fake has no "request seen" event
            await asyncio.sleep(0.01)
    await client.aclose()
    with pytest.raises(ja.ClientClosedError) as info:
        await call
    assert "the client was closed while this request was in flight" == info.value.args[0]
