"""The ``juspay-accounts`` command line and its demo; the library never imports this package."""

from juspay_accounts.cli._main import main

__all__ = ["main"]
