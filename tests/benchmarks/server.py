"""A static Juspay responder for the benchmarks, run as its own process.

Serves ``GET /customers/{id}/customer-accounts/list`` with realistic bodies and as little
work per request as possible, so that the client being measured is what costs CPU:

- ``big-<N>``: a customer with N accounts, paged by ``offset`` and ``count``;
- any other id: a two-account page (the seed page of Juspay's reference);
- ``/stats``: ``{"connections": N, "handshakes": N}``, the TCP connections accepted and the
  TLS handshakes begun since start (what a client opened, counted where it cannot hide).

``--tls CERT KEY`` serves HTTPS with that certificate chain and key; ``--latency LOW HIGH``
delays every answer by a random 10-20 ms (or whatever is given), as a far server would.
Prints ``PORT <n>`` once it listens, then serves until killed.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import ssl
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


STATS = {"connections": 0, "handshakes": 0}
LATENCY: tuple[float, float] | None = None
_RANDOM = random.Random(0)  # noqa: S311 - latency, not a secret


async def handle(request: web.BaseRequest) -> web.Response:
    """Answer like Juspay's list endpoint, from precomputed bytes."""
    if request.raw_path == "/stats":
        return web.Response(body=json.dumps(STATS).encode(), content_type="application/json")
    if LATENCY is not None:
        await asyncio.sleep(_RANDOM.uniform(*LATENCY))
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


def tls_context(cert: str, key: str) -> ssl.SSLContext:
    """A server context for ``cert`` (a chain in PEM) and ``key``, counting handshakes."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def hello(*_: object) -> None:
        STATS["handshakes"] += 1  # every ClientHello, before any HTTP

    context.sni_callback = hello
    return context


async def main(argv: list[str]) -> None:
    """Serve on a free loopback port until killed."""
    global LATENCY  # noqa: PLW0603 - set once, before serving
    parser = argparse.ArgumentParser()
    parser.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--latency", nargs=2, type=float, metavar=("LOW", "HIGH"))
    args = parser.parse_args(argv)
    LATENCY = tuple(args.latency) if args.latency else None
    server = web.Server(handle, access_log=None)

    def accept() -> asyncio.Protocol:
        STATS["connections"] += 1
        return server()

    listening = await asyncio.get_running_loop().create_server(
        accept,
        "127.0.0.1",
        0,
        backlog=1024,
        ssl=tls_context(*args.tls) if args.tls else None,
    )
    print(f"PORT {listening.sockets[0].getsockname()[1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    try:
        asyncio.run(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(0)
