"""The command line, end to end in a subprocess against the fake server."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import termios
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Final

import pytest
import pytest_asyncio

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path


def run_cli(
    *args: str, key: str | None = None, stdin: str = "", extra_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m juspay_accounts ARGS`` with the key in the environment (if given)."""
    env = {k: v for k, v in os.environ.items() if k != "JUSPAY_API_KEY"}
    if key is not None:
        env["JUSPAY_API_KEY"] = key
    env.update(extra_env or {})
    return subprocess.run(  # noqa: S603 - our own module
        [sys.executable, "-W", "error", "-m", "juspay_accounts", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


async def run_cli_async(
    *args: str, key: str | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """run_cli in a thread, so the fake server in this loop keeps answering."""
    import asyncio  # noqa: PLC0415

    return await asyncio.to_thread(run_cli, *args, key=key, stdin=stdin)


@pytest_asyncio.fixture
async def seeded() -> AsyncIterator[FakeJuspay]:
    """A fake with three customers (UPI and bank accounts) and a page cap of 2."""
    async with FakeJuspay(max_page_size=2) as fake:
        fake.add_account("cst_a", vpa="9876543210@okaxis")
        fake.add_account(
            "cst_a", bank_account=fake.make_bank_account(), validation_status="PENDING"
        )
        fake.add_account("cst_a", vpa="a.b@ybl", validation_status="FAILURE")
        fake.add_account(
            "cst_b", bank_account=fake.make_bank_account(), validation_status="CREATED"
        )
        fake.add_customer("cst_empty")
        yield fake


@pytest.mark.asyncio
async def test_jsonl_lists_every_account_of_every_customer(seeded: FakeJuspay) -> None:
    """JSON lines carry exactly the documented fields, one account a line, all pages walked."""
    done = await run_cli_async(
        "list",
        "--base-url",
        seeded.url,
        "--format",
        "jsonl",
        "cst_a",
        "cst_b",
        "cst_empty",
        key=seeded.api_key,
    )
    assert 0 == done.returncode, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    assert {"customer_id": "cst_empty", "status": "no_accounts"} in records
    rows = [r for r in records if r["status"] == "ok"]
    expected = {a["customer_account_id"] for c in ("cst_a", "cst_b") for a in seeded.accounts_of(c)}
    assert expected == {r["customer_account_id"] for r in rows}
    assert {
        "status",
        "masked",
        "customer_account_id",
        "customer_id",
        "account_details",
        "validation_status",
        "date_created",
        "currency",
        "validation_amount",
        "last_validated",
    } == set(rows[0])
    bank = next(r for r in rows if r["account_details"]["bank_account"])
    assert bank["account_details"]["bank_account"]["account"].startswith("*")
    assert "customers: 3 ok, 0 failed; accounts: 4; requests: 4; retries: 0" in done.stderr


@pytest.mark.asyncio
async def test_json_and_show_account_numbers(seeded: FakeJuspay) -> None:
    """--format json is one array; --show-account-numbers prints the real numbers and VPAs."""
    done = await run_cli_async(
        "list",
        "--base-url",
        seeded.url,
        "--format",
        "json",
        "--show-account-numbers",
        "cst_b",
        key=seeded.api_key,
    )
    assert 0 == done.returncode, done.stderr
    (row,) = json.loads(done.stdout)
    served = seeded.accounts_of("cst_b")[0]
    assert (
        served["account_details"]["bank_account"]["account"]
        == row["account_details"]["bank_account"]["account"]
    )
    assert "12" == row["account_details"]["bank_account"]["juspay_bank_code"]
    assert "1" == row["validation_amount"]
    assert row["date_created"].endswith("Z")


@pytest.mark.asyncio
async def test_csv_from_stdin(seeded: FakeJuspay) -> None:
    """Ids read from stdin ('-'); CSV has a header and one row per account."""
    done = await run_cli_async(
        "list",
        "--base-url",
        seeded.url,
        "--format",
        "csv",
        "-",
        key=seeded.api_key,
        stdin="cst_a\n\n# a comment\ncst_b\ncst_a\n",
    )
    assert 0 == done.returncode, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert 4 == len(rows)
    assert {"cst_a", "cst_b"} == {r["customer_id"] for r in rows}
    assert "*" in next(r["vpa"] for r in rows if r["vpa"])


@pytest.mark.asyncio
async def test_ids_file_and_table(seeded: FakeJuspay, tmp_path: Path) -> None:
    """--ids-file works; the table format prints a header and one row per account."""
    ids = tmp_path / "ids.txt"
    ids.write_text("cst_a\ncst_b\n")
    done = await run_cli_async(
        "list",
        "--base-url",
        seeded.url,
        "--format",
        "table",
        "--ids-file",
        str(ids),
        key=seeded.api_key,
    )
    assert 0 == done.returncode, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split()[:3] == ["CUSTOMER", "ACCOUNT", "ID"]
    assert 5 == len(lines)


@pytest.mark.asyncio
async def test_failures_go_to_stderr_and_exit_1(seeded: FakeJuspay) -> None:
    """A missing customer is reported on stderr with its error class and request id; exit 1."""
    seeded.inject(Fault.respond(503, "busy"), customer_id="cst_b")
    done = await run_cli_async(
        "list",
        "--base-url",
        seeded.url,
        "--format",
        "jsonl",
        "cst_a",
        "cst_nobody",
        "cst_b",
        key=seeded.api_key,
    )
    assert 1 == done.returncode
    assert "failed: cst_nobody: NotFoundError: Customer account not found. (HTTP 404, " in (
        done.stderr
    )
    assert "customers: 2 ok, 1 failed; accounts: 4; requests: 5; retries: 1" in done.stderr
    assert 5 == len(done.stdout.splitlines())  # four accounts, and the failure's record
    assert "Traceback" not in done.stderr


@pytest.mark.asyncio
async def test_key_from_file(seeded: FakeJuspay, tmp_path: Path) -> None:
    """--api-key-file is read (a trailing newline is fine)."""
    key_file = tmp_path / "key"
    key_file.write_text(seeded.api_key + "\n")
    done = await run_cli_async(
        "list", "--base-url", seeded.url, "--api-key-file", str(key_file), "cst_a"
    )
    assert 0 == done.returncode, done.stderr


def test_key_on_command_line_is_refused() -> None:
    """A key on the command line is refused with a hint, before anything is sent; exit 2."""
    done = run_cli("list", "--api-key", "sk_live_visible", "cst_a")
    assert 2 == done.returncode
    assert "process list" in done.stderr
    assert "JUSPAY_API_KEY" in done.stderr
    assert "sk_live_visible" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["list", "cst_a"], "no API key"),
        (["list", "--base-url", "http://example.com", "cst_a"], "plain http"),
        (["list", "--concurrency", "0", "cst_a"], "--concurrency"),
        (["list"], "no customer ids"),
    ],
)
def test_configuration_errors_exit_2(args: list[str], message: str) -> None:
    """Configuration mistakes exit 2 with a one-line message, no traceback."""
    key = None if message == "no API key" else "k"
    done = run_cli(*args, key=key)
    assert 2 == done.returncode
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_usage_error_exits_2() -> None:
    """Usage errors that the argument parser catches itself also exit 2."""
    done = run_cli("list", "--format", "xml", "a", key="k")
    assert 2 == done.returncode
    assert "invalid choice" in done.stderr


