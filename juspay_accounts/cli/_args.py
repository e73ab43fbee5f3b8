"""The command line's arguments: the parser, its help texts and the named environments."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Final

from juspay_accounts import (
    DEFAULT_CONCURRENCY,
    EU_PRODUCTION_URL,
    EU_SANDBOX_URL,
    PRODUCTION_STATIC_IP_URL,
    PRODUCTION_URL,
    SANDBOX_URL,
    __version__,
)
from juspay_accounts._environments import API_KEY_VARIABLE, BASE_URL_VARIABLE
from juspay_accounts.cli._output import FORMATS

__all__ = ["BASE_URL_VARIABLE", "ENVIRONMENTS", "EXIT_STATUS", "KEY_VARIABLE", "make_parser"]

ENVIRONMENTS: Final = {
    "sandbox": SANDBOX_URL,
    "production": PRODUCTION_URL,
    "production-static-ip": PRODUCTION_STATIC_IP_URL,
    "eu-sandbox": EU_SANDBOX_URL,
    "eu-production": EU_PRODUCTION_URL,
}
KEY_VARIABLE: Final = API_KEY_VARIABLE
EXIT_STATUS: Final = """\
exit status:
  0    every customer was listed
  1    some customers failed (each is reported on stderr)
  2    usage or configuration error
  130  interrupted (SIGINT, Ctrl-C); 143: terminated (SIGTERM)
  141  the output was closed by its reader (e.g. | head); nothing more is printed
"""


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="juspay-accounts",
        description="List Juspay customer accounts, or run a fake Juspay to test against.",
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser(
        "list",
        help="list every account of each customer (all pages, many customers at once)",
        description=(
            f"List every account of each customer. The API key comes from ${KEY_VARIABLE}\n"
            "or --api-key-file, never from the command line; Juspay's URL from --base-url,\n"
            f"--environment or ${BASE_URL_VARIABLE} (in that order), else the sandbox."
        ),
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    listing.add_argument(
        "customer_ids",
        nargs="*",
        metavar="CUSTOMER_ID",
        help="customer ids; '-' reads ids from stdin (the same rules as --ids-file)",
    )
    listing.add_argument(
        "--ids-file",
        type=Path,
        metavar="FILE",
        help="read customer ids from FILE (UTF-8), one per line; blank lines and lines "
        "starting with # are skipped",
    )
    listing.add_argument(
        "--api-key-file",
        type=Path,
        metavar="FILE",
        help=f"read the API key from this file (else ${KEY_VARIABLE})",
    )
    listing.add_argument("--api-key", help=argparse.SUPPRESS)  # refused, with a hint
    target = listing.add_mutually_exclusive_group()
    target.add_argument(
        "--environment",
        choices=sorted(ENVIRONMENTS),
        help=f"which Juspay (default: ${BASE_URL_VARIABLE}, else sandbox)",
    )
    target.add_argument(
        "--base-url",
        metavar="URL",
        help=f"any Juspay base URL (white-label hosts, a fake server; else ${BASE_URL_VARIABLE})",
    )
    listing.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// base URL to a host other than loopback (the API key "
        "then crosses the network unencrypted)",
    )
    listing.add_argument("--merchant-id", metavar="ID", help="sent as x-merchantid")
    listing.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help="customers fetched at once (default: %(default)s)",
    )
    listing.add_argument(
        "--page-size", type=int, metavar="N", help="accounts asked for per request (default: all)"
    )
    listing.add_argument(
        "--format", choices=FORMATS, help="output format (default: table on a terminal, else jsonl)"
    )
    listing.add_argument(
        "--no-mask",
        "--show-account-numbers",
        action="store_true",
        dest="show_account_numbers",
        help="print account numbers, VPAs and names in full (masked by default, which the "
        "output's 'masked' column or field and a line on stderr say)",
    )
    listing.add_argument("--no-progress", action="store_true", help="never show a progress bar")

    commands.add_parser(
        "demo",
        help="run the real client against an embedded fake Juspay and print what it lists",
        description="Start a fake Juspay on 127.0.0.1, list its customers' accounts "
        "through the real client and print them as a table. No network or API key needed.",
    )

    fake = commands.add_parser(
        "fake-server",
        help="run the fake Juspay on its own, for other tools and languages",
        description="Serve the fake Juspay until interrupted. Prints its URL and API key. "
        "Without --seed-file or --demo-data it knows no customers: every id is a 404.",
    )
    fake.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    fake.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    fake.add_argument(
        "--seed-file",
        type=Path,
        action="append",
        metavar="FILE",
        help='JSON: {"customer_id": [account, ...]}, each account the keyword arguments of '
        'FakeJuspay.add_account (e.g. {"vpa": "a@upi", "validation_status": "PENDING"}); '
        "may be given more than once: every file is served (a customer in two files has "
        "the accounts of both)",
    )
    fake.add_argument(
        "--demo-data",
        action="store_true",
        help="serve the demo's customers (cst_aarav, cst_diya, cst_kabir, cst_meera)",
    )
    fake.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="every answer takes this long, like a real server (default: %(default)s)",
    )
    fake.add_argument(
        "--max-page-size", type=int, metavar="N", help="cap every page at this many accounts"
    )
    return parser
