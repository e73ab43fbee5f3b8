"""A client-side rate limit: how many requests may start per second, in one process or many.

:class:`RateLimit` is the value users configure. Its store keeps the budget, a token bucket
of ``burst`` tokens refilling at ``per_second`` (GCRA, the generic cell rate algorithm: one
"theoretical arrival time", TAT, per key), and is asked for tokens by the client's throttle
(:mod:`._throttle`), which decides who waits and for how long:

- :class:`MemoryStore` keeps it in the client, on the package's clock (tests fake it);
- :class:`RedisStore` keeps it in Redis, with the 429 hold that every process shares: one
  Lua script checks the hold and takes tokens in one atomic step, on the Redis server's
  own clock (``TIME``), so hosts whose clocks differ share it fairly.

A store only ever takes tokens that are free *now*: nothing is reserved for a later start,
so a caller that gives up leaves nothing behind. The ``redis`` extra brings redis-py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from typing import TYPE_CHECKING, Any, Final, NamedTuple, Protocol

import attrs

from juspay_accounts import _timing
from juspay_accounts._redis_url import display, redis_connection
from juspay_accounts.exceptions import ClientClosedError, RateLimitStoreError

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable

__all__ = [
    "STORE_TIMEOUT",
    "MemoryStore",
    "RateLimit",
    "RedisStore",
    "Store",
    "Verdict",
    "open_store",
]

_LOG: Final = logging.getLogger("juspay_accounts")
_REDIS_SCHEMES: Final = ("redis://", "rediss://", "unix://")
STORE_TIMEOUT: Final = 2.0
"""Seconds one Redis command may take before the call fails with RateLimitStoreError."""
_MIN_RATE: Final = 0.001  # one request every 1000 s
_RESET_WARNING: Final = (
    "the rate limit's Redis store %s held a budget it could not read; it was reset"
)
_STORE_CLOSED: Final = "the client was closed: its rate limit's store takes no more tokens"
# Floating-point slack when counting the tokens a bucket holds (0.3 / 0.1 is 2.9999...).
_EPSILON: Final = 1e-9


def _positive_rate(_instance: object, _attribute: object, value: Any) -> None:  # noqa: ANN401
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < _MIN_RATE
    ):
        msg = f"per_second must be a number of at least {_MIN_RATE}, got {value!r}"
        raise ValueError(msg)


def _burst(_instance: object, _attribute: object, value: Any) -> None:  # noqa: ANN401
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        msg = f"burst must be an int of at least 1 or None, got {value!r}"
        raise ValueError(msg)


def _key(_instance: object, _attribute: object, value: object) -> None:
    if not isinstance(value, str) or not value or not value.isprintable():
        msg = f"key must be a non-empty printable string, got {value!r}"
        raise ValueError(msg)


def _store(_instance: object, _attribute: object, value: object) -> None:
    if not isinstance(value, str):
        msg = f"store must be a string such as 'memory://' or 'redis://host:6379/0', got {value!r}"
        raise TypeError(msg)
    if value != "memory://" and not value.startswith(_REDIS_SCHEMES):
        # The scheme alone is quoted: the rest of a URL may hold a password.
        scheme = value.partition("://")[0] if "://" in value else value[:0]
        msg = (
            "store must be 'memory://' or a redis://, rediss:// or unix:// URL, "
            f"got one with scheme {scheme[:16]!r}"
        )
        raise ValueError(msg)


@attrs.frozen
class RateLimit:
    """How many requests a client may start per second, in one process or across many.

    ``AccountsClient(..., rate_limit=RateLimit(20))`` starts at most ``burst + 20 * t``
    requests in any window of ``t`` seconds (retries included), across every call on the
    client. With ``store="redis://host:6379/0"`` every process using the same store and
    ``key`` shares that one budget, timed by the Redis server's clock, and a 429 with
    ``Retry-After`` seen by any of them holds them all back.

    Attributes:
        per_second: Requests that may start per second, on average (0.5 is one every two
            seconds), exactly: any rate from 0.001 up.
        burst: How many may start at once after a quiet spell; ``None`` means
            ``per_second`` (rounded down, at least 1). ``1`` spaces every request evenly.
        store: ``"memory://"`` keeps the budget in the client; ``"redis://host:port/db"``
            (or ``rediss://``, ``unix:///path.sock?db=0``) shares it through Redis 5 or
            newer, and needs the ``redis`` extra. The URL is read by redis-py's own parser
            when the limit is made; its password, in any form, never appears in a repr, a
            log or an error.
        key: The name of the budget in the store: processes with the same store and key
            share one budget.

    Raises:
        ValueError: ``per_second`` below 0.001, ``burst`` below 1, an empty ``key``, or a
            store that is neither ``memory://`` nor a Redis URL redis-py can read (the
            message quotes no password).
        RateLimitStoreError: a Redis store without the ``redis`` extra installed.
    """

    per_second: float = attrs.field(validator=_positive_rate)
    burst: int | None = attrs.field(default=None, kw_only=True, validator=_burst)
    store: str = attrs.field(
        default="memory://", kw_only=True, validator=_store, repr=lambda url: repr(display(url))
    )
    key: str = attrs.field(default="juspay-accounts", kw_only=True, validator=_key)

    def __attrs_post_init__(self) -> None:
        """Read a Redis URL now, not at the first call: a bad one fails here."""
        if self.shared:
            redis_connection(self.store)

    @property
    def bucket_size(self) -> int:
        """The burst in force: ``burst``, or ``per_second`` rounded down (at least 1)."""
        return self.burst if self.burst is not None else max(1, math.floor(self.per_second))

    @property
    def shared(self) -> bool:
        """Whether the budget lives in Redis, shared by every process using it."""
        return self.store != "memory://"


class Verdict(NamedTuple):
    """A store's answer to "may these start now?"."""

    taken: int
    """Tokens taken, from 0 up to the number asked for."""
    wait: float
    """When fewer were taken: seconds until the next token is free (0.0 otherwise)."""
    held: float
    """Seconds a shared 429 hold has still to run (nothing is taken while it does)."""


