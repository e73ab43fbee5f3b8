"""An in-process fake of Juspay's List Customer Accounts endpoint, on aiohttp.web."""

from __future__ import annotations

import asyncio
import base64
import collections
import datetime as dt
import json
import random
import string
import urllib.parse
import uuid
from typing import TYPE_CHECKING, Any, Final, Literal, Self

import attrs
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType

__all__ = ["DEFAULT_API_KEY", "FakeJuspay", "Fault", "RecordedRequest"]

DEFAULT_API_KEY: Final = "fake_juspay_test_key_0123456789"
"""The API key a :class:`FakeJuspay` accepts unless given another."""

_LIST_SUFFIX: Final = "/customer-accounts/list"
_EPOCH: Final = dt.datetime(2023, 6, 6, 13, 28, 55, tzinfo=dt.UTC)
_STATUSES: Final = ("CREATED", "ACTIVE", "PENDING", "FAILURE")


@attrs.frozen(kw_only=True)
class Fault:
    """Something to go wrong with a request, for :meth:`FakeJuspay.inject`.

    Build one with the class methods: :meth:`respond`, :meth:`drop_connection`,
    :meth:`cut_body_short`, :meth:`answer_late`.
    """

    kind: Literal["respond", "drop", "cut_short", "late"]
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = attrs.field(factory=dict)
    seconds: float = 0.0
    chunked: bool = False

    @classmethod
    def respond(
        cls,
        status: int,
        body: str | bytes = b"",
        *,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
        chunked: bool = False,
    ) -> Fault:
        """Answer ``status`` with ``body`` and ``headers`` (``Retry-After`` included) instead.

        ``content_type`` defaults to JSON for a body that starts with ``{`` or ``[``,
        else HTML for one that starts with ``<``, else plain text. ``chunked`` sends the
        body with chunked transfer encoding, so the client sees no ``Content-Length``.
        """
        raw = body.encode() if isinstance(body, str) else body
        if content_type is None:
            stripped = raw.lstrip()[:1]
            content_type = (
                "application/json"
                if stripped in (b"{", b"[")
                else "text/html"
                if stripped == b"<"
                else "text/plain"
            )
        all_headers = {"Content-Type": content_type, **(headers or {})}
        return cls(kind="respond", status=status, body=raw, headers=all_headers, chunked=chunked)

    @classmethod
    def drop_connection(cls) -> Fault:
        """Close the connection without answering.

        aiohttp's client quietly resends an idempotent request once on a fresh connection
        when this happens, so one drop is usually invisible to the caller: the server sees
        two requests.
        """
        return cls(kind="drop")

    @classmethod
    def cut_body_short(cls) -> Fault:
        """Answer 200 with the real body, but close the connection half-way through it."""
        return cls(kind="cut_short")

    @classmethod
    def answer_late(cls, seconds: float) -> Fault:
        """Wait ``seconds`` before answering normally (to trip a client's timeout)."""
        return cls(kind="late", seconds=seconds)


HTML_BAD_GATEWAY: Final = (
    b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)

CHAOS_FAULTS: Final = (
    Fault.respond(500, HTML_BAD_GATEWAY.replace(b"502 Bad Gateway", b"500 Internal Server Error")),
    Fault.respond(502, HTML_BAD_GATEWAY),
    Fault.respond(503, b"Service Temporarily Unavailable"),
    Fault.respond(504, HTML_BAD_GATEWAY.replace(b"502 Bad Gateway", b"504 Gateway Time-out")),
    Fault.respond(429, b"{}", headers={"Retry-After": "0"}),
    Fault.drop_connection(),
    Fault.cut_body_short(),
    Fault.answer_late(1.0),
)
"""The faults :meth:`FakeJuspay.chaos` picks from by default."""


@attrs.define
class _Scripted:
    fault: Fault
    remaining: int
    customer_id: str | None


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


