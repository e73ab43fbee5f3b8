"""What the rate budget costs the client when it does not bind: memory:// against redis://.

A fan-out of customers against the static responder (its own process), with no rate limit,
with ``RateLimit(1e6)`` in memory, and with the same limit in a throwaway ``redis-server``
on loopback: client CPU per lookup, rounds interleaved, medians with their spread.

Usage: ``python tests/benchmarks/budget.py [--customers N] [--concurrency C] [--rounds R]``
(needs ``redis-server`` on the PATH and the ``redis`` extra).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import subprocess
import time

from run import measure, median_and_spread, server  # the benchmarks' own helpers

import juspay_accounts as ja


def start_redis() -> tuple[subprocess.Popen[bytes], str]:
    """A throwaway redis-server on a free loopback port."""
    executable = shutil.which("redis-server")
    if executable is None:
        msg = "needs redis-server on the PATH"
        raise SystemExit(msg)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [
            executable,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(1000):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"redis://127.0.0.1:{port}/0"
        time.sleep(0.005)
    msg = "redis-server did not start"
    raise SystemExit(msg)


async def fan_out_cpu(
    base: str, limit: ja.RateLimit | None, customers: int, concurrency: int
) -> float:
    """Client CPU µs per lookup of one fan-out (after a warm-up fan-out)."""
    async with ja.AccountsClient("key", base_url=base, rate_limit=limit) as client:
        await client.gather_accounts([f"warm_{i}" for i in range(concurrency)])
        ids = [f"cst_{i}" for i in range(customers)]
        cpu, _ = await measure(lambda: client.gather_accounts(ids, concurrency=concurrency))
    return cpu / customers * 1e6


def main() -> None:
    """Measure and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    redis_process, redis_url = start_redis()
    cases: dict[str, ja.RateLimit | None] = {
        "no rate_limit": None,
        "memory://": ja.RateLimit(1e6),
        "redis://": ja.RateLimit(1e6, store=redis_url, key="bench"),
    }
    figures: dict[str, list[float]] = {name: [] for name in cases}
    try:
        with server() as base:
            for _ in range(args.rounds):
                for name, limit in cases.items():
                    figures[name].append(
                        asyncio.run(fan_out_cpu(base, limit, args.customers, args.concurrency))
                    )
    finally:
        redis_process.terminate()
        redis_process.wait(10)
    memory = median_and_spread(figures["memory://"])[0]
    print(
        f"fan-out of {args.customers} at concurrency {args.concurrency}, "
        f"{args.rounds} interleaved rounds\n\n"
        "| rate_limit | client CPU per lookup (median, spread) | vs memory:// |\n"
        "| --- | --- | --- |"
    )
    for name, values in figures.items():
        middle, spread = median_and_spread(values)
        print(f"| {name} | {middle:.0f} µs (±{spread:.0%}) | {middle / memory:.2f}x |")


if __name__ == "__main__":
    main()
