"""Configuration from the environment: $JUSPAY_API_KEY and $JUSPAY_BASE_URL, arguments first."""

from __future__ import annotations

import aiohttp
import pytest

import juspay_accounts as ja


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Neither variable set, whatever the machine has."""
    monkeypatch.delenv("JUSPAY_API_KEY", raising=False)
    monkeypatch.delenv("JUSPAY_BASE_URL", raising=False)
    return monkeypatch


@pytest.mark.asyncio
async def test_the_key_and_url_come_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    """Without arguments the client sends $JUSPAY_API_KEY to $JUSPAY_BASE_URL."""
    from juspay_accounts.testing import FakeJuspay  # noqa: PLC0415 - aiohttp.web only here

    async with FakeJuspay() as fake:
        fake.add_account("cst_1")
        clean_env.setenv("JUSPAY_API_KEY", f"{fake.api_key}\n")  # a newline from a file
        clean_env.setenv("JUSPAY_BASE_URL", fake.url)
        async with ja.AccountsClient() as client:
            assert fake.url == client.base_url
            assert 1 == len(await client.all_accounts("cst_1"))


def test_without_a_url_it_is_the_sandbox(clean_env: pytest.MonkeyPatch) -> None:
    """No $JUSPAY_BASE_URL (or a blank one) means the sandbox, as before."""
    assert ja.SANDBOX_URL == ja.AccountsClient("key").base_url
    clean_env.setenv("JUSPAY_BASE_URL", " ")
    assert ja.SANDBOX_URL == ja.AccountsClient("key").base_url


def test_an_argument_wins_over_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    """An explicit base_url is used even when $JUSPAY_BASE_URL says otherwise."""
    clean_env.setenv("JUSPAY_BASE_URL", "https://white-label.example")
    clean_env.setenv("JUSPAY_API_KEY", "env_key")
    assert "https://white-label.example" == ja.AccountsClient().base_url
    assert ja.PRODUCTION_URL == ja.AccountsClient("key", base_url=ja.PRODUCTION_URL).base_url


def test_no_key_anywhere_names_the_variable(clean_env: pytest.MonkeyPatch) -> None:
    """Neither api_key nor $JUSPAY_API_KEY: a ValueError that says what to set."""
    del clean_env
    with pytest.raises(ValueError, match=r"\$JUSPAY_API_KEY") as caught:
        ja.AccountsClient()
    assert "api_key=" in str(caught.value)


def test_the_environments_key_never_shows(clean_env: pytest.MonkeyPatch) -> None:
    """A key read from the environment is no more visible than one passed in."""
    clean_env.setenv("JUSPAY_API_KEY", "sk_live_secret_from_env")
    client = ja.AccountsClient()
    assert "sk_live_secret_from_env" not in repr(client)
    clean_env.setenv("JUSPAY_BASE_URL", "http://juspay.example")
    with pytest.raises(ValueError, match="plain http") as caught:
        ja.AccountsClient()
    assert "sk_live_secret_from_env" not in repr(caught.value)


def test_an_aiohttp_timeout_is_a_clear_type_error() -> None:
    """timeout=aiohttp.ClientTimeout(...) says to pass seconds, not a raw comparison error."""
    with pytest.raises(TypeError, match=r"seconds as a number \(timeout=30.0\)"):
        ja.AccountsClient("key", timeout=aiohttp.ClientTimeout(total=5))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not bool"):
        ja.AccountsClient("key", timeout=True)


@pytest.mark.asyncio
async def test_a_bad_header_value_is_not_told_to_fix_an_id() -> None:
    """The refusal of a header value names the header and says nothing of ids."""
    async with ja.AccountsClient("key", base_url="http://127.0.0.1:9") as client:
        with pytest.raises(ja.InvalidInputError) as caught:
            await client.list_accounts("cst_1", headers={"x-trace": "a\r\nb"})
    assert "header x-trace" in str(caught.value)
    assert " id" not in str(caught.value)
