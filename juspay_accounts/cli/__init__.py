"""The ``juspay-accounts`` command line and its demo; the library never imports this package.

Its modules: ``_main`` (the commands: list and fake-server), ``_args`` (the parser and its
help), ``_ids`` (reading ids from arguments, a file or stdin), ``_output`` (table, JSON,
JSON lines, CSV), ``_progress`` (the progress bar on stderr), ``_demo`` (the demo).
"""

from juspay_accounts.cli._main import main

__all__ = ["main"]