@pytest.mark.asyncio
async def test_no_progress_bar_when_not_a_terminal(seeded: FakeJuspay) -> None:
    """With stderr not a terminal there is no progress bar, just the failures and the summary."""
    done = await run_cli_async("list", "--base-url", seeded.url, "cst_a", key=seeded.api_key)
    assert 0 == done.returncode
    assert [
        (
            "customers: 1 ok, 0 failed; accounts: 3; requests: 2; retries: 0; account numbers, "
            "names and VPAs are masked (their last 4 characters show; --no-mask prints them "
            "in full)"
        )
    ] == done.stderr.splitlines()
    assert "\r" not in done.stderr
    assert 3 == len(done.stdout.splitlines())  # jsonl by default when stdout is a pipe


def test_fake_server_command(tmp_path: Path) -> None:
    """`fake-server` serves seeded customers, checks the key, and stops cleanly when terminated."""
    seed = tmp_path / "seed.json"
    seed.write_text(
        json.dumps({"cst_x": [{"vpa": "x@upi"}, {"validation_status": "PENDING"}], "cst_y": []})
    )
    with subprocess.Popen(  # noqa: S603 - our own module
        [sys.executable, "-m", "juspay_accounts", "fake-server", "--seed-file", str(seed)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().split()[-1]
            key = process.stdout.readline().split()[-1]
            done = run_cli(
                "list",
                "--base-url",
                url,
                "--format",
                "jsonl",
                "--show-account-numbers",
                "cst_x",
                "cst_y",
                key=key,
            )
            assert 0 == done.returncode, done.stderr
            rows = [json.loads(line) for line in done.stdout.splitlines()]
            assert ["x@upi", "PENDING"] == [
                rows[0]["account_details"]["vpa"],
                rows[1]["validation_status"],
            ]
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(url + "/customers/cst_y/customer-accounts/list", timeout=5)  # noqa: S310
            assert 401 == refused.value.code
            refused.value.close()
        finally:
            process.terminate()
            process.wait(10)
    assert 0 == process.returncode


def test_fake_server_bad_seed_file(tmp_path: Path) -> None:
    """A seed file that is not the documented shape exits 2 with the reason."""
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"cst_x": [{"colour": "blue"}]}))
    started = time.monotonic()
    done = run_cli("fake-server", "--seed-file", str(seed))
    assert 2 == done.returncode
    assert "cst_x" in done.stderr
    assert "colour" in done.stderr
    assert time.monotonic() - started < 30


