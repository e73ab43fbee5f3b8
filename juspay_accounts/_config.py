"""The client's configuration checks, where options enter: one module for every facade.

Defaults, the timeout's check, and the coalescing and cache options, checked once when the
client (or a view) is made; the facade (:mod:`._client`, :mod:`._walks`) only faces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from juspay_accounts._pagination import positive_int_or_none
from juspay_accounts._seam import GivenTransport
from juspay_accounts._sharing import Sharing
from juspay_accounts._transport import (
    DEFAULT_KEEPALIVE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_RESPONSE_BYTES,
    Transport,
)

if TYPE_CHECKING:
    import ssl

    import aiohttp

    from juspay_accounts._instruments import Instruments
    from juspay_accounts._seam import AsyncTransport, Wire

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_TIMEOUT",
    "check_timeout",
    "make_transport",
    "sharing_for",
]

DEFAULT_TIMEOUT: Final = 30.0
"""Seconds one request may take, from connecting to the last byte of the body."""

DEFAULT_CONCURRENCY: Final = 16
"""How many customers a fan-out fetches at once unless told otherwise."""


def sharing_for(
    *, coalesce: bool, cache_ttl: float | None, cache_size: int, instruments: Instruments
) -> Sharing | None:
    """The client's coalescing and cache, checked; ``None`` when both are off (no cost)."""
    flag: object = coalesce  # checked at run time: a string is an easy mistake
    ttl: object = cache_ttl
    if not isinstance(flag, bool):
        msg = f"coalesce must be True or False, got {coalesce!r}"
        raise TypeError(msg)
    if ttl is not None and (
        isinstance(ttl, bool) or not isinstance(ttl, int | float) or not 0 < ttl < float("inf")
    ):
        msg = f"cache_ttl must be a positive number of seconds or None, got {cache_ttl!r}"
        raise ValueError(msg)
    positive_int_or_none(cache_size, "cache_size")
    if not coalesce and cache_ttl is None:
        return None
    return Sharing(
        coalesce=coalesce, cache_ttl=cache_ttl, cache_size=cache_size, instruments=instruments
    )


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


def make_transport(
    transport: AsyncTransport | None,
    *,
    session: aiohttp.ClientSession | None,
    max_connections: int,
    timeout: float | None,
    max_response_bytes: int,
    proxy: str | None,
    trust_env: bool,
    ssl_context: ssl.SSLContext | None,
    keepalive_timeout: float = DEFAULT_KEEPALIVE_TIMEOUT,
) -> Wire:
    """The client's transport: the one it was given, or its own aiohttp one.

    Raises:
        ValueError: a ``transport`` is given with one of the aiohttp transport's settings
            (``session``, ``proxy``, ``trust_env``, ``ssl_context``, ``max_connections``,
            ``keepalive_timeout``, ``max_response_bytes``): they would be silently ignored.
        TypeError: ``transport`` has no async ``send`` method.
    """
    if transport is None:
        return Transport(
            session=session,
            max_connections=max_connections,
            timeout=timeout,
            max_response_bytes=max_response_bytes,
            proxy=proxy,
            trust_env=trust_env,
            ssl_context=ssl_context,
            keepalive_timeout=keepalive_timeout,
        )
    ignored = [
        name
        for name, value, default in (
            ("session", session, None),
            ("proxy", proxy, None),
            ("trust_env", trust_env, False),
            ("ssl_context", ssl_context, None),
            ("max_connections", max_connections, DEFAULT_MAX_CONNECTIONS),
            ("keepalive_timeout", keepalive_timeout, DEFAULT_KEEPALIVE_TIMEOUT),
            ("max_response_bytes", max_response_bytes, DEFAULT_MAX_RESPONSE_BYTES),
        )
        if value != default
    ]
    if ignored:
        msg = (
            f"{', '.join(ignored)} configure the client's own aiohttp transport: with "
            "transport= given, configure that transport instead"
        )
        raise ValueError(msg)
    return GivenTransport(transport)
