"""The Redis store URL: read once, by redis-py's own parser, and its password never shown."""

from __future__ import annotations

import asyncio
import logging
import sys

import pytest

import juspay_accounts as ja
from juspay_accounts import _ratelimit

PASSWORD = "Pw-s3cret"

# Every form redis-py reads a password in, each pointing where nothing listens.
FORMS = {
    "userinfo": f"redis://:{PASSWORD}@127.0.0.1:1/0",
    "user and password": f"redis://app:{PASSWORD}@127.0.0.1:1/0",
    "query": f"redis://127.0.0.1:1/0?password={PASSWORD}",
    "percent-encoded": "rediss://:Pw%2Fs3cret@127.0.0.1:1/0",
    "unix socket": f"unix:///nonexistent/redis.sock?db=0&password={PASSWORD}",
}


@pytest.mark.parametrize("url", FORMS.values(), ids=FORMS.keys())
def test_no_repr_shows_the_password(url: str) -> None:
    """The limit's and the store's reprs say where the store is, never the password."""
    limit = ja.RateLimit(1, store=url)
    store = _ratelimit.open_store(limit)
    for text in (repr(limit), repr(store)):
        assert "s3cret" not in text
        assert "127.0.0.1:1" in text or "/nonexistent/redis.sock" in text


@pytest.mark.asyncio
@pytest.mark.parametrize("url", FORMS.values(), ids=FORMS.keys())
async def test_no_error_or_log_shows_the_password(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A store that cannot be reached: the error, its chain and every log record keep it secret."""
    caplog.set_level(logging.DEBUG, logger="juspay_accounts")
    limit = ja.RateLimit(1, store=url)
    async with ja.AccountsClient("key", base_url="http://127.0.0.1:1", rate_limit=limit) as c:
        with pytest.raises(ja.RateLimitStoreError) as caught:
            await c.list_accounts("cst_1")
        texts = [str(caught.value), repr(caught.value), repr(c)]
    assert (None, None) == (caught.value.__cause__, caught.value.__context__)
    texts += [record.getMessage() for record in caplog.records]
    assert [] == [text for text in texts if "s3cret" in text]


@pytest.mark.parametrize(
    "url",
    [
        f"redis://:pa/{PASSWORD}@127.0.0.1:6379/0",
        f"redis://:pa#{PASSWORD}@127.0.0.1:6379/0",
        f"redis://:pa?{PASSWORD}@127.0.0.1:6379/0",
        f"redis://:{PASSWORD}@127.0.0.1:port/0",
        f"redis://:{PASSWORD}@127.0.0.1:6379/db{PASSWORD}",
        f"unix://?password={PASSWORD}",
    ],
    ids=["slash", "hash", "question mark", "bad port", "bad database", "no socket path"],
)
def test_a_url_it_cannot_use_is_refused_at_construction_quoting_no_password(url: str) -> None:
    """An unencoded '/', '#' or '?' in a password, a bad port or database: ValueError, now.

    Not later, and not as a raw error quoting part of the URL (which would be part of the
    password): the message says what to do instead.
    """
    with pytest.raises(ValueError, match="percent-encoded") as caught:
        ja.RateLimit(1, store=url)
    assert "s3cret" not in str(caught.value)
    assert (None, None) == (caught.value.__cause__, caught.value.__context__)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"redis://alice:{PASSWORD}@127.0.0.1:6380/2", "redis://alice:***@127.0.0.1:6380/2"),
        ("redis://127.0.0.1", "redis://127.0.0.1:6379/0"),
        ("redis://h?db=5", "redis://h:6379/5"),
        ("rediss://[::1]:7000/1", "rediss://[::1]:7000/1"),
        (f"redis://:{PASSWORD}@h/0", "redis://:***@h:6379/0"),
        ("redis://bob@h", "redis://bob@h:6379/0"),
        (f"unix:///tmp/r.sock?db=3&password={PASSWORD}", "unix://:***@/tmp/r.sock?db=3"),
    ],
)
def test_the_repr_shows_the_store_rebuilt_with_its_defaults(url: str, shown: str) -> None:
    """Where the store is, as redis-py reads it (port, database, user), the password as ***."""
    assert f"store={shown!r}" in repr(ja.RateLimit(5, store=url))


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        (f"http://:{PASSWORD}@127.0.0.1:6379/0", "http"),
        (f"ftp://u:{PASSWORD}@h/x://y", "ftp"),
        (f"127.0.0.1:6379?password={PASSWORD}", ""),
    ],
)
def test_a_store_of_another_scheme_is_refused_naming_only_the_scheme(url: str, scheme: str) -> None:
    """Another scheme: the error names it (and nothing past it, which may be a password)."""
    with pytest.raises(ValueError, match="store must be 'memory://' or a redis://") as caught:
        ja.RateLimit(1, store=url)
    assert str(caught.value).endswith(f"got one with scheme {scheme!r}")
    assert "s3cret" not in str(caught.value)


@pytest.mark.asyncio
async def test_a_redis_quoting_the_password_back_never_shows_it() -> None:
    """A server (or proxy) whose error repeats the AUTH it got: the store's error hides it."""

    async def echo_errors(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            said = data.decode(errors="replace").replace("\r\n", " ")
            writer.write(f"-ERR refused: {said}\r\n".encode())
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo_errors, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limit = ja.RateLimit(1, store=f"redis://app:{PASSWORD}@127.0.0.1:{port}/0")
    try:
        async with ja.AccountsClient("key", base_url="http://127.0.0.1:1", rate_limit=limit) as c:
            with pytest.raises(ja.RateLimitStoreError) as caught:
                await c.list_accounts("cst_1")
    finally:
        server.close()
        await server.wait_closed()
    error = caught.value
    assert "refused" in str(error)  # the server's words are there...
    assert "***" in str(error)  # ...with the password replaced
    texts = [str(error), repr(error), str(error.__cause__), str(error.__context__)]
    assert [] == [text for text in texts if "s3cret" in text]


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        (
            f"redis://:{PASSWORD}@127.0.0.1:port/0",
            "redis:// URL: redis-py cannot read it (ValueError)",
        ),
        (f"redis://:{PASSWORD}@/0", "redis:// URL: it names no host"),
        (f"rediss://:{PASSWORD}@h/x/y", "rediss:// URL: its database is not a number"),
        (f"unix://?password={PASSWORD}#x", "unix:// URL: it names no socket path"),
    ],
)
def test_a_store_url_it_cannot_use_names_what_is_wrong(url: str, problem: str) -> None:
    """Which part the URL gets wrong, for a user to fix; the scheme, and nothing after it."""
    with pytest.raises(ValueError, match="percent-encoded") as caught:
        ja.RateLimit(1, store=url)
    assert str(caught.value).startswith(f"store is not a usable {problem};")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://h?password=Pw-s3cret://x", "redis://:***@h:6379/0"),
        ("redis://h?password=Pw-s3cret/x", "redis://:***@h:6379/0"),
        ("redis://h#Pw-s3cret/x", "redis://h:6379/0"),
        ("memory://", "memory://"),
    ],
    ids=["'://' in a query", "'/' in a query", "'/' in a fragment", "memory"],
)
def test_what_follows_the_path_is_neither_shown_nor_taken_for_a_database(
    url: str, shown: str
) -> None:
    """A query or fragment holding '://' or '/' is read as redis-py reads it.

    The scheme is what comes before the first '://', so nothing of a password after it is
    shown; a '/' after the path is not a database.
    """
    assert f"store={shown!r}" in repr(ja.RateLimit(5, store=url))


