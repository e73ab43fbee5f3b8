"""The ``juspay-accounts`` command line (also ``python -m juspay_accounts``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from juspay_accounts._version import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="juspay-accounts",
        description="An asyncio client for Juspay's List Customer Accounts API.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "demo",
        help="run the real client against an embedded fake Juspay and print what it lists",
        description="Start a fake Juspay on 127.0.0.1, list its customers' accounts "
        "through the real client and print them as a table. No network or API key needed.",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 on success, 2 on usage errors)."""
    args = _parser().parse_args(argv)
    if args.command == "demo":
        from juspay_accounts._demo import run_demo  # noqa: PLC0415 - loads the fake server only here

        asyncio.run(run_demo(print))
        return 0
    return 2  # pragma: no cover - argparse rejects unknown commands first


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
