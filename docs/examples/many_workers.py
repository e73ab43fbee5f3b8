"""Export every customer's accounts with many worker processes sharing one Juspay budget.

One Redis holds everything: arq's job queue (one job per customer id), the results (one
hash field per customer id) and the rate limit every worker shares::

    python many_workers.py enqueue customer_ids.txt   # once; safe to repeat (it resumes)
    python many_workers.py work                       # in as many processes as you like
    python many_workers.py write accounts.jsonl       # when the queue is empty

Configuration comes from the environment: ``REDIS_URL`` (``redis://localhost:6379/0``),
``JUSPAY_API_KEY``, ``JUSPAY_BASE_URL`` (the sandbox unless set) and ``JUSPAY_PER_SECOND``
(the budget all workers share, 20 unless set).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import decimal
import enum
import json
import os
import sys
from pathlib import Path
from typing import Any

import arq
import arq.connections
import arq.worker
import attrs

import juspay_accounts as ja

RESULTS = "juspay-export:results"  # one field per customer id: its JSON line


def _redis_url() -> str:
    return os.environ.get("REDIS_URL", "redis://localhost:6379/0")


def _redis_settings() -> arq.connections.RedisSettings:
    return arq.connections.RedisSettings.from_dsn(_redis_url())


async def enqueue(customer_ids: list[str]) -> int:
    """Queue one job per customer not exported yet; return how many were queued.

    The job id is the customer id, so arq refuses a second job for a customer whose job is
    queued, running or finished: running this again after a crash queues only what is
    missing.
    """
    queued = 0
    redis = await arq.create_pool(_redis_settings())
    try:
        for start in range(0, len(customer_ids), 1000):
            chunk = customer_ids[start : start + 1000]
            async with redis.pipeline(transaction=False) as pipe:
                for customer_id in chunk:
                    pipe.hexists(RESULTS, customer_id)
                exported = await pipe.execute()  # one round trip per 1000 ids
            for customer_id, done in zip(chunk, exported, strict=True):
                if not done:
                    job = await redis.enqueue_job(
                        "export_customer", customer_id, _job_id=customer_id
                    )
                    queued += job is not None
    finally:
        await redis.aclose()
    return queued


def _json_value(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)  # money stays exact
    if isinstance(value, enum.Enum):
        return value.value
    return value


async def export_customer(ctx: dict[str, Any], customer_id: str) -> None:
    """The job: every account of one customer, stored as one JSON line under its id.

    A job run twice (a worker died after fetching, before arq marked the job done) writes
    the same field again: the results never hold a customer twice.
    """
    client: ja.AccountsClient = ctx["client"]
    line: dict[str, Any] = {"customer_id": customer_id}
    try:
        accounts = await client.all_accounts(customer_id)
    except ja.RateLimitStoreError as exc:
        raise arq.Retry(defer=5) from exc  # Redis is down: try this customer again later
    except ja.RateLimitError as exc:  # throttled past the deadline, or refused "not sent"
        raise arq.Retry(defer=exc.retry_after or 5) from exc
    except ja.JuspayError as exc:  # after the client's own retries: record it, go on
        line["error"] = f"{type(exc).__name__}: {exc}"
    else:
        line["accounts"] = [
            attrs.asdict(a, value_serializer=lambda _i, _f, v: _json_value(v)) for a in accounts
        ]
    await ctx["redis"].hset(RESULTS, customer_id, json.dumps(line))


async def _startup(ctx: dict[str, Any]) -> None:
    budget = ja.RateLimit(
        float(os.environ.get("JUSPAY_PER_SECOND", "20")),
        store=_redis_url(),  # the same Redis: every worker takes from one budget
        key="juspay-export",
    )
    ctx["client"] = ja.AccountsClient(
        os.environ["JUSPAY_API_KEY"],
        base_url=os.environ.get("JUSPAY_BASE_URL", ja.SANDBOX_URL),
        rate_limit=budget,
    )


async def _shutdown(ctx: dict[str, Any]) -> None:
    await ctx["client"].aclose()


async def work(*, burst: bool) -> None:
    """Run one worker until stopped (or, with ``burst``, until the queue is empty)."""
    worker = arq.worker.Worker(
        functions=[arq.worker.func(export_customer, max_tries=5)],
        redis_settings=_redis_settings(),
        on_startup=_startup,
        on_shutdown=_shutdown,
        max_jobs=20,  # customers in flight per worker; the shared budget sets the pace
        burst=burst,
        poll_delay=0.1,
    )
    try:
        await worker.async_run()
    finally:
        await worker.close()


async def write(path: Path) -> int:
    """Write the results as JSON lines, one per customer; return how many."""
    redis = await arq.create_pool(_redis_settings())
    try:
        count = 0
        partial = path.with_suffix(path.suffix + ".partial")
        with partial.open("w", encoding="utf-8") as out:
            async for _customer_id, line in redis.hscan_iter(RESULTS):
                out.write(line.decode() + "\n")
                count += 1
        partial.replace(path)  # all or nothing
    finally:
        await redis.aclose()
    return count


def main(argv: list[str]) -> None:
    """The command line: enqueue FILE | work [--burst] | write FILE."""
    command, *rest = argv
    if command == "enqueue":
        ids = Path(rest[0]).read_text(encoding="utf-8").split()
        print(f"queued {asyncio.run(enqueue(ids))}")
    elif command == "work":
        asyncio.run(work(burst="--burst" in rest))
    elif command == "write":
        print(f"wrote {asyncio.run(write(Path(rest[0])))}")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
