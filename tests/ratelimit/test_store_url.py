"""The Redis store URL: read once, by redis-py's own parser, and its password never shown."""

from __future__ import annotations

import logging

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
