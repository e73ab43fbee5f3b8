"""A fake Juspay for tests: the library's own, the demo's, and yours.

:class:`FakeJuspay` is a real HTTP server on 127.0.0.1 that answers like Juspay's List
Customer Accounts endpoint, so code that uses :class:`~juspay_accounts.AccountsClient` can
be tested end to end without network access or mocks. :class:`MockTransport` answers from a
function of yours with no socket at all, for tests that only need answers.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from juspay_accounts.testing._faults import CHAOS_FAULTS, Fault
    from juspay_accounts.testing._mock import MockRequest, MockResponse, MockTransport
    from juspay_accounts.testing._server import DEFAULT_API_KEY, FakeJuspay, RecordedRequest

__all__ = [
    "CHAOS_FAULTS",
    "DEFAULT_API_KEY",
    "FakeJuspay",
    "Fault",
    "MockRequest",
    "MockResponse",
    "MockTransport",
    "RecordedRequest",
]

# Imported on first use (PEP 562): pytest imports this package for the plugin under it
# (pytest_plugin) in every project that installs the library; aiohttp.web only when used.
_HOMES: dict[str, str] = {
    "CHAOS_FAULTS": "_faults",
    "Fault": "_faults",
    "MockRequest": "_mock",
    "MockResponse": "_mock",
    "MockTransport": "_mock",
    "DEFAULT_API_KEY": "_server",
    "FakeJuspay": "_server",
    "RecordedRequest": "_server",
}


def __getattr__(name: str) -> _typing.Any:  # noqa: ANN401 - a module
    """Import a public name's module on first use (then the name is a plain global)."""
    home = _HOMES.get(name)
    if home is None:
        msg = f"module 'juspay_accounts.testing' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(_importlib.import_module(f"juspay_accounts.testing.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's attributes, the public names not imported yet included."""
    return sorted({*globals(), *__all__})
