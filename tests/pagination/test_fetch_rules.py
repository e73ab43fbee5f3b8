"""What a walk hands each page's decoding and logging, and the stdlib reader's huge numbers."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

import pytest

import juspay_accounts as ja
from juspay_accounts import _json, _response
from juspay_accounts.testing import Fault

if TYPE_CHECKING:
    from juspay_accounts.testing import FakeJuspay


def test_stdlib_reader_keeps_a_huge_number_for_the_hook_to_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without orjson, an amount of 1e999 is refused as written, not as an infinity."""
    monkeypatch.setattr(_json, "loads", _json.loads_stdlib)
    body = b'{"list": [{"customer_account_id": "a", "customer_id": "c", "account_details": {}, '
    body += b'"validation_status": "ACTIVE", "date_created": "2023-01-01T00:00:00Z", '
    body += b'"validation_amount": 1e999}]}'
    with pytest.raises(ja.ResponseValidationError) as info:
        _response.decode_list_response(200, {}, body)
    assert ["expected a finite amount, got 1e999 @ $.list[0].validation_amount"] == list(
        info.value.errors
    )


@pytest.mark.asyncio
async def test_a_walk_page_without_offset_is_at_the_offset_asked(
    fake: FakeJuspay, client: ja.AccountsClient
) -> None:
    """A page that leaves out offset is taken to be at the offset the walk asked for."""
    accounts = [fake.add_account("cst_1") for _ in range(3)]
    second = json.dumps({"list": accounts[2:], "count": 1, "total": 3})
    fake.inject(Fault.respond(200, json.dumps({"list": accounts[:2], "total": 3})))
    fake.inject(Fault.respond(200, second))
    ids = [a.customer_account_id for a in await client.all_accounts("cst_1", page_size=2)]
    assert [a["customer_account_id"] for a in accounts] == ids


@pytest.mark.asyncio
async def test_a_walk_logs_its_retries_under_the_customer(
    fake: FakeJuspay, client: ja.AccountsClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A retried page of a walk is logged with the walk's customer id."""
    caplog.set_level(logging.INFO, logger="juspay_accounts")
    fake.add_account("cst_7")
    fake.inject(Fault.respond(503, "busy"))
    assert 1 == len(await client.all_accounts("cst_7", page_size=5))
    assert ["cst_7"] == [
        getattr(r, "juspay_customer_id", None) for r in caplog.records if "retrying" in r.msg
    ]
