"""A fake Juspay for tests: the library's own, the demo's, and yours.

:class:`FakeJuspay` is a real HTTP server on 127.0.0.1 that answers like Juspay's List
Customer Accounts endpoint, so code that uses :class:`~juspay_accounts.AccountsClient` can
be tested end to end without network access or mocks. :class:`MockTransport` answers from a
function of yours with no socket at all, for tests that only need answers.
"""

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
