"""Scenarios where users pay: TLS, a far server, idle gaps and a big customer, side by side.

The library against hand-written aiohttp + ``json`` in the same run, interleaved, against the
static responder (``server.py``, its own process) serving HTTPS with a certificate from a
throwaway CA (trustme, as the TLS tests make one) and answering after 10-20 ms:

- ``fan_out``: 2,000 customers at concurrency 64 from a cold client: wall time, client CPU
  per customer, and the connections the server accepted (and TLS handshakes it saw);
- ``fan_out_plain``: the same over plain HTTP, so that what TLS adds to each is seen apart;
- ``idle_gap``: sequential calls, each after an idle gap longer than the keep-alive, with
  the library's default-equivalent ``keepalive_timeout`` and a longer one: handshakes and
  client CPU per call. To keep it short the gap is 0.3 s against a keep-alive of 0.2 s, which
  stands in for aiohttp's 15 s default; 1.0 s stands in for a longer setting;
- ``big_walk``: one customer with 10,000 accounts (a 3.6 MB answer) walked while 400 small
  customers are looked up at concurrency 16: the longest stall of the event loop (a 1 ms
  ticker's longest gap, wall time) and the small lookups' latency (median and 99th centile).

Each measurement runs in a fresh child process, with orjson blocked (a plain install) unless
``--orjson``. ``nox -s bench -- --scenarios`` runs it (``--smoke`` for tiny sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
IMPLS = ("library", "aiohttp")
NAMES = {"library": "juspay-accounts", "aiohttp": "aiohttp + json"}
LATENCY = ("0.010", "0.020")
CONCURRENCY = 64
# The idle-gap scenario's stand-ins: a keep-alive shorter than the gap (as aiohttp's 15 s
# default is for calls a minute apart) and one longer than it.
SHORT_KEEPALIVE, LONG_KEEPALIVE, GAP = 0.2, 1.0, 0.3
BIG = 10_000


# -- the child: one measurement -----------------------------------------------------------


def _context(cafile: str) -> ssl.SSLContext | None:
    """A client context trusting the throwaway CA (verifying, as by default)."""
    return ssl.create_default_context(cafile=cafile) if cafile else None


def _client(impl: str, base: str, cafile: str, *, limit: int, keepalive: float = 15.0) -> Any:  # noqa: ANN401 - either client
    """The library, or hand-written aiohttp, pointed at ``base`` and trusting the CA."""
    import aiohttp  # noqa: PLC0415 - after the child's orjson block
    from run import KEY, RawAiohttp  # noqa: PLC0415 - the benchmarks' own module

    import juspay_accounts as ja  # noqa: PLC0415 - after the child's orjson block

    context = _context(cafile)
    if impl == "library":
        # Its defaults, but for the private CA and the keep-alive (max_connections=100).
        return ja.AccountsClient(
            KEY, base_url=base, ssl_context=context, keepalive_timeout=keepalive
        )

    class Raw(RawAiohttp):
        """Hand-written aiohttp, its connector told the same: the CA and the keep-alive."""

        def __init__(self) -> None:
            self.base = base
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(
                    limit=limit, ssl=context or True, keepalive_timeout=keepalive
                )
            )

    return Raw()


async def _lookup(impl: str, client: Any, customer: str) -> int:  # noqa: ANN401 - either client
    """One page of one customer, the fields read as a user reads them."""
    from run import read_models  # noqa: PLC0415 - the benchmarks' own module

    if impl == "library":
        return read_models(await client.list_accounts(customer))
    seen: int = await client.lookup(customer)
    return seen


async def _close(impl: str, client: Any) -> None:  # noqa: ANN401 - either client
    await (client.aclose() if impl == "library" else client.close())


async def fan_out(impl: str, base: str, cafile: str, customers: int) -> dict[str, float]:
    """A fan-out from a cold client; CPU µs per customer and wall seconds."""
    client = _client(impl, base, cafile, limit=CONCURRENCY)
    ids = [f"cst_{i}" for i in range(customers)]
    cpu, wall = time.process_time(), time.perf_counter()
    if impl == "library":
        seen = 0
        async for result in client.accounts_for_customers(ids, concurrency=CONCURRENCY):
            seen += len(result.accounts)
    else:
        seen = await client.fan_out(ids, CONCURRENCY)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await _close(impl, client)
    assert seen == 2 * customers, seen
    return {"cpu_us": cpu / customers * 1e6, "wall_s": wall}


async def idle_gap(
    impl: str, base: str, cafile: str, calls: int, keepalive: float
) -> dict[str, float]:
    """``calls`` lookups, each after an idle gap; client CPU µs per call (the gaps cost none)."""
    client = _client(impl, base, cafile, limit=1, keepalive=keepalive)
    await _lookup(impl, client, "cst_first")  # the first connection, counted apart
    before = _server_stats(base, cafile)
    cpu = 0.0
    for i in range(calls):
        await asyncio.sleep(GAP)
        start = time.process_time()
        await _lookup(impl, client, f"cst_{i}")
        cpu += time.process_time() - start
    after = _server_stats(base, cafile)
    await _close(impl, client)
    return {
        "cpu_us": cpu / calls * 1e6,
        # Less the second /stats request's own connection and handshake.
        "handshakes_per_call": (after["handshakes"] - before["handshakes"] - 1) / calls,
        "connections_per_call": (after["connections"] - before["connections"] - 1) / calls,
    }


async def big_walk(impl: str, base: str, cafile: str, small: int) -> dict[str, float]:
    """A 10,000-account customer walked during a fan-out of small lookups."""
    from run import read_fields, url_of  # noqa: PLC0415 - the benchmarks' own module

    client = _client(impl, base, cafile, limit=32)
    await _lookup(impl, client, "cst_warm")
    latencies: list[float] = []
    semaphore = asyncio.Semaphore(16)

    async def one(customer: str) -> None:
        async with semaphore:
            start = time.perf_counter()
            await _lookup(impl, client, customer)
            latencies.append(time.perf_counter() - start)

    async def big() -> int:
        if impl == "library":
            accounts = await client.all_accounts(f"big-{BIG}")
            return len(accounts)
        async with client.session.get(url_of(base, f"big-{BIG}")) as response:
            body = await response.read()
        return read_fields(json.loads(body))

    longest = 0.0
    done = False

    async def tick() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    ticker = asyncio.create_task(tick())
    results = await asyncio.gather(big(), *(one(f"cst_{i}") for i in range(small)))
    done = True
    await ticker
    await _close(impl, client)
    assert results[0] == BIG, results[0]
    latencies.sort()
    return {
        "stall_ms": longest * 1000,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def child(
    scenario: str, impl: str, base: str, cafile: str, size: int, extra: str, orjson: bool
) -> None:
    """Run one measurement and print its figures as JSON on the last line."""
    if not orjson:
        sys.modules["orjson"] = None  # type: ignore[assignment]  # as on a plain install
    sys.path.insert(0, str(HERE))
    if scenario in {"fan_out", "fan_out_plain"}:
        figures = asyncio.run(fan_out(impl, base, cafile, size))
    elif scenario == "idle_gap":
        figures = asyncio.run(idle_gap(impl, base, cafile, size, float(extra)))
    else:
        figures = asyncio.run(big_walk(impl, base, cafile, size))
    print(json.dumps(figures))


# -- the parent ---------------------------------------------------------------------------


def _server_stats(base: str, cafile: str) -> dict[str, int]:
    """What the server counted so far (connections accepted, TLS handshakes begun)."""
    with urllib.request.urlopen(f"{base}/stats", context=_context(cafile)) as answer:  # noqa: S310 - our own server
        stats: dict[str, int] = json.loads(answer.read())
    return stats


def _run_child(
    scenario: str, impl: str, base: str, cafile: str, size: int, extra: str, *, orjson: bool
) -> dict[str, float]:
    """One measurement in a fresh process, with the server's counts around it."""
    before = _server_stats(base, cafile)
    command = [sys.executable, __file__, "--child", scenario, impl, base, cafile, str(size), extra]
    done = subprocess.run(
        [*command, "orjson" if orjson else "plain"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode:
        msg = f"{scenario}/{impl} failed:\n{done.stderr[-3000:]}"
        raise RuntimeError(msg)
    after = _server_stats(base, cafile)
    figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    # Less the two /stats requests' own connections (urllib opens one each).
    figures.setdefault("connections", after["connections"] - before["connections"] - 1)
    figures.setdefault(
        "handshakes", after["handshakes"] - before["handshakes"] - (1 if cafile else 0)
    )
    return figures


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every scenario, every implementation, ``rounds`` times, interleaved."""
    sys.path.insert(0, str(HERE))
    import trustme  # noqa: PLC0415 - a benchmark-only dependency
    from run import server  # noqa: PLC0415 - the benchmarks' own module

    customers, calls, small = (200, 3, 40) if args.smoke else (2000, 8, 400)
    # Each measurement: its label, the scenario, the client, its size and one more argument.
    plan: list[tuple[str, str, str, int, str]] = [
        (f"{scenario}/{impl}", scenario, impl, customers, "")
        for scenario in ("fan_out", "fan_out_plain")
        for impl in IMPLS
    ]
    plan += [
        ("idle_gap/library/short", "idle_gap", "library", calls, str(SHORT_KEEPALIVE)),
        ("idle_gap/library/long", "idle_gap", "library", calls, str(LONG_KEEPALIVE)),
        ("idle_gap/aiohttp/short", "idle_gap", "aiohttp", calls, str(SHORT_KEEPALIVE)),
    ]
    plan += [(f"big_walk/{impl}", "big_walk", impl, small, "") for impl in IMPLS]
    if args.only:
        plan = [step for step in plan if step[1] in args.only]
    results: dict[str, list[dict[str, float]]] = {label: [] for label, *_ in plan}
    with tempfile.TemporaryDirectory() as directory:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1")
        chain, key, cafile = (Path(directory) / name for name in ("chain.pem", "key.pem", "ca.pem"))
        chain.write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
        key.write_bytes(cert.private_key_pem.bytes())
        ca.cert_pem.write_to_path(str(cafile))
        latency = ("--latency", *LATENCY)
        with server("--tls", str(chain), str(key), *latency) as tls, server(*latency) as plain:
            for _ in range(args.rounds):
                for label, scenario, impl, size, extra in plan:
                    base, trusted = (
                        (plain, "") if scenario == "fan_out_plain" else (tls, str(cafile))
                    )
                    results[label].append(
                        _run_child(scenario, impl, base, trusted, size, extra, orjson=args.orjson)
                    )
    return {
        "rounds": args.rounds,
        "customers": customers,
        "calls": calls,
        "small": small,
        "results": results,
    }


def _median(runs: list[dict[str, float]], key: str) -> tuple[float, float]:
    values = [run[key] for run in runs]
    middle = statistics.median(values)
    return middle, (max(values) - min(values)) / middle if middle else 0.0


def _cell(runs: list[dict[str, float]], key: str, fmt: str) -> str:
    middle, spread = _median(runs, key)
    return f"{middle:{fmt}} (±{spread * 50:.0f}%)" if len(runs) > 1 else f"{middle:{fmt}}"


def report(figures: dict[str, Any]) -> str:
    """The Markdown tables: each figure's median (± half its spread) and the ratios."""
    r = figures["results"]
    lib, raw = NAMES["library"], NAMES["aiohttp"]

    def ratio(a: str, b: str, key: str) -> str:
        # Each round's pair ran back to back: the median of the pairs' ratios is steadier on
        # a shared machine than the ratio of the medians (the load moves between rounds).
        pairs = [x[key] / y[key] for x, y in zip(r[a], r[b], strict=True) if y[key]]
        if not pairs:
            return ""
        low, high = min(pairs), max(pairs)
        return f"{statistics.median(pairs):.2f}x ({low:.2f}-{high:.2f})"

    lines: list[str] = []
    fans = [
        (sc, t)
        for sc, t in (("fan_out", "TLS"), ("fan_out_plain", "plain HTTP"))
        if f"{sc}/library" in r
    ]
    if fans:
        lines += [
            (
                f"Fan-out of {figures['customers']:,} customers at concurrency {CONCURRENCY}, "
                "from a cold client, answers after 10-20 ms:"
            ),
            "",
            f"| transport | figure | {lib} | {raw} | library / aiohttp |",
            "| --- | --- | --- | --- | --- |",
        ]
    for scenario, transport in fans:
        a, b = f"{scenario}/library", f"{scenario}/aiohttp"
        for key, label, fmt in (
            ("wall_s", "wall time (s)", ".2f"),
            ("cpu_us", "client CPU per customer (µs)", ",.0f"),
            ("connections", "connections opened", ".0f"),
        ):
            shown = ratio(a, b, key) if key != "connections" else ""
            lines.append(
                f"| {transport} | {label} | {_cell(r[a], key, fmt)} | {_cell(r[b], key, fmt)} | {shown} |"
            )
    if "idle_gap/library/short" in r:
        lines += [
            "",
            (
                f"Sequential calls over TLS, each after {GAP} s idle ({figures['calls']} calls; a "
                f"keep-alive of {SHORT_KEEPALIVE} s stands in for aiohttp's 15 s default, "
                f"{LONG_KEEPALIVE} s for a longer `keepalive_timeout`):"
            ),
            "",
            "| client | keep-alive | TLS handshakes per call | client CPU per call (µs) |",
            "| --- | --- | --- | --- |",
        ]
        for label, client, keepalive in (
            ("idle_gap/library/short", lib, f"{SHORT_KEEPALIVE} s (shorter than the gap)"),
            ("idle_gap/library/long", lib, f"`keepalive_timeout={LONG_KEEPALIVE}`"),
            ("idle_gap/aiohttp/short", raw, f"{SHORT_KEEPALIVE} s (shorter than the gap)"),
        ):
            lines.append(
                f"| {client} | {keepalive} | {_cell(r[label], 'handshakes_per_call', '.2f')} "
                f"| {_cell(r[label], 'cpu_us', ',.0f')} |"
            )
    if "big_walk/library" in r:
        a, b = "big_walk/library", "big_walk/aiohttp"
        lines += [
            "",
            (
                f"A customer with {BIG:,} accounts (3.6 MB) walked during {figures['small']} "
                "small lookups at concurrency 16, over TLS:"
            ),
            "",
            f"| figure | {lib} | {raw} | library / aiohttp |",
            "| --- | --- | --- | --- |",
        ]
        for key, label in (
            ("stall_ms", "longest event-loop stall (ms)"),
            ("p50_ms", "small lookups' latency, median (ms)"),
            ("p99_ms", "small lookups' latency, 99th centile (ms)"),
        ):
            lines.append(
                f"| {label} | {_cell(r[a], key, '.1f')} | {_cell(r[b], key, '.1f')} "
                f"| {ratio(a, b, key)} |"
            )
    lines += [
        "",
        (
            f"Medians of {figures['rounds']} interleaved rounds, ± half the spread; a ratio is "
            "the median of the rounds' pairs (lowest-highest); Python "
            f"{platform.python_version()}, each run in a fresh process."
        ),
    ]
    return "\n".join(lines)


def main() -> None:
    """Parse the arguments; measure, print the tables, write the raw figures if asked."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=7, help=argparse.SUPPRESS)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, one round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--orjson", action="store_true", help="let the library use orjson")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=("fan_out", "fan_out_plain", "idle_gap", "big_walk"),
        help="run these scenarios alone (the report then shows only their tables)",
    )
    args = parser.parse_args()
    if args.child:
        scenario, impl, base, cafile, size, extra, decoder = args.child
        child(scenario, impl, base, cafile, int(size), extra, decoder == "orjson")
        return
    if args.smoke:
        args.rounds = 1
    figures = measure(args)
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
