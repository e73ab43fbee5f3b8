"""A Redis store URL, read once by redis-py's own parser, and shown without its password.

A leaf of the package: :class:`~juspay_accounts.RateLimit` checks its store with it when it
is made, and the Redis store connects with exactly the settings it read.
"""

from __future__ import annotations

from typing import Any, Final

from juspay_accounts.exceptions import RateLimitStoreError

__all__ = ["EXTRA_HINT", "display", "redis_connection"]

EXTRA_HINT: Final = (
    "install the redis extra's package: python -m pip install 'redis>=5.2' (what the "
    "redis extra brings)"
)


def redis_connection(url: str) -> dict[str, Any]:
    """The connection settings of a Redis URL, read by redis-py's own parser, checked.

    Raises:
        ValueError: redis-py cannot read it, it names no host (a password with an
            unencoded ``/``, ``#``, ``?`` or ``@`` cuts the host off), or its database
            is not a number. The message quotes nothing of the URL past its scheme.
        RateLimitStoreError: the ``redis`` extra is not installed.
    """
    try:
        from redis.asyncio.connection import parse_url  # noqa: PLC0415 - the optional extra
    except ImportError as exc:
        msg = f"a redis:// rate-limit store needs the redis package: {EXTRA_HINT}"
        raise RateLimitStoreError(msg) from exc
    scheme = url.partition("://")[0]
    problem = None
    try:
        settings = parse_url(url)
    except Exception as exc:  # noqa: BLE001 - any failure of the parser is a bad URL
        problem = f"redis-py cannot read it ({type(exc).__name__})"
    else:
        path = url.partition("://")[2].partition("?")[0].partition("#")[0]
        if scheme == "unix":
            if not settings.get("path"):
                problem = "it names no socket path"
        elif not settings.get("host"):
            problem = "it names no host"
        elif "/" in path.rpartition("@")[2] and "db" not in settings:
            problem = "its database is not a number"
    if problem is not None:
        msg = (
            f"store is not a usable {scheme}:// URL: {problem}; a password holding "
            "'/', '#', '?', '@' or '%' must be percent-encoded (urllib.parse.quote(pw, safe=''))"
        )
        raise ValueError(msg) from None
    return dict(settings)


def display(url: str) -> str:
    """Where a store lives, for reprs, logs and messages: never its password."""
    if url == "memory://":
        return url
    settings = redis_connection(url)
    scheme = url.partition("://")[0]
    user = settings.get("username") or ""
    secret = ":***" if settings.get("password") else ""
    at = f"{user}{secret}@" if user or secret else ""
    db = settings.get("db", 0)
    if scheme == "unix":
        return f"unix://{at}{settings['path']}?db={db}"
    host = settings["host"]
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{at}{host}:{settings.get('port', 6379)}/{db}"