class Store(Protocol):
    """Where a budget's tokens are kept: asked by the throttle, which does the waiting."""

    @property
    def shared(self) -> bool:
        """Whether others share the store (its waits are then real, and re-checked)."""

    async def take(self, wanted: int, *, waited: bool) -> Verdict:
        """Take up to ``wanted`` tokens that are free now.

        ``waited``: the caller has just slept the ``wait`` this store last gave.
        """

    def give_back(self, count: int) -> None:
        """Return tokens that were taken but will not be used."""

    async def share_hold(self, seconds: float) -> None:
        """Hold back every process sharing the store for ``seconds`` (after a 429)."""

    async def aclose(self) -> None:
        """Release what the store holds open; it takes nothing after this."""


def open_store(limit: RateLimit) -> Store:
    """The runtime store for one client under ``limit``."""
    if limit.shared:
        return RedisStore(limit)
    return MemoryStore(limit)


class MemoryStore:
    """The budget kept in the client: GCRA on the package's clock."""

    __slots__ = ("_due", "_emission", "_tat", "_tolerance")

    shared: Final = False  # a constant of the class: the protocol's read-only property

    def __init__(self, limit: RateLimit) -> None:
        """A full bucket for ``limit``."""
        self._emission = 1.0 / limit.per_second
        self._tolerance = limit.bucket_size * self._emission
        self._tat = -math.inf  # the theoretical arrival time: the bucket is full before it
        self._due = -math.inf  # when the next token is free, as last told to a caller

    async def take(self, wanted: int, *, waited: bool) -> Verdict:
        """Take what is free now; after a full wait, the token waited for is free."""
        now = _timing.clock()
        if waited:
            # The wait ran its course, even when the policy's sleep skipped it (tests).
            now = max(now, self._due)
        tat = max(self._tat, now)
        free = math.floor((now + self._tolerance - tat) / self._emission + _EPSILON)
        taken = min(wanted, max(free, 0))
        tat += taken * self._emission
        self._tat = tat
        if taken == wanted:
            return Verdict(taken, 0.0, 0.0)
        wait = tat + self._emission - self._tolerance - now
        self._due = now + wait
        return Verdict(taken, wait, 0.0)

    def give_back(self, count: int) -> None:
        """As if those takes had never happened (a TAT before now is a full bucket)."""
        self._tat -= count * self._emission

    async def share_hold(self, seconds: float) -> None:
        """Nothing to share: the client's own hold already holds back its calls."""

    async def aclose(self) -> None:
        """Nothing is open."""


