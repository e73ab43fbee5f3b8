"""Where Juspay lives: the documented base URLs, one per environment; and the variables read."""

import os
from typing import Final

__all__ = [
    "EU_PRODUCTION_URL",
    "EU_SANDBOX_URL",
    "PRODUCTION_STATIC_IP_URL",
    "PRODUCTION_URL",
    "SANDBOX_URL",
    "api_key_from_environment",
    "base_url_from_environment",
]

SANDBOX_URL: Final = "https://sandbox.juspay.in"
"""Juspay's India sandbox."""
PRODUCTION_URL: Final = "https://api.juspay.in"
"""Juspay's India production."""
PRODUCTION_STATIC_IP_URL: Final = "https://api-ns1.juspay.in"
"""Juspay's India production behind a static IP, for allow-listing firewalls."""
EU_SANDBOX_URL: Final = "https://sandbox.juspay.io"
"""Juspay's EU sandbox."""
EU_PRODUCTION_URL: Final = "https://api.juspay.io"
"""Juspay's EU production."""

API_KEY_VARIABLE: Final = "JUSPAY_API_KEY"
"""The environment variable the client and the command line read the API key from."""
BASE_URL_VARIABLE: Final = "JUSPAY_BASE_URL"
"""The environment variable the client and the command line read the base URL from."""


def api_key_from_environment() -> str:
    """``$JUSPAY_API_KEY`` without surrounding white space (or a byte-order mark).

    Raises:
        ValueError: The variable is unset or blank; the message names it, never a value.
    """
    key = os.environ.get(API_KEY_VARIABLE, "").removeprefix("\ufeff").strip()
    if not key:
        msg = (
            f"no API key: pass api_key=... or set ${API_KEY_VARIABLE} "
            "(the key from the Juspay dashboard)"
        )
        raise ValueError(msg)
    return key


def base_url_from_environment() -> str:
    """``$JUSPAY_BASE_URL`` when it is set and not blank, else :data:`SANDBOX_URL`."""
    return os.environ.get(BASE_URL_VARIABLE, "").strip() or SANDBOX_URL
