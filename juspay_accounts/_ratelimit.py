"""A client-side rate limit: how many requests may start per second, in one process or many.

Two things are kept in the limit's store, and so shared by everything that uses the same
store and key:

- the budget: a token bucket of ``burst`` tokens refilling at ``per_second`` (GCRA, the
  generic cell rate algorithm: one "theoretical arrival time" per key). Every attempt,
  retries included, takes a token before it starts;
- with a Redis store, the rate-limit hold: a 429 with ``Retry-After`` seen by one process
  holds back every process until then (in one process the client's own hold does that).

``memory://`` keeps the budget in the client (a dozen lines below, on the retry clock so
tests can fake time). ``redis://`` keeps both in Redis through ``pyrate-limiter``'s GCRA
Lua script (one atomic check-and-take per attempt) and the ``redis`` asyncio client: the
optional ``redis`` extra.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import random
import time
import urllib.parse
from typing import TYPE_CHECKING, Any, Final, Protocol

import attrs

from juspay_accounts import _retry
from juspay_accounts.exceptions import RateLimitError, RateLimitStoreError

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Awaitable, Callable

    from juspay_accounts._retry import RetryPolicy

__all__ = ["Budget", "RateLimit", "open_budget"]

_LOG: Final = logging.getLogger("juspay_accounts")
_REDIS_SCHEMES: Final = frozenset({"redis", "rediss", "unix"})
_EXTRA_HINT: Final = "install the redis extra: pip install 'juspay-accounts[redis]'"
# How long one Redis command may take before the call fails with RateLimitStoreError:
# a Redis that is down refuses at once; one that is unreachable must not hang the call.
STORE_TIMEOUT: Final = 2.0
# pyrate-limiter's Rate takes whole requests per whole milliseconds: express per_second
# over 1000 s so that rates like 0.5 or 2.5 per second stay exact to a thousandth.
_RATE_INTERVAL_MS: Final = 1_000_000


def _positive_rate(_instance: object, _attribute: object, value: Any) -> None:  # noqa: ANN401
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0.001  # noqa: PLR2004 - one request every 1000 s, the finest rate kept
    ):
        msg = f"per_second must be a number of at least 0.001, got {value!r}"
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
    if value == "memory://":
        return
    scheme = urllib.parse.urlsplit(value).scheme
    if scheme not in _REDIS_SCHEMES:
        msg = (
            f"store must be 'memory://' or a redis://, rediss:// or unix:// URL, "
            f"got one with scheme {scheme!r}"
        )
        raise ValueError(msg)


def _redacted(url: str) -> str:
    """The store URL without its password, for reprs, logs and messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:" if parts.username else ":"
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}***@{netloc}"))


def _require_redis_extra() -> None:
    try:
        import pyrate_limiter  # noqa: F401, PLC0415 - only to see that the extra is there
        import redis.asyncio  # noqa: F401, PLC0415
    except ImportError as exc:
        msg = (
            "a redis:// rate-limit store needs the redis and pyrate-limiter packages: "
            + _EXTRA_HINT
        )
        raise RateLimitStoreError(msg) from exc


@attrs.frozen
class RateLimit:
    """How many requests a client may start per second, in one process or across many.

    ``AccountsClient(..., rate_limit=RateLimit(20))`` starts no more than 20 requests a
    second (retries included) after a first burst of at most ``burst``, across every call
    on the client. With ``store="redis://host:6379/0"`` every process using the same store
    and ``key`` shares that one budget, and a 429 with ``Retry-After`` seen by any of them
    holds them all back.

    Attributes:
        per_second: Requests that may start per second, on average (0.5 is one every two
            seconds).
        burst: How many may start at once after a quiet spell; ``None`` means
            ``per_second`` (rounded down, at least 1). ``1`` spaces every request evenly.
        store: ``"memory://"`` keeps the budget in the client; ``"redis://host:port/db"``
            (or ``rediss://``, ``unix://``) shares it through Redis, and needs the
            ``redis`` extra. A password in the URL never appears in reprs, logs or errors.
        key: The name of the budget in the store: processes with the same store and key
            share one budget.

    Raises:
        ValueError: ``per_second`` below 0.001, ``burst`` below 1, an empty ``key``, or a
            store that is neither ``memory://`` nor a Redis URL.
        RateLimitStoreError: a Redis store without the ``redis`` extra installed.
    """

    per_second: float = attrs.field(validator=_positive_rate)
    burst: int | None = attrs.field(default=None, kw_only=True, validator=_burst)
    store: str = attrs.field(
        default="memory://", kw_only=True, validator=_store, repr=lambda url: repr(_redacted(url))
    )
    key: str = attrs.field(default="juspay-accounts", kw_only=True, validator=_key)

    def __attrs_post_init__(self) -> None:
        """Fail at construction, not at the first call, when the Redis extra is missing."""
        if self.shared:
            _require_redis_extra()

    @property
    def bucket_size(self) -> int:
        """The burst in force: ``burst``, or ``per_second`` rounded down (at least 1)."""
        return self.burst if self.burst is not None else max(1, math.floor(self.per_second))

    @property
    def shared(self) -> bool:
        """Whether the budget lives in Redis, shared by every process using it."""
        return self.store != "memory://"


