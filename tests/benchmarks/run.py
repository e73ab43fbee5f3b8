"""The benchmark suite: the library against hand-written aiohttp and httpx, side by side, in one run.

Run it with ``nox -s bench`` (or ``python tests/benchmarks/run.py``); ``--smoke`` runs
tiny sizes to prove it still works. The server is a separate process (``server.py``), so
the CPU measured (``time.process_time``) is the client's alone. Every figure is the median
of ``--repeat`` runs; the spread is (max - min) / median across them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs

import juspay_accounts as ja
from juspay_accounts import _config, _request, _response

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator
    from types import ModuleType

httpx: ModuleType | None
try:
    import httpx as _httpx
except ImportError:  # pragma: no cover - httpx is a benchmark-only dependency
    httpx = None
else:
    httpx = _httpx

HERE = Path(__file__).parent


@attrs.frozen
class Sizes:
    """How big each case is."""

    lookups: int
    customers: int
    concurrency: int
    accounts: int
    loops: int
    walk: tuple[int, int]
    endless: tuple[int, int]


SMOKE = Sizes(
    lookups=20,
    customers=200,
    concurrency=8,
    accounts=100,
    loops=5,
    walk=(100, 500),
    endless=(1000, 1000),
)
FULL = Sizes(
    lookups=5000,
    customers=10_000,
    concurrency=64,
    accounts=100,
    loops=300,
    walk=(1000, 50_000),
    # Without de-duplication, then with it: the cost per id is the figure, and 100,000
    # ids at about 1,000 a second under tracemalloc show it as well as a million.
    endless=(1_000_000, 100_000),
)
KEY = "bench_key_0123456789"
HEADERS = _request.build_list_request(
    _config.make_settings(api_key=KEY, base_url="http://127.0.0.1", user_agent="bench"), "x"
).headers


# -- the server ---------------------------------------------------------------------


@contextlib.contextmanager
def server(*options: str) -> Iterator[str]:
    """Start the static responder in its own process; yield its base URL.

    ``options`` are server.py's (``--tls CERT KEY``: the URL is then https).
    """
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    process = subprocess.Popen(
        [sys.executable, str(HERE / "server.py"), *options], stdout=subprocess.PIPE, text=True
    )
    if len(cores) >= 2:
        # The server on one core, the measured client on another: less scheduler noise.
        os.sched_setaffinity(process.pid, {cores[-1]})
        os.sched_setaffinity(0, set(cores[:-1]))
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            msg = f"the benchmark server did not start: {line!r}"
            raise RuntimeError(msg)
        scheme = "https" if "--tls" in options else "http"
        yield f"{scheme}://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


# -- what a competent user writes without the library --------------------------------


def read_fields(data: dict[str, Any]) -> int:
    """Read what a caller reads from each raw account, as the library's users read it."""
    seen = 0
    for item in data["list"]:
        details = item["account_details"]
        _ = (item["customer_account_id"], item["validation_status"], item.get("last_validated"))
        _ = details.get("vpa") or details["bank_account"]["account"]
        seen += 1
    return seen


def read_models(page: ja.AccountPage) -> int:
    """The same reads on the library's models."""
    seen = 0
    for account in page.accounts:
        details = account.account_details
        _ = (account.customer_account_id, account.validation_status, account.last_validated)
        _ = details.vpa or (details.bank_account and details.bank_account.account)
        seen += 1
    return seen


def url_of(base: str, customer: str) -> str:
    """The list URL for a customer."""
    return f"{base}/customers/{customer}/customer-accounts/list"


class Library:
    """The library under test."""

    name = "juspay-accounts"

    def __init__(self, base: str, concurrency: int) -> None:
        """Client with retries on (the default policy), as users run it."""
        self.client = ja.AccountsClient(KEY, base_url=base, max_connections=max(concurrency, 1))

    async def lookup(self, customer: str) -> int:
        """One page of one customer."""
        return read_models(await self.client.list_accounts(customer))

    async def fan_out(self, customers: list[str], concurrency: int) -> int:
        """Every customer, at most ``concurrency`` at a time."""
        seen = 0
        async for result in self.client.accounts_for_customers(customers, concurrency=concurrency):
            seen += len(result.accounts)
        return seen

    async def close(self) -> None:
        """Release the session."""
        await self.client.aclose()


