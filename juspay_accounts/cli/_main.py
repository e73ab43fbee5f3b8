"""The ``juspay-accounts`` command line (also ``python -m juspay_accounts``): arguments to calls.

Exit status: 0 when every customer was listed, 1 when some failed, 2 for a usage or
configuration error.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

import juspay_accounts as ja
from juspay_accounts.cli._output import FORMATS, make_writer

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

__all__ = ["main"]

ENVIRONMENTS: Final = {
    "sandbox": ja.SANDBOX_URL,
    "production": ja.PRODUCTION_URL,
    "production-static-ip": ja.PRODUCTION_STATIC_IP_URL,
    "eu-sandbox": ja.EU_SANDBOX_URL,
    "eu-production": ja.EU_PRODUCTION_URL,
}
KEY_VARIABLE: Final = "JUSPAY_API_KEY"
OK, SOME_FAILED, USAGE = 0, 1, 2


class UsageError(Exception):
    """A usage or configuration error: printed with a hint, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="juspay-accounts",
        description="List Juspay customer accounts, or run a fake Juspay to test against.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {ja.__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser(
        "list",
        help="list every account of each customer (all pages, many customers at once)",
        description=(
            f"List every account of each customer. The API key comes from ${KEY_VARIABLE} "
            "or --api-key-file, never from the command line."
        ),
    )
    listing.add_argument(
        "customer_ids",
        nargs="*",
        metavar="CUSTOMER_ID",
        help="customer ids; '-' reads ids from stdin",
    )
    listing.add_argument(
        "--ids-file", type=Path, help="read customer ids from this file, one per line"
    )
    listing.add_argument(
        "--api-key-file", type=Path, help=f"read the API key from this file (else ${KEY_VARIABLE})"
    )
    listing.add_argument("--api-key", help=argparse.SUPPRESS)  # refused, with a hint
    target = listing.add_mutually_exclusive_group()
    target.add_argument(
        "--environment", choices=sorted(ENVIRONMENTS), help="which Juspay (default: sandbox)"
    )
    target.add_argument("--base-url", help="any Juspay base URL (white-label hosts, a fake server)")
    listing.add_argument("--merchant-id", help="sent as x-merchantid")
    listing.add_argument(
        "--concurrency", type=int, default=ja.DEFAULT_CONCURRENCY, help="customers fetched at once"
    )
    listing.add_argument(
        "--page-size", type=int, help="accounts asked for per request (default: all)"
    )
    listing.add_argument(
        "--format", choices=FORMATS, help="output format (default: table on a terminal, else jsonl)"
    )
    listing.add_argument(
        "--show-account-numbers",
        action="store_true",
        help="print account numbers, VPAs and names in full (masked by default)",
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
        description="Serve the fake Juspay until interrupted. Prints its URL and API key.",
    )
    fake.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    fake.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    fake.add_argument(
        "--seed-file",
        type=Path,
        help='JSON: {"customer_id": [account, ...]}, each account the keyword arguments of '
        'FakeJuspay.add_account (e.g. {"vpa": "a@upi", "validation_status": "PENDING"})',
    )
    fake.add_argument("--max-page-size", type=int, help="cap every page at this many accounts")
    return parser


def _api_key(args: argparse.Namespace) -> str:
    if args.api_key is not None:
        msg = (
            "an API key on the command line shows in the process list and the shell history; "
            f"set ${KEY_VARIABLE} or pass --api-key-file instead"
        )
        raise UsageError(msg)
    key: str
    if args.api_key_file is not None:
        try:
            key = Path(args.api_key_file).read_text().strip()
        except OSError as exc:
            msg = f"cannot read --api-key-file {args.api_key_file}: {exc.strerror}"
            raise UsageError(msg) from None
    else:
        key = os.environ.get(KEY_VARIABLE, "").strip()
    if not key:
        msg = f"no API key: set ${KEY_VARIABLE} or pass --api-key-file"
        raise UsageError(msg)
    return key


def _lines(stream: TextIO) -> Iterator[str]:
    """Ids from a stream, one per line, lazily; blank lines and '#' comments skipped."""
    for line in stream:
        customer_id = line.strip()
        if customer_id and not customer_id.startswith("#"):
            yield customer_id


