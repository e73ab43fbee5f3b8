"""Everything the library raises, so callers can catch exactly what they can act on.

::

    JuspayError                     the root: catch it to catch all the library raises
    ├── APIError                    a non-2xx answer from Juspay (or a proxy before it)
    │   ├── BadRequestError         400: the request was invalid; see .fields
    │   ├── AuthenticationError     401: the API key was missing, wrong or inactive
    │   ├── PermissionDeniedError   403: the origin/IP or merchant is not allowed
    │   ├── NotFoundError           404: no such customer
    │   ├── RateLimitError          429: too many requests; see .retry_after
    │   └── ServerError             5xx: Juspay or a proxy failed; usually transient
    ├── APIConnectionError          no usable answer: refused, reset, DNS, TLS, cut off
    │   ├── APITimeoutError         no answer in time
    │   └── APICertificateError     TLS certificate not trusted: never retried
    ├── ResponseValidationError     a 2xx answer whose body is not what Juspay documents
    ├── PaginationError             pages that do not add up: a walk that would loop
    ├── InvalidInputError           (also a ValueError) an id that cannot be sent
    ├── ClientClosedError           (also a RuntimeError) client or session closed
    └── RateLimitStoreError         the rate limit's shared store (Redis) failed

Every exception carries ``request_id`` (Juspay's, when the server sent one; quote it to
Juspay support) and a one-line ``str()`` that ends with what to do about it. Messages
never contain the API key.

An invalid argument fails before anything is sent: an empty customer id or one with
control characters is an :class:`InvalidInputError`, which is also a ``ValueError``; a
negative offset is a plain ``ValueError``, a value of the wrong type a ``TypeError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Final

import attrs

from juspay_accounts._models import freeze_headers

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from multidict import CIMultiDictProxy

__all__ = [
    "APICertificateError",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ErrorField",
    "InvalidInputError",
    "JuspayError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitError",
    "RateLimitStoreError",
    "ResponseValidationError",
    "ServerError",
]

BODY_LIMIT: Final = 2048
"""How many characters of a response body an exception keeps in ``body``."""


@attrs.frozen
class ErrorField:
    """One invalid input named by a 400 answer (``error_info.fields[]``).

    Attributes:
        name: The field Juspay complained about (``field_name``).
        reason: Why (``reason``), e.g. ``"Invalid value."``.
    """

    name: str | None
    reason: str | None


def _restore(cls: type[JuspayError], args: tuple[Any, ...]) -> JuspayError:
    """An exception of ``cls`` with ``args``, its ``__init__`` not run (pickling's first step).

    Its attributes come next, from the pickled ``__dict__`` (see ``JuspayError.__setstate__``).
    """
    error = cls.__new__(cls)
    error.args = args
    return error


class JuspayError(Exception):
    """The root of every error this library raises.

    Attributes:
        request_id: Juspay's id for the failed request, when known. Quote it to Juspay
            support.
        attempts: How many attempts the call made before giving up with this error.
        not_retried: Why a retryable error was not retried, when a rule stopped it (the
            client's retry budget); ``None`` otherwise. ``str()`` says it too.
    """

    hint: ClassVar[str] = ""
    """What a caller can do about this kind of error; ends ``str()``."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        """Create the error with a message and, when known, Juspay's request id."""
        self.request_id = request_id
        self.attempts = 1
        self.not_retried: str | None = None
        super().__init__(message)

    def __str__(self) -> str:
        """One line: what happened, the request id, and what to do."""
        parts = [str(self.args[0]) if self.args else type(self).__name__]
        if self.request_id:
            parts.append(f"(request id {self.request_id})")
        if self.attempts > 1:
            parts.append(f"after {self.attempts} attempts")
        if self.not_retried:
            parts.append(f"({self.not_retried})")
        if self.hint:
            parts.append(f"- {self.hint}")
        return " ".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle any error of the tree the same way: its class, its args, its attributes.

        ``Exception``'s own pickling calls ``cls(*args)``, which keyword-only constructors
        refuse; here no constructor runs. Headers travel as pairs (a multidict proxy does
        not pickle) and come back read-only.
        """
        state = dict(self.__dict__)
        headers = state.get("headers")
        if headers is not None:
            state["headers"] = tuple(headers.items())
        return (_restore, (type(self), self.args), state)

    def __setstate__(self, state: dict[str, Any] | None) -> None:
        """Restore the attributes :meth:`__reduce__` kept."""
        if state is None:
            return
        if isinstance(state.get("headers"), tuple):
            state = {**state, "headers": freeze_headers(state["headers"])}
        self.__dict__.update(state)


class APIError(JuspayError):
    """Juspay, or a proxy in front of it, answered with a status that is not 2xx.

    Any field Juspay left out is ``None``. The classes below are chosen by status;
    any other non-2xx status (including a redirect, which is never followed so that the
    API key cannot leave ``base_url``) raises a plain :class:`APIError`.

    Attributes:
        status: The HTTP status code.
        error_code: The body's ``error_code``, e.g. ``"object_not_found"``.
        code: ``error_info.code``, e.g. ``"RESOURCE_NOT_FOUND"``.
        category: ``error_info.category``, e.g. ``"USER_ERROR"``.
        user_message: A message meant for end users.
        developer_message: A message meant for developers.
        error_message: The body's top-level ``error_message``.
        fields: The invalid inputs a 400 names.
        retry_after: Seconds to wait before trying again, when the server said so
            (``Retry-After``), else ``None``.
        body: The response body as text, cut to 2048 characters.
        headers: Every header of the answer, read-only and looked up in any case
            (``error.headers.get("x-ratelimit-reset")``); empty when no answer came (a
            rate-limit hold that failed the call before sending).
    """

    headers: CIMultiDictProxy[str]

    def __init__(
        self,
        *,
        status: int,
        error_code: str | None = None,
        code: str | None = None,
        category: str | None = None,
        user_message: str | None = None,
        developer_message: str | None = None,
        error_message: str | None = None,
        fields: tuple[ErrorField, ...] = (),
        retry_after: float | None = None,
        body: str = "",
        request_id: str | None = None,
        message: str | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> None:
        """Create the error from the parts of Juspay's answer (all but ``status`` optional)."""
        self.status = status
        self.headers = freeze_headers(headers)
        self.error_code = error_code
        self.code = code
        self.category = category
        self.user_message = user_message
        self.developer_message = developer_message
        self.error_message = error_message
        self.fields = fields
        self.retry_after = retry_after
        self.body = body[:BODY_LIMIT]
        if message is None:
            message = self._summary()
        super().__init__(message, request_id=request_id)

    def _summary(self) -> str:
        codes = "/".join(c for c in (self.error_code, self.code) if c)
        head = f"HTTP {self.status}" + (f" {codes}" if codes else "")
        text = self.developer_message or self.error_message or self.user_message
        if text is None and self.body:
            text = "body: " + _one_line(self.body, 120)
        if self.fields:
            text = (
                (text or "") + " [" + "; ".join(f"{f.name}: {f.reason}" for f in self.fields) + "]"
            )
        return f"{head}: {text}" if text else head


class BadRequestError(APIError):
    """400: Juspay rejected the request as invalid; ``fields`` says which inputs."""

    hint = "Fix the request: the fields above name what Juspay rejected."


class AuthenticationError(APIError):
    """401: the API key was missing, wrong or inactive."""

    hint = (
        "Check the API key, and that it belongs to this environment "
        "(a sandbox key does not work in production)."
    )


class PermissionDeniedError(APIError):
    """403: the calling origin, IP or merchant is not allowed."""

    hint = (
        "Juspay refused this caller: allow-list the server's IP in the Juspay "
        "dashboard, or check the merchant id."
    )


class NotFoundError(APIError):
    """404: Juspay does not know this customer (in this environment)."""

    hint = "Check the customer id, and that it exists in this environment."


class RateLimitError(APIError):
    """429: too many requests. ``retry_after`` says when to come back, if the server said."""

    hint = "Slow down and retry later."

    def __str__(self) -> str:
        """One line, with when to retry when the server said."""
        text = super().__str__()
        if self.retry_after is not None:
            text += f" Retry after {self.retry_after:g} s."
        return text


class ServerError(APIError):
    """5xx: Juspay, or a proxy or load balancer in front of it, failed. Usually transient."""

    hint = (
        "Juspay or a proxy in front of it failed; retrying later usually works. "
        "Quote the request id to Juspay support if it persists."
    )


class APIConnectionError(JuspayError):
    """No usable answer arrived: connection refused or reset, DNS or TLS failure, a body cut short.

    Raised ``from`` the underlying aiohttp or asyncio error.
    """

    hint = "Check the network and base_url; retrying usually helps with a flaky network."


class APITimeoutError(APIConnectionError):
    """Juspay did not answer within the timeout."""

    hint = "Juspay did not answer in time; retry, or raise the client's timeout."


class APICertificateError(APIConnectionError):
    """The server's TLS certificate could not be verified: not retried, as it will not change.

    It means a proxy that inspects TLS, a private CA the client does not trust, a wrong
    ``base_url`` host, or an expired certificate, not a flaky network. Trust the CA with
    ``AccountsClient(..., ssl_context=ssl.create_default_context(cafile=...))``; this library
    has no way to switch verification off.
    """

    hint = (
        "The certificate is not trusted here: for a TLS-inspecting proxy or a private CA, pass "
        "ssl_context= with that CA (see 'In production' in the docs); check base_url's host."
    )


class ResponseValidationError(JuspayError):
    """A 2xx answer whose body is not the documented shape.

    The message names the path that failed, e.g. ``$.list[3].date_created``.

    Attributes:
        status: The HTTP status of the answer.
        errors: Each problem found, as ``"<what> @ <path>"``: the first 100, then one
            line that says how many more were not kept or not checked.
        body: The response body as text, cut to 2048 characters.
    """

    hint = (
        "Juspay's answer did not match its documented shape; report it with the request "
        "id (and the body, minus personal data) to the juspay-accounts maintainers."
    )

    def __init__(
        self,
        message: str,
        *,
        status: int,
        errors: tuple[str, ...] = (),
        body: str = "",
        request_id: str | None = None,
    ) -> None:
        """Create the error with what failed, where, and the answer it came from."""
        self.status = status
        self.errors = errors
        self.body = body[:BODY_LIMIT]
        super().__init__(message, request_id=request_id)


class PaginationError(JuspayError):
    """The pages of a walk do not add up, so following them could loop forever.

    Raised when a page comes back at another offset than asked (the server ignores
    ``offset``), when a page brings only accounts already seen while ``total`` stands still,
    or when a walk needs more pages than its ``max_pages``. Accounts yielded before it are
    all valid and distinct.

    Attributes:
        customer_id: The customer being walked.
        offset: The offset of the request whose page was refused.
    """

    hint = (
        "The server's pages are inconsistent; retry later, and report it with the request "
        "id if it persists."
    )

    def __init__(
        self, message: str, *, customer_id: str, offset: int, request_id: str | None = None
    ) -> None:
        """Create the error for ``customer_id``'s walk at ``offset``."""
        self.customer_id = customer_id
        self.offset = offset
        super().__init__(message, request_id=request_id)


class InvalidInputError(JuspayError, ValueError):
    """An id that cannot be sent: empty, blank, with control characters or a lone surrogate.

    A lone surrogate (U+DC80 to U+DCFF is what Python makes of undecodable bytes in argv) has
    no UTF-8 form, so it could not go in a URL or a header. Raised before anything is sent.
    It is a ``ValueError`` too, so ``except ValueError`` catches it; in a fan-out it becomes
    that customer's error and the others go on.
    """

    # Ids and header values alike: the message names which value it was.
    hint = "Fix the value named above: it is sent as given, so it must be non-blank printable text."


class ClientClosedError(JuspayError, RuntimeError):
    """The client cannot send any more: it, or the session it sends with, is closed or unusable.

    Raised when the client was closed (before this call, or while it was in flight or
    waiting to retry), when a session you passed is closed, or when that session belongs to
    another event loop than the running one (an aiohttp session serves only the loop it was
    created in). The message says which. Never retried. A fan-out stops at it rather than
    reporting it for every customer.
    """

    hint = (
        "Create a new AccountsClient (and session) in the event loop that uses it, or close "
        "it only when the application shuts down."
    )


class RateLimitStoreError(JuspayError):
    """The rate limit's shared store could not be used, so nothing was sent.

    Raised before an attempt when Redis cannot be reached within a couple of seconds (or
    refuses the command), and by :class:`RateLimit` at construction when a ``redis://``
    store is asked for without the ``redis`` extra installed. Never retried by the retry
    policy: sending anyway would break the budget every process shares. The next call
    tries Redis again, so calls succeed again as soon as it is back.
    """

    hint = (
        "Check that the rate limit's Redis is running and reachable, or install the "
        "redis extra; the calls go through again once it is back."
    )


def _one_line(text: str, limit: int) -> str:
    """Collapse white space and cut ``text`` to ``limit`` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