class RawAiohttp:
    """aiohttp + json.loads + dict reads, with the same headers."""

    name = "aiohttp + json"

    def __init__(self, base: str, concurrency: int) -> None:
        """A session with a pool the size of the concurrency."""
        self.base = base
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=max(concurrency, 1))
        )

    async def lookup(self, customer: str) -> int:
        """One page of one customer."""
        async with self.session.get(url_of(self.base, customer), headers=HEADERS) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(response.status)
        return read_fields(json.loads(body))

    async def fan_out(self, customers: list[str], concurrency: int) -> int:
        """Every customer under an asyncio.Semaphore."""
        semaphore = asyncio.Semaphore(concurrency)

        async def one(customer: str) -> int:
            async with semaphore:
                return await self.lookup(customer)

        return sum(await asyncio.gather(*(one(c) for c in customers)))

    async def close(self) -> None:
        """Release the session."""
        await self.session.close()


class RawHttpx(RawAiohttp):
    """httpx.AsyncClient + json.loads + dict reads, with the same headers."""

    name = "httpx + json"

    def __init__(self, base: str, concurrency: int) -> None:
        """A client with a pool the size of the concurrency."""
        assert httpx is not None
        self.base = base
        limits = httpx.Limits(
            max_connections=max(concurrency, 1), max_keepalive_connections=max(concurrency, 1)
        )
        # aiohttp's default: 5 minutes in all. httpx's 5 s connect timeout trips under
        # valgrind (instructions.py), where everything runs 50-100 times slower.
        self.httpx = httpx.AsyncClient(limits=limits, timeout=300.0)

    async def lookup(self, customer: str) -> int:
        """One page of one customer."""
        response = await self.httpx.get(url_of(self.base, customer), headers=dict(HEADERS))
        if response.status_code != 200:
            raise RuntimeError(response.status_code)
        return read_fields(json.loads(response.content))

    async def close(self) -> None:
        """Release the client."""
        await self.httpx.aclose()


# -- measuring ----------------------------------------------------------------------


def median_and_spread(values: list[float]) -> tuple[float, float]:
    """The median and (max - min) / median."""
    middle = statistics.median(values)
    return middle, (max(values) - min(values)) / middle if middle else 0.0


