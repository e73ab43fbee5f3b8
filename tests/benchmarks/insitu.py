"""What each part of a lookup costs where it runs: instructions with that part stubbed out.

The profile behind docs/performance-notes.md ("Where a lookup's instructions go").
``python tests/benchmarks/insitu.py VARIANT ...`` counts the instructions per sequential
lookup of a two-account page (plain install, asyncio, the server in another process) as
instructions.py does, once per variant; the difference between two variants is what the
stubbed part costs in place, its share of the event loop and of aiohttp included.

Library variants (``+`` combines them): ``full``; ``no-decoding`` (the page decoded once,
before the loop); ``no-redaction``; ``no-retries`` (the attempt awaited directly);
``bare-transport`` (``send`` is ``session.request`` and ``read()``, without the limits,
checks and redaction); ``direct`` (build, send and decode called one after the other,
without the facade, the fetcher and the retry loop). Hand-written variants: ``raw`` (as in
instructions.py), ``raw-url-object`` (the URL handed to aiohttp ready-made, as the library
does), ``raw-library-request`` (the URL built by the library's request builder),
``raw-no-decoding`` and ``raw-url-object+raw-no-decoding``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from instructions import build_hooks, callgrind_count, child  # noqa: E402

LIBRARY = ("full", "no-decoding", "no-redaction", "no-retries", "bare-transport", "direct")
RAW = ("raw", "raw-url-object", "raw-library-request", "raw-no-decoding")


def stub(variant: str, base: str) -> str:  # noqa: C901 - one stub per part, in a row
    """Stub the parts ``variant`` names out; return the implementation to measure."""
    sys.modules["orjson"] = None  # type: ignore[assignment] # the plain install
    import run  # noqa: PLC0415 - after the orjson block
    import yarl  # noqa: PLC0415
    from multidict import CIMultiDict, CIMultiDictProxy  # noqa: PLC0415
    from server import TWO_ACCOUNTS  # noqa: PLC0415

    from juspay_accounts import _config, _fetcher, _request, _response, _transport  # noqa: PLC0415

    parts = set(variant.split("+"))
    if "no-decoding" in parts:
        page = _response.decode_list_response(200, CIMultiDictProxy(CIMultiDict()), TWO_ACCOUNTS)
        _response.decode_list_response = lambda *_args, **_kwargs: page
    if "no-redaction" in parts:
        _transport.redact_headers = lambda headers, _secrets: headers  # type: ignore[attr-defined,assignment]
    if "no-retries" in parts:

        async def direct(attempt: Any, *, attempt_timeout: float, **_kwargs: object) -> Any:  # noqa: ANN401
            return await attempt(attempt_timeout)

        _fetcher.call_with_retries = direct  # type: ignore[attr-defined,assignment]
    if "bare-transport" in parts:

        async def send(self: Any, request: Any, _limit: object) -> Any:  # noqa: ANN401
            session = self._owned
            if session is None or session.closed:
                session = await self._open_session(request.url)
            async with session.request(
                request.method, request.url, headers=request.headers, allow_redirects=False
            ) as response:
                return response.status, response.headers, await response.read()

        _transport.Transport.send = send  # type: ignore[method-assign,assignment]
    if "direct" in parts:

        async def lookup(self: Any, customer: str) -> int:  # noqa: ANN401
            client = self.client
            request = _request.build_list_request(client._settings, customer)
            status, headers, body = await client._transport.send(request, 30.0)
            return run.read_models(_response.decode_list_response(status, headers, body))

        run.Library.lookup = lookup  # type: ignore[method-assign]
    if not parts & set(RAW):
        return "library"
    settings = _config.make_settings(api_key=run.KEY, base_url=base, user_agent="bench")
    base_url = yarl.URL(base)

    async def raw_lookup(self: Any, customer: str) -> int:  # noqa: ANN401
        path = f"/customers/{customer}/customer-accounts/list"
        url: Any = run.url_of(self.base, customer)
        if "raw-url-object" in parts:
            url = base_url.with_path(path, encoded=True)
        elif "raw-library-request" in parts:
            url = _request.build_list_request(settings, customer).url
        async with self.session.get(url, headers=run.HEADERS) as response:
            body = await response.read()
            if response.status != 200:
                raise RuntimeError(response.status)
        return 2 if "raw-no-decoding" in parts else run.read_fields(json.loads(body))

    run.RawAiohttp.lookup = raw_lookup  # type: ignore[method-assign]
    return "aiohttp"


def count(variant: str, n: int, base: str, hooks: Path) -> int:
    """Instructions of one child running ``n`` lookups of ``variant``."""
    return callgrind_count(__file__, ["--child", variant, str(n), base], hooks)


def main() -> None:
    """Count every variant asked for and print instructions per lookup."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("variants", nargs="*", default=["full", "raw"])
    parser.add_argument("--n", type=int, default=50)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        variant, n, base = args.child
        child(stub(variant, base), "sequential", int(n), base, "asyncio", "plain")
        return
    known = set(LIBRARY) | set(RAW)
    for variant in args.variants:
        if not set(variant.split("+")) <= known:
            parser.error(f"unknown variant {variant!r}: any of {', '.join(sorted(known))}")
    import run  # noqa: PLC0415

    with tempfile.TemporaryDirectory() as directory, run.server() as base:
        hooks = build_hooks(Path(directory))
        if hooks is None:
            parser.error("the callgrind hooks cannot be built (a C compiler, valgrind's headers)")
        for variant in args.variants:
            small, large = (
                count(variant, args.n, base, hooks),
                count(variant, 5 * args.n, base, hooks),
            )
            print(f"{variant}: {(large - small) / (4 * args.n):,.0f} instructions per lookup")


if __name__ == "__main__":
    main()