def test_progress_bar_on_a_terminal() -> None:
    """On a terminal, with tqdm installed, progress is a bar with rate and ETA, removed at close."""
    pytest.importorskip("tqdm")
    from juspay_accounts.cli._progress import Progress  # noqa: PLC0415 - the unit under test

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    progress = Progress(4, enabled=True, stream=terminal)
    for _ in range(4):
        progress.update()
    with progress.paused():
        terminal.write("a line of output\n")
    progress.close()
    shown = terminal.getvalue()
    assert "4/4" in shown
    assert "customers/s" in shown
    assert "\ra line of output\n" in shown  # written after the bar was cleared
    assert shown.endswith("\r\x1b[2K")  # the bar's line is erased at the end, not left behind
    assert Progress(4, enabled=False, stream=terminal).bar is None


# --- A person at a terminal (issue 13) -------------------------------------------------


def cli_command(*args: str) -> list[str]:
    """The command line that runs the CLI with warnings as errors."""
    return [sys.executable, "-W", "error", "-m", "juspay_accounts", *args]


def cli_env(key: str | None, **extra: str) -> dict[str, str]:
    """This process's environment with ``key`` as $JUSPAY_API_KEY (or none)."""
    env = {k: v for k, v in os.environ.items() if k != "JUSPAY_API_KEY"}
    if key is not None:
        env["JUSPAY_API_KEY"] = key
    env.update(extra)
    return env


def read_until(fd: int, needle: bytes, *, timeout: float = 30.0) -> bytes:
    """Read ``fd`` until ``needle`` has been seen (or EOF); fail after ``timeout`` seconds."""
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while needle not in seen:
            left = deadline - time.monotonic()
            assert left > 0, f"{needle!r} never came; got {seen!r}"
            if not selector.select(left):
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # a pty whose other side closed
                break
            if not chunk:
                break
            seen += chunk
    return seen


def open_terminal() -> tuple[int, int]:
    """A pseudo-terminal of 40 rows by 100 columns: (controller, terminal) file descriptors."""
    controller, terminal = os.openpty()
    termios.tcsetwinsize(terminal, (40, 100))
    os.set_blocking(controller, False)
    return controller, terminal


