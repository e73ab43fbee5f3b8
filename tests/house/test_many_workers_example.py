"""The many-workers how-to's example (docs/examples/many_workers.py), run at small scale.

Two worker processes export 300 customers from the fake Juspay through one Redis; one
worker is killed hard mid-run, and still every customer ends up in the output exactly once.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import redis.asyncio

if TYPE_CHECKING:
    from types import ModuleType

    from conftest import RedisServer

    from juspay_accounts.testing import FakeJuspay

# The slow group (nox -s slow, in CI): worker processes on a real Redis.
pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "many_workers.py"
CUSTOMERS = [f"cst_{n:04d}" for n in range(300)]


async def _example(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(EXAMPLE),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("many_workers", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.asyncio
async def test_two_workers_export_every_customer_once_despite_a_killed_worker(
    redis_server: RedisServer, fake: FakeJuspay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """300 customers over two workers, one killed mid-run: each customer once in the output."""
    for n, customer_id in enumerate(CUSTOMERS):
        fake.add_customer(customer_id)
        for _ in range(n % 3):  # 0, 1 or 2 accounts
            fake.add_account(customer_id)
    fake.latency = 0.005
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    example = _load_example()  # enqueue and write run here; the workers in processes
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(sys.path),
        "REDIS_URL": redis_server.url,
        "JUSPAY_API_KEY": fake.api_key,
        "JUSPAY_BASE_URL": fake.url,
        "JUSPAY_PER_SECOND": "400",
    }
    assert 300 == await example.enqueue(CUSTOMERS)

    doomed = await _example(env, "work", "--burst")
    survivor = await _example(env, "work", "--burst")
    async with redis.asyncio.Redis.from_url(redis_server.url) as store:
        give_up_at = time.monotonic() + 30
        # Redis cannot tell us when the results reach 60: poll it.
        while await store.hlen("juspay-export:results") < 60 and time.monotonic() < give_up_at:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
        doomed.send_signal(signal.SIGKILL)  # no chance to clean up: its jobs stay "in progress"
        await doomed.wait()
        done_at_kill = await store.hlen("juspay-export:results")
        # arq lets another worker take a dead worker's jobs once their in-progress lock
        # expires (job_timeout + 10 s); expire them now rather than wait.
        async for lock in store.scan_iter("arq:in-progress:*"):
            await store.delete(lock)
        await asyncio.wait_for(survivor.wait(), 30)
    assert (-signal.SIGKILL, 0) == (doomed.returncode, survivor.returncode)
    assert done_at_kill < 300  # it died mid-run

    out = tmp_path / "accounts.jsonl"
    assert 300 == await example.write(out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(CUSTOMERS) == sorted(line["customer_id"] for line in lines)
    assert [] == [line for line in lines if "error" in line]
    assert {c: len(fake.accounts_of(c)) for c in CUSTOMERS} == {
        line["customer_id"]: len(line["accounts"]) for line in lines
    }
    served = {a["customer_account_id"] for c in CUSTOMERS for a in fake.accounts_of(c)}
    assert served == {a["customer_account_id"] for line in lines for a in line["accounts"]}

    # Resuming after the run queues nothing: every customer is done.
    requests_before = len(fake.requests)
    assert 0 == await example.enqueue(CUSTOMERS)
    assert requests_before == len(fake.requests)