class Budget(Protocol):
    """What the retry loop needs from a rate limit (one per client)."""

    async def acquire(
        self, policy: RetryPolicy, closed: asyncio.Event | None, deadline_at: float | None
    ) -> None:
        """Wait until one more attempt may start, and take its token."""

    async def share_hold(self, seconds: float) -> None:
        """Hold back every process sharing the budget for ``seconds`` (after a 429)."""

    async def aclose(self) -> None:
        """Release what the budget holds open (connections)."""


def open_budget(limit: RateLimit) -> Budget:
    """The runtime budget for one client under ``limit``."""
    if limit.shared:
        return RedisBudget(limit)
    return LocalBudget(limit)


class LocalBudget:
    """The budget kept in the client: GCRA, on the retry clock, waiting with the policy's sleep.

    Each attempt reserves the next free start time at once and sleeps until then, so
    many waiting calls cost one computation each, not a poll per freed token.
    """

    __slots__ = ("_emission", "_tat", "_tolerance")

    def __init__(self, limit: RateLimit) -> None:
        """An empty (full) bucket for ``limit``."""
        self._emission = 1.0 / limit.per_second
        self._tolerance = limit.bucket_size * self._emission
        self._tat = -math.inf  # the theoretical arrival time: when the bucket is next full

    async def acquire(
        self, policy: RetryPolicy, closed: asyncio.Event | None, deadline_at: float | None
    ) -> None:
        """Reserve the next start time and wait for it (the deadline does not shorten it)."""
        del deadline_at  # the client's own hold is checked by the retry loop
        now = _retry._clock()  # noqa: SLF001 - the package's one clock seam
        self._tat = max(self._tat, now) + self._emission
        start_at = self._tat - self._tolerance
        if start_at > now:
            await _retry._sleeper(policy, closed)(start_at - now)  # noqa: SLF001

    async def share_hold(self, seconds: float) -> None:
        """Nothing to share: the client's own hold already holds back its calls."""

    async def aclose(self) -> None:
        """Nothing is open."""


