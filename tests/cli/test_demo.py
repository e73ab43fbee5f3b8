"""The demo: README command one, run in-process and as the real console script."""

from __future__ import annotations

import subprocess
import sys

import pytest

from juspay_accounts.cli import main
from juspay_accounts.cli._demo import run_demo


@pytest.mark.asyncio
async def test_demo_lists_every_seeded_account() -> None:
    """The demo prints a header, one row per account (all four statuses) and a summary."""
    lines: list[str] = []
    failures = await run_demo(lines.append)
    assert 1 == failures
    text = "\n".join(lines)
    assert lines[2].split() == [
        "CUSTOMER",
        "ACCOUNT",
        "ID",
        "TYPE",
        "DETAILS",
        "STATUS",
        "AMOUNT",
        "CREATED",
        "(UTC)",
    ]
    for status in ("CREATED", "ACTIVE", "PENDING", "FAILURE"):
        assert f" {status} " in text
    assert "aarav.sharma@okicici" not in text  # personal data is masked
    assert "****************cici" in text
    assert "cst_meera  (no accounts)" in text
    assert "failed: cst_unknown: NotFoundError: HTTP 404" in text
    assert "5 customers, 5 accounts, 1 failed, 5 requests." == lines[-1]
    rows = [line for line in lines if line.startswith("cst_") and "banh_" in line]
    assert 5 == len(rows)
    assert 3 == sum(" BANK " in row for row in rows)


def test_cli_demo(capsys: pytest.CaptureFixture[str]) -> None:
    """`juspay-accounts demo` prints the table and exits 0."""
    assert 0 == main(["demo"])
    out = capsys.readouterr().out
    assert "demo: the real client against a fake Juspay at http://127.0.0.1:" in out
    assert out.rstrip().endswith("5 customers, 5 accounts, 1 failed, 5 requests.")


def test_cli_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """No command is a usage error with status 2."""
    with pytest.raises(SystemExit) as info:
        main([])
    assert 2 == info.value.code
    assert "usage: juspay-accounts" in capsys.readouterr().err


def test_python_dash_m_runs_the_demo() -> None:
    """`python -m juspay_accounts demo` works in a fresh interpreter with warnings as errors."""
    done = subprocess.run(
        [sys.executable, "-W", "error", "-m", "juspay_accounts", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 0 == done.returncode, done.stderr
    assert "" == done.stderr
    assert "5 customers, 5 accounts, 1 failed, 5 requests." in done.stdout
