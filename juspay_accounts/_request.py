"""Building the request: one :class:`Request` per call, from the client's checked settings.

Sans-I/O, like :mod:`._response`: plain values in, a :class:`Request` (method, a fully
encoded URL built once, headers) out; the transport sends it as it is. What a client
shares and its checks are :mod:`._config`'s.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import TYPE_CHECKING, Final, NamedTuple

import yarl

from juspay_accounts._config import check_text, mask_headers

if TYPE_CHECKING:
    from collections.abc import Mapping

    from juspay_accounts._config import Settings
    from juspay_accounts._redact import Secrets

__all__ = [
    "Request",
    "build_checked_list_request",
    "build_list_request",
    "check_ids",
]


class Request(NamedTuple):
    """One HTTP request to send, built once and sent as is by every attempt.

    ``url`` is fully percent-encoded and marked so (``yarl.URL(..., encoded=True)``): aiohttp
    sends it without parsing or re-encoding it. ``secrets`` are the forms of the key it
    carries, kept out of whatever the library quotes of the answer (the transport's
    headers, the decoder's errors: see :mod:`._redact`).

    A named tuple rather than a frozen attrs class (the house's value objects): it is built
    for every request, and ``tuple.__new__`` costs 1.4k instructions where the frozen
    ``__init__`` costs 6.9k (perf change 6 in docs/performance-notes.md).
    """

    method: str
    url: yarl.URL
    headers: Mapping[str, str]
    secrets: Secrets

    def __repr__(self) -> str:
        """The request without its credentials."""
        headers = mask_headers(self.headers)
        return f"Request(method={self.method!r}, url={self.url!r}, headers={headers})"


def check_ids(customer_id: str, routing_id: str | None) -> str:
    """Check the ids a request carries; return the routing id to send.

    Raises:
        InvalidInputError: an id is empty, only white space, holds control characters, or
            cannot be encoded as UTF-8 (a lone surrogate).
        TypeError: an id is not a str.
    """
    check_text(customer_id, "customer_id")
    return customer_id if routing_id is None else check_text(routing_id, "routing_id")


_UNRESERVED: Final = re.compile(r"[A-Za-z0-9_.~-]+")
"""Text ``quote(..., safe="")`` leaves as it is: most ids (``cst_123``)."""


def _path_segment(value: str) -> str:
    """Percent-encode ``value`` as exactly one path segment, whatever it holds."""
    if value in {".", ".."}:
        # Dot segments would be collapsed by URL normalisation on the way.
        return value.replace(".", "%2E")
    # An id with nothing to encode skips quote(), about 5k instructions (perf change 6).
    return value if _UNRESERVED.fullmatch(value) else urllib.parse.quote(value, safe="")


def _check_count(value: object, what: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        msg = f"{what} must be an int, got {type(value).__name__}"
        raise TypeError(msg)
    if value < minimum:
        msg = f"{what} must be at least {minimum}, got {value}"
        raise ValueError(msg)
    return value


def build_list_request(
    settings: Settings,
    customer_id: str,
    *,
    offset: int | None = None,
    count: int | None = None,
    routing_id: str | None = None,
) -> Request:
    """Build ``GET {base}/customers/{customer_id}/customer-accounts/list``.

    ``x-routing-id`` is ``routing_id`` if given, else the customer id, as Juspay
    recommends. ``offset`` and ``count`` go in the query only when given.

    Raises:
        ValueError: ``customer_id`` or ``routing_id`` is empty or holds control
            characters, ``offset`` is negative or ``count`` is below 1.
        TypeError: an argument has the wrong type.
    """
    routing = check_ids(customer_id, routing_id)
    return build_checked_list_request(
        settings,
        customer_id,
        routing,
        offset=None if offset is None else _check_count(offset, "offset", 0),
        count=None if count is None else _check_count(count, "count", 1),
    )


def build_checked_list_request(
    settings: Settings,
    customer_id: str,
    routing_id: str,
    *,
    offset: int | None,
    count: int | None,
) -> Request:
    """:func:`build_list_request` for values checked already, as a page walk's are.

    ``routing_id`` is the one :func:`check_ids` returned; ``offset`` is at least 0 and
    ``count`` at least 1, or ``None``.
    """
    query = []
    if offset is not None:
        query.append(f"offset={offset}")
    if count is not None:
        query.append(f"count={count}")
    # Assembled from parts already encoded: yarl.URL(text, encoded=True) would parse the
    # text again, about 11k more instructions per request (perf change 2 in
    # docs/performance-notes.md).
    path = f"{settings.path_prefix}/customers/{_path_segment(customer_id)}/customer-accounts/list"
    url = (
        yarl.URL.build(
            scheme=settings.scheme,
            authority=settings.authority,
            path=path,
            query_string="&".join(query),
            encoded=True,
        )
        if query
        # The base URL has no query or fragment: with_path() is 2k instructions cheaper.
        else settings.base.with_path(path, encoded=True)
    )
    headers = dict(settings.headers)
    headers["x-routing-id"] = routing_id
    return Request("GET", url, headers, settings.secrets)
