"""The benchmark suite still runs: tiny sizes, every case, a well-formed report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).parent / "benchmarks" / "run.py"


def test_benchmarks_run_at_tiny_sizes(tmp_path: Path) -> None:
    """`run.py --smoke` measures every case against the baselines and reports each ratio."""
    figures = tmp_path / "figures.json"
    done = subprocess.run(  # noqa: S603 - our own script
        [
            sys.executable,
            "-W",
            "error",
            str(RUN),
            "--smoke",
            "--repeat",
            "1",
            "--json",
            str(figures),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert 0 == done.returncode, done.stderr
    report = done.stdout
    for row in (
        "| 1. sequential lookups",
        "| 2. fan-out",
        "| 3. decode + structure",
        "| 4. walk one customer",
        "| 5. fan-out over generated distinct ids",
    ):
        assert row in report
    results = json.loads(figures.read_text())
    assert {"juspay-accounts", "aiohttp + json"} <= set(results["sequential"])
    assert results["decode"]["library_us"][0] > 0
    (small, small_peak), (large, large_peak) = results["walk"]["small"], results["walk"]["large"]
    assert (100, 500) == (small, large)
    assert 0 < small_peak
    assert 0 < large_peak
    endless = results["endless"]
    # At this size the per-id figure is noise; the full run (a million ids) is the measure.
    assert (1000, 1000) == (endless["no_dedupe"]["ids"], endless["dedupe"]["ids"])
    assert 0 < endless["no_dedupe"]["peak_bytes"]
