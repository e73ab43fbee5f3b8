"""The ``juspay-accounts`` command line (also ``python -m juspay_accounts``): arguments to calls.

Exit status: 0 when every customer was listed, 1 when some failed, 2 for a usage or
configuration error, 130 or 143 when interrupted (SIGINT, SIGTERM), 141 when the reader of
the output went away (``| head``: quietly, as if ended by SIGPIPE, like other Unix tools).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

import attrs

from juspay_accounts import (
    AccountsClient,
    APIError,
    InvalidInputError,
    JuspayError,
)
from juspay_accounts._config import basic_authorization
from juspay_accounts._environments import base_url_from_environment
from juspay_accounts._redact import secret_forms
from juspay_accounts.cli._args import BASE_URL_VARIABLE, ENVIRONMENTS, KEY_VARIABLE, make_parser
from juspay_accounts.cli._ids import (
    IdsFile,
    UnreadableIdsError,
    check_ids_file,
    customer_ids,
)
from juspay_accounts.cli._output import Writer, make_writer, printable
from juspay_accounts.cli._progress import Progress

if TYPE_CHECKING:
    import argparse
    from collections.abc import AsyncIterator, Callable, Iterator, Sequence

__all__ = ["main"]

OK, SOME_FAILED, USAGE = 0, 1, 2
OUTPUT_CLOSED: Final = 128 + 13  # as a process ended by SIGPIPE reports itself
SHOWN_FAILURES: Final = 10
"""How many failed customers the closing summary names again."""
MASKED_NOTE: Final = (
    "account numbers, names and VPAs are masked (their last 4 characters show; --no-mask "
    "prints them in full)"
)


class UsageError(Exception):
    """A usage or configuration error: printed with a hint, exit status 2."""


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
            # utf-8-sig: a byte-order mark that an editor saved is not part of the key.
            key = Path(args.api_key_file).read_bytes().decode("utf-8-sig").strip()
        except OSError as exc:
            msg = f"cannot read --api-key-file {args.api_key_file}: {exc.strerror}"
            raise UsageError(msg) from None
        except UnicodeDecodeError:
            msg = f"--api-key-file {args.api_key_file} is not UTF-8 text"
            raise UsageError(msg) from None
    else:
        key = os.environ.get(KEY_VARIABLE, "").removeprefix("\ufeff").strip()
    if not key:
        msg = f"no API key: set ${KEY_VARIABLE} or pass --api-key-file"
        raise UsageError(msg)
    return key


def _shown(customer_id: str) -> str:
    """The id as it can be printed: undecodable bytes and control characters as escapes."""
    raw = customer_id.encode("utf-8", "surrogateescape")
    return printable(raw.decode("utf-8", "backslashreplace"))


def _failure(customer_id: str, error: JuspayError) -> str:
    """One short line: the customer, the error class, what happened, the request id once.

    A server's words and ids are shown with their control characters escaped: a line break
    in a message cannot forge another line, nor an escape sequence drive the terminal.
    """
    text = str(error.args[0]) if error.args else ""
    notes = []
    if isinstance(error, APIError):
        # The class names the status already; Juspay's own words say the rest.
        text = error.developer_message or error.error_message or error.user_message or text
        notes.append(f"HTTP {error.status}")
    if error.request_id:
        notes.append(f"request id {printable(error.request_id)}")
    if error.attempts > 1:
        notes.append(f"{error.attempts} attempts")
    line = f"failed: {_shown(customer_id)}: {type(error).__name__}: {printable(text)}"
    return f"{line} ({', '.join(notes)})" if notes else line


@attrs.define
class _Run:
    """One ``list`` run: what it writes where, and how far it got."""

    writer: Writer
    progress: Progress
    out: TextIO
    err: TextIO
    table: bool
    total: int | None
    ok: int = 0
    accounts: int = 0
    failed: list[str] = attrs.Factory(list)
    masked: bool = True
    deferred: list[str] = attrs.Factory(list)
    positions: dict[str, int] = attrs.Factory(dict)

    def seen(self, customer_id: str) -> None:
        """Remember where an id came in the input (the table keeps that order)."""
        if self.table:
            self.positions.setdefault(customer_id, len(self.positions))

    def listed(self, customer_id: str, accounts: Sequence[Any]) -> None:
        """A customer's accounts arrived: write them out at once."""
        self.progress.update()
        self.ok += 1
        self.accounts += len(accounts)
        # Only rows that reach the bar's terminal need it out of the way (the table waits
        # for the end); redrawing it for rows that go to a file or a pipe would only flicker.
        shared = not self.table and self.out.isatty()
        with self.progress.paused() if shared else contextlib.nullcontext():
            self.writer.write(customer_id, accounts, position=self.positions.get(customer_id, 0))
            self.out.flush()

    def fail(self, customer_id: str, error: JuspayError) -> None:
        """A customer failed: say so on stderr (after the table, for a table)."""
        self.progress.update()
        self.failed.append(customer_id)
        line = _failure(customer_id, error)
        if self.table:
            self.deferred.append(line)
            return
        shared = self.out.isatty()
        with self.progress.paused() if shared else contextlib.nullcontext():
            self.writer.fail(customer_id, error)  # a row or record of its own, too
            self.out.flush()
        with self.progress.paused():
            print(line, file=self.err, flush=True)

    def reject(self, customer_id: str) -> None:
        """An id that cannot be sent at all (not valid text)."""
        self.fail(
            customer_id,
            InvalidInputError("the customer id is not valid UTF-8 text, so it cannot be sent"),
        )

    def finish(self, client: AccountsClient, interrupted: int | None) -> None:
        """Close the output (a JSON array is closed even when interrupted), then sum up."""
        self.progress.close()
        self.writer.close()
        self.out.flush()
        for line in self.deferred:
            print(line, file=self.err)
        done = self.ok + len(self.failed)
        head = ""
        if interrupted is not None:
            name = signal.Signals(interrupted).name
            of = "" if self.total is None else f" of {self.total}"
            head = f"interrupted ({name}) after {done}{of} customers; "
        if self.failed and not self.table and len(self.failed) > 1:
            names = ", ".join(_shown(c) for c in self.failed[:SHOWN_FAILURES])
            more = len(self.failed) - SHOWN_FAILURES
            print(f"failed: {names}" + (f" and {more} more" if more > 0 else ""), file=self.err)
        stats = client.stats
        print(
            f"{head}customers: {self.ok} ok, {len(self.failed)} failed; "
            f"accounts: {self.accounts}; requests: {stats.requests}; retries: {stats.retries}"
            + (f"; {MASKED_NOTE}" if self.masked and self.accounts else ""),
            file=self.err,
            flush=True,
        )


