"""Instructions per call of each step of a lookup, without the network.

The profile behind docs/performance-notes.md.

``python tests/benchmarks/pieces.py [--plain] [STEP ...]`` runs each step N and 5N times
under ``valgrind --tool=callgrind`` (only the loop instrumented, as in instructions.py) and
prints ``(I(5N) - I(N)) / 4N``. ``--plain`` blocks orjson, as on an install without the
``fast`` extra.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from instructions import build_hooks, callgrind_count

STEPS = (
    "lookup_without_network",
    "build_request",
    "decode_page",
    "parse_json",
    "structure_accounts",
    "redact_headers",
    "redact_answer",
    "retry_plumbing",
    "hand_written_decode",
)


def steps(n: int) -> dict[str, Any]:
    """Each step as a function running it ``n`` times."""
    sys.path.insert(0, str(Path(__file__).parent))
    from multidict import CIMultiDict, CIMultiDictProxy  # noqa: PLC0415
    from run import KEY, read_fields, read_models  # noqa: PLC0415
    from server import TWO_ACCOUNTS  # noqa: PLC0415

    import juspay_accounts as ja  # noqa: PLC0415
    from juspay_accounts import _config, _json, _redact, _request, _response, _retry, _throttle  # noqa: PLC0415

    settings = _config.make_settings(api_key=KEY, base_url="http://127.0.0.1:1", user_agent="u")
    headers = CIMultiDictProxy(
        CIMultiDict(
            {
                "Content-Type": "application/json; charset=utf-8",
                "Content-Length": str(len(TWO_ACCOUNTS)),
                "Date": "Fri, 27 Nov 2026 04:00:00 GMT",
                "Server": "Python/3.11 aiohttp/3.14.5",
                "x-request-id": "bench",
            }
        )
    )
    items = json.loads(TWO_ACCOUNTS)["list"]
    fast, _ = _response.account_hooks()
    authorization = settings.headers["Authorization"]
    secrets = settings.secrets
    policy, throttle = ja.RetryPolicy(), _throttle.Throttle()

    async def answer(_request: object, _limit: object) -> Any:  # noqa: ANN401 - canned
        return 200, headers, TWO_ACCOUNTS

    async def lookups() -> None:
        client = ja.AccountsClient(KEY, base_url="http://127.0.0.1:1")
        # The transport answers at once with a canned page: no aiohttp, no socket.
        setattr(type(client._transport), "send", lambda _self, r, t: answer(r, t))  # noqa: B010
        for i in range(n):
            read_models(await client.list_accounts(f"cst_{i}"))

    async def attempt(_limit: float | None) -> int:
        return 1

    async def retries() -> None:
        for _ in range(n):
            await _retry.call_with_retries(
                attempt, policy=policy, attempt_timeout=30.0, throttle=throttle, customer_id="c"
            )

    return {
        "lookup_without_network": lambda: asyncio.run(lookups()),
        "build_request": lambda: [
            _request.build_list_request(settings, f"cst_{i}") for i in range(n)
        ],
        "decode_page": lambda: [
            _response.decode_list_response(200, headers, TWO_ACCOUNTS) for _ in range(n)
        ],
        "parse_json": lambda: [_json.load_json(TWO_ACCOUNTS) for _ in range(n)],
        "structure_accounts": lambda: [
            [fast(item, ja.CustomerAccount) for item in items] for _ in range(n)
        ],
        # What every answer costs: the headers searched for the key's forms.
        "redact_headers": lambda: [_redact.redact_headers(headers, secrets) for _ in range(n)],
        # What an answer that becomes an error costs: its headers and body searched.
        "redact_answer": lambda: [
            _redact.redact_answer(headers, TWO_ACCOUNTS, _redact.secret_forms(authorization))
            for _ in range(n)
        ],
        "retry_plumbing": lambda: asyncio.run(retries()),
        "hand_written_decode": lambda: [read_fields(json.loads(TWO_ACCOUNTS)) for _ in range(n)],
    }


def child(step: str, n: int, decoder: str) -> None:
    """Run the step once to warm up, then ``n`` times instrumented."""
    if decoder == "plain":
        sys.modules["orjson"] = None  # type: ignore[assignment] # as without the fast extra
    run = steps(n)[step]
    run()
    marks = ctypes.CDLL(os.environ["JUSPAY_BENCH_HOOKS"])
    marks.juspay_bench_start()
    run()
    marks.juspay_bench_stop()


def count(step: str, n: int, hooks: Path, decoder: str) -> int:
    """Instructions of one child."""
    return callgrind_count(__file__, ["--child", step, str(n), decoder], hooks)


def main() -> None:
    """Count every step asked for (all by default) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "steps", nargs="*", default=[], help=f"any of {', '.join(STEPS)} (default: all)"
    )
    parser.add_argument("--plain", action="store_true", help="without orjson")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), args.child[2])
        return
    unknown = set(args.steps) - set(STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")
    with tempfile.TemporaryDirectory() as directory:
        hooks = build_hooks(Path(directory))
        if hooks is None:
            parser.error(
                "the callgrind hooks cannot be built (a C compiler and valgrind's headers)"
            )
        decoder = "plain" if args.plain else "fast"
        for step in args.steps or STEPS:
            small = count(step, args.n, hooks, decoder)
            large = count(step, 5 * args.n, hooks, decoder)
            print(f"{step}: {(large - small) / (4 * args.n):,.0f} instructions per call")


if __name__ == "__main__":
    main()
