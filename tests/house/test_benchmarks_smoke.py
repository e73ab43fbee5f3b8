"""The benchmark suite still runs: tiny sizes, every case, a well-formed report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# The slow group (nox -s slow, in CI): each benchmark runs in new interpreters.
pytestmark = pytest.mark.slow


RUN = Path(__file__).parents[1] / "benchmarks" / "run.py"


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
        "| 6. tracing off",
        "| 6. opentelemetry-api, no SDK configured",
        "| 6. SDK TracerProvider",
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
    assert all(results["tracing"][mode][0] > 0 for mode in ("off", "api", "sdk"))


INSTRUCTIONS = Path(__file__).parents[1] / "benchmarks" / "instructions.py"


def test_instruction_children_run_in_every_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each child the valgrind counter runs (client, case, loop, JSON decoder) works, natively."""
    monkeypatch.syspath_prepend(str(RUN.parent))
    from run import server  # noqa: PLC0415 - the benchmarks' own module

    with server() as base:
        for impl, loop, decoder in (
            ("library", "asyncio", "plain"),
            ("library", "uvloop", "fast"),
            ("aiohttp", "uvloop", "plain"),
        ):
            for case in ("sequential", "fan_out"):
                done = subprocess.run(  # noqa: S603 - our own script
                    [
                        sys.executable,
                        "-W",
                        "error",
                        str(INSTRUCTIONS),
                        "--child",
                        impl,
                        case,
                        "3",
                        base,
                        loop,
                        decoder,
                    ],
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                )
                # Only the status: under PYTHONDEVMODE a loaded machine adds asyncio's
                # slow-callback notes to stderr.
                assert 0 == done.returncode, (impl, case, loop, decoder, done.stderr)


def test_instruction_child_refuses_the_wrong_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """A "plain" child whose library still decodes with orjson fails instead of measuring it."""
    monkeypatch.syspath_prepend(str(INSTRUCTIONS.parent))
    # The child blocks `import orjson`; the library here imported it long ago, so the block
    # comes too late and the check must catch it. The entry is restored afterwards.
    monkeypatch.setitem(sys.modules, "orjson", sys.modules["orjson"])
    import instructions  # noqa: PLC0415 - the benchmarks' own module

    with pytest.raises(RuntimeError, match="decodes with orjson, expected plain"):
        instructions.child("library", "sequential", 1, "http://127.0.0.1:9", "asyncio", "plain")


SCENARIOS = Path(__file__).parents[1] / "benchmarks" / "scenarios.py"


def test_scenarios_run_over_tls_at_tiny_sizes(tmp_path: Path) -> None:
    """`scenarios.py --smoke` really speaks TLS, and counts what the keep-alive saves."""
    figures = tmp_path / "scenarios.json"
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-W", "error", str(SCENARIOS), "--smoke", "--json", str(figures)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert 0 == done.returncode, done.stderr
    assert "| TLS | client CPU per customer" in done.stdout
    results = json.loads(figures.read_text())["results"]
    for impl in ("library", "aiohttp"):
        (tls,) = results[f"fan_out/{impl}"]
        (plain,) = results[f"fan_out_plain/{impl}"]
        # A cold fan-out at concurrency 64 opens 64 connections, each with its handshake.
        assert (64, 64) == (tls["connections"], tls["handshakes"])
        assert (64, 0) == (plain["connections"], plain["handshakes"])
        (walk,) = results[f"big_walk/{impl}"]
        assert 0 < walk["stall_ms"]
    (short,) = results["idle_gap/library/short"]
    (long_,) = results["idle_gap/library/long"]
    assert 1.0 == short["handshakes_per_call"]
    assert 0.0 == long_["handshakes_per_call"]