def _timestamp(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _error_body(
    *,
    status: str,
    error_code: str,
    user_message: str,
    developer_message: str,
    code: str,
    request_id: str,
    error_message: str | None = None,
    fields: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    info: dict[str, Any] = {
        "user_message": user_message,
        "request_id": request_id,
        "href": "NA",
        "developer_message": developer_message,
        "code": code,
        "category": "USER_ERROR",
    }
    if fields is not None:
        info["fields"] = fields
    body: dict[str, Any] = {"status": status, "error_code": error_code, "error_info": info}
    if error_message is not None:
        body = {"error_message": error_message, **body}
    return body


class FakeJuspay:
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
        self._customers: dict[str, list[dict[str, Any]]] = {}
        self._random = random.Random(seed)  # noqa: S311 - fake ids, not secrets
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._url: str | None = None
        self._faults: list[_Scripted] = []
        self._chaos_rate = 0.0
        self._chaos_faults: Sequence[Fault] = CHAOS_FAULTS
        self._chaos_random = random.Random(seed)  # noqa: S311 - fault choice, not secrets
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
        await site.start()
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

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server."""
        await self.close()

    @property
    def url(self) -> str:
        """The base URL to give a client, e.g. ``http://127.0.0.1:54321``."""
        if self._url is None:
            msg = "the fake server is not started; use 'async with FakeJuspay() as fake'"
            raise RuntimeError(msg)
        return self._url

    # -- data -----------------------------------------------------------------

    def add_customer(self, customer_id: str) -> None:
        """Make ``customer_id`` known, with no accounts (its list is then empty, not 404)."""
        self._customers.setdefault(customer_id, [])

    def add_account(
        self,
        customer_id: str,
        *,
        vpa: str | None = None,
        bank_account: Mapping[str, Any] | None = None,
        validation_status: str = "ACTIVE",
        customer_account_id: str | None = None,
        currency: str = "INR",
        validation_amount: Any = 1,  # noqa: ANN401 - sent as given: number or string
        date_created: str | None = None,
        last_validated: str | None = None,
        position: int | None = None,
    ) -> dict[str, Any]:
        """Add an account to a customer (created if new) and return its JSON as served.

        Without ``vpa`` or ``bank_account``, a UPI VPA is made up. Ids, dates and
        ``last_validated`` (absent while ``CREATED``) get realistic values unless given.
        The account goes last, or at index ``position`` (to shift later pages mid-walk).
        """
        accounts = self._customers.setdefault(customer_id, [])
        created = _EPOCH + dt.timedelta(minutes=len(accounts), seconds=self._random.randrange(60))
        if bank_account is not None:
            details: dict[str, Any] = {"bank_account": dict(bank_account)}
        else:
            details = {"vpa": vpa or f"{self._random.randrange(10**9, 10**10)}@okaxis"}
        account: dict[str, Any] = {
            "customer_id": customer_id,
            "account_details": details,
            "currency": currency,
            "object": "customer_account",
            "validation_status": validation_status,
            "customer_account_id": customer_account_id or self._new_id("banh_"),
            "validation_amount": validation_amount,
            "date_created": date_created or _timestamp(created),
        }
        if last_validated is not None:
            account["last_validated"] = last_validated
        elif validation_status != "CREATED":
            account["last_validated"] = _timestamp(created + dt.timedelta(seconds=4))
        accounts.insert(len(accounts) if position is None else position, account)
        return account

    def remove_account(self, customer_id: str, customer_account_id: str) -> None:
        """Remove one account (to shrink ``total`` mid-walk)."""
        accounts = self._customers[customer_id]
        accounts[:] = [a for a in accounts if a.get("customer_account_id") != customer_account_id]

    def add_raw_account(self, customer_id: str, account: Mapping[str, Any]) -> None:
        """Serve ``account`` exactly as given: for odd or malformed shapes."""
        self._customers.setdefault(customer_id, []).append(dict(account))

    def make_bank_account(
        self, *, name: str = "Test Customer", bank_name: str = "SBI"
    ) -> dict[str, Any]:
        """A realistic ``bank_account`` object, to pass to :meth:`add_account`."""
        return {
            "account": "".join(self._random.choices(string.digits, k=15)),
            "name": name,
            "ifsc": "SBIN0" + "".join(self._random.choices(string.digits, k=6)),
            "juspay_bank_code": 12,
            "bank_name": bank_name,
        }

    def accounts_of(self, customer_id: str) -> list[dict[str, Any]]:
        """The accounts served for ``customer_id`` (a copy), in order."""
        return list(self._customers.get(customer_id, []))

    def _new_id(self, prefix: str) -> str:
        return prefix + "".join(self._random.choices(string.ascii_letters + string.digits, k=16))

    # -- faults ---------------------------------------------------------------

    def inject(self, fault: Fault, *, times: int = 1, customer_id: str | None = None) -> None:
        """Make the next ``times`` requests (only ``customer_id``'s, if given) suffer ``fault``.

        Faults queue in the order injected; each request takes the first that matches.
        """
        if times < 1:
            msg = f"times must be at least 1, got {times}"
            raise ValueError(msg)
        self._faults.append(_Scripted(fault=fault, remaining=times, customer_id=customer_id))

    def chaos(
        self, rate: float, *, faults: Sequence[Fault] | None = None, seed: int | None = None
    ) -> None:
        """From now on, make each request suffer a random fault with probability ``rate``.

        Scripted faults (:meth:`inject`) come first. ``faults`` defaults to
        :data:`CHAOS_FAULTS`: 5xx with HTML or text bodies, 429 with ``Retry-After: 0``, a
        dropped connection, a body cut short, a 1 s late answer. ``seed`` makes the choices
        repeat; ``chaos(0)`` stops it.
        """
        if not 0 <= rate <= 1:
            msg = f"rate must be between 0 and 1, got {rate}"
            raise ValueError(msg)
        self._chaos_rate = rate
        if faults is not None:
            self._chaos_faults = tuple(faults)
        if seed is not None:
            self._chaos_random.seed(seed)

    def clear_faults(self) -> None:
        """Forget every fault not yet used, and stop chaos."""
        self._faults.clear()
        self._chaos_rate = 0.0

    @property
    def pending_faults(self) -> int:
        """How many injected faults have not happened yet."""
        return sum(scripted.remaining for scripted in self._faults)

    def reset_counters(self) -> None:
        """Forget recorded requests, fault counts and the peak of concurrent requests."""
        self.requests.clear()
        self.fault_counts.clear()
        self.peak_in_flight = self.in_flight

    def _take_fault(self, customer_id: str | None) -> Fault | None:
        for scripted in self._faults:
            if scripted.customer_id is None or scripted.customer_id == customer_id:
                scripted.remaining -= 1
                if scripted.remaining == 0:
                    self._faults.remove(scripted)
                return scripted.fault
        if self._chaos_rate and self._chaos_random.random() < self._chaos_rate:
            return self._chaos_random.choice(self._chaos_faults)
        return None

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
        return await self._misbehave(fault, request, customer_id, query, request_id)

    async def _misbehave(
        self,
        fault: Fault,
        request: web.Request,
        customer_id: str | None,
        query: Mapping[str, str],
        request_id: str,
    ) -> web.StreamResponse:
        if fault.kind == "respond":
            headers = {"x-request-id": request_id, **fault.headers}
            if not fault.chunked:
                return web.Response(status=fault.status, body=fault.body, headers=headers)
            streamed = web.StreamResponse(status=fault.status, headers=headers)
            streamed.enable_chunked_encoding()
            await streamed.prepare(request)
            for start in range(0, len(fault.body), 65536):
                await streamed.write(fault.body[start : start + 65536])
            await streamed.write_eof()
            return streamed
        if fault.kind == "late":
            task = asyncio.current_task()
            if task is not None:
                self._late.add(task)
            try:
                await asyncio.sleep(fault.seconds)
            finally:
                self._late.discard(task)
            return self._answer(request, customer_id, query, request_id)
        transport = request.transport
        if fault.kind == "drop" or transport is None:
            if transport is not None:
                transport.abort()
            # aiohttp.web treats a cancelled handler on a closed connection as a quiet
            # client disconnection.
            raise asyncio.CancelledError
        answer = self._answer(request, customer_id, query, request_id)
        body = answer.body if isinstance(answer.body, bytes) else b""
        response = web.StreamResponse(status=answer.status, headers=answer.headers)
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[: len(body) // 2])
        transport.close()
        return response

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
            return self._not_found(
                request_id,
                "Cannot find what you are looking for.",
                f"No route for {request.method} {request.raw_path[:200]}.",
            )
        if request.method != "GET":
            return self._json(
                405, request_id, {"status": "error", "error_code": "method_not_allowed"}
            )
        if request.headers.get("Authorization") != self._expected_auth:
            return self._json(
                401,
                request_id,
                _error_body(
                    status="error",
                    error_code="access_denied",
                    user_message="Unauthorized.",
                    developer_message="Invalid API Key. Please pass a valid and active api key.",
                    code="UNAUTHORIZED",
                    request_id=request_id,
                ),
            )
        if not request.headers.get("x-routing-id"):
            return self._invalid(
                request_id,
                "x-routing-id",
                "Mandatory header missing.",
                code="MISSING_MANDATORY_PARAMETER",
            )
        window = self._window(query)
        if isinstance(window, str):
            return self._invalid(request_id, window, "Invalid value.")
        if customer_id not in self._customers:
            return self._not_found(
                request_id,
                "Cannot process your request as customer account not found.",
                "Customer account not found.",
            )
        accounts = self._customers[customer_id]
        offset, count = window
        if count is None:
            count = len(accounts)
        if self.max_page_size is not None:
            count = min(count, self.max_page_size)
        page = accounts[offset : offset + count]
        return self._json(
            200,
            request_id,
            {
                "list": page,
                "offset": offset,
                "count": len(page),
                "total": len(accounts),
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

    def _not_found(
        self, request_id: str, user_message: str, developer_message: str
    ) -> web.Response:
        """Juspay's 404 body (the seed page's)."""
        return self._json(
            404,
            request_id,
            _error_body(
                error_message="Cannot find what you are looking for",
                status="invalid_request_error",
                error_code="object_not_found",
                user_message=user_message,
                developer_message=developer_message,
                code="RESOURCE_NOT_FOUND",
                request_id=request_id,
            ),
        )

    def _invalid(
        self, request_id: str, field: str, reason: str, *, code: str = "INVALID_INPUT"
    ) -> web.Response:
        return self._json(
            400,
            request_id,
            _error_body(
                error_message=f"Wrong value in {field}",
                status="Invalid Request",
                error_code="Invalid Request",
                user_message=f"Invalid value in {field}.",
                developer_message=f"{reason} ({field})",
                code=code,
                request_id=request_id,
                fields=[{"field_name": field, "reason": reason}],
            ),
        )

    @staticmethod
    def _json(status: int, request_id: str, body: Mapping[str, Any]) -> web.Response:
        return web.Response(
            status=status,
            body=json.dumps(body).encode(),
            content_type="application/json",
            headers={"x-request-id": request_id},
        )
