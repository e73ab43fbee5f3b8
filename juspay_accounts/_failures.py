"""Failures of one request: aiohttp's and asyncio's errors as the library's own, without the key.

aiohttp's ``ClientResponseError`` family keeps the request's headers (``Authorization``
among them); the messages built here keep only an error's class name and a one-line,
redacted message, and :func:`carries_request` tells the transport when the original must
not be chained.
"""

from __future__ import annotations

from typing import Final

import aiohttp

from juspay_accounts._redact import redact_text
from juspay_accounts.exceptions import (
    APICertificateError,
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    JuspayError,
)

__all__ = ["NEW_SESSION_HINT", "carries_request", "request_failure"]

_MESSAGE_CHARS: Final = 300
"""How much of an aiohttp error's message the library's own message keeps."""

NEW_SESSION_HINT: Final = (
    "a ClientSession belongs to the event loop it was created in: create the session and "
    "the client inside the loop that uses them, or pass no session and let the client make "
    "its own (one per event loop)"
)


def _one_line(text: str) -> str:
    """``text`` with its white space collapsed, cut to a few hundred characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _MESSAGE_CHARS else flat[: _MESSAGE_CHARS - 1] + "…"


def _describe(exc: BaseException, secrets: tuple[str, ...] = ()) -> str:
    """The class name and message of an aiohttp or asyncio error, never its request.

    ``secrets`` (the forms of the key) are replaced before the message is cut short: aiohttp
    quotes a bad status line or header, which a server may have made of the request's.
    """
    if isinstance(exc, aiohttp.ClientResponseError):
        text = f"{exc.status}, {exc.message}"  # str() would add the URL, repr() the headers
    else:
        text = str(exc)
    text = redact_text(text, secrets)
    return f"{type(exc).__name__}: {_one_line(text)}" if text else type(exc).__name__


def carries_request(exc: BaseException) -> bool:
    """Whether ``exc``, or an exception it chains, holds aiohttp's ``request_info``.

    ``ClientResponseError`` and its subclasses (raised for a bad status line, an oversized
    header, a broken chunk...) keep the request's headers there, ``Authorization`` included.
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if hasattr(current, "request_info"):
            return True
        pending += (current.__cause__, current.__context__)
    return False


def request_failure(
    exc: BaseException,
    host: str | None,
    time_limit: float | None,
    *,
    closed: bool,
    secrets: tuple[str, ...] = (),
) -> JuspayError:
    """The library's error for an aiohttp or asyncio failure of one request to ``host``.

    ``closed`` says whether the client was closed meanwhile; ``secrets`` (the forms of the
    key) never reach the message.
    """
    if isinstance(exc, TimeoutError):  # before ClientError: aiohttp's timeouts are both
        return APITimeoutError(
            f"no answer from {host} within {time_limit:.2f} s"
            if time_limit is not None
            else f"no answer from {host}: {_describe(exc, secrets)}, though this client set no "
            "time limit (the session's own timeout or middleware did)"
        )
    if isinstance(exc, aiohttp.ClientError):
        if closed:
            return ClientClosedError("the client was closed while this request was in flight")
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return APICertificateError(
                f"the TLS certificate of {host} could not be verified: {_describe(exc, secrets)}"
            )
        return APIConnectionError(f"request to {host} failed: {_describe(exc, secrets)}")
    # A RuntimeError: aiohttp's way to say a session cannot be used (closed, another loop).
    return ClientClosedError(
        f"the aiohttp session cannot send from this event loop ({_describe(exc, secrets)}): "
        f"{NEW_SESSION_HINT}"
    )