async def measure(make: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """Run once; return (client CPU seconds, wall seconds)."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    await make()
    return time.process_time() - cpu, time.perf_counter() - wall


async def case_sequential(
    impl_cls: type[RawAiohttp | Library], base: str, lookups: int
) -> tuple[float, float]:
    """Case 1: sequential single-page lookups; (CPU µs per lookup, wall s)."""
    impl = impl_cls(base, 1)
    try:
        for _ in range(20):  # warm the connection and caches
            await impl.lookup("cst_warm")

        async def run() -> None:
            for i in range(lookups):
                await impl.lookup(f"cst_{i}")

        cpu, wall = await measure(run)
    finally:
        await impl.close()
    return cpu / lookups * 1e6, wall


async def case_fan_out(
    impl_cls: type[RawAiohttp | Library], base: str, customers: int, concurrency: int
) -> tuple[float, float]:
    """Case 2: fan-out; (CPU µs per lookup, wall s)."""
    impl = impl_cls(base, concurrency)
    ids = [f"cst_{i}" for i in range(customers)]
    try:
        await impl.fan_out([f"warm_{i}" for i in range(concurrency)], concurrency)
        cpu, wall = await measure(lambda: impl.fan_out(ids, concurrency))
    finally:
        await impl.close()
    return cpu / customers * 1e6, wall


def case_decode(accounts: int, loops: int, loads: Callable[[bytes], Any]) -> tuple[float, float]:
    """Case 3: decode + structure vs the given loads alone; µs per account each."""
    sys.path.insert(0, str(HERE))
    from server import account, page_body  # noqa: PLC0415 - the same realistic bodies

    body = page_body([account(i, "cst_bench") for i in range(accounts)], 0, accounts)
    headers = {"x-request-id": "bench"}
    best_decode = best_loads = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(loops):
            _response.decode_list_response(200, headers, body)
        best_decode = min(best_decode, time.perf_counter() - start)
        start = time.perf_counter()
        for _ in range(loops):
            loads(body)
        best_loads = min(best_loads, time.perf_counter() - start)
    per = loops * accounts / 1e6
    return best_decode / per, best_loads / per


def walk_peak(base: str, total: int) -> int:
    """Case 4, in a fresh process: the peak traced memory of walking a big customer."""
    done = subprocess.run(
        [sys.executable, __file__, "--walk", base, str(total)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return int(done.stdout.split()[-1])


async def walk(base: str, total: int) -> int:
    """Walk ``big-<total>`` in pages of 100 under tracemalloc; return the peak bytes."""
    async with ja.AccountsClient(KEY, base_url=base) as client:
        await client.list_accounts("cst_warm")
        tracemalloc.start()
        seen = 0
        async for _ in client.iter_accounts(f"big-{total}", page_size=100):
            seen += 1
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert seen == total, (seen, total)
    return peak


def endless_memory(base: str, total: int, concurrency: int, *, dedupe: bool) -> dict[str, float]:
    """Case 5, in a fresh process: traced memory of a fan-out over ``total`` generated ids."""
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--endless",
            base,
            str(total),
            str(concurrency),
            "dedupe" if dedupe else "no-dedupe",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=3600,
    )
    figures: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return figures


async def endless(base: str, total: int, concurrency: int, *, dedupe: bool) -> dict[str, float]:
    """Fan out over ``total`` distinct generated ids under tracemalloc.

    The traced memory still held is read after a tenth of the ids and again at the last
    result (the fan-out, and with ``dedupe`` its set of ids seen, still alive): the growth
    between them, per id, is what an endless input costs.
    """
    async with ja.AccountsClient(KEY, base_url=base, max_connections=concurrency) as client:
        await client.list_accounts("cst_warm")
        ids = (f"cst_{i}" for i in range(total))
        early_mark = total // 10
        early = late = 0
        seen = 0
        tracemalloc.start()
        start = time.perf_counter()
        async for _ in client.accounts_for_customers(ids, concurrency=concurrency, dedupe=dedupe):
            seen += 1
            if seen in {early_mark, total}:
                gc.collect()
                held = tracemalloc.get_traced_memory()[0]
                if seen == early_mark:
                    early = held
                else:
                    late = held
        wall = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert seen == total, (seen, total)
    return {
        "ids": total,
        "early_bytes": early,
        "late_bytes": late,
        "peak_bytes": peak,
        "bytes_per_id": (late - early) / (total - early_mark),
        "wall_s": wall,
    }


TRACING_MODES = {
    "off": "tracing off (opentelemetry not installed)",
    "api": "opentelemetry-api, no SDK configured",
    "sdk": "SDK TracerProvider, no exporter",
}


def tracing_cost(base: str, lookups: int, mode: str) -> float | None:
    """Case 6, in a fresh process: client CPU µs per sequential lookup with tracing ``mode``.

    ``off`` hides ``opentelemetry`` before the library is imported, as if the ``otel`` extra
    were not installed. ``None`` when the mode's package is not installed here.
    """
    hide = "import sys; sys.modules['opentelemetry'] = None; " if mode == "off" else ""
    argv = [__file__, "--tracing", base, str(lookups), mode]
    code = f"{hide}import runpy, sys; sys.argv = {argv!r}; runpy.run_path(sys.argv[0], run_name='__main__')"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=600
    )
    last = done.stdout.split()[-1]
    return None if last == "n/a" else float(last)


async def traced_lookups(base: str, lookups: int, mode: str) -> float | None:
    """Sequential lookups under tracing ``mode``; CPU µs per lookup."""
    provider = None
    if mode == "sdk":
        try:
            from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415 - optional
        except ImportError:
            return None
        provider = TracerProvider()
    elif mode == "api":
        try:
            import opentelemetry.trace  # noqa: F401, PLC0415 - only whether it is there
        except ImportError:
            return None
    async with ja.AccountsClient(KEY, base_url=base, tracer_provider=provider) as client:
        tracing = client._fetcher.tracing
        assert (tracing is None) == (mode == "off")
        assert mode == "off" or (
            tracing is not None and (tracing.tracer() is None) == (mode == "api")
        )
        for _ in range(20):  # warm the connection and caches
            await client.list_accounts("cst_warm")
        gc.collect()
        cpu = time.process_time()
        for i in range(lookups):
            read_models(await client.list_accounts(f"cst_{i}"))
        return (time.process_time() - cpu) / lookups * 1e6


# -- the report -----------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU model, from /proc/cpuinfo where there is one."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def fmt(value: float, unit: str) -> str:
    """A figure with its unit."""
    return f"{value:,.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


async def run_all(args: argparse.Namespace) -> dict[str, Any]:
    """Every case, every implementation, ``repeat`` times; the medians and spreads."""
    sizes = SMOKE if args.smoke else FULL
    impls: list[type[Any]] = [Library, RawAiohttp] + ([RawHttpx] if httpx is not None else [])
    results: dict[str, Any] = {"sizes": attrs.asdict(sizes), "repeat": args.repeat}
    with server() as base:
        runners: dict[str, Callable[[Any], Awaitable[tuple[float, float]]]] = {
            "sequential": lambda cls: case_sequential(cls, base, sizes.lookups),
            "fan_out": lambda cls: case_fan_out(cls, base, sizes.customers, sizes.concurrency),
        }
        for case, runner in runners.items():
            samples: dict[str, list[tuple[float, float]]] = {cls.name: [] for cls in impls}
            for _ in range(args.repeat):
                for cls in impls:  # interleaved, so drift hits every implementation alike
                    samples[cls.name].append(await runner(cls))
            results[case] = {
                name: {
                    "cpu_us": median_and_spread([s[0] for s in runs]),
                    "wall_s": median_and_spread([s[1] for s in runs]),
                    "samples": runs,
                }
                for name, runs in samples.items()
            }
        if args.timing_only:
            return results
        decode_runs = [
            case_decode(sizes.accounts, sizes.loops, json.loads) for _ in range(args.repeat)
        ]
        results["decode"] = {
            "library_us": median_and_spread([r[0] for r in decode_runs]),
            "json_loads_us": median_and_spread([r[1] for r in decode_runs]),
        }
        small, large = sizes.walk
        results["walk"] = {
            "small": (small, walk_peak(base, small)),
            "large": (large, walk_peak(base, large)),
        }
        without, with_ = sizes.endless
        results["endless"] = {
            "no_dedupe": endless_memory(base, without, sizes.concurrency, dedupe=False),
            "dedupe": endless_memory(base, with_, sizes.concurrency, dedupe=True),
        }
        tracing: dict[str, list[float]] = {mode: [] for mode in TRACING_MODES}
        for _ in range(args.repeat):
            for mode in TRACING_MODES:  # interleaved, as above
                cost = tracing_cost(base, sizes.lookups, mode)
                if cost is not None:
                    tracing[mode].append(cost)
        results["tracing"] = {
            mode: median_and_spread(runs) if runs else None for mode, runs in tracing.items()
        }
    return results


def report(results: dict[str, Any], command: str) -> str:
    """The Markdown page."""
    lib, raw, hx = "juspay-accounts", "aiohttp + json", "httpx + json"
    seq, fan, dec, walk_ = (
        results["sequential"],
        results["fan_out"],
        results["decode"],
        results["walk"],
    )
    sizes = results["sizes"]
    has_httpx = hx in seq

    def cell(entry: dict[str, tuple[float, float]], key: str, unit: str) -> str:
        value, spread = entry[key]
        return f"{fmt(value, unit)} (±{spread * 50:.0f}%)"

    rows = [
        "| case | juspay-accounts | aiohttp + json | httpx + json | library / aiohttp | httpx / library | target |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, data, key, unit, target in (
        (
            f"1. sequential lookups ({sizes['lookups']:,}), client CPU per lookup",
            seq,
            "cpu_us",
            "µs",
            "≤ 1.15x aiohttp; httpx ≥ 3x",
        ),
        (
            f"2. fan-out ({sizes['customers']:,} customers, concurrency {sizes['concurrency']}), wall time",
            fan,
            "wall_s",
            "s",
            "≤ 1.10x aiohttp",
        ),
        ("2. fan-out, client CPU per lookup", fan, "cpu_us", "µs", ""),
    ):
        ratio = data[lib][key][0] / data[raw][key][0]
        httpx_cells = (
            (cell(data[hx], key, unit), f"{data[hx][key][0] / data[lib][key][0]:.2f}x")
            if has_httpx
            else ("n/a", "n/a")
        )
        rows.append(
            f"| {label} | {cell(data[lib], key, unit)} | {cell(data[raw], key, unit)} | {httpx_cells[0]} "
            f"| {ratio:.2f}x | {httpx_cells[1]} | {target} |"
        )
    decode_ratio = dec["library_us"][0] / dec["json_loads_us"][0]
    rows.append(
        f"| 3. decode + structure a {sizes['accounts']}-account page, per account "
        f"| {fmt(dec['library_us'][0], 'µs')} | json.loads alone: {fmt(dec['json_loads_us'][0], 'µs')} "
        f"| | {decode_ratio:.2f}x json.loads | | ≤ 3x (stretch 2.5x) |"
    )
    (small, small_peak), (large, large_peak) = walk_["small"], walk_["large"]
    rows.append(
        f"| 4. walk one customer in pages of 100, peak traced memory "
        f"| {large:,} accounts: {large_peak / 2**20:.2f} MiB; {small:,}: {small_peak / 2**20:.2f} MiB "
        f"| | | +{(large_peak - small_peak) / 2**20:.2f} MiB | | within 10 MiB |"
    )
    off, on = results["endless"]["no_dedupe"], results["endless"]["dedupe"]
    rows.append(
        "| 5. fan-out over generated distinct ids, traced memory held per id "
        "(from the first tenth of the ids to the last result) "
        f"| `dedupe=False`, {off['ids']:,.0f} ids: {off['bytes_per_id']:.2f} B/id, "
        f"peak {off['peak_bytes'] / 2**20:.2f} MiB; `dedupe=True`, {on['ids']:,.0f} ids: "
        f"{on['bytes_per_id']:.0f} B/id, peak {on['peak_bytes'] / 2**20:.2f} MiB "
        f"| | | | | `dedupe=False` flat (under 1 B/id) |"
    )
    tracing = results["tracing"]
    off = tracing["off"]
    for mode, label in TRACING_MODES.items():
        entry = tracing[mode]
        if entry is None:
            continue
        extra = f"+{entry[0] / off[0] - 1:.1%} on tracing off" if off and mode != "off" else ""
        target = "next to nothing (≤ 2% on off)" if mode == "api" else ""
        rows.append(
            f"| 6. {label}: client CPU per sequential lookup ({sizes['lookups']:,}) "
            f"| {fmt(entry[0], 'µs')} (±{entry[1] * 50:.0f}%) | | | {extra} | | {target} |"
        )
    env = (
        f"Python {platform.python_version()}, aiohttp {aiohttp.__version__}"
        + (f", httpx {httpx.__version__}" if httpx is not None else "")
        + f", juspay-accounts {ja.__version__}; CPU: {cpu_model()} ({os.cpu_count()} cores); "
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d}."
    )
    return "\n".join(
        [
            "# Performance",
            "",
            (
                "What the library costs next to twenty lines of hand-written aiohttp, measured side by "
                "side in one run. The server is a separate process, so the CPU figures are the "
                "client's alone. Each figure is the median of "
                f"{results['repeat']} runs, with ± half the spread between the fastest and the slowest "
                "run (how noisy the machine was)."
            ),
            "",
            *rows,
            "",
            f"Measured with `{command}` on: {env}",
            "",
            (
                "Where the time goes, and what was done about it: "
                "[performance notes](performance-notes.md)."
            ),
            "",
            (
                "- *aiohttp + json*: `session.get(url, headers=...)`, `json.loads(await response.read())`, "
                "the same fields read from the dicts; the fan-out under an `asyncio.Semaphore`."
            ),
            "- *httpx + json*: the same with `httpx.AsyncClient`.",
            (
                "- *juspay-accounts*: `client.list_accounts()` and `client.accounts_for_customers()` with "
                "the default retry policy on, reading the same fields from the models."
            ),
            (
                "- Case 3 is the sans-I/O decoder alone (`decode_list_response`) against `json.loads` on "
                "the same bytes; case 4 is `iter_accounts` under `tracemalloc` in a fresh process; "
                "case 5 is `accounts_for_customers` over a generator of distinct ids, under "
                "`tracemalloc` in a fresh process, once with each `dedupe`."
            ),
            (
                "- Case 6 is case 1 in a fresh process per tracing setting: `opentelemetry` hidden "
                "(the `otel` extra not installed), the API with no SDK configured (the placeholder "
                "provider: no span is started), and an SDK `TracerProvider` that records the spans "
                "but exports nothing."
            ),
            "",
        ]
    )


# The part of docs/performance.md that `nox -s bench` rewrites; the rest is written by hand.
REPORT_BEGIN = "<!-- benchmark: begin (generated by nox -s bench) -->"
REPORT_END = "<!-- benchmark: end -->"


def write_report(page: Path, text: str) -> None:
    """Put the report between the page's markers (its title left out), or write a new page."""
    if not page.exists():
        page.write_text(text + instruction_section(page))
        return
    body = text.split("\n", 2)[2] if text.startswith("# Performance\n") else text
    section = f"{REPORT_BEGIN}\n## The whole benchmark, on loopback\n\n{body}{REPORT_END}"
    current = page.read_text()
    if REPORT_BEGIN in current and REPORT_END in current:
        head, rest = current.split(REPORT_BEGIN, 1)
        current = head + section + rest.split(REPORT_END, 1)[1]
    else:
        current = current.rstrip("\n") + "\n\n" + section + "\n"
    page.write_text(current)


def instruction_section(page: Path) -> str:
    """The section ``instructions.py`` wrote into ``page``, if any: a new report keeps it."""
    sys.path.insert(0, str(HERE))
    from instructions import INSTRUCTIONS_BEGIN, INSTRUCTIONS_END  # noqa: PLC0415 - stdlib only

    text = page.read_text() if page.exists() else ""
    if INSTRUCTIONS_BEGIN not in text or INSTRUCTIONS_END not in text:
        return ""
    inner = text.split(INSTRUCTIONS_BEGIN, 1)[1].split(INSTRUCTIONS_END, 1)[0]
    return f"\n{INSTRUCTIONS_BEGIN}{inner}{INSTRUCTIONS_END}\n"


def main() -> None:
    """Parse the arguments, run, print and write the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, to prove it still runs")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--output", type=Path, help="write the Markdown report here")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    parser.add_argument(
        "--timing-only",
        action="store_true",
        help="cases 1 and 2 only (CPU and wall time), printed; the page is not written",
    )
    parser.add_argument("--walk", nargs=2, metavar=("BASE", "TOTAL"), help=argparse.SUPPRESS)
    parser.add_argument("--endless", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument(
        "--tracing", nargs=3, metavar=("BASE", "LOOKUPS", "MODE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.walk:
        print(asyncio.run(walk(args.walk[0], int(args.walk[1]))))
        return
    if args.endless:
        base, total, concurrency, dedupe = args.endless
        figures = endless(base, int(total), int(concurrency), dedupe=dedupe == "dedupe")
        print(json.dumps(asyncio.run(figures)))
        return
    if args.tracing:
        base, lookups, mode = args.tracing
        cost = asyncio.run(traced_lookups(base, int(lookups), mode))
        print("n/a" if cost is None else cost)
        return
    results = asyncio.run(run_all(args))
    if args.timing_only:
        for case in ("sequential", "fan_out"):
            for name, figures in results[case].items():
                cpu, cpu_spread = figures["cpu_us"]
                wall, wall_spread = figures["wall_s"]
                print(
                    f"{case}: {name}: CPU {cpu:,.1f} µs per lookup (±{cpu_spread * 50:.0f}%), "
                    f"wall {wall:.3f} s (±{wall_spread * 50:.0f}%)"
                )
        if args.json:
            args.json.write_text(json.dumps(results, indent=2))
        return
    command = "nox -s bench" + (" -- --smoke" if args.smoke else "")
    text = report(results, command)
    print(text)
    if args.output:
        write_report(args.output, text)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
