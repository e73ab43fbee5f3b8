"""The fault-injection language: :class:`Fault`, scripted and chaos faults, how each plays out."""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs
from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

__all__ = ["CHAOS_FAULTS", "Fault", "FaultSchedule", "act_out"]


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


class FaultSchedule:
    """Which request suffers which fault: scripted ones first, then chaos at random.

    :class:`~juspay_accounts.testing.FakeJuspay` is one, so these methods are its own.
    """

    def __init__(self, seed: int) -> None:
        """No faults scripted and no chaos; ``seed`` seeds chaos's choices."""
        self._faults: list[_Scripted] = []
        self._chaos_rate = 0.0
        self._chaos_faults: Sequence[Fault] = CHAOS_FAULTS
        self._chaos_random = random.Random(seed)  # noqa: S311 - fault choice, not secrets

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


async def act_out(
    fault: Fault,
    request: web.Request,
    request_id: str,
    answer: Callable[[], web.Response],
    late: set[asyncio.Task[Any]],
) -> web.StreamResponse:
    """Answer ``request`` as ``fault`` says; ``answer()`` makes the normal answer.

    A late answer's task is in ``late`` while it waits, so that closing the server can
    cancel it.
    """
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
            late.add(task)
        try:
            await asyncio.sleep(fault.seconds)
        finally:
            late.discard(task)
        return answer()
    transport = request.transport
    if fault.kind == "drop" or transport is None:
        if transport is not None:
            transport.abort()
        # aiohttp.web treats a cancelled handler on a closed connection as a quiet
        # client disconnection.
        raise asyncio.CancelledError
    normal = answer()
    body = normal.body if isinstance(normal.body, bytes) else b""
    response = web.StreamResponse(status=normal.status, headers=normal.headers)
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(body[: len(body) // 2])
    transport.close()
    return response
