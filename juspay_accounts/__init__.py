"""An asyncio client for Juspay's List Customer Accounts API.

::

    import juspay_accounts as ja

    async with ja.AccountsClient(api_key, base_url=ja.SANDBOX_URL) as client:
        page = await client.list_accounts("cst_123")

The fake Juspay server for tests lives in :mod:`juspay_accounts.testing`.
"""

import importlib as _importlib
import logging as _logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from juspay_accounts import testing
    from juspay_accounts._client import DEFAULT_CONCURRENCY, DEFAULT_TIMEOUT, AccountsClient
    from juspay_accounts._config import DEFAULT_MAX_RESPONSE_BYTES
    from juspay_accounts._environments import (
        EU_PRODUCTION_URL,
        EU_SANDBOX_URL,
        PRODUCTION_STATIC_IP_URL,
        PRODUCTION_URL,
        SANDBOX_URL,
    )
    from juspay_accounts._fanout import CustomerResult, CustomerResultStream
    from juspay_accounts._instruments import Observer, RequestEvent, RetryEvent
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
    "Observer",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RateLimitStoreError",
    "RequestEvent",
    "ResponseValidationError",
    "RetryEvent",
    "RetryPolicy",
    "ServerError",
    "TransportRequest",
    "TransportResponse",
    "ValidationStatus",
    "__version__",
    "testing",
]


# Where each public name lives. The names are imported on first use (PEP 562), so that
# importing the package, or a module under it such as the pytest plugin that pytest loads in
# every project that installs this one, does not import aiohttp and the whole client.
_HOMES: dict[str, str] = {
    "DEFAULT_CONCURRENCY": "_client",
    "DEFAULT_TIMEOUT": "_client",
    "AccountsClient": "_client",
    "EU_PRODUCTION_URL": "_environments",
    "EU_SANDBOX_URL": "_environments",
    "PRODUCTION_STATIC_IP_URL": "_environments",
    "PRODUCTION_URL": "_environments",
    "SANDBOX_URL": "_environments",
    "CustomerResult": "_fanout",
    "CustomerResultStream": "_fanout",
    "Observer": "_instruments",
    "RequestEvent": "_instruments",
    "RetryEvent": "_instruments",
    "AccountDetails": "_models",
    "AccountPage": "_models",
    "BankAccount": "_models",
    "CustomerAccount": "_models",
    "ValidationStatus": "_models",
    "DEFAULT_MAX_PAGES": "_pagination",
    "RateLimit": "_ratelimit",
    "AsyncTransport": "_seam",
    "TransportRequest": "_seam",
    "TransportResponse": "_seam",
    "DEFAULT_RETRY_STATUSES": "_policy",
    "RetryPolicy": "_policy",
    "ClientStats": "_stats",
    "DEFAULT_MAX_RESPONSE_BYTES": "_config",
    "__version__": "_version",
    **dict.fromkeys(
        (
            "APICertificateError",
            "APIConnectionError",
            "APIError",
            "APITimeoutError",
            "AuthenticationError",
            "BadRequestError",
            "ClientClosedError",
            "ErrorField",
            "InvalidInputError",
            "JuspayError",
            "NotFoundError",
            "PaginationError",
            "PermissionDeniedError",
            "RateLimitError",
            "RateLimitStoreError",
            "ResponseValidationError",
            "ServerError",
        ),
        "exceptions",
    ),
}


def __getattr__(name: str) -> Any:  # noqa: ANN401 - a module
    """Import a public name's module on first use (then the name is a plain global).

    :mod:`juspay_accounts.testing` (and aiohttp.web) too is imported only when used.
    """
    if name == "testing":
        return _importlib.import_module("juspay_accounts.testing")
    home = _HOMES.get(name)
    if home is None:
        msg = f"module 'juspay_accounts' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(_importlib.import_module(f"juspay_accounts.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The module's attributes, the public names not imported yet included."""
    return sorted({*globals(), *__all__})
