"""The command line, end to end in a subprocess against the fake server."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

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
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    expected = {a["customer_account_id"] for c in ("cst_a", "cst_b") for a in seeded.accounts_of(c)}
    assert expected == {r["customer_account_id"] for r in rows}
    assert {
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
    assert "failed: cst_nobody: NotFoundError (request id " in done.stderr
    assert "customers: 2 ok, 1 failed; accounts: 4; requests: 5; retries: 1" in done.stderr
    assert 4 == len(done.stdout.splitlines())
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
        "customers: 1 ok, 0 failed; accounts: 3; requests: 2; retries: 0"
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


def test_progress_bar_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a terminal, with tqdm installed, progress is a bar on stderr with rate and ETA."""
    pytest.importorskip("tqdm")
    from juspay_accounts.cli._main import _Progress  # noqa: PLC0415 - the unit under test

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    progress = _Progress(4, enabled=True)
    for _ in range(4):
        progress.update()
    progress.write("failed: cst_x: NotFoundError")
    progress.close()
    shown = terminal.getvalue()
    assert "4/4" in shown
    assert "customers/s" in shown
    assert "failed: cst_x: NotFoundError" in shown
    assert _Progress(4, enabled=False).bar is None
