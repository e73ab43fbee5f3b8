"""The client's configuration checks, where options enter: one module for every facade.

Defaults, the timeout's check, and the coalescing and cache options, checked once when the
client (or a view) is made; the facade (:mod:`._client`, :mod:`._walks`) only faces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from juspay_accounts._pagination import positive_int_or_none
from juspay_accounts._sharing import Sharing

if TYPE_CHECKING:
    from juspay_accounts._instruments import Instruments

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_TIMEOUT", "check_timeout", "sharing_for"]

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
