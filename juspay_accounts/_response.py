"""Deciphering the answer: ``(status, headers, body)`` in, an :class:`AccountPage` or an error out.

Sans-I/O, like :mod:`._request`: no sockets, no event loop. The transport only moves bytes
between these functions and the network, so everything Juspay-specific here is tested
with plain values.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import logging
import re
from typing import TYPE_CHECKING, Any, Final

import cattrs

from juspay_accounts import _json
from juspay_accounts._builders import page_builder
from juspay_accounts._converter import InvalidValueError, describe_errors, make_converter
from juspay_accounts._models import AccountPage, CustomerAccount
from juspay_accounts._redact import redact_answer
from juspay_accounts.exceptions import (
    BODY_LIMIT,
    APIError,
    AuthenticationError,
    BadRequestError,
    ErrorField,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServerError,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import TypeAlias

    from juspay_accounts._redact import Secrets

    _AccountHook: TypeAlias = Callable[[Any, type[CustomerAccount]], CustomerAccount]

__all__ = ["account_hooks", "decode_error", "decode_list_response", "parse_retry_after"]

_LOG: Final = logging.getLogger("juspay_accounts")
_MAX_REPORTED_ERRORS: Final = 5
_MAX_KEPT_ERRORS: Final = 100
_ERROR_CLASSES: Final[Mapping[int, type[APIError]]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    429: RateLimitError,
}


_PERSONAL_VALUE: Final = re.compile(
    r'("(?:account|vpa|name)"\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*)'
)


def _body_text(body: bytes) -> str:
    """The body as text for an exception: cut short, with account numbers, VPAs and names masked."""
    # Four bytes a character at most in UTF-8: enough bytes for BODY_LIMIT characters.
    text = body[: BODY_LIMIT * 4].decode(errors="replace")
    text = _PERSONAL_VALUE.sub(lambda m: m.group(1) + '"<masked>"', text)
    return text[:BODY_LIMIT]


def _text(value: object) -> str | None:
    """A JSON scalar as text; anything else as ``None``."""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


_DELTA_SECONDS: Final = re.compile(r"\d{1,30}(?:\.\d{1,9})?", re.ASCII)


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Read a ``Retry-After`` header: delta-seconds or an HTTP-date, as seconds from ``now``.

    Returns ``None`` (the header is ignored) for a missing or unreadable value, a negative
    one, and a date in the past. How long a client actually holds back is capped
    elsewhere, by the retry policy's ``max_retry_after``.
    """
    if value is None:
        return None
    value = value.strip()
    if _DELTA_SECONDS.fullmatch(value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    return seconds if seconds >= 0 else None


def _fields(info: Mapping[str, Any]) -> tuple[ErrorField, ...]:
    raw = info.get("fields")
    if not isinstance(raw, list):
        return ()
    return tuple(
        ErrorField(name=_text(item.get("field_name")), reason=_text(item.get("reason")))
        for item in raw
        if isinstance(item, dict)
    )


def decode_error(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: dt.datetime | None = None,
) -> APIError:
    """Turn a non-2xx answer of any shape into the matching :class:`APIError`.

    Every documented shape is understood (``error_info`` with or without ``fields``,
    the 403 ``"error": true`` shape, legacy bodies without ``error_info``), and so is
    anything else: HTML or text from a proxy, an empty body. Missing fields are ``None``.
    ``headers`` must look keys up case-insensitively (aiohttp's headers do).
    """
    data, _ = _json.load_json(body)
    top: Mapping[str, Any] = data if isinstance(data, dict) else {}
    info = top.get("error_info")
    info = info if isinstance(info, dict) else {}
    retry_after = parse_retry_after(headers.get("Retry-After"), now=now)
    message = None
    if 300 <= status < 400:  # noqa: PLR2004 - the redirect range
        location = headers.get("Location", "")
        message = (
            f"HTTP {status} redirect to {location[:200]!r} was not followed, so that the API "
            "key never leaves base_url: check base_url (https, the right host)"
        )
    if status in _ERROR_CLASSES:
        cls = _ERROR_CLASSES[status]
    elif 500 <= status < 600:  # noqa: PLR2004 - the server-error range
        cls = ServerError
    else:
        cls = APIError
    return cls(
        status=status,
        error_code=_text(top.get("error_code")),
        code=_text(info.get("code")),
        category=_text(info.get("category")),
        user_message=_text(info.get("user_message")) or _text(top.get("user_message")),
        developer_message=_text(info.get("developer_message")),
        error_message=_text(top.get("error_message")),
        fields=_fields(info),
        retry_after=retry_after,
        body=_body_text(body),
        request_id=_text(info.get("request_id")) or headers.get("x-request-id"),
        message=message,
        headers=headers,
    )


def _invalid(
    errors: list[str], status: int, headers: Mapping[str, str], body: bytes
) -> ResponseValidationError:
    shown = "; ".join(errors[:_MAX_REPORTED_ERRORS])
    if len(errors) > _MAX_REPORTED_ERRORS:
        shown += f"; and {len(errors) - _MAX_REPORTED_ERRORS} more"
    return ResponseValidationError(
        f"HTTP {status} answer could not be read: {shown}",
        status=status,
        errors=tuple(errors),
        body=_body_text(body),
        request_id=headers.get("x-request-id"),
    )


# Beyond any real count; a number this size is read the same by orjson and json.
_MAX_COUNT: Final = 10**18


def _count_field(value: object, key: str, default: int, errors: list[str]) -> int:
    """Read the count ``key``, which Juspay may send as a number or a string (or leave out)."""
    if value is None:
        return default
    # A plain int reaches here only when it is out of range (decode_list_response takes
    # the others as they are), and a bool is no count: both are refused below.
    number: int | None = None
    if isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdecimal() and len(value.strip()) <= 18:  # noqa: PLR2004 - see _MAX_COUNT
        number = int(value.strip())
    if number is None or not 0 <= number < _MAX_COUNT:
        errors.append(f"expected a non-negative whole number, got {value!r:.40} @ $.{key}")
        return default
    return number


def _drop_tracebacks(exc: BaseException) -> None:
    """Forget where a described failure happened, once its messages are made.

    cattrs' tracebacks form reference cycles with its frames, which would keep the whole
    parsed page alive until the next full garbage collection (21 MB for 300,000 ``{}``).
    """
    exc.__traceback__ = None
    for inner in getattr(exc, "exceptions", ()):
        _drop_tracebacks(inner)


@functools.cache
def account_hooks() -> tuple[_AccountHook, _AccountHook]:
    """The fast and the detailed structure hooks for an account, built on first use.

    Not at import time: mutation testing (``nox -s mutation``) only reaches code that runs
    during a test, and building them costs nothing later.
    """
    fast = make_converter(detailed_validation=False).get_structure_hook(CustomerAccount)
    detailed = make_converter(detailed_validation=True).get_structure_hook(CustomerAccount)
    return fast, detailed


def _structure_accounts(items: list[Any], errors: list[str]) -> tuple[CustomerAccount, ...]:
    fast, detailed = account_hooks()
    try:
        # The fast converter, on the path every good page takes: about twice as fast.
        return tuple([fast(item, CustomerAccount) for item in items])
    except Exception as exc:  # noqa: BLE001 - any failure is looked at again, in detail, below
        # Observable, so that a fast path broken for good pages cannot hide behind this
        # fallback (the tests check that well-formed pages never log it). Only the type:
        # the message may quote the page.
        _LOG.debug(
            "the fast decoder refused a page (%s); decoding it again in detail",
            type(exc).__name__,
            extra={"juspay_decoder_fallback": type(exc).__name__},
        )
    accounts = []
    checked = 0
    # The detailed converter costs about 50 µs per broken account and a few hundred bytes
    # per message: stopping at _MAX_KEPT_ERRORS keeps a page of 300,000 "{}" (under 1 MiB)
    # to milliseconds and a small exception, where checking them all took 15 s and 200 MB.
    while checked < len(items) and len(errors) < _MAX_KEPT_ERRORS:
        try:
            accounts.append(detailed(items[checked], CustomerAccount))
        except (cattrs.BaseValidationError, InvalidValueError, KeyError, TypeError) as exc:
            errors.extend(describe_errors(exc, f"$.list[{checked}]"))
            _drop_tracebacks(exc)
        checked += 1
    if len(errors) > _MAX_KEPT_ERRORS or checked < len(items):
        not_kept = len(errors) - _MAX_KEPT_ERRORS
        del errors[_MAX_KEPT_ERRORS:]
        errors.append(
            f"stopped after {_MAX_KEPT_ERRORS} errors"
            + (f" ({not_kept} more not kept)" if not_kept > 0 else "")
            + f": {len(items) - checked} of {len(items)} accounts not checked @ $.list"
        )
    return tuple(accounts)


def decode_list_response(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    offset_sent: int | None = None,
    secrets: Secrets | None = None,
) -> AccountPage:
    """Decipher the answer to :func:`build_list_request`.

    A 2xx answer becomes an :class:`AccountPage`. Where Juspay leaves out ``offset``,
    ``count`` or ``total``, they default to the offset that was sent (or 0), the number of
    accounts received, and "nothing after this page".

    This is where an answer becomes an error, and so where it is quoted: with ``secrets``
    (the forms of the API key, and of a proxy's credentials), an answer that holds any of
    them gives the error it would give with each replaced by ``<redacted>``, chaining
    nothing. A page is handed over as it came.

    Raises:
        APIError: (a subclass chosen by status) for any answer that is not 2xx.
        ResponseValidationError: for a 2xx body that is not JSON, not an object, lacks
            ``list``, or holds an account that cannot be read; the message names the
            path that failed, e.g. ``$.list[3].date_created``.
    """
    try:
        return _page(status, headers, body, offset_sent)
    except (APIError, ResponseValidationError):
        if secrets is None:
            raise
        # Searched only now: a page that decodes is not scanned (perf change 12).
        redacted = redact_answer(headers, body, secrets)
        if redacted[0] is headers and redacted[1] is body:
            raise  # nothing to hide: the error stands as it is
    # The answer holds a secret, which the error may quote (whole, or cut short in a message
    # or a value's repr): the error is made again from the answer with each form replaced.
    # Raised here, outside the except clause, so that the first error is not its context;
    # and this frame keeps only the redacted answer.
    headers, body = redacted
    raise _redacted_failure(status, headers, body, offset_sent)


def _page(
    status: int, headers: Mapping[str, str], body: bytes, offset_sent: int | None
) -> AccountPage:
    """:func:`decode_list_response` without ``secrets``: the page, or the error as it comes."""
    if not 200 <= status < 300:  # noqa: PLR2004 - the success range
        raise decode_error(status, headers, body)
    data, why = _json.load_json(body)
    if why is not None:
        raise _invalid([f"{why} @ $"], status, headers, body)
    if not isinstance(data, dict):
        raise _invalid(
            [f"expected a JSON object, got {type(data).__name__} @ $"], status, headers, body
        )
    items = data.get("list")
    if not isinstance(items, list):
        problem = "required field missing" if items is None else "expected a JSON array"
        raise _invalid([f"{problem} @ $.list"], status, headers, body)
    errors: list[str] = []
    accounts = _structure_accounts(items, errors)
    # A count that is a plain int in range is taken as it is; _count_field reads the rest
    # (a call per count costs more than the check: perf change 5). Each is read once.
    offset = data.get("offset")
    if offset.__class__ is not int or not 0 <= offset < _MAX_COUNT:
        offset = _count_field(offset, "offset", offset_sent or 0, errors)
    count = data.get("count")
    if count.__class__ is not int or not 0 <= count < _MAX_COUNT:
        count = _count_field(count, "count", len(items), errors)
    total = data.get("total")
    if total.__class__ is not int or not 0 <= total < _MAX_COUNT:
        total = _count_field(total, "total", offset + len(items), errors)
    if errors:
        error = _invalid(errors, status, headers, body)
        # The traceback keeps this frame: drop the parsed page (about 20 times the body in
        # memory) so that an error kept in a fan-out's results does not pin it.
        del data, items, accounts
        raise error
    return page_builder()(accounts, offset, count, total, headers)


def _redacted_failure(
    status: int, headers: Mapping[str, str], body: bytes, offset_sent: int | None
) -> APIError | ResponseValidationError:
    """The error that :func:`_page` gives for an answer already redacted."""
    try:
        _page(status, headers, body, offset_sent)
    except (APIError, ResponseValidationError) as exc:
        return exc
    # Replacing the key mended the answer (a key holding a '"' broke the JSON, say): it was
    # refused as it came, so it still is, without quoting the problem.
    why = "the body could not be read as it came: it holds a secret, shown as <redacted> @ $"
    return _invalid([why], status, headers, body)