def run_in_terminal(*args: str, key: str, timeout: float = 60.0) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on one pseudo-terminal; its exit status and output."""
    controller, terminal = open_terminal()
    with subprocess.Popen(  # noqa: S603 - our own module
        cli_command(*args),
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
        env=cli_env(key),
    ) as process:
        os.close(terminal)
        try:
            output = read_until(controller, b"\x00never\x00", timeout=timeout)
        finally:
            os.close(controller)
        status = process.wait(timeout)
    return status, output.decode("utf-8", "replace")


def screen_lines(output: str) -> list[str]:
    """What each line shows on a terminal: the text after its last carriage return.

    The bar's closing ``ESC [2K`` erases its whole line, as a carriage return does here.
    """
    output = output.replace("\x1b[2K", "\r")
    return [line.rsplit("\r", 1)[-1] for line in output.replace("\r\n", "\n").split("\n")]


@pytest.mark.parametrize("problem", ["missing", "directory", "not UTF-8"])
def test_bad_ids_file_is_a_usage_error(problem: str, tmp_path: Path) -> None:
    """A missing, directory or non-UTF-8 --ids-file: one `error:` line, exit 2, no stdout."""
    path = tmp_path / "ids"
    if problem == "directory":
        path.mkdir()
    elif problem == "not UTF-8":
        path.write_bytes(b"cst_1\n\xe9t\xe9\n")
    done = run_cli("list", "--base-url", "http://127.0.0.1:9", "--ids-file", str(path), key="k")
    assert (2, "") == (done.returncode, done.stdout)
    (line,) = done.stderr.splitlines()
    assert line.startswith("juspay-accounts: error: ")
    assert {"missing": "No such file", "directory": "directory", "not UTF-8": "line 2"}[
        problem
    ] in line


def test_key_file_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    """A key file that is not UTF-8 text: one `error:` line, exit 2, never a traceback."""
    key_file = tmp_path / "key"
    key_file.write_bytes(b"\xff\xfek\x00e\x00y\x00")
    done = run_cli("list", "--api-key-file", str(key_file), "cst_a")
    assert (2, "") == (done.returncode, done.stdout)
    assert [f"juspay-accounts: error: --api-key-file {key_file} is not UTF-8 text"] == (
        done.stderr.splitlines()
    )


@pytest.mark.asyncio
async def test_key_file_with_byte_order_mark(seeded: FakeJuspay, tmp_path: Path) -> None:
    """A key file an editor saved with a UTF-8 byte-order mark authenticates."""
    key_file = tmp_path / "key"
    key_file.write_bytes(b"\xef\xbb\xbf" + seeded.api_key.encode() + b"\r\n")
    done = await asyncio.to_thread(
        run_cli, "list", "--base-url", seeded.url, "--api-key-file", str(key_file), "cst_b"
    )
    assert 0 == done.returncode, done.stderr
    assert 1 == len(done.stdout.splitlines())


@pytest.mark.asyncio
async def test_unencodable_id_fails_alone(seeded: FakeJuspay) -> None:
    """An id with undecodable bytes fails on its own; the others are listed; exit 1."""
    done = await run_cli_async(
        "list", "--base-url", seeded.url, "cst_b", "\udce9", "cst_a", key=seeded.api_key
    )
    assert 1 == done.returncode
    assert 5 == len(done.stdout.splitlines())  # four accounts, and the failure's record
    assert "failed: \\xe9: InvalidInputError: " in done.stderr
    assert "Traceback" not in done.stderr
    assert "customers: 2 ok, 1 failed" in done.stderr
    assert {"cst_a", "cst_b"} == {r.customer_id for r in seeded.requests}


@pytest.mark.asyncio
async def test_unencodable_line_on_stdin_fails_alone(seeded: FakeJuspay) -> None:
    """A line of stdin that is not UTF-8 fails on its own, shown with its bytes escaped."""
    done = await asyncio.to_thread(
        subprocess.run,
        cli_command("list", "--base-url", seeded.url, "-"),
        input=b"cst_b\n\xe9t\xe9\n",
        capture_output=True,
        env=cli_env(seeded.api_key),
        timeout=60,
        check=False,
    )
    assert 1 == done.returncode
    assert b"failed: \\xet\\xe9: InvalidInputError" not in done.stderr
    assert b"failed: \\xe9t\\xe9: InvalidInputError: " in done.stderr
    assert 2 == len(done.stdout.splitlines())  # cst_b's account, and the failure's record


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", ["table", "csv"])
async def test_progress_bar_never_mixes_with_output(
    seeded: FakeJuspay, tmp_path: Path, fmt: str
) -> None:
    """On a terminal the bar has a total, is cleared before output, and is gone at the end."""
    pytest.importorskip("tqdm")
    ids = tmp_path / "ids.txt"
    customers = [f"cst_{n}" for n in range(40)]
    for customer_id in customers:
        seeded.add_account(customer_id, vpa=f"{customer_id}@upi")
    ids.write_text("# one id a line\n" + "\n".join(customers) + "\n\ncst_a\ncst_a\n")
    status, output = await asyncio.to_thread(
        run_in_terminal,
        "list",
        "--base-url",
        seeded.url,
        "--format",
        fmt,
        "--concurrency",
        "2",
        "--ids-file",
        str(ids),
        key=seeded.api_key,
    )
    assert 0 == status, output
    assert "/41 [" in output  # a total (41 distinct ids), so an ETA
    header = "CUSTOMER" if fmt == "table" else "customer_id,"
    shown = screen_lines(output)
    rows = [line for line in shown if line.startswith(("cst_", header))]
    assert 1 + 43 == len(rows)  # the header, 40 + cst_a's 3 accounts
    # The bar never runs into an output line and is not left behind at the end.
    assert [] == [line for line in shown if "customers/s" in line]
    assert "customers: 41 ok, 0 failed" in shown[-2]


@pytest.mark.asyncio
async def test_progress_without_total_for_stdin(seeded: FakeJuspay) -> None:
    """Ids from stdin have no total: the bar counts, with a rate."""
    pytest.importorskip("tqdm")
    controller, terminal = open_terminal()

    def run() -> tuple[int, bytes]:
        with subprocess.Popen(  # noqa: S603 - our own module
            cli_command("list", "--base-url", seeded.url, "--format", "jsonl", "-"),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=terminal,
            env=cli_env(seeded.api_key),
        ) as process:
            os.close(terminal)
            assert process.stdin is not None
            process.stdin.write(b"cst_a\ncst_b\n")
            process.stdin.close()
            output = read_until(controller, b"customers: 2 ok")
            return process.wait(60), output

    try:
        status, output = await asyncio.to_thread(run)
    finally:
        os.close(controller)
    assert 0 == status
    assert re.search(rb"\r\d+ customers \[", output)  # a count with a rate, no total
    assert b"/2 [" not in output


@pytest.mark.slow
@pytest.mark.parametrize("run", [1, 2])
def test_hint_without_tqdm_on_a_terminal(tmp_path: Path, run: int) -> None:
    """Without tqdm (no cli extra), a terminal gets a one-line hint, on the first run only."""
    blocker = tmp_path / "sitecustomize.py"
    blocker.write_text("import sys\nsys.modules['tqdm'] = None\n")
    shown = []
    for _ in range(run):
        controller, terminal = open_terminal()
        with subprocess.Popen(  # noqa: S603 - our own module
            [*cli_command("list", "--base-url", "http://127.0.0.1:9", "--format", "jsonl", "c")],
            stdout=subprocess.DEVNULL,
            stderr=terminal,
            env=cli_env(
                "k",
                PYTHONPATH=f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                XDG_CACHE_HOME=str(tmp_path / "cache"),
            ),
        ) as process:
            os.close(terminal)
            try:
                output = read_until(controller, b"customers: ")
            finally:
                os.close(controller)
            process.wait(60)
        shown.append(output.decode().splitlines()[0])
    first = shown[0]
    assert "install the cli extra" in first
    assert "tqdm" in first
    if run == 2:  # not every run
        assert "install the cli extra" not in shown[1]


@pytest.mark.asyncio
async def test_stdin_never_blocks_the_loop(seeded: FakeJuspay) -> None:
    """With ids arriving slowly on stdin, each customer's accounts are printed as it arrives."""

    def run() -> tuple[int, bytes, bytes, bytes]:
        with subprocess.Popen(  # noqa: S603 - our own module
            cli_command("list", "--base-url", seeded.url, "--format", "jsonl", "-"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(seeded.api_key),
        ) as process:
            assert process.stdin is not None
            assert process.stdout is not None
            assert process.stderr is not None
            process.stdin.write(b"cst_b\n")
            process.stdin.flush()
            # stdin is still open: cst_b's account must come while the CLI waits for more.
            first = read_until(process.stdout.fileno(), b"\n")
            process.stdin.write(b"cst_a\n")
            process.stdin.close()
            rest = process.stdout.read()
            return process.wait(60), first, rest, process.stderr.read()

    status, first, rest, errors = await asyncio.to_thread(run)
    assert 0 == status, errors
    assert "cst_b" == json.loads(first)["customer_id"]
    assert ["cst_a"] * 3 == [json.loads(line)["customer_id"] for line in rest.splitlines()]


@pytest.mark.asyncio
async def test_table_in_input_order_with_empty_customers_and_failures_after(
    seeded: FakeJuspay,
) -> None:
    """The table keeps the input's order, shows customers without accounts, then failures."""
    seeded.inject(Fault.answer_late(0.2), customer_id="cst_empty")  # completes last
    done = await asyncio.to_thread(
        subprocess.run,
        cli_command(
            "list", "--base-url", seeded.url, "--format", "table", "cst_empty", "cst_x", "cst_b"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=cli_env(seeded.api_key),
        text=True,
        timeout=60,
        check=False,
    )
    assert 1 == done.returncode
    lines = done.stdout.splitlines()
    assert lines[0].startswith("CUSTOMER")
    assert ["cst_empty", "cst_b"] == [line.split()[0] for line in lines[1:3]]
    assert "(no accounts)" == lines[1].split(maxsplit=1)[1]
    failure = lines[3]
    assert failure.startswith("failed: cst_x: NotFoundError: Customer account not found.")
    assert 1 == failure.count("request id")
    assert len(failure) < 130
    assert lines[4].startswith("customers: 2 ok, 1 failed")


def test_failure_line_without_request_id() -> None:
    """A client-side failure says no `request id None`; an API error names it once."""
    from juspay_accounts import ServerError  # noqa: PLC0415
    from juspay_accounts.cli._main import _failure  # noqa: PLC0415 - the unit under test

    assert "failed: c: InvalidInputError: bad id" == _failure("c", ja.InvalidInputError("bad id"))
    error = ServerError(status=503, error_message="busy", request_id="r1", body="x" * 2000)
    error.attempts = 4
    assert "failed: c: ServerError: busy (HTTP 503, request id r1, 4 attempts)" == _failure(
        "c", error
    )


@pytest.mark.asyncio
async def test_table_survives_odd_dates(seeded: FakeJuspay) -> None:
    """A date_created that overflows in UTC is shown as sent, not a crash."""
    seeded.add_account("cst_odd", vpa="odd@upi", date_created="9999-12-31T23:59:59-23:59")
    done = await run_cli_async(
        "list", "--base-url", seeded.url, "--format", "table", "cst_odd", key=seeded.api_key
    )
    assert 0 == done.returncode, done.stderr
    assert done.stdout.splitlines()[1].endswith("9999-12-31T23:59:59-23:59")


@pytest.mark.asyncio
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_interrupted_json_still_parses(
    seeded: FakeJuspay, signum: signal.Signals, status: int
) -> None:
    """Interrupted, --format json closes its array and a summary says how far it got."""
    seeded.inject(Fault.answer_late(60.0), customer_id="cst_b")

    def run() -> tuple[int, bytes, str]:
        with subprocess.Popen(  # noqa: S603 - our own module
            cli_command("list", "--base-url", seeded.url, "--format", "json", "cst_a", "cst_b"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(seeded.api_key),
        ) as process:
            assert process.stdout is not None
            assert process.stderr is not None
            shown = read_until(process.stdout.fileno(), b"cst_a")  # cst_a is done
            process.send_signal(signum)
            shown += process.stdout.read()
            return process.wait(60), shown, process.stderr.read().decode()

    code, shown, errors = await asyncio.to_thread(run)
    assert status == code
    assert ["cst_a"] * 3 == [row["customer_id"] for row in json.loads(shown)]
    assert f"interrupted ({signum.name}) after 1 of 2 customers; customers: 1 ok" in errors
    assert "Traceback" not in errors


@pytest.mark.asyncio
async def test_closed_stdout_exits_quietly(seeded: FakeJuspay) -> None:
    """`| head -1`: the reader going away ends the run quietly with 141, not 'some failed'."""
    seeded.latency = 0.01
    customers = [f"cst_{n}" for n in range(60)]
    for customer_id in customers:
        seeded.add_account(customer_id)

    def run() -> tuple[int, str]:
        with subprocess.Popen(  # noqa: S603 - our own module
            cli_command("list", "--base-url", seeded.url, "--concurrency", "1", *customers),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(seeded.api_key),
        ) as process:
            assert process.stdout is not None
            assert process.stderr is not None
            read_until(process.stdout.fileno(), b"\n")
            process.stdout.close()  # as `head -1` does after its line
            return process.wait(60), process.stderr.read().decode()

    code, errors = await asyncio.to_thread(run)
    assert (141, "") == (code, errors)
    assert len(seeded.requests) < len(customers)  # it stopped early


def test_help_shows_defaults_and_rules() -> None:
    """`list --help` shows the concurrency default and the ids-file rules; exit codes too."""
    listing = run_cli("list", "--help").stdout
    assert "(default: 16)" in listing
    assert "blank lines and lines starting with # are skipped" in " ".join(listing.split())
    assert "141" in listing
    fake = " ".join(run_cli("fake-server", "--help").stdout.split())
    assert "Without --seed-file or --demo-data it knows no customers" in fake
    assert "--latency SECONDS" in fake


def test_fake_server_demo_data_and_latency() -> None:
    """`fake-server --demo-data --latency S` serves the demo's customers, each answer S late."""
    with subprocess.Popen(  # noqa: S603 - our own module
        cli_command("fake-server", "--demo-data", "--latency", "0.2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().split()[-1]
            key = process.stdout.readline().split()[-1]
            started = time.monotonic()
            done = run_cli(
                "list", "--base-url", url, "--concurrency", "1", "cst_aarav", "cst_meera", key=key
            )
            took = time.monotonic() - started
        finally:
            process.terminate()
            process.wait(10)
    assert 0 == done.returncode, done.stderr
    assert 3 == len(done.stdout.splitlines())  # cst_meera has none: a record says so
    assert took >= 0.4  # two answers one after the other, each 0.2 s late


# Server text that would drive a terminal or forge a line: a title change, a clear screen,
# colours, a bell, DEL, the one-byte C1 escape, and line breaks.
_HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x1b[31m\x7f\x9b"
_FORGED = "gone\ncustomers: 2 ok, 0 failed; accounts: 9\r\x1b[2K"


def _control_bytes(data: bytes) -> list[int]:
    """The bytes below 0x20 (but the newline) and DEL in ``data``."""
    return [b for b in data if (b < 0x20 and b != 0x0A) or b == 0x7F]


@pytest.mark.asyncio
@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl", "json"])
async def test_server_text_and_ids_never_reach_the_terminal_raw(fake: FakeJuspay, fmt: str) -> None:
    """Control characters from a server or an id are escaped: one failure is one line.

    Account fields (in every format), Juspay's message and request id, and customer ids
    with escape sequences or line breaks: no control byte reaches stdout or stderr, and
    JSON still gives back the exact values.
    """
    bank = fake.make_bank_account(name=f"Name{_HOSTILE}", bank_name=f"Bank{_FORGED}")
    fake.add_account("cst_evil", customer_account_id=f"ca_{_HOSTILE}", bank_account=bank)
    fake.add_account("cst_evil", vpa=f"evil{_HOSTILE}@upi")
    error = {
        "status": "error",
        "error_code": "not_found",
        "error_info": {
            "user_message": "not found",
            "developer_message": _FORGED + _HOSTILE,
            "request_id": f"req{_HOSTILE}\n",
        },
    }
    fake.inject(Fault.respond(404, json.dumps(error)), customer_id="cst_gone")
    done = await asyncio.to_thread(
        subprocess.run,
        cli_command(
            "list",
            "--base-url",
            fake.url,
            "--format",
            fmt,
            "--show-account-numbers",
            "cst_evil",
            "cst_gone",
            f"cst_{_HOSTILE}",
        ),
        capture_output=True,
        env=cli_env(fake.api_key),
        timeout=60,
        check=False,
    )
    assert 1 == done.returncode, done.stderr
    assert ([], []) == (_control_bytes(done.stdout), _control_bytes(done.stderr))
    errors = done.stderr.decode().splitlines()
    assert 1 == sum(line.startswith("customers: ") for line in errors), errors
    failures = [line for line in errors if re.match(r"failed: \S+: \w+Error: ", line)]
    assert 2 == len(failures), errors
    # The two failures, the failed ids (but after a table, which lists them), the summary.
    assert (3 if fmt == "table" else 4) == len(errors), errors
    assert all("\\x1b" in line for line in failures)
    assert any("\\x0a" in line for line in failures)  # the forged line stayed in its own
    if fmt in {"json", "jsonl"}:
        text = done.stdout.decode()
        rows = json.loads(text) if fmt == "json" else [json.loads(x) for x in text.splitlines()]
        assert f"ca_{_HOSTILE}" in [row.get("customer_account_id") for row in rows]
    else:
        assert "\\x1b]0;pwned\\x07\\x1b[2J\\x1b[31m\\x7f\\x9b" in done.stdout.decode()


_INTERRUPT_RUNS: Final = 200


@pytest.mark.slow
@pytest.mark.asyncio
@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
async def test_interrupted_while_reading_an_open_stdin_exits_cleanly_every_time(
    seeded: FakeJuspay, signum: signal.Signals, status: int
) -> None:
    """SIGINT or SIGTERM while ids still may come on stdin: 130 or 143, 200 runs in a row.

    The signal arrives once the first customer is printed, while the CLI waits for the next
    id; the interpreter must not abort (``_enter_buffered_busy``) as it exits.
    """

    def run() -> tuple[int, bytes]:
        with subprocess.Popen(  # noqa: S603 - our own module
            cli_command("list", "--base-url", seeded.url, "--format", "jsonl", "-"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=cli_env(seeded.api_key),
        ) as process:
            assert process.stdin is not None
            assert process.stdout is not None
            assert process.stderr is not None
            process.stdin.write(b"cst_b\n")
            process.stdin.flush()
            read_until(process.stdout.fileno(), b"\n")  # listed; now reading stdin again
            process.send_signal(signum)
            errors = process.stderr.read()
            code = process.wait(60)
            process.stdin.close()  # only now: stdin stayed open the whole run
            return code, errors

    outcomes: list[tuple[int, bytes]] = []
    parallel = 4
    for _ in range(_INTERRUPT_RUNS // parallel):
        outcomes += await asyncio.gather(*(asyncio.to_thread(run) for _ in range(parallel)))
    wrong = [(code, errors[-300:]) for code, errors in outcomes if code != status]
    assert [] == wrong[:3], f"{len(wrong)} of {len(outcomes)} runs exited otherwise"
    assert _INTERRUPT_RUNS == len(outcomes)
