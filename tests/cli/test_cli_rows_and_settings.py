"""The command line: a row per customer in CSV and JSON, masking said, its settings and fakes.

End to end in subprocesses against the fake Juspay, as in ``test_cli.py``.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import selectors
import socket
import subprocess
import sys
import termios
import time
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from juspay_accounts.testing import FakeJuspay

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

MASKED_NOTE = "account numbers, names and VPAs are masked"


def cli_command(*args: str) -> list[str]:
    """The command line that runs the CLI with warnings as errors."""
    return [sys.executable, "-W", "error", "-m", "juspay_accounts", *args]


def cli_env(key: str | None = None, **extra: str) -> dict[str, str]:
    """This environment without the JUSPAY_ variables, then ``key`` and ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUSPAY_")}
    if key is not None:
        env["JUSPAY_API_KEY"] = key
    env.update(extra)
    return env


def run_cli(*args: str, key: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI to its end; its status, stdout and stderr."""
    return subprocess.run(  # noqa: S603 - our own module
        cli_command(*args),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=cli_env(key, **extra),
        stdin=subprocess.DEVNULL,
    )


async def run_cli_async(
    *args: str, key: str | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    """run_cli in a thread, so the fake server in this loop keeps answering."""
    return await asyncio.to_thread(run_cli, *args, key=key, **extra)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeJuspay]:
    """A fake with a customer of two accounts and one of none."""
    async with FakeJuspay() as fake:
        fake.add_account("cst_a", vpa="9876543210@okaxis")
        fake.add_account("cst_a", bank_account=fake.make_bank_account())
        fake.add_customer("cst_empty")
        yield fake


@pytest.mark.asyncio
async def test_csv_has_a_row_per_customer_with_a_status(fake: FakeJuspay) -> None:
    """No accounts and failed customers get a row; every row says its status and masking."""
    done = await run_cli_async(
        "list",
        "--base-url",
        fake.url,
        "--format",
        "csv",
        "cst_a",
        "cst_empty",
        "cst_gone",
        key=fake.api_key,
    )
    assert 1 == done.returncode, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    by_status = {
        status: [r for r in rows if r["status"] == status]
        for status in ("ok", "no_accounts", "failed")
    }
    assert ["cst_a", "cst_a"] == [r["customer_id"] for r in by_status["ok"]]
    assert ["true", "true"] == [r["masked"] for r in by_status["ok"]]
    assert "*" in by_status["ok"][0]["vpa"]
    (empty,) = by_status["no_accounts"]
    assert ("cst_empty", "", "") == (
        empty["customer_id"],
        empty["customer_account_id"],
        empty["error"],
    )
    (failed,) = by_status["failed"]
    assert "cst_gone" == failed["customer_id"]
    assert failed["error"].startswith("NotFoundError: HTTP 404")
    assert 4 == len(rows)
    assert MASKED_NOTE in done.stderr.splitlines()[-1]
    assert "--no-mask" in done.stderr.splitlines()[-1]


@pytest.mark.asyncio
async def test_json_has_a_record_per_customer_and_no_mask_shows_all(fake: FakeJuspay) -> None:
    """--format json: a record per account, per empty and per failed customer; --no-mask."""
    done = await run_cli_async(
        "list",
        "--base-url",
        fake.url,
        "--format",
        "json",
        "--no-mask",
        "cst_a",
        "cst_empty",
        "cst_gone",
        key=fake.api_key,
    )
    assert 1 == done.returncode, done.stderr
    records = json.loads(done.stdout)
    assert {"customer_id": "cst_empty", "status": "no_accounts"} in records
    (failed,) = [r for r in records if r["status"] == "failed"]
    assert ("cst_gone", "NotFoundError", 404) == (
        failed["customer_id"],
        failed["error"]["type"],
        failed["error"]["status"],
    )
    accounts = [r for r in records if r["status"] == "ok"]
    assert [False, False] == [r["masked"] for r in accounts]
    assert "9876543210@okaxis" in [r["account_details"]["vpa"] for r in accounts]
    assert MASKED_NOTE not in done.stderr


LOOPBACK_ONLY = """
import socket

_getaddrinfo = socket.getaddrinfo


def loopback_only(host, *args, **kwargs):
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise socket.gaierror(socket.EAI_NONAME, f"this test sends nothing to {host!r}")
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = loopback_only
"""


@pytest.mark.asyncio
async def test_the_url_comes_from_the_environment_and_the_flag_wins(
    fake: FakeJuspay, tmp_path: Path
) -> None:
    """$JUSPAY_BASE_URL is where `list` goes; --base-url wins over it."""
    # Should the variable be ignored, the sandbox's name is not even looked up.
    (tmp_path / "sitecustomize.py").write_text(LOOPBACK_ONLY)
    from_env = await run_cli_async(
        "list", "cst_a", key=fake.api_key, JUSPAY_BASE_URL=fake.url, PYTHONPATH=str(tmp_path)
    )
    assert 0 == from_env.returncode, from_env.stderr
    assert 2 == len(from_env.stdout.splitlines())
    flag_wins = await run_cli_async(
        "list",
        "--base-url",
        fake.url,
        "cst_a",
        key=fake.api_key,
        JUSPAY_BASE_URL="http://127.0.0.1:9",  # nothing listens there
    )
    assert 0 == flag_wins.returncode, flag_wins.stderr
    assert 2 == len(fake.requests)  # one a run


@pytest.mark.parametrize("where", ["flag", "environment"])
def test_plain_http_refusal_names_the_cli_flag(where: str) -> None:
    """A plain http URL to another host: exit 2, pointing at --allow-insecure-http."""
    url = "http://juspay.example"
    if where == "flag":
        done = run_cli("list", "--base-url", url, "cst_1", key="k")
    else:
        done = run_cli("list", "cst_1", key="k", JUSPAY_BASE_URL=url)
    assert (2, "") == (done.returncode, done.stdout)
    assert "--allow-insecure-http" in done.stderr
    assert "allow_insecure_http=True" not in done.stderr
    assert ("$JUSPAY_BASE_URL" in done.stderr) is (where == "environment")
    assert "Traceback" not in done.stderr


def test_fake_server_on_a_port_in_use_is_a_clean_error() -> None:
    """A taken port: one error line naming the port, exit 2, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = run_cli("fake-server", "--port", str(port))
    assert 2 == done.returncode
    assert "Traceback" not in done.stderr
    # (Under PYTHONDEVMODE on a busy machine, asyncio may add "Executing ... took" lines.)
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("juspay-accounts")]
    assert line.startswith("juspay-accounts: error: cannot listen on 127.0.0.1 port ")
    assert str(port) in line
    assert "--port" in line


