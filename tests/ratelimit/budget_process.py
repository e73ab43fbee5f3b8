"""One process of the shared-budget test: N calls through a client with a rate limit.

Usage: ``python budget_process.py BASE_URL STORE KEY PER_SECOND BURST COUNT NAME``.
Prints ``ready`` once the client is built, waits for a line on stdin (so that every
process starts together), makes COUNT calls at once for customers ``NAME-0``...,
and prints ``done``. ``BUDGET_CLOCK_SKEW=SECONDS`` in the environment sets this process's
wall clock (``time.time``, ``time.time_ns``) that far ahead, as on a host whose clock is off.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time

if skew := float(os.environ.get("BUDGET_CLOCK_SKEW", "0")):
    _time, _time_ns = time.time, time.time_ns
    time.time = lambda: _time() + skew
    time.time_ns = lambda: _time_ns() + int(skew * 1e9)

import juspay_accounts as ja


async def main(argv: list[str]) -> None:
    """Run the calls."""
    base_url, store, key, per_second, burst, count, name = argv
    limit = ja.RateLimit(float(per_second), burst=int(burst), store=store, key=key)
    async with ja.AccountsClient("key", base_url=base_url, rate_limit=limit) as client:
        print("ready", flush=True)  # noqa: T201 - the test waits for it
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        calls = (client.list_accounts(f"{name}-{i}") for i in range(int(count)))
        await asyncio.gather(*calls, return_exceptions=True)  # a 429 is the point of some runs
    print("done", flush=True)  # noqa: T201 - the test waits for it


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