def _customer_ids(args: argparse.Namespace) -> Iterator[str]:
    for customer_id in args.customer_ids:
        if customer_id == "-":
            yield from _lines(sys.stdin)
        else:
            yield customer_id
    if args.ids_file is not None:
        with args.ids_file.open() as stream:
            yield from _lines(stream)


class _Progress:
    """A progress bar on stderr, only on a terminal and only with tqdm (the ``cli`` extra)."""

    def __init__(self, total: int | None, *, enabled: bool) -> None:
        self.bar: Any = None
        if enabled and sys.stderr.isatty():
            with contextlib.suppress(ImportError):
                from tqdm import tqdm  # noqa: PLC0415 - optional

                self.bar = tqdm(total=total, unit=" customers", file=sys.stderr, dynamic_ncols=True)

    def update(self) -> None:
        if self.bar is not None:
            self.bar.update()

    def write(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


async def _list(args: argparse.Namespace) -> int:
    key = _api_key(args)
    if not args.customer_ids and args.ids_file is None:
        msg = "no customer ids: pass them as arguments, '-' for stdin, or --ids-file"
        raise UsageError(msg)
    if args.concurrency < 1:
        msg = "--concurrency must be at least 1"
        raise UsageError(msg)
    if args.page_size is not None and args.page_size < 1:
        msg = "--page-size must be at least 1"
        raise UsageError(msg)
    base_url = args.base_url or ENVIRONMENTS[args.environment or "sandbox"]
    try:
        client = ja.AccountsClient(
            key,
            base_url=base_url,
            merchant_id=args.merchant_id,
            max_connections=max(args.concurrency, 1),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    fmt = args.format or ("table" if sys.stdout.isatty() else "jsonl")
    writer = make_writer(fmt, sys.stdout, show_account_numbers=args.show_account_numbers)
    known = None if args.ids_file or "-" in args.customer_ids else len(set(args.customer_ids))
    progress = _Progress(known, enabled=not args.no_progress)
    ok = failed = accounts = 0
    try:
        async with (
            client,
            client.accounts_for_customers(
                _customer_ids(args), concurrency=args.concurrency, page_size=args.page_size
            ) as results,
        ):
            async for result in results:
                progress.update()
                if result.error is None:
                    ok += 1
                    accounts += len(result.accounts)
                    writer.write(result.accounts)
                    continue
                failed += 1
                error = result.error
                progress.write(
                    f"failed: {result.customer_id}: {type(error).__name__} "
                    f"(request id {error.request_id}): {error}"
                )
        writer.close()
    finally:
        progress.close()
    stats = client.stats
    print(
        f"customers: {ok} ok, {failed} failed; accounts: {accounts}; "
        f"requests: {stats.requests}; retries: {stats.retries}",
        file=sys.stderr,
    )
    return SOME_FAILED if failed else OK


def _seed(fake: Any, path: Path) -> None:  # noqa: ANN401 - a FakeJuspay, imported late
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        msg = f"cannot read --seed-file {path}: {exc}"
        raise UsageError(msg) from None
    if not isinstance(data, dict):
        msg = "--seed-file must hold a JSON object: {customer_id: [account, ...]}"
        raise UsageError(msg)
    for customer_id, accounts in data.items():
        fake.add_customer(customer_id)
        for account in accounts if isinstance(accounts, list) else []:
            try:
                fake.add_account(customer_id, **account)
            except TypeError as exc:
                msg = f"--seed-file: customer {customer_id}: {exc}"
                raise UsageError(msg) from None


async def _fake_server(args: argparse.Namespace) -> int:
    from juspay_accounts.testing import FakeJuspay  # noqa: PLC0415 - aiohttp.web only here

    fake = FakeJuspay(host=args.host, port=args.port, max_page_size=args.max_page_size)
    if args.seed_file is not None:
        _seed(fake, args.seed_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    async with fake:
        print(f"fake Juspay listening on {fake.url}", flush=True)
        print(f"API key: {fake.api_key}", flush=True)
        await stop.wait()
    return OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            from juspay_accounts.cli._demo import run_demo  # noqa: PLC0415 - loads the fake server only here

            asyncio.run(run_demo(print))
            return OK
        if args.command == "fake-server":
            return asyncio.run(_fake_server(args))
        return asyncio.run(_list(args))
    except UsageError as exc:
        print(f"juspay-accounts: error: {exc}", file=sys.stderr)
        return USAGE
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115, PTH123 - nothing more to write
        return SOME_FAILED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
