"""The request builder's refusals word for word, and what a request's repr shows and hides."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

import juspay_accounts as ja
from juspay_accounts import _config, _request

if TYPE_CHECKING:
    from juspay_accounts.testing import FakeJuspay

SETTINGS = _config.make_settings(
    api_key="sk_test_secret", base_url="https://sandbox.juspay.in", user_agent="ua/1"
)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"offset": -1}, ValueError, "offset must be at least 0, got -1"),
        ({"offset": "1"}, TypeError, "offset must be an int, got str"),
        ({"offset": True}, TypeError, "offset must be an int, got bool"),
        ({"count": 0}, ValueError, "count must be at least 1, got 0"),
        ({"count": 2.0}, TypeError, "count must be an int, got float"),
    ],
)
def test_bad_offset_or_count_is_refused_by_name(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    """A bad offset or count is refused with its name, the rule and what came."""
    with pytest.raises(error) as info:
        _request.build_list_request(SETTINGS, "cst_1", **kwargs)  # type: ignore[arg-type]
    assert message == str(info.value)


def test_the_smallest_offset_and_count_are_sent() -> None:
    """offset=0 and count=1 are valid and go in the query."""
    request = _request.build_list_request(SETTINGS, "cst_1", offset=0, count=1)
    assert {"offset": "0", "count": "1"} == dict(request.url.query)


def test_repr_hides_only_the_credentials() -> None:
    """A request's and the settings' reprs show every header but Authorization's value."""
    request = _request.build_list_request(SETTINGS, "cst_1")
    for text in (repr(request), repr(SETTINGS)):
        assert "'Authorization': '<redacted>'" in text
        assert "'Accept': 'application/json'" in text
        assert "'User-Agent': 'ua/1'" in text
        assert "sk_test" not in text
        assert "c2tfdGVzdF9zZWNyZXQ6" not in text  # the key as the Basic token has it
    assert "'x-routing-id': 'cst_1'" in repr(request)


@pytest.mark.asyncio
async def test_fan_out_keeps_each_customers_page_bound(fake: FakeJuspay) -> None:
    """max_pages bounds every customer of a fan-out: one needing more pages fails alone."""
    for _ in range(5):
        fake.add_account("cst_many")
    fake.add_account("cst_one")
    policy = ja.RetryPolicy().without_waiting()
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, retry=policy) as client:
        results = await client.gather_accounts(["cst_many", "cst_one"], page_size=1, max_pages=2)
    assert isinstance(results["cst_many"].error, ja.PaginationError)
    assert "max_pages=2" in str(results["cst_many"].error)
    assert 1 == len(results["cst_one"].accounts)
    assert 3 == len(fake.requests)


def settings(**kwargs: object) -> _config.Settings:
    """make_settings with working defaults, changed by ``kwargs``."""
    base: dict[str, object] = {
        "api_key": "sk_1",
        "base_url": "https://sandbox.juspay.in",
        "user_agent": "ua/1",
    }
    return _config.make_settings(**(base | kwargs))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"base_url": 5}, TypeError, "base_url must be a str, got int"),
        (
            {"base_url": "https://a.example/?x=1"},
            ValueError,
            "base_url must not carry a query, a fragment or credentials",
        ),
        (
            {"base_url": "https://u:p@a.example"},
            ValueError,
            "base_url must not carry a query, a fragment or credentials",
        ),
        (
            {"base_url": "http://juspay.example"},
            ValueError,
            (
                "base_url 'http://juspay.example' is plain http: the API key would cross the "
                "network unencrypted. Use https, or pass allow_insecure_http=True if you really "
                "mean it (loopback hosts such as 127.0.0.1 are always allowed)"
            ),
        ),
        (
            {"api_key": " "},
            ValueError,
            "api_key must be a non-empty str (the key from the Juspay dashboard)",
        ),
        (
            {"api_key": "sk\x7f"},
            ValueError,
            "api_key must not contain control characters (was it read with a trailing newline?)",
        ),
        (
            {"api_key": "sk\udce9"},
            ValueError,
            "api_key must be text with a UTF-8 form (it holds a lone surrogate)",
        ),
        ({"user_agent": ""}, ja.InvalidInputError, "user_agent must not be empty"),
        ({"merchant_id": " "}, ja.InvalidInputError, "merchant_id must not be empty"),
        ({"api_version": "\t"}, ja.InvalidInputError, "api_version must not be empty"),
        ({"api_version": 3}, TypeError, "api_version must be a str, got int"),
    ],
)
def test_settings_are_refused_word_for_word(
    kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    """Each bad setting is refused naming the argument and the rule."""
    with pytest.raises(error) as info:
        settings(**kwargs)
    assert str(info.value).startswith(message)


def test_settings_accept_what_is_allowed() -> None:
    """A space inside a key is no control character; a trailing slash is dropped."""
    made = settings(api_key="sk 1", base_url="https://a.example/prefix/")
    assert "https://a.example/prefix" == made.base_url
    assert "Basic c2sgMTo=" == made.headers["Authorization"]
    assert "http://127.0.0.1:9" == settings(base_url="http://127.0.0.1:9").base_url
    long_url = "http://" + "h" * 120 + ".example"
    with pytest.raises(ValueError, match="is plain http") as info:
        settings(base_url=long_url)
    assert f"base_url {long_url[:100]!r} is plain" in str(info.value)
