"""pytest fixtures for testing your code against the fake Juspay (registered automatically).

Installing juspay-accounts registers this plugin (the ``pytest11`` entry point), so in a
project that also uses pytest-asyncio these fixtures are simply there:

- ``fake_juspay``: a running :class:`~juspay_accounts.testing.FakeJuspay`, empty;
- ``juspay_client``: an :class:`~juspay_accounts.AccountsClient` pointed at it;
- ``juspay_retry_policy``: the retry policy ``juspay_client`` uses: the default rules with
  waiting switched off, so injected faults are retried without slowing the tests.
  Override the fixture to change it.

Without pytest-asyncio only ``juspay_retry_policy`` is defined; use ``FakeJuspay`` directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from juspay_accounts._policy import RetryPolicy

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from juspay_accounts._client import AccountsClient
    from juspay_accounts.testing import FakeJuspay

__all__ = ["juspay_retry_policy"]


@pytest.fixture
def juspay_retry_policy() -> RetryPolicy:
    """The retry policy ``juspay_client`` uses: default rules, no waiting."""
    return RetryPolicy().without_waiting()


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the async fixtures need pytest-asyncio
    pass
else:
    __all__ += ["fake_juspay", "juspay_client"]

    @pytest_asyncio.fixture
    async def fake_juspay() -> AsyncIterator[FakeJuspay]:
        """A running fake Juspay on 127.0.0.1, with no customers yet."""
        from juspay_accounts.testing import FakeJuspay  # noqa: PLC0415 - aiohttp.web only when used

        async with FakeJuspay() as fake:
            yield fake

    @pytest_asyncio.fixture
    async def juspay_client(
        fake_juspay: FakeJuspay, juspay_retry_policy: RetryPolicy
    ) -> AsyncIterator[AccountsClient]:
        """A client pointed at ``fake_juspay``, retrying without waiting; closed afterwards."""
        from juspay_accounts._client import AccountsClient  # noqa: PLC0415 - see above

        async with AccountsClient(
            fake_juspay.api_key, base_url=fake_juspay.url, retry=juspay_retry_policy
        ) as client:
            yield client