class RedisBudget:
    """The budget and the rate-limit hold kept in Redis, shared by every process using them.

    The budget is ``pyrate-limiter``'s GCRA (its Lua script checks and takes a token in one
    atomic step); the hold is one key whose time to live is the hold. Within a process one
    call at a time asks Redis (a lock), so a thousand waiting calls do not poll it a
    thousand times per freed token. Waits are real: the budget is shared with other
    processes, so a faked sleep could not speed it up.
    """

    def __init__(self, limit: RateLimit) -> None:
        """Configure the connection (opened at the first call) and the GCRA for ``limit``."""
        import pyrate_limiter  # noqa: PLC0415 - the optional extra
        import redis.asyncio  # noqa: PLC0415
        import redis.backoff  # noqa: PLC0415

        self._where = _redacted(limit.store)
        self._redis_errors: tuple[type[BaseException], ...] = (
            redis.exceptions.RedisError,
            OSError,
            TimeoutError,
        )
        self._connect = functools.partial(
            redis.asyncio.Redis.from_url,
            limit.store,
            socket_connect_timeout=STORE_TIMEOUT,
            socket_timeout=STORE_TIMEOUT,
            # One quiet reconnection (a restarted Redis leaves dead pooled connections),
            # no backoff: a Redis that is down fails the call within STORE_TIMEOUT.
            retry=redis.asyncio.retry.Retry(redis.backoff.NoBackoff(), 1),
        )
        self._state_store = functools.partial(
            pyrate_limiter.RedisStateStore, key=f"{limit.key}:budget"
        )
        # Connections and the lock belong to one event loop: made for each loop in turn
        # (a client built at module level serves successive asyncio.run calls).
        self._bound: _LoopBound | None = None
        self._algorithm = pyrate_limiter.GCRA()
        self._rates = [
            pyrate_limiter.Rate(
                round(limit.per_second * _RATE_INTERVAL_MS / 1000),
                _RATE_INTERVAL_MS,
                burst=limit.bucket_size,
            )
        ]
        self._hold_key = f"{limit.key}:hold"

    async def _for_this_loop(self) -> _LoopBound:
        """The connection pool and lock of the running loop, made on its first call."""
        loop = asyncio.get_running_loop()
        bound = self._bound
        if bound is None or bound.loop is not loop:
            # An earlier loop's pool was closed as that loop shut down (see _close_with_loop).
            client = self._connect()
            closer = _close_with_loop(client, self._redis_errors)
            await anext(closer)
            bound = self._bound = _LoopBound(
                loop, client, self._state_store(client), asyncio.Lock(), closer
            )
        return bound

    def __repr__(self) -> str:
        """Where the budget lives, without the password."""
        return f"<RedisBudget {self._where}>"

    async def _ask(self, command: Awaitable[Any], what: str) -> Any:  # noqa: ANN401 - Redis replies
        try:
            return await command
        except self._redis_errors as exc:
            msg = (
                f"not sent: the rate limit's Redis store {self._where} could not {what} "
                f"({type(exc).__name__}: {exc})"
            )
        # Chain nothing: a Redis error can carry the connection's settings.
        raise RateLimitStoreError(msg) from None

    async def acquire(
        self, policy: RetryPolicy, closed: asyncio.Event | None, deadline_at: float | None
    ) -> None:
        """Wait out any shared hold, then for a token; fail if the hold is too long."""
        sleep = (
            asyncio.sleep if closed is None else _retry._interruptible(asyncio.sleep, closed)  # noqa: SLF001
        )
        bound = await self._for_this_loop()
        async with bound.lock:
            while True:
                held_ms = await self._ask(bound.client.pttl(self._hold_key), "read the hold")
                if held_ms > 0:
                    await self._wait_hold(held_ms / 1000, policy, sleep, deadline_at)
                    continue
                now_ms = time.time_ns() // 1_000_000  # wall clock: shared across machines
                decision = await self._ask(
                    bound.store.check(self._algorithm, self._rates, now_ms, 1),
                    "take a token",
                )
                if decision.allowed:
                    return
                await sleep((decision.retry_after_ms or 1) / 1000)

    @staticmethod
    async def _wait_hold(
        held: float,
        policy: RetryPolicy,
        sleep: Callable[[float], Awaitable[None]],
        deadline_at: float | None,
    ) -> None:
        # The same rule as the client's own hold: jitter included, decided on the longest.
        if held > policy.max_retry_after or (
            deadline_at is not None and _retry._clock() + held + policy.initial_delay >= deadline_at  # noqa: SLF001
        ):
            raise RateLimitError(
                status=429,
                retry_after=held,
                message=(
                    f"not sent: Juspay rate-limited a process sharing this budget for another "
                    f"{held:.1f} s, longer than this call may wait"
                ),
            )
        # Resume with jitter so held processes do not all come back in the same instant.
        await sleep(held + random.uniform(0, policy.initial_delay))  # noqa: S311 - jitter

    async def share_hold(self, seconds: float) -> None:
        """Extend the shared hold to ``seconds`` from now (never shorten it)."""
        milliseconds = math.ceil(seconds * 1000)
        if milliseconds <= 0:
            return
        try:
            bound = await self._for_this_loop()
            async with bound.client.pipeline(transaction=True) as pipe:
                # Set it if there is none; else only lengthen it (Redis 7's PEXPIRE ... GT).
                pipe.set(self._hold_key, b"429", px=milliseconds, nx=True)
                pipe.pexpire(self._hold_key, milliseconds, gt=True)
                await pipe.execute()
        except self._redis_errors as exc:
            # The 429 itself is what the call reports; the next call fails on the store.
            _LOG.warning(
                "could not share a %.1f s rate-limit hold through %s: %s",
                seconds,
                self._where,
                type(exc).__name__,
            )

    async def aclose(self) -> None:
        """Close the connections to Redis (those of another loop closed with that loop)."""
        bound, self._bound = self._bound, None
        if bound is not None and bound.loop is asyncio.get_running_loop():
            await bound.closer.aclose()


@attrs.frozen
class _LoopBound:
    """What a Redis budget holds for one event loop."""

    loop: asyncio.AbstractEventLoop
    client: Any  # redis.asyncio.Redis (the optional extra)
    store: Any  # pyrate_limiter.RedisStateStore
    lock: asyncio.Lock
    closer: AsyncGenerator[None, None]


async def _close_with_loop(
    client: Any,  # noqa: ANN401 - redis.asyncio.Redis, from the optional extra
    errors: tuple[type[BaseException], ...],
) -> AsyncGenerator[None, None]:
    """Hold ``client``'s pool open until closed, or until its event loop shuts down.

    ``asyncio.run`` and ``asyncio.Runner`` finalise suspended async generators before
    closing the loop, so the pool is closed inside its own loop, without a warning.
    """
    try:
        yield
    finally:
        with contextlib.suppress(*errors):
            await client.aclose()
