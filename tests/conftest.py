"""Shared fixtures: a running fake Juspay, a client wired to it, aioresponses on aiohttp 3.14."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import aiohttp
import aioresponses.core
import pytest
import pytest_asyncio

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator


def _shim_aioresponses() -> None:
    """Let aioresponses 0.7.9 build responses on aiohttp 3.14.

    aiohttp 3.14 added a required keyword-only ``stream_writer`` argument to
    ``ClientResponse.__init__`` that aioresponses does not pass
    (https://github.com/pnuckowski/aioresponses/issues/289, open at the time of writing).
    The subclass supplies it; on an aiohttp without that argument this is a no-op.
    """
    if "stream_writer" not in inspect.signature(aiohttp.ClientResponse.__init__).parameters:
        return

    class _NoUpload:
        output_size = 0  # aioresponses sends nothing, so nothing was written

    class _ShimResponse(aiohttp.ClientResponse):
        def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401 - passed through
            kwargs.setdefault("stream_writer", _NoUpload())
            super().__init__(*args, **kwargs)

    aioresponses.core.ClientResponse = _ShimResponse  # type: ignore[attr-defined]


_shim_aioresponses()


@pytest.fixture
def mocked() -> Iterator[aioresponses.aioresponses]:
    """aioresponses, intercepting every ClientSession request in the test."""
    with aioresponses.aioresponses() as mock:
        yield mock


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeJuspay]:
    """A running fake Juspay with no customers."""
    async with FakeJuspay() as server:
        yield server


@pytest_asyncio.fixture
async def client(fake: FakeJuspay) -> AsyncIterator[ja.AccountsClient]:
    """A client pointed at the fake server, retrying with the default policy but never waiting."""
    policy = ja.RetryPolicy().without_waiting()
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, retry=policy) as accounts_client:
        yield accounts_client
