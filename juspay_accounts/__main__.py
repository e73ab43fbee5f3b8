"""``python -m juspay_accounts``: the same as the ``juspay-accounts`` command."""

import sys

from juspay_accounts.cli import main

sys.exit(main())
