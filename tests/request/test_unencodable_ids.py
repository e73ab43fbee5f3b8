"""Ids that cannot be encoded (a lone surrogate from undecodable argv bytes) are refused early."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import juspay_accounts as ja
from juspay_accounts import _config, _request

if TYPE_CHECKING:
    from juspay_accounts.testing import FakeJuspay

UNENCODABLE = ["bad\udce9", "\udce9", "\ud800x", "ok\udfff"]


@pytest.mark.parametrize("bad", UNENCODABLE)
def test_lone_surrogate_in_an_id_is_invalid_input(bad: str) -> None:
    """A lone surrogate in a customer or routing id is InvalidInputError, not UnicodeEncodeError."""
    settings = _config.make_settings(api_key="k", base_url="https://h", user_agent="ua")
    for call in (
        lambda: _request.build_list_request(settings, bad),
        lambda: _request.build_list_request(settings, "cst_1", routing_id=bad),
        lambda: _request.check_ids(bad, None),
        lambda: _request.check_ids("cst_1", bad),
    ):
        with pytest.raises(ja.InvalidInputError, match="UTF-8") as info:
            call()
        assert not isinstance(info.value, UnicodeError)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("customer_id", "routing_id"), [("bad\udce9", None), ("cst_1", "route\udce9")]
)
async def test_unencodable_ids_are_never_sent(
    fake: FakeJuspay, customer_id: str, routing_id: str | None
) -> None:
    """Nothing reaches the server for an unencodable id; a routing id is never sent truncated."""
    fake.add_account("cst_1")
    async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
        with pytest.raises(ja.InvalidInputError):
            await client.list_accounts(customer_id, routing_id=routing_id)
        with pytest.raises(ja.InvalidInputError):
            client.iter_pages(customer_id, routing_id=routing_id)
        with pytest.raises(ja.InvalidInputError):
            await client.all_accounts(customer_id, routing_id=routing_id)
    assert [] == fake.requests


def test_unencodable_header_settings_are_refused() -> None:
    """A lone surrogate in user_agent, merchant_id or api_version is refused at construction."""
    with pytest.raises(ja.InvalidInputError):
        ja.AccountsClient("k", user_agent="ua\udce9")
    with pytest.raises(ja.InvalidInputError):
        ja.AccountsClient("k", merchant_id="m\udce9")
    with pytest.raises(ja.InvalidInputError):
        ja.AccountsClient("k", api_version="\ud800")


def test_unencodable_api_key_is_a_value_error_without_echo() -> None:
    """An API key with a lone surrogate is a ValueError at construction that does not echo it."""
    with pytest.raises(ValueError, match="api_key") as info:
        ja.AccountsClient("sk_secret\udce9")
    assert not isinstance(info.value, UnicodeError)
    assert "sk_secret" not in str(info.value)
