"""Checked by ``nox -s typecheck`` (mypy --strict), never run: what typing users can write.

``iter_pages`` and ``iter_accounts`` return ``AsyncGenerator``s, so
``contextlib.aclosing`` accepts them without a ``# type: ignore`` (issue 11, item 9).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator
from typing import assert_type

import juspay_accounts as ja


async def first_page(client: ja.AccountsClient) -> ja.AccountPage | None:
    """Close the walk after its first page, as a typed application would."""
    async with contextlib.aclosing(client.iter_pages("cst_1", page_size=10)) as pages:
        assert_type(pages, AsyncGenerator[ja.AccountPage, None])
        async for page in pages:
            return page
    return None


async def first_account(client: ja.AccountsClient) -> ja.CustomerAccount | None:
    """The same for accounts."""
    async with contextlib.aclosing(client.iter_accounts("cst_1")) as accounts:
        assert_type(accounts, AsyncGenerator[ja.CustomerAccount, None])
        async for account in accounts:
            return account
    return None
