"""Where Juspay lives: the documented base URLs, one per environment."""

from typing import Final

__all__ = [
    "EU_PRODUCTION_URL",
    "EU_SANDBOX_URL",
    "PRODUCTION_STATIC_IP_URL",
    "PRODUCTION_URL",
    "SANDBOX_URL",
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
