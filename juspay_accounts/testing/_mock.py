"""MockTransport: answers from a function of yours, with no socket, after httpx's.

For tests that only need answers (retries, pagination, a fan-out's bookkeeping): pass
``AccountsClient(..., transport=MockTransport(handler))``. Everything the client does
above the wire runs as it does with aiohttp: building and checking requests, retries and
deadlines, the rate limit, decoding, redaction of the key. What goes on the wire itself
(headers as aiohttp sends them, compression, TLS) is tested against :class:`FakeJuspay`.
"""

from __future__ import annotations

import inspect
import json as jsonlib
from typing import TYPE_CHECKING

import attrs

from juspay_accounts._seam import TransportRequest, TransportResponse

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

__all__ = ["MockRequest", "MockResponse", "MockTransport"]

MockRequest = TransportRequest
"""What a handler is given: ``.method``, ``.url`` (a ``str``) and ``.headers``."""


@attrs.frozen(init=False)
class MockResponse:
    """An answer for a :class:`MockTransport` handler to return.

    ``MockResponse(200, json={...})`` sends the JSON (with ``Content-Type:
    application/json`` unless your headers say otherwise); ``content=b"..."`` sends the
    bytes as they are.

    Attributes:
        status_code: The HTTP status.
        content: The body.
        headers: The headers.
    """

    status_code: int
    content: bytes
    headers: Mapping[str, str]

    def __init__(
        self,
        status_code: int,
        *,
        json: object = None,
        content: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Build the answer; ``json`` (any JSON-ready value) wins over ``content``."""
        status: object = status_code  # checked at run time: tests pass what they pass
        body: object = content
        if isinstance(status, bool) or not isinstance(status, int):
            msg = f"status_code must be an int, got {status!r}"
            raise TypeError(msg)
        if not isinstance(body, bytes):
            msg = f"content must be bytes, got {type(body).__name__}"
            raise TypeError(msg)
        answer_headers = dict(headers or {})
        if json is not None:
            content = jsonlib.dumps(json).encode()
            if not any(name.lower() == "content-type" for name in answer_headers):
                answer_headers["Content-Type"] = "application/json"
        self.__attrs_init__(status_code, content, answer_headers)


class MockTransport:
    """A transport that answers every request with ``handler(request)``, sync or async.

    ``handler`` gets a :data:`MockRequest` (``.method``, ``.url`` as a ``str``, ``.headers``)
    and returns a :class:`MockResponse`. Raise
    :class:`~juspay_accounts.APIConnectionError` or :class:`TimeoutError` from it to act a
    connection failure or a timeout; ``requests`` keeps every request it was given.
    """

    def __init__(
        self, handler: Callable[[MockRequest], MockResponse | Awaitable[MockResponse]]
    ) -> None:
        """Answer with ``handler``."""
        given: object = handler
        if not callable(given):
            msg = f"handler must be callable, got {type(handler).__name__}"
            raise TypeError(msg)
        self.handler = handler
        self.requests: list[MockRequest] = []

    def __repr__(self) -> str:
        """The handler and how many requests it answered."""
        return f"<MockTransport handler={self.handler!r} requests={len(self.requests)}>"

    async def send(self, request: MockRequest, timeout: float | None) -> TransportResponse:  # noqa: ASYNC109
        """Record ``request`` and answer it with the handler (``timeout`` is not needed)."""
        del timeout
        self.requests.append(request)
        answer: object = self.handler(request)
        if inspect.isawaitable(answer):
            answer = await answer
        if not isinstance(answer, MockResponse):
            msg = f"the handler must return a MockResponse, got {type(answer).__name__}"
            raise TypeError(msg)
        return TransportResponse(answer.status_code, answer.headers, answer.content)