def test_a_second_scheme_separator_in_a_refused_url_quotes_nothing_after_the_first() -> None:
    """A URL redis-py cannot read, with '://' again in its password: the message says redis://."""
    with pytest.raises(ValueError, match=r"^store is not a usable redis:// URL") as caught:
        ja.RateLimit(1, store="redis://:Pw-s3cret://x@127.0.0.1:port/0")
    assert "s3cret" not in str(caught.value)


def test_a_path_past_the_query_is_still_a_database_that_is_not_a_number() -> None:
    """``/x`` before a query holding '://': its database is not a number, whatever follows."""
    with pytest.raises(ValueError, match="its database is not a number"):
        ja.RateLimit(1, store="redis://h/x?password=Pw-s3cret://y")


def test_without_the_redis_package_a_redis_store_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The redis extra missing: RateLimitStoreError naming the package to install."""
    monkeypatch.setitem(sys.modules, "redis.asyncio.connection", None)  # import fails
    with pytest.raises(ja.RateLimitStoreError, match="pip install 'redis") as caught:
        ja.RateLimit(1, store="redis://127.0.0.1:6379/0")
    assert isinstance(caught.value.__cause__, ImportError)


@pytest.mark.asyncio
async def test_a_client_whose_redis_store_was_never_used_closes_quietly() -> None:
    """No call made: closing asks nothing of Redis (none listens here) and raises nothing."""
    async with ja.AccountsClient("key", rate_limit=ja.RateLimit(1, store="redis://127.0.0.1:1/0")):
        pass