def _check(args: argparse.Namespace) -> tuple[str, IdsFile | None]:
    """Everything that can be wrong before anything is sent or printed."""
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
    try:
        ids_file = None if args.ids_file is None else check_ids_file(args.ids_file)
    except UnreadableIdsError as exc:
        raise UsageError(str(exc)) from None
    return key, ids_file


def _total(args: argparse.Namespace, ids_file: IdsFile | None) -> int | None:
    """How many distinct customers there are, when that is known before reading stdin."""
    if "-" in args.customer_ids:
        return None
    if ids_file is None:
        return len(set(args.customer_ids))
    if ids_file.ids is None:
        return None
    return len(ids_file.ids.union(args.customer_ids))


async def _list(args: argparse.Namespace) -> int:
    key, ids_file = _check(args)
    # The flags win over $JUSPAY_BASE_URL, which wins over the sandbox (as in the library).
    base_url = args.base_url or (
        ENVIRONMENTS[args.environment] if args.environment else base_url_from_environment()
    )
    try:
        client = AccountsClient(
            key,
            base_url=base_url,
            merchant_id=args.merchant_id,
            max_connections=max(args.concurrency, 1),
            allow_insecure_http=args.allow_insecure_http,
        )
    except ValueError as exc:
        # The library's words name its argument; here the flag is what a user can pass.
        msg = str(exc).replace("allow_insecure_http=True", "--allow-insecure-http")
        if not args.base_url and not args.environment:
            msg = f"${BASE_URL_VARIABLE}: {msg}"
        raise UsageError(msg) from None
    fmt = args.format or ("table" if sys.stdout.isatty() else "jsonl")
    total = _total(args, ids_file)
    run = _Run(
        writer=make_writer(
            fmt,
            sys.stdout,
            show_account_numbers=args.show_account_numbers,
            # A server may echo the key into an account's field: never into the output.
            secrets=secret_forms(basic_authorization(key)).text,
        ),
        progress=Progress(total, enabled=not args.no_progress, stream=sys.stderr),
        out=sys.stdout,
        err=sys.stderr,
        table=fmt == "table",
        total=total,
        masked=not args.show_account_numbers,
    )
    try:
        interrupted = await _listing(args, client, run, ids_file)
    finally:
        run.progress.close()  # off the terminal, however the listing ended (| head too)
    run.finish(client, interrupted)
    if interrupted is not None:
        return 128 + interrupted
    return SOME_FAILED if run.failed else OK


