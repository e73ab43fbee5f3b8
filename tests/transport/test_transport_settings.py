"""The transport's settings: what a client refuses when it is built, word for word."""

from __future__ import annotations

import ssl
from typing import Any

import pytest

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault

_VERIFY_OFF = (
    "ssl_context must verify certificates and host names (verify_mode CERT_REQUIRED, "
    "check_hostname True): this library has no way to switch verification off. "
    "For a private CA, load it: ssl.create_default_context(cafile=...)"
)
_BAD_PROXY = (
    "proxy must be an http:// or https:// URL with a host and no path, such as http://proxy:3128"
)


def _no_hostname_check() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    return context


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"max_connections": 0}, ValueError, "max_connections must be at least 1, got 0"),
        ({"max_response_bytes": 0}, ValueError, "max_response_bytes must be at least 1, got 0"),
        ({"proxy": 3128}, TypeError, "proxy must be a str URL or None, got int"),
        ({"proxy": "socks5://proxy:1080"}, ValueError, _BAD_PROXY),
        (
            {"ssl_context": "/etc/ssl/ca.pem"},
            TypeError,
            "ssl_context must be an ssl.SSLContext or None, got str",
        ),
        ({"ssl_context": _no_hostname_check()}, ValueError, _VERIFY_OFF),
    ],
)
def test_bad_settings_are_refused_word_for_word(
    options: dict[str, Any], error: type[Exception], message: str
) -> None:
    """Each bad setting is refused at construction with its own message (never the value)."""
    with pytest.raises(error) as info:
        ja.AccountsClient("key", **options)
    assert message == str(info.value)


@pytest.mark.asyncio
async def test_a_one_byte_limit_is_accepted_and_applied(fake: FakeJuspay) -> None:
    """max_response_bytes=1 is allowed (the bound is 1): a 2-byte page is then refused."""
    fake.inject(Fault.respond(200, "{}"))
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, max_response_bytes=1, retry=ja.RetryPolicy.disabled()
    ) as client:
        with pytest.raises(ja.ResponseValidationError) as info:
            await client.list_accounts("cst_1")
    assert ("body larger than 1 bytes @ $",) == info.value.errors