# KEYS: the budget's TAT (integer microseconds on Redis's clock), the 429 hold.
# ARGV: emission interval (µs), tolerance (burst * emission, µs), tokens wanted, tokens
# given back first. Returns {taken, wait µs, hold ms, 1 if a stored TAT was unreadable}.
# TIME before a write needs effects replication: the default from Redis 5 on.
_TAKE: Final = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local emission = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local back = tonumber(ARGV[4])
local tat = now
local reset = 0
local stored = redis.call('GET', KEYS[1])
if stored then
  local v = tonumber(stored)
  -- No take leaves the TAT more than the tolerance ahead: anything else is another
  -- client's garbage, NaN or infinity, and is reset rather than slept on.
  if v == nil or v ~= v or v > now + tolerance + emission then
    reset = 1
  elseif v > now then
    tat = v
  end
end
tat = math.max(tat - back * emission, now)
local held = redis.call('PTTL', KEYS[2])
local taken = 0
local wait = 0
if held > 0 then
  wait = 0
else
  held = 0
  local free = math.floor((now + tolerance - tat) / emission + 1e-9)
  taken = math.min(wanted, math.max(free, 0))
  tat = tat + taken * emission
  if taken < wanted then
    wait = math.ceil(tat + emission - tolerance - now)
  end
end
if tat > now then
  redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
elseif stored then
  redis.call('DEL', KEYS[1])
end
return {taken, wait, held, reset}
"""

# KEYS: the 429 hold. ARGV: milliseconds. Lengthens the hold, never shortens it.
_HOLD: Final = """
local ms = tonumber(ARGV[1])
if redis.call('PTTL', KEYS[1]) < ms then
  redis.call('SET', KEYS[1], '429', 'PX', ms)
