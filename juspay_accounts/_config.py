"""The client's configuration, checked where it enters: one module for every facade.

What every request of a client shares (:class:`Settings`: the base URL in parts and the
headers, the key among them), made and derived here with every check of what a caller
configures: the headers a caller may add, the ids' text, the limits, the timeout, and
:data:`KEEP` for an option a view leaves as it was. Sans-I/O: the facade
(:mod:`._client`, :mod:`._walks`) only faces, and :mod:`._request` only builds requests.
"""

from __future__ import annotations

import base64
import enum
import ipaddress
import math
import re
from typing import TYPE_CHECKING, Final

import attrs
import yarl

from juspay_accounts._redact import Secrets, secret_forms
from juspay_accounts.exceptions import InvalidInputError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_KEEPALIVE_TIMEOUT",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "KEEP",
    "Keep",
    "Settings",
    "basic_authorization",
    "check_headers",
    "check_keepalive_timeout",
    "check_text",
    "check_timeout",
    "derive_settings",
    "make_settings",
    "mask_headers",
    "positive_int_or_none",
]

DEFAULT_TIMEOUT: Final = 30.0
"""Seconds one request may take, from connecting to the last byte of the body."""

DEFAULT_CONCURRENCY: Final = 16
"""How many customers a fan-out fetches at once unless told otherwise."""


DEFAULT_MAX_RESPONSE_BYTES: Final = 16 * 1024 * 1024
"""The largest success body the client reads (16 MiB); a larger one is refused unread."""

DEFAULT_MAX_CONNECTIONS: Final = 100  # AccountsClient(max_connections=...)'s default

DEFAULT_KEEPALIVE_TIMEOUT: Final = 15.0
"""Seconds an idle connection of the client's own pool stays open: aiohttp's default."""


def check_keepalive_timeout(seconds: float) -> float:
    """``seconds`` as a float, if it is a positive, finite number of seconds; else raise.

    Raises:
        TypeError: ``seconds`` is not a number (a bool is not one here).
        ValueError: ``seconds`` is not positive, or not finite (aiohttp schedules the
            closing of idle connections at that time).
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        msg = f"keepalive_timeout must be a number of seconds, got {type(seconds).__name__}"
        raise TypeError(msg)
    if not 0 < seconds < math.inf:  # also refuses NaN
        msg = f"keepalive_timeout must be a positive, finite number of seconds, got {seconds!r}"
        raise ValueError(msg)
    return float(seconds)


def mask_headers(headers: Mapping[str, str]) -> str:
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
    headers: Mapping[str, str] = attrs.field(repr=mask_headers)
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


def check_text(value: object, what: str) -> str:
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


def positive_int_or_none(value: int | None, what: str) -> int | None:
    """Return ``value`` if it is ``None`` or an int of at least 1; else raise.

    For the limits a caller passes (``page_size``, ``max_pages``, ``concurrency``), checked
    once where they enter the library; ``what`` names the argument in the error.

    Raises:
        TypeError: ``value`` is not an int (a bool is not one here).
        ValueError: ``value`` is below 1.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{what} must be an int or None, got {type(value).__name__}"
        raise TypeError(msg)
    if value < 1:
        msg = f"{what} must be at least 1, got {value}"
        raise ValueError(msg)
    return value


def check_timeout(timeout: float | None) -> float | None:
    given: object = timeout  # checked at run time: aiohttp's own ClientTimeout is an easy mistake
    if given is not None and (isinstance(given, bool) or not isinstance(given, int | float)):
        msg = (
            f"timeout must be seconds as a number (timeout=30.0) or None, "
            f"not {type(given).__name__}: the client makes aiohttp's timeout from it"
        )
        raise TypeError(msg)
    if timeout is not None and not timeout > 0:  # also refuses NaN
        msg = f"timeout must be a positive number of seconds or None, got {timeout!r}"
        raise ValueError(msg)
    return timeout


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


def basic_authorization(api_key: str) -> str:
    """The ``Authorization`` value Juspay expects: Basic, the key as user, no password."""
    return "Basic " + base64.b64encode(f"{api_key}:".encode()).decode()


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
    headers = {
        "Authorization": basic_authorization(api_key),
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
        "User-Agent": check_text(user_agent, "user_agent"),
    }
    if merchant_id is not None:
        headers["x-merchantid"] = check_text(merchant_id, "merchant_id")
    if api_version is not None:
        headers["version"] = check_text(api_version, "api_version")
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
            check_text(value, f"header {name}")  # raises for control characters
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
            None if merchant_id is None else check_text(merchant_id, "merchant_id"),
        )
    if api_version is not KEEP:
        _put(
            merged,
            "version",
            None if api_version is None else check_text(api_version, "api_version"),
        )
    return Settings(base_url=settings.base_url, headers=merged)
