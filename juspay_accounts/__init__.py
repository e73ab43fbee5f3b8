"""An asyncio client for Juspay's List Customer Accounts API.

::

    import juspay_accounts as ja

    async with ja.AccountsClient(api_key, base_url=ja.SANDBOX_URL) as client:
        page = await client.list_accounts("cst_123")

The fake Juspay server for tests lives in :mod:`juspay_accounts.testing`.
"""

import logging as _logging
from typing import TYPE_CHECKING, Any

from juspay_accounts._client import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, AccountsClient
from juspay_accounts._environments import (
    EU_PRODUCTION_URL,
    EU_SANDBOX_URL,
    PRODUCTION_STATIC_IP_URL,
    PRODUCTION_URL,
    SANDBOX_URL,
)
from juspay_accounts._fanout import CustomerResult, CustomerResultStream
from juspay_accounts._models import (
    AccountDetails,
    AccountPage,
    BankAccount,
    CustomerAccount,
    ValidationStatus,
)
from juspay_accounts._pagination import DEFAULT_MAX_PAGES
from juspay_accounts._policy import DEFAULT_RETRY_STATUSES, RetryPolicy
from juspay_accounts._ratelimit import RateLimit
from juspay_accounts._seam import AsyncTransport, TransportRequest, TransportResponse
from juspay_accounts._stats import ClientStats
from juspay_accounts._transport import DEFAULT_MAX_RESPONSE_BYTES
from juspay_accounts._version import __version__
from juspay_accounts.exceptions import (
    APICertificateError,
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ErrorField,
    InvalidInputError,
    JuspayError,
    NotFoundError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    RateLimitStoreError,
    ResponseValidationError,
    ServerError,
)

if TYPE_CHECKING:
    from juspay_accounts import testing

# A library's loggers stay silent until the application configures logging: without a
# handler, Python's last-resort handler would print WARNING records to stderr.
_logging.getLogger(__name__).addHandler(_logging.NullHandler())

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_RETRY_STATUSES",
    "DEFAULT_TIMEOUT",
    "EU_PRODUCTION_URL",
    "EU_SANDBOX_URL",
    "PRODUCTION_STATIC_IP_URL",
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "APICertificateError",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AccountDetails",
    "AccountPage",
    "AccountsClient",
    "AsyncTransport",
    "AuthenticationError",
    "BadRequestError",
    "BankAccount",
    "ClientClosedError",
    "ClientStats",
    "CustomerAccount",
    "CustomerResult",
    "CustomerResultStream",
    "ErrorField",
    "InvalidInputError",
    "JuspayError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RateLimitStoreError",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerError",
    "TransportRequest",
    "TransportResponse",
    "ValidationStatus",
    "__version__",
    "testing",
]


def __getattr__(name: str) -> Any:  # noqa: ANN401 - a module
    """Import :mod:`juspay_accounts.testing` (and aiohttp.web) only when it is used."""
    if name == "testing":
        import importlib  # noqa: PLC0415 - the point is to import late

        return importlib.import_module("juspay_accounts.testing")
    msg = f"module 'juspay_accounts' has no attribute {name!r}"
    raise AttributeError(msg)