end
return 0
"""


class RedisStore:
    """The budget and the 429 hold kept in Redis, shared by every process that uses them.

    One script call per batch of tokens, however many callers of this process wait: the
    throttle asks for all of them at once. Every command is bounded by
    :data:`STORE_TIMEOUT`, so a Redis that stops answering fails its callers in time.
    """

    shared: Final = True  # a constant of the class: the protocol's read-only property

    def __init__(self, limit: RateLimit) -> None:
        """Configure the connection (opened at the first call) and the GCRA for ``limit``."""
        import redis.asyncio  # noqa: PLC0415 - the optional extra
        import redis.exceptions  # noqa: PLC0415

        self._where = display(limit.store)
        self._settings = redis_connection(limit.store)
        self._password = self._settings.get("password") or None
        self._errors: tuple[type[BaseException], ...] = (
            redis.exceptions.RedisError,
            OSError,
            TimeoutError,
        )
        emission = 1_000_000 / limit.per_second
        self._args = (repr(emission), repr(limit.bucket_size * emission))
        self._keys = (f"{limit.key}:budget", f"{limit.key}:hold")
        # Connections belong to one event loop: made for each loop in turn (a client built
        # at module level serves successive asyncio.run calls).
        self._bound: _LoopBound | None = None
        self._given_back = 0  # returned with the next take: no round trip of its own
        self._closed = False
        self._reset_seen = False
        # The time limits of the commands in flight: closing ends them at once, so that no
        # command is sent (or retried by redis-py) after aclose().
        self._asking: set[asyncio.Timeout] = set()

    def __repr__(self) -> str:
        """Where the budget lives, without the password."""
        return f"<RedisStore {self._where}>"

    async def _for_this_loop(self) -> _LoopBound:
        """The connection pool and scripts of the running loop, made on its first call."""
        import redis.asyncio  # noqa: PLC0415 - the optional extra
        import redis.backoff  # noqa: PLC0415

        loop = asyncio.get_running_loop()
        bound = self._bound
        if bound is None or bound.loop is not loop:
            # An earlier loop's pool was closed as that loop shut down (close_with_loop).
            # Every command, its connecting included, runs within _ask's STORE_TIMEOUT.
            # Closing does not: redis-py bounds a connection's close (a TLS shutdown waits
            # for the server's reply, 30 s by default) by the connect timeout.
            pool = redis.asyncio.ConnectionPool(
                **self._settings,
                socket_connect_timeout=STORE_TIMEOUT,
                # One quiet reconnection (a restarted Redis leaves dead pooled connections).
                retry=redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 1),
            )
            client = redis.asyncio.Redis(connection_pool=pool)
            closer = _timing.close_with_loop(pool.aclose, self._errors)
            await anext(closer)
            bound = self._bound = _LoopBound(
                loop, client.register_script(_TAKE), client.register_script(_HOLD), closer
            )
        return bound

    async def _ask(self, command: Awaitable[Any], what: str) -> Any:  # noqa: ANN401 - Redis replies
        """Await one Redis command within STORE_TIMEOUT, as a RateLimitStoreError if it fails."""
        try:
            async with asyncio.timeout(STORE_TIMEOUT) as limit:
                self._asking.add(limit)
                try:
                    return await command
                finally:
                    self._asking.discard(limit)
        except self._errors as exc:
            if self._closed:  # closed under the command's feet: that is the news
                raise self._closed_error() from None
            detail = str(exc)
            if self._password:
                detail = detail.replace(self._password, "***")
            failure = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
            msg = (
                f"not sent: the rate limit's Redis store {self._where} could not {what} "
                f"within {STORE_TIMEOUT:g} s ({failure})"
            )
        # Chain nothing: a Redis error can carry the connection's settings.
        raise RateLimitStoreError(msg) from None

    def _closed_error(self) -> ClientClosedError:
        return ClientClosedError(_STORE_CLOSED)

    def _check_open(self) -> None:
        if self._closed:
            raise self._closed_error()

    async def take(self, wanted: int, *, waited: bool) -> Verdict:
        """Check the shared hold and take up to ``wanted`` tokens: one script call."""
        del waited  # Redis's clock decides; a wait is always checked again
        self._check_open()
        bound = await self._for_this_loop()
        # Handed to this call and forgotten here, whatever becomes of it: a call that fails
        # or is cancelled may have run on the server all the same, and giving the tokens
        # back twice would let more starts through than the budget allows. At worst, a
        # failed call's few tokens come free again with time, as any token does.
        back, self._given_back = self._given_back, 0
        args = (*self._args, wanted, back)
        taken, wait_us, held_ms, reset = await self._ask(
            bound.take(keys=self._keys, args=args), "take a token"
        )
        if reset and not self._reset_seen:
            self._reset_seen = True
            _LOG.warning(_RESET_WARNING, self._where)
        return Verdict(int(taken), int(wait_us) / 1_000_000, int(held_ms) / 1000)

    def give_back(self, count: int) -> None:
        """Returned with the next take (the script's first step)."""
        self._given_back += count

    async def share_hold(self, seconds: float) -> None:
        """Extend the shared hold to ``seconds`` from now (never shorten it)."""
        milliseconds = math.ceil(seconds * 1000)
        if milliseconds <= 0 or self._closed:
            return
        try:
            bound = await self._for_this_loop()
            await self._ask(bound.hold(keys=self._keys[1:], args=(milliseconds,)), "share a hold")
        except RateLimitStoreError:
            # The 429 itself is what the call reports; the next call fails on the store.
            _LOG.warning(
                "could not share a %.1f s rate-limit hold through %s",  # pragma: no mutate
                seconds,
                self._where,
            )

    async def aclose(self) -> None:
        """Take no more tokens, end the commands in flight, close the connections.

        Another loop's connections closed with that loop.
        """
        self._closed = True
        now = asyncio.get_running_loop().time()
        for limit in self._asking:
            if not limit.expired():
                limit.reschedule(now)
        bound, self._bound = self._bound, None
        if bound is not None and bound.loop is asyncio.get_running_loop():
            with contextlib.suppress(*self._errors):
                await bound.closer.aclose()


@attrs.frozen
class _LoopBound:
    """What a Redis store holds for one event loop."""

    loop: asyncio.AbstractEventLoop
    take: Any  # redis.commands.core.AsyncScript (the optional extra)
    hold: Any
    closer: AsyncGenerator[None, None]