def test_seed_file_twice_serves_both(tmp_path: Path) -> None:
    """--seed-file given twice: the customers of both files are served."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    first.write_text(json.dumps({"cst_1": [{"vpa": "a@upi"}]}))
    second.write_text(json.dumps({"cst_2": [{"vpa": "b@upi"}], "cst_1": [{"vpa": "c@upi"}]}))
    with subprocess.Popen(  # noqa: S603 - our own module
        cli_command("fake-server", "--seed-file", str(first), "--seed-file", str(second)),
        stdout=subprocess.PIPE,
        text=True,
        env=cli_env(),
    ) as server:
        try:
            assert server.stdout is not None
            url = server.stdout.readline().split()[-1]
            key = server.stdout.readline().split()[-1]
            done = run_cli("list", "--base-url", url, "cst_1", "cst_2", key=key)
        finally:
            server.terminate()
            server.wait(10)
    assert 0 == done.returncode, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert ["cst_1", "cst_1", "cst_2"] == sorted(r["customer_id"] for r in rows)


# --- The progress bar on a terminal ----------------------------------------------------


class Terminal(io.StringIO):
    """Text written to a terminal, each write kept apart."""

    def __init__(self) -> None:
        """An empty terminal."""
        super().__init__()
        self.writes: list[str] = []

    def isatty(self) -> bool:
        """A terminal, as the bar requires."""
        return True

    def write(self, text: str) -> int:
        """Keep ``text`` as one write, and as part of the whole."""
        self.writes.append(text)
        return super().write(text)


def test_the_bar_leaves_the_cursor_at_the_left_and_erases_its_line() -> None:
    """After each drawing the cursor is at column 0; closing erases the whole line (a ^C too)."""
    pytest.importorskip("tqdm")
    from juspay_accounts.cli._progress import Progress  # noqa: PLC0415 - the unit under test

    terminal = Terminal()
    progress = Progress(3, enabled=True, stream=terminal)
    progress.update()
    progress.update()
    drawn = [w for w in terminal.writes if w]
    assert any("/3 [" in w for w in drawn)
    assert [] == [w for w in drawn if not w.endswith(("\r", "\n"))]
    progress.close()
    assert terminal.getvalue().endswith("\r\x1b[2K")


def read_all(fd: int, *, timeout: float = 30.0) -> bytes:
    """Read ``fd`` until its other side closes; fail after ``timeout`` seconds."""
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"never closed; got {seen!r}"
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


@pytest.mark.asyncio
async def test_the_bar_is_erased_when_the_reader_goes_away(fake: FakeJuspay) -> None:
    """`| head -1` with the bar on the terminal: the bar is erased before the quiet exit."""
    pytest.importorskip("tqdm")
    fake.latency = 0.01
    customers = [f"cst_{n}" for n in range(60)]
    for customer_id in customers:
        fake.add_account(customer_id)
    controller, terminal = os.openpty()
    termios.tcsetwinsize(terminal, (40, 100))
    os.set_blocking(controller, False)

    def run() -> tuple[int, bytes]:
        with subprocess.Popen(  # noqa: S603 - our own module
            cli_command("list", "--base-url", fake.url, "--concurrency", "1", *customers),
            stdout=subprocess.PIPE,
            stderr=terminal,
            env=cli_env(fake.api_key),
        ) as process:
            os.close(terminal)
            assert process.stdout is not None
            process.stdout.readline()
            process.stdout.close()  # as `head -1` does after its line
            shown = read_all(controller)
            return process.wait(60), shown

    try:
        status, shown = await asyncio.to_thread(run)
    finally:
        os.close(controller)
    assert 141 == status
    assert b"customers/s" in shown  # the bar was there
    assert shown.endswith(b"\r\x1b[2K")  # and is gone
