"""Building the request: settings checked once per client, then one :class:`Request` per call.

Sans-I/O, like :mod:`._response`: plain values in, a :class:`Request` (method, a fully
encoded URL built once, headers) out; the transport sends it as it is.
"""

from __future__ import annotations

import base64
import enum
import ipaddress
import re
import urllib.parse
from typing import TYPE_CHECKING, Final, NamedTuple

import attrs
import yarl

from juspay_accounts._redact import Secrets, secret_forms
from juspay_accounts.exceptions import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "KEEP",
    "Keep",
    "Request",
    "Settings",
    "build_checked_list_request",
    "build_list_request",
    "check_headers",
    "check_ids",
    "derive_settings",
    "make_settings",
]


def _mask_headers(headers: Mapping[str, str]) -> str:
    """The headers' repr with the credentials replaced."""
    return repr(
        {k: ("<redacted>" if k.lower() == "authorization" else v) for k, v in headers.items()}
    )


@attrs.frozen(kw_only=True)
class Settings:
    """What every request of one client shares, checked once.

    ``headers`` carries the ``Authorization`` value, so the repr hides it.
    """

    base_url: str
    headers: Mapping[str, str] = attrs.field(repr=_mask_headers)
    # base_url in parts, encoded: each request's URL is assembled from them, not parsed.
    scheme: str = attrs.field(init=False, repr=False)
    authority: str = attrs.field(init=False, repr=False)
    base: yarl.URL = attrs.field(init=False, repr=False)
    path_prefix: str = attrs.field(init=False, repr=False)
    # The forms of the key to keep out of what the library makes of an answer (_redact).
    secrets: Secrets = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        base = yarl.URL(self.base_url, encoded=True)
        object.__setattr__(self, "base", base)
        object.__setattr__(self, "scheme", base.scheme)
        object.__setattr__(self, "authority", base.raw_authority)
        object.__setattr__(self, "path_prefix", base.raw_path.rstrip("/"))
        object.__setattr__(self, "secrets", secret_forms(self.headers["Authorization"]))


class Request(NamedTuple):
    """One HTTP request to send, built once and sent as is by every attempt.

    ``url`` is fully percent-encoded and marked so (``yarl.URL(..., encoded=True)``): aiohttp
    sends it without parsing or re-encoding it. ``secrets`` are the forms of the key it
    carries, for the transport to keep out of the answer.

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
        headers = _mask_headers(self.headers)
        return f"Request(method={self.method!r}, url={self.url!r}, headers={headers})"


def _check_text(value: object, what: str) -> str:
    """Refuse what could not be sent safely; ``what`` names the argument."""
    if not isinstance(value, str):
        msg = f"{what} must be a str, got {type(value).__name__}"
        raise TypeError(msg)
    if not value.strip():
        msg = f"{what} must not be empty or only white space"
        raise InvalidInputError(msg)
    # isprintable() is one C call and False for every control character; only an id it
    # rejects (an exotic but harmless character, or a real control one) is looked at closely.
    if not value.isprintable() and any(
        ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0  # noqa: PLR2004 - C0, DEL, C1
        for ch in value
    ):
        # CR/LF in a header would let a caller's input inject headers.
        msg = f"{what} must not contain control characters (such as CR or LF): {value[:60]!r}"
        raise InvalidInputError(msg)
    if not value.isascii() and not _encodable(value):
        msg = (
            f"{what} cannot be sent: it holds a lone surrogate, which has no UTF-8 form "
            f"(was it read from bytes that are not UTF-8, such as a command-line argument?): "
            f"{value[:60]!r}"
        )
        raise InvalidInputError(msg)
    return value


def _encodable(value: str) -> bool:
    """Whether ``value`` has a UTF-8 form (a lone surrogate such as U+DCE9 has none)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        # yarl gives an IPv6 host without its brackets.
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_base_url(base_url: object, *, allow_insecure_http: bool) -> str:
    if isinstance(base_url, yarl.URL):
        base_url = str(base_url)
    if not isinstance(base_url, str):
        msg = f"base_url must be a str, got {type(base_url).__name__}"
        raise TypeError(msg)
    try:
        url = yarl.URL(base_url.strip())
    except ValueError as exc:
        msg = f"base_url is not a valid URL: {base_url[:100]!r}"
        raise ValueError(msg) from exc
    if url.scheme not in {"http", "https"} or not url.host:
        msg = f"base_url must be an http:// or https:// URL with a host, got {base_url[:100]!r}"
        raise ValueError(msg)
    if url.query_string or url.fragment or url.user or url.password:
        msg = "base_url must not carry a query, a fragment or credentials"
        raise ValueError(msg)
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        msg = (
            f"base_url {base_url[:100]!r} is plain http: the API key would cross the network "
            "unencrypted. Use https, or pass allow_insecure_http=True if you really mean it "
            "(loopback hosts such as 127.0.0.1 are always allowed)"
        )
        raise ValueError(msg)
    return str(url).rstrip("/")


