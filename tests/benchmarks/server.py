"""A static Juspay responder for the benchmarks, run as its own process.

Serves ``GET /customers/{id}/customer-accounts/list`` with realistic bodies and as little
work per request as possible, so that the client being measured is what costs CPU:

- ``big-<N>``: a customer with N accounts, paged by ``offset`` and ``count``;
- any other id: a two-account page (the seed page of Juspay's reference).

Prints ``PORT <n>`` once it listens, then serves until killed.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys

from aiohttp import web


def account(index: int, customer_id: str) -> dict[str, object]:
    """A realistic account, different for every index."""
    if index % 2:
        details: dict[str, object] = {"vpa": f"{9000000000 + index}@ybl"}
    else:
        details = {
            "bank_account": {
                "account": f"{26291800001191 + index:015d}",
                "name": "Bench Customer",
                "ifsc": "SBIN0001234",
                "juspay_bank_code": 12,
                "bank_name": "SBI",
            }
        }
    return {
        "last_validated": "2023-06-06T13:29:53Z",
        "customer_id": customer_id,
        "account_details": details,
        "currency": "INR",
        "object": "customer_account",
        "validation_status": ("ACTIVE", "PENDING", "CREATED", "FAILURE")[index % 4],
        "customer_account_id": f"banh_{index:016d}",
        "validation_amount": 1,
        "date_created": "2023-06-06T13:29:49Z",
    }


def page_body(accounts: list[dict[str, object]], offset: int, total: int) -> bytes:
    """The documented envelope."""
    envelope = {
        "list": accounts,
        "offset": offset,
        "count": len(accounts),
        "total": total,
        "object": "list",
    }
    return json.dumps(envelope).encode()


TWO_ACCOUNTS = page_body([account(1, "cst_bench"), account(2, "cst_bench")], 0, 2)


@functools.cache
def encoded_accounts(total: int) -> list[bytes]:
    """Every account of a ``big-<total>`` customer, JSON-encoded once."""
    return [json.dumps(account(i, f"big-{total}")).encode() for i in range(total)]


def big_page(total: int, offset: int, count: int) -> bytes:
    """A page of a big customer, joined from pre-encoded accounts."""
    chunk = encoded_accounts(total)[offset : offset + count]
    return (
        b'{"list": ['
        + b", ".join(chunk)
        + b'], "offset": %d, "count": %d, "total": %d, "object": "list"}'
        % (offset, len(chunk), total)
    )


async def handle(request: web.BaseRequest) -> web.Response:
    """Answer like Juspay's list endpoint, from precomputed bytes."""
    parts = request.raw_path.split("?", 1)[0].split("/")
    customer = parts[2] if len(parts) == 5 else ""
    if customer.startswith("big-"):
        total = int(customer[4:])
        offset = int(request.query.get("offset", 0))
        count = int(request.query.get("count", total))
        body = big_page(total, offset, count)
    else:
        body = TWO_ACCOUNTS
    return web.Response(
        body=body, content_type="application/json", headers={"x-request-id": "bench"}
    )


async def main() -> None:
    """Serve on a free loopback port until killed."""
    server = web.Server(handle, access_log=None)
    runner = web.ServerRunner(server, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    print(f"PORT {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
