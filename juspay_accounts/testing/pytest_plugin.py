"""pytest fixtures for testing your code against the fake Juspay (registered automatically).

Installing juspay-accounts registers this plugin (the ``pytest11`` entry point), so in a
project that uses pytest-asyncio or anyio's pytest plugin these fixtures are simply there:

- ``fake_juspay``: a running :class:`~juspay_accounts.testing.FakeJuspay`, empty;
- ``juspay_client``: an :class:`~juspay_accounts.AccountsClient` pointed at it;
- ``juspay_retry_policy``: the retry policy ``juspay_client`` uses: the default rules with
  waiting switched off, so injected faults are retried without slowing the tests.
  Override the fixture to change it.

The async fixtures run on the loop of the test that asks for them: anyio's for a test that
uses anyio's plugin (``@pytest.mark.anyio``, which brings the ``anyio_backend`` fixture),
pytest-asyncio's otherwise. With neither, asking for them fails with a message that says
what to install.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any, Final

import pytest

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Generator

    from juspay_accounts._client import AccountsClient
    from juspay_accounts._policy import RetryPolicy
    from juspay_accounts.testing import FakeJuspay

__all__ = ["juspay_retry_policy"]


@pytest.fixture
def juspay_retry_policy() -> RetryPolicy:
    """The retry policy ``juspay_client`` uses: default rules, no waiting."""
    # Imported here, not at the top: pytest loads this plugin in every project that
    # installs the library, and importing it must not import the client and aiohttp.
    from juspay_accounts._policy import RetryPolicy  # noqa: PLC0415

    return RetryPolicy().without_waiting()


__all__ += ["fake_juspay", "juspay_client", "pytest_configure", "pytest_fixture_setup"]

# The async fixtures below run under pytest-asyncio or under anyio's pytest plugin, whichever
# the test uses. pytest-asyncio (in its default strict mode) takes only fixtures marked as its
# own, and anyio's plugin any async fixture of a test that has the `anyio_backend` fixture
# (`@pytest.mark.anyio`). So they are marked for pytest-asyncio when it runs
# (pytest_configure), and a test under anyio gets an unmarked copy (pytest_fixture_setup);
# with neither plugin, asking for them says what to install.
NO_ASYNC_PLUGIN: Final = (
    "the juspay-accounts fixture {name!r} is async, and no plugin here runs async fixtures: "
    "install pytest-asyncio (and mark the test @pytest.mark.asyncio) or use anyio's pytest "
    "plugin (pip install anyio; mark the test @pytest.mark.anyio)"
)


async def _fake_juspay() -> AsyncIterator[FakeJuspay]:
    """A running fake Juspay on 127.0.0.1, with no customers yet."""
    from juspay_accounts.testing import FakeJuspay  # noqa: PLC0415 - aiohttp.web only when used

    async with FakeJuspay() as fake:
        yield fake


async def _juspay_client(
    fake_juspay: FakeJuspay, juspay_retry_policy: RetryPolicy
) -> AsyncIterator[AccountsClient]:
    """A client pointed at ``fake_juspay``, retrying without waiting; closed afterwards."""
    from juspay_accounts._client import AccountsClient  # noqa: PLC0415 - see above

    async with AccountsClient(
        fake_juspay.api_key, base_url=fake_juspay.url, retry=juspay_retry_policy
    ) as client:
        yield client


fake_juspay = pytest.fixture(name="fake_juspay")(_fake_juspay)
juspay_client = pytest.fixture(name="juspay_client")(_juspay_client)
_ASYNC_FIXTURES: Final[dict[str, Callable[..., Any]]] = {
    "fake_juspay": _fake_juspay,
    "juspay_client": _juspay_client,
}


def pytest_configure(config: pytest.Config) -> None:
    """Mark the async fixtures as pytest-asyncio's own when pytest-asyncio runs."""
    if config.pluginmanager.hasplugin("asyncio"):
        import pytest_asyncio  # noqa: PLC0415 - only when it runs

        mark: Any = pytest_asyncio.fixture  # overloaded for decorators; called plainly here
        for func in _ASYNC_FIXTURES.values():
            mark(func)  # marks func itself; the definition it returns is not needed


def _unmarked(func: Callable[..., Any]) -> Callable[..., AsyncIterator[Any]]:
    """A copy of the async generator ``func`` without pytest-asyncio's mark, for anyio."""

    @functools.wraps(func)
    async def fixture(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:  # noqa: ANN401 - as func
        async for value in func(*args, **kwargs):
            yield value

    fixture.__dict__.clear()  # functools.wraps copied the mark too
    return fixture


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """Run this plugin's async fixtures on the test's own loop: anyio's or pytest-asyncio's."""
    func = fixturedef.func
    if _ASYNC_FIXTURES.get(fixturedef.argname) is not func:
        return (yield)  # not one of ours (or the user's own fixture of that name)
    if "anyio_backend" in request.fixturenames:
        # anyio's plugin runs it; pytest-asyncio must not (pytest-asyncio swaps it the same way).
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(fixturedef, "func", _unmarked(func))
            return (yield)
    if not request.config.pluginmanager.hasplugin("asyncio"):
        raise pytest.UsageError(NO_ASYNC_PLUGIN.format(name=fixturedef.argname))
    return (yield)