def make_settings(
    *,
    api_key: object,
    base_url: str,
    user_agent: str,
    merchant_id: str | None = None,
    api_version: str | None = None,
    allow_insecure_http: bool = False,
) -> Settings:
    """Check the client's configuration and precompute the headers every request sends.

    Raises:
        ValueError: an argument is empty, holds control characters, or ``base_url`` is not
            an absolute http(s) URL, or is plain http to a host other than loopback without
            ``allow_insecure_http``. The message never contains the API key.
    """
    if not isinstance(api_key, str) or not api_key.strip():
        msg = "api_key must be a non-empty str (the key from the Juspay dashboard)"
        raise ValueError(msg)
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in api_key):  # noqa: PLR2004 - C0 and DEL
        msg = "api_key must not contain control characters (was it read with a trailing newline?)"
        raise ValueError(msg)
    if not _encodable(api_key):
        msg = "api_key must be text with a UTF-8 form (it holds a lone surrogate)"
        raise ValueError(msg)
    token = base64.b64encode(f"{api_key}:".encode()).decode()
    headers = {
        "Authorization": f"Basic {token}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "User-Agent": _check_text(user_agent, "user_agent"),
    }
    if merchant_id is not None:
        headers["x-merchantid"] = _check_text(merchant_id, "merchant_id")
    if api_version is not None:
        headers["version"] = _check_text(api_version, "api_version")
    base = _check_base_url(base_url, allow_insecure_http=allow_insecure_http)
    return Settings(base_url=base, headers=headers)


_PROXY_HINT: Final = (
    "the proxy and its credentials are the client's proxy= (http://user:password@host:port)"
)
_FRAMING_HINT: Final = (
    "aiohttp frames each message and manages the pooled connections itself; set by hand, "
    "it would desynchronise a connection shared with other calls"
)
_RESERVED_HEADERS: Final = {
    "authorization": "the API key is the client's (api_key=)",
    "x-routing-id": "pass routing_id= to the call",
    "host": "the host is the client's base_url=",
    "content-length": _FRAMING_HINT,
    "transfer-encoding": _FRAMING_HINT,
    "connection": _FRAMING_HINT + " (the pool's size is max_connections=)",
    "keep-alive": _FRAMING_HINT + " (the pool's size is max_connections=)",
    "upgrade": _FRAMING_HINT,
    "te": _FRAMING_HINT,
    "trailer": _FRAMING_HINT,
    "expect": _FRAMING_HINT + " (a GET sends no body to expect a 100 for)",
}
"""Headers a caller's extra headers may not set (lower case), with what sets each instead.

The credentials, the routing id, and every header that frames the message or the
connection or belongs to the transport; any ``Proxy-*`` header too (:func:`_refusal`).
"""


def _refusal(name: str) -> str | None:
    """Why ``name`` may not be set through ``headers=``, or ``None`` when it may."""
    lowered = name.lower()
    if lowered.startswith("proxy-"):
        return _PROXY_HINT
    return _RESERVED_HEADERS.get(lowered)


