"""A big answer (decoded off the event loop) reads exactly as a small one does.

Answers over 256 KiB are decoded in a worker thread (docs/design.md, "Big customers"); the
stall this saves is measured in the slow group (tests/pagination/test_event_loop_stall.py).
Here, through MockTransport and without sockets: what a caller gets from a big answer is
what the same answer would give on the loop, successes and failures alike.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import juspay_accounts as ja
from juspay_accounts._fetcher import DECODE_OFF_LOOP_BYTES
from juspay_accounts.testing import MockRequest, MockResponse, MockTransport

ACCOUNTS = 2_000


def _account(i: int) -> dict[str, Any]:
    return {
        "customer_account_id": f"banh_{i:05}",
        "customer_id": "cst_big",
        "account_details": {"vpa": f"{i:010}@okaxis"},
        "validation_status": "ACTIVE",
        "date_created": "2023-06-06T13:29:49Z",
        "currency": "INR",
        "validation_amount": 1,
    }


def _big_page(**fields: object) -> bytes:
    body = json.dumps({"list": [_account(i) for i in range(ACCOUNTS)], **fields}).encode()
    assert len(body) > DECODE_OFF_LOOP_BYTES  # the test is of the big path
    return body


def _client(answer: MockResponse) -> ja.AccountsClient:
    def handler(_: MockRequest) -> MockResponse:
        return answer

    return ja.AccountsClient(
        "k", transport=MockTransport(handler), retry=ja.RetryPolicy(max_attempts=1)
    )


@pytest.mark.asyncio
async def test_a_big_page_reads_whole_with_its_counts_and_request_id() -> None:
    """Every account in order, the counts and the answer's headers, as from a small page."""
    body = _big_page(offset=0, count=ACCOUNTS, total=ACCOUNTS)
    answer = MockResponse(200, content=body, headers={"x-request-id": "req_big"})
    async with _client(answer) as client:
        page = await client.list_accounts("cst_big")
        accounts = await client.all_accounts("cst_big")
    assert (0, ACCOUNTS, ACCOUNTS) == (page.offset, page.count, page.total)
    assert "req_big" == page.request_id
    expected = [f"banh_{i:05}" for i in range(ACCOUNTS)]
    assert expected == [a.customer_account_id for a in page.accounts]
    assert expected == [a.customer_account_id for a in accounts]
    assert "0000001999@okaxis" == page.accounts[-1].account_details.vpa


@pytest.mark.asyncio
async def test_a_big_page_without_an_offset_is_at_the_offset_asked() -> None:
    """Juspay leaving ``offset`` out of a big answer: the page is where it was asked for."""
    async with _client(MockResponse(200, content=_big_page())) as client:
        page = await client.list_accounts("cst_big", offset=7)
    assert (7, ACCOUNTS, 7 + ACCOUNTS) == (page.offset, page.count, page.total)


@pytest.mark.asyncio
async def test_a_big_error_answer_is_the_error_of_its_status() -> None:
    """A 503 with a big body raises the 503's error, its request id read from the headers."""
    body = b"<html>" + b"busy " * (DECODE_OFF_LOOP_BYTES // 4) + b"</html>"
    answer = MockResponse(503, content=body, headers={"x-request-id": "req_503"})
    async with _client(answer) as client:
        with pytest.raises(ja.APIError) as caught:
            await client.list_accounts("cst_big")
    assert 503 == caught.value.status
    assert "req_503" == caught.value.request_id


@pytest.mark.asyncio
async def test_a_big_answer_that_is_not_json_is_refused_by_path() -> None:
    """A big 200 that breaks off mid-way is a ResponseValidationError, not a page."""
    body = _big_page(offset=0)[:-100]
    async with _client(MockResponse(200, content=body)) as client:
        with pytest.raises(ja.ResponseValidationError) as caught:
            await client.list_accounts("cst_big")
    assert 200 == caught.value.status
    assert "@ $" in str(caught.value)