class _Interrupt:
    """SIGINT and SIGTERM cancel the listing once, so it can close its output and sum up.

    A second signal acts at once, as usual.
    """

    SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None

    @contextlib.contextmanager
    def catching(self) -> Iterator[None]:
        """Within the block, a signal cancels the running task instead of ending the process."""
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()

        def on_signal(signum: int) -> None:
            self.signum = signum
            self._restore(loop)
            if task is not None:
                task.cancel()

        for signum in self.SIGNALS:
            with contextlib.suppress(NotImplementedError):  # not on Windows
                loop.add_signal_handler(signum, on_signal, signum)
        try:
            yield
        except asyncio.CancelledError:
            if self.signum is None or task is None:
                raise
            task.uncancel()
        finally:
            self._restore(loop)

    def _restore(self, loop: asyncio.AbstractEventLoop) -> None:
        for signum in self.SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)


async def _listing(
    args: argparse.Namespace, client: AccountsClient, run: _Run, ids_file: IdsFile | None
) -> int | None:
    """List every customer; return the signal that interrupted the run, if one did."""

    def seen(customer_id: str) -> str:
        run.seen(customer_id)
        return customer_id

    ids = customer_ids(
        args.customer_ids, stdin=sys.stdin.buffer, ids_file=ids_file, reject=run.reject
    )
    interrupt = _Interrupt()
    with interrupt.catching():
        async with (
            client,
            client.accounts_for_customers(
                _tap(ids, seen), concurrency=args.concurrency, page_size=args.page_size
            ) as results,
        ):
            async for result in results:
                if result.error is None:
                    run.listed(result.customer_id, result.accounts)
                else:
                    run.fail(result.customer_id, result.error)
    return interrupt.signum


async def _tap(ids: AsyncIterator[str], see: Callable[[str], object]) -> AsyncIterator[str]:
    """The ids, each shown to ``see`` as the fan-out takes it."""
    async for customer_id in ids:
        see(customer_id)
        yield customer_id


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

    if args.latency < 0:
        msg = "--latency must be 0 or more seconds"
        raise UsageError(msg)
    fake = FakeJuspay(
        host=args.host, port=args.port, max_page_size=args.max_page_size, latency=args.latency
    )
    if args.demo_data:
        from juspay_accounts.cli._demo import seed  # noqa: PLC0415 - the demo's customers

        seed(fake)
    for seed_file in args.seed_file or ():
        _seed(fake, seed_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on Windows
            loop.add_signal_handler(signum, stop.set)
    try:
        await fake.start()
    except OSError as exc:
        # Port in use, an address not of this machine, a port below 1024 without rights.
        msg = (
            f"cannot listen on {args.host} port {args.port}: {exc.strerror or exc}; "
            "pick another --port (0 chooses a free one) or --host"
        )
        raise UsageError(msg) from None
    try:
        print(f"fake Juspay listening on {fake.url}", flush=True)
        print(f"API key: {fake.api_key}", flush=True)
        await stop.wait()
    finally:
        await fake.close()
    return OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = make_parser().parse_args(argv)
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
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do. Whatever is
        # still buffered for stdout goes to /dev/null, so the interpreter's own flush at exit
        # cannot complain either.
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return OUTPUT_CLOSED
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