_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""An HTTP header name (RFC 9110 ``token``)."""


class Keep(enum.Enum):
    """The type of :data:`KEEP`."""

    KEEP = "KEEP"

    def __repr__(self) -> str:
        """Read as the name it is used by."""
        return "KEEP"


KEEP: Final = Keep.KEEP
"""An option left as it was (``None`` would mean "none")."""


def check_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Check a caller's extra headers; return them as a plain dict.

    Raises:
        ValueError: a name is not a valid header name, or (in any case) one the client
            sets itself: ``Authorization``, ``x-routing-id``, ``Host``, any ``Proxy-*``, or a
            header that frames the message or the connection (``Content-Length``,
            ``Transfer-Encoding``, ``Connection``, ``Keep-Alive``, ``Upgrade``, ``TE``,
            ``Trailer``, ``Expect``). The message names the option that sets it instead.
        InvalidInputError: (a ValueError) a value holds control characters.
        TypeError: ``headers`` is not a mapping of str to str.
    """
    if not hasattr(headers, "items"):
        msg = f"headers must be a mapping of str to str, got {type(headers).__name__}"
        raise TypeError(msg)
    checked: dict[str, str] = {}
    # Typed loosely on purpose: callers' values are checked, not trusted.
    pairs: Iterable[tuple[object, object]] = headers.items()
    for name, value in pairs:
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            msg = (
                f"{name[:60] if isinstance(name, str) else name!r} is not a valid HTTP header name"
            )
            raise ValueError(msg)
        reason = _refusal(name)
        if reason is not None:
            msg = f"headers cannot set {name}: the client sends it itself; {reason}"
            raise ValueError(msg)
        if not isinstance(value, str):
            msg = f"header {name} must be a str, got {type(value).__name__}"
            raise TypeError(msg)
        if value and not value.isprintable():
            _check_text(value, f"header {name}")  # raises for control characters
        checked[name] = value
    return checked


def _put(headers: dict[str, str], name: str, value: str | None) -> None:
    """Set (or, with ``None``, remove) a header, whatever the case of the one it replaces."""
    lowered = name.lower()
    for existing in [k for k in headers if k.lower() == lowered]:
        del headers[existing]
    if value is not None:
        headers[name] = value


def derive_settings(
    settings: Settings,
    *,
    headers: Mapping[str, str] | None = None,
    merchant_id: str | Keep | None = KEEP,
    api_version: str | Keep | None = KEEP,
) -> Settings:
    """``settings`` with extra headers, and the merchant id or API version replaced.

    ``headers`` replace the client's defaults of the same name in any case
    (``User-Agent``, ``Accept``...); ``merchant_id`` and ``api_version`` are applied after
    them, ``None`` removing the header and :data:`KEEP` leaving it as it was.

    Raises:
        ValueError: as :func:`check_headers`, or an empty merchant id or API version or one
            with control characters.
    """
    merged = dict(settings.headers)
    if headers:
        for name, value in check_headers(headers).items():
            _put(merged, name, value)
    if merchant_id is not KEEP:
        _put(
            merged,
            "x-merchantid",
            None if merchant_id is None else _check_text(merchant_id, "merchant_id"),
        )
    if api_version is not KEEP:
        _put(
            merged,
            "version",
            None if api_version is None else _check_text(api_version, "api_version"),
        )
    return Settings(base_url=settings.base_url, headers=merged)


def check_ids(customer_id: str, routing_id: str | None) -> str:
    """Check the ids a request carries; return the routing id to send.

    Raises:
        InvalidInputError: an id is empty, only white space, holds control characters, or
            cannot be encoded as UTF-8 (a lone surrogate).
        TypeError: an id is not a str.
    """
    _check_text(customer_id, "customer_id")
    return customer_id if routing_id is None else _check_text(routing_id, "routing_id")


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
