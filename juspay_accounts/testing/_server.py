"""The fake's HTTP side: :class:`FakeJuspay`, a loopback aiohttp.web server, and its handler.

The data it serves is its :class:`._store.AccountStore` half, the faults it suffers its
:class:`._faults.FaultSchedule` half; Juspay's answer bodies come from :mod:`._error_bodies`.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import random
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any, Final, Self

import attrs
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

from juspay_accounts.testing import _error_bodies
from juspay_accounts.testing._faults import FaultSchedule, act_out
from juspay_accounts.testing._store import AccountStore

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["DEFAULT_API_KEY", "FakeJuspay", "RecordedRequest"]

DEFAULT_API_KEY: Final = "fake_juspay_test_key_0123456789"
"""The API key a :class:`FakeJuspay` accepts unless given another."""

_LIST_SUFFIX: Final = "/customer-accounts/list"


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request as the fake server received it, for assertions.

    Attributes:
        method: The HTTP method.
        raw_path: The path exactly as sent, still percent-encoded, without the query.
        query: The decoded query parameters (the first value of each).
        query_string: The query exactly as sent.
        headers: The request headers (case-insensitive look-ups).
        customer_id: The decoded customer id, when the path was the list endpoint.
        fault: The kind of fault injected into the answer, or ``None``.
    """

    method: str
    raw_path: str
    query: Mapping[str, str]
    query_string: str
    headers: CIMultiDictProxy[str] = attrs.field(repr=False)
    customer_id: str | None
    fault: str | None = None


class FakeJuspay(AccountStore, FaultSchedule):
    """A fake Juspay that serves ``GET /customers/{id}/customer-accounts/list`` on 127.0.0.1.

    It behaves like the real endpoint as documented: it checks HTTP Basic auth exactly
    (Juspay's 401 body otherwise), requires ``x-routing-id``, answers an unknown customer
    with Juspay's 404 body, honours ``offset`` and ``count`` (with an optional maximum
    page size, as a real server may return fewer accounts than asked), returns the
    documented envelope, sets ``x-request-id`` on every answer, and records every request.

    ::

        async with FakeJuspay() as fake:
            fake.add_account("cst_1", vpa="alice@upi")
            async with AccountsClient(fake.api_key, base_url=fake.url) as client:
                page = await client.list_accounts("cst_1")

    Args:
        api_key: The only API key accepted.
        max_page_size: The most accounts one answer holds, whatever ``count`` asks for.
        seed: Seeds the generated ids and account numbers, so runs repeat.
        latency: Seconds every answer takes (0 answers at once). A little latency lets
            concurrent requests overlap, so :attr:`peak_in_flight` measures concurrency.
        host: The address to listen on (loopback by default).
        port: The port; 0 picks a free one.
    """

    def __init__(
        self,
        *,
        api_key: str = DEFAULT_API_KEY,
        max_page_size: int | None = None,
        seed: int = 0,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        """Configure the server; :meth:`start` (or ``async with``) starts it."""
        self.api_key = api_key
        self.max_page_size = max_page_size
        self.latency = latency
        self.requests: list[RecordedRequest] = []
        self._expected_auth = "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()
        # One generator for made-up ids and request ids, so that a seed repeats a run.
        AccountStore.__init__(self, random.Random(seed))  # noqa: S311 - fake ids, not secrets
        FaultSchedule.__init__(self, seed)
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self.fault_counts: collections.Counter[str] = collections.Counter()
        """How many faults of each kind were injected (scripted or by chaos)."""
        self._late: set[asyncio.Task[Any]] = set()
        self.in_flight = 0
        """Requests being answered right now."""
        self.peak_in_flight = 0
        """The most requests ever answered at once (see :meth:`reset_counters`)."""

    def __repr__(self) -> str:
        """Where it listens and what it holds, never the API key."""
        return f"<FakeJuspay url={self._url!r} customers={len(self._customers)}>"

    # -- lifecycle ------------------------------------------------------------

    async def start(self) -> Self:
        """Start listening; :attr:`url` is set from then on."""
        if self._runner is not None:
            return self
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(
            app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=0,
            # A client that gives up (a timeout, a cancellation) ends its handler, as on a
            # real server, instead of leaving it to finish a late answer.
            handler_cancellation=True,
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except BaseException:  # a port in use: nothing is left behind
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        self._url = f"http://{self._host}:{port}"
        return self

    async def close(self) -> None:
        """Stop listening and close open connections. Calling it again does nothing."""
        runner, self._runner = self._runner, None
        for task in self._late:
            task.cancel()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        """Start the server."""
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the server."""
        await self.close()

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:54321``."""
        if self._url is None:
            msg = "the fake server is not started; use 'async with FakeJuspay() as fake'"
            raise RuntimeError(msg)
        return self._url

    def reset_counters(self) -> None:
        """Forget recorded requests, fault counts and the peak of concurrent requests."""
        self.requests.clear()
        self.fault_counts.clear()
        self.peak_in_flight = self.in_flight

    # -- serving --------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            return await self._serve(request)
        finally:
            self.in_flight -= 1

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        customer_id = self._customer_in(request.raw_path.partition("?")[0])
        query = {key: request.query[key] for key in request.query}
        fault = self._take_fault(customer_id)
        if fault is not None:
            self.fault_counts[fault.kind] += 1
        self.requests.append(
            RecordedRequest(
                method=request.method,
                raw_path=request.raw_path.partition("?")[0],
                query=query,
                query_string=request.query_string,
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
                customer_id=customer_id,
                fault=None if fault is None else fault.kind,
            )
        )
        request_id = str(uuid.UUID(int=self._random.getrandbits(128), version=4))
        if fault is None:
            return self._answer(request, customer_id, query, request_id)
        return await act_out(
            fault,
            request,
            request_id,
            lambda: self._answer(request, customer_id, query, request_id),
            self._late,
        )

    @staticmethod
    def _customer_in(raw_path: str) -> str | None:
        """The decoded customer id if the path is the list endpoint, else ``None``."""
        if not raw_path.startswith("/customers/") or not raw_path.endswith(_LIST_SUFFIX):
            return None
        segment = raw_path[len("/customers/") : -len(_LIST_SUFFIX)]
        if not segment or "/" in segment:
            return None
        return urllib.parse.unquote(segment)

    def _answer(  # noqa: PLR0911 - one return per documented answer, in Juspay's order
        self,
        request: web.Request,
        customer_id: str | None,
        query: Mapping[str, str],
        request_id: str,
    ) -> web.Response:
        if customer_id is None:
            return _error_bodies.not_found(
                request_id,
                "Cannot find what you are looking for.",
                f"No route for {request.method} {request.raw_path[:200]}.",
            )
        if request.method != "GET":
            return _error_bodies.method_not_allowed(request_id)
        if request.headers.get("Authorization") != self._expected_auth:
            return _error_bodies.unauthorized(request_id)
        if not request.headers.get("x-routing-id"):
            return _error_bodies.invalid(
                request_id,
                "x-routing-id",
                "Mandatory header missing.",
                code="MISSING_MANDATORY_PARAMETER",
            )
        window = self._window(query)
        if isinstance(window, str):
            return _error_bodies.invalid(request_id, window, "Invalid value.")
        if not self._knows(customer_id):
            return _error_bodies.not_found(
                request_id,
                "Cannot process your request as customer account not found.",
                "Customer account not found.",
            )
        offset, count = window
        page, total = self._page(customer_id, offset, count, self.max_page_size)
        return _error_bodies.json_answer(
            200,
            request_id,
            {
                "list": page,
                "offset": offset,
                "count": len(page),
                "total": total,
                "object": "list",
            },
        )

    @staticmethod
    def _window(query: Mapping[str, str]) -> tuple[int, int | None] | str:
        """``(offset, count)`` from the query, or the name of the invalid parameter."""
        values: dict[str, int | None] = {"offset": 0, "count": None}
        for name in values:
            raw = query.get(name)
            if raw is None:
                continue
            if not raw.isdecimal():
                return name
            values[name] = int(raw)
        offset = values["offset"] or 0
        return offset, values["count"]
