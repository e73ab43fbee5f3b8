"""Secrets stay secret, personal data stays masked, and plain http is refused."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import traceback
from pathlib import Path
from typing import Any

import pytest

import juspay_accounts as ja
from juspay_accounts import _config, _request, _response
from juspay_accounts.testing import FakeJuspay, Fault

SECRET = "sk_live_SUPERSECRET_9f8e7d6c5b4a"
TOKEN = base64.b64encode(f"{SECRET}:".encode()).decode()
FORBIDDEN = (SECRET, TOKEN, f"Basic {TOKEN}", SECRET[8:])
_DATA = Path(__file__).parents[1] / "data"


def everything_about(exc: BaseException) -> str:
    """Every text an exception offers: str, repr, attributes, the full chained traceback."""
    parts = [str(exc), repr(exc), json.dumps(vars(exc), default=repr)]
    parts.extend(traceback.format_exception(exc))
    return "\n".join(parts)


def assert_no_secret(text: str) -> None:
    """Neither the key, its base64 form nor the header value is in ``text``."""
    for needle in FORBIDDEN:
        at = text.find(needle)
        assert at == -1, f"the key leaked here: {text[max(0, at - 300) : at + 100]!r}"


class Everything(logging.Handler):
    """A handler that keeps every record fully formatted, tracebacks included."""

    def __init__(self) -> None:
        """Keep everything from DEBUG up."""
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the formatted record and all its attributes."""
        self.lines.append(self.format(record) + json.dumps(vars(record), default=repr))


@pytest.mark.asyncio
async def test_api_key_never_leaks(caplog: pytest.LogCaptureFixture) -> None:  # noqa: PLR0915 - one long scenario on purpose
    """Across successes, retries, every error class and a timeout, nothing shows the key."""
    handler = Everything()
    root = logging.getLogger()
    root.addHandler(handler)
    # set_level, not setting .level: it also clears the loggers' isEnabledFor caches, which
    # an earlier test's retry logged at INFO would otherwise have left saying "disabled".
    for name in (
        None,
        "juspay_accounts",
        "aiohttp",
        "aiohttp.client",
        "aiohttp.internal",
        "asyncio",
    ):
        caplog.set_level(logging.DEBUG, logger=name)
    asyncio.get_running_loop().set_debug(True)
    texts: list[str] = []
    try:
        async with FakeJuspay(api_key=SECRET) as fake:
            for i in range(6):
                fake.add_account(f"c{i}", bank_account=fake.make_bank_account())
            quick = ja.RetryPolicy().without_waiting()
            client = ja.AccountsClient(SECRET, base_url=fake.url, retry=quick, timeout=0.5)
            texts += [repr(client), str(client)]
            page = await client.list_accounts("c0")
            texts += [repr(page), str(page), repr(client.retry)]
            fake.inject(Fault.respond(503, "<html>busy</html>"))
            await client.list_accounts("c1")
            faults = [
                Fault.respond(400, (_DATA / "error_400_fields.json").read_text()),
                Fault.respond(401, (_DATA / "seed_401.json").read_text()),
                Fault.respond(403, (_DATA / "error_403_bad_origin.json").read_text()),
                Fault.respond(404, "{}"),
                Fault.respond(500, "oops"),
                Fault.respond(302, "", headers={"Location": "https://elsewhere.example/"}),
                Fault.respond(200, "not json"),
                Fault.answer_late(3.0),  # trips the 0.5 s timeout
            ]
            errors: list[BaseException] = []
            for fault in faults:
                fake.inject(fault, times=10)
                with pytest.raises(ja.JuspayError) as info:
                    await client.list_accounts("c2", retry=ja.RetryPolicy.disabled())
                errors.append(info.value)
                fake.clear_faults()
            fake.inject(Fault.drop_connection(), times=4)
            # The usual timeout: 0.05 s can pass before a loaded machine sees the drop.
            patient = ja.AccountsClient(SECRET, base_url=fake.url)
            with pytest.raises(ja.APIConnectionError) as info:
                await patient.list_accounts("c3", retry=ja.RetryPolicy.disabled())
            await patient.aclose()
            errors.append(info.value)
            fake.clear_faults()
            with pytest.raises(ja.InvalidInputError) as invalid:
                await client.list_accounts("bad\r\nid")
            errors.append(invalid.value)
            limited = ja.AccountsClient(SECRET, base_url=fake.url)
            fake.inject(Fault.respond(429, "{}", headers={"Retry-After": "3600"}), customer_id="c0")
            with pytest.raises(ja.RateLimitError) as limit:
                await limited.list_accounts("c0")
            errors.append(limit.value)
            with pytest.raises(ja.RateLimitError, match="not sent") as held:
                # The hold is capped at max_retry_after (60 s): a call allowing less is not sent.
                await limited.list_accounts("c0", retry=ja.RetryPolicy(max_retry_after=10.0))
            errors.append(held.value)
            await limited.aclose()
            wrong_key = ja.AccountsClient("sk_wrong", base_url=fake.url)
            with pytest.raises(ja.AuthenticationError) as auth:
                await wrong_key.list_accounts("c0")
            errors.append(auth.value)
            await wrong_key.aclose()
            results = await client.gather_accounts(["c4", "c5", "nobody"])
            texts += [repr(r) for r in results.values()]
            texts.append(repr(client.accounts_for_customers(["x"])))
            await client.aclose()
            with pytest.raises(ja.ClientClosedError) as closed:
                await client.list_accounts("c0")
            errors.append(closed.value)
        assert {type(e) for e in errors} >= {
            ja.BadRequestError,
            ja.AuthenticationError,
            ja.PermissionDeniedError,
            ja.NotFoundError,
            ja.RateLimitError,
            ja.ServerError,
            ja.APIError,
            ja.ResponseValidationError,
            ja.APITimeoutError,
            ja.APIConnectionError,
            ja.InvalidInputError,
            ja.ClientClosedError,
        }
        texts += [everything_about(e) for e in errors]
    finally:
        root.removeHandler(handler)
    assert handler.lines, "the run should have logged something at DEBUG"
    assert any("retrying" in line for line in handler.lines), handler.lines[-20:]
    for text in texts + handler.lines:
        assert_no_secret(text)


def test_invalid_key_message_does_not_echo_it() -> None:
    """Refusing a key with a stray newline never prints the key."""
    with pytest.raises(ValueError, match="api_key") as info:
        ja.AccountsClient(SECRET + "\n")
    assert_no_secret(everything_about(info.value))


@pytest.mark.parametrize(
    "base_url",
    ["http://api.juspay.in", "http://10.0.0.5:8080", "http://juspay.internal/path"],
)
def test_plain_http_is_refused(base_url: str) -> None:
    """A plain-http base URL to a non-loopback host is refused with a clear ValueError."""
    with pytest.raises(ValueError, match="plain http") as info:
        ja.AccountsClient("k", base_url=base_url)
    assert "allow_insecure_http" in str(info.value)


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8080",
        "http://127.10.0.1",
        "http://localhost:9",
        "http://[::1]:80",
        "http://api.localhost",
    ],
)
def test_plain_http_to_loopback_is_allowed(base_url: str) -> None:
    """Loopback (where the fake server lives) may be plain http."""
    assert ja.AccountsClient("k", base_url=base_url).base_url.startswith("http://")


def test_plain_http_with_explicit_opt_in() -> None:
    """The caller may opt in to plain http explicitly."""
    client = ja.AccountsClient("k", base_url="http://gateway.internal", allow_insecure_http=True)
    assert "http://gateway.internal" == client.base_url


# -- personal data ---------------------------------------------------------------


def test_reprs_mask_personal_data_but_attributes_keep_it() -> None:
    """Account numbers, names and VPAs show only their last four characters in repr."""
    bank = ja.BankAccount(account="026291800001191", name="Asha Verma", ifsc="SBIN0001234")
    details = ja.AccountDetails(vpa="4225246777@yesg", bank_account=bank)
    text = repr(details)
    for secret in ("026291800001191", "4225246777", "Asha Verma"):
        assert secret not in text
    assert "'***********1191'" in text
    assert "'***********yesg'" in text
    assert "SBIN0001234" in text
    assert ("026291800001191", "4225246777@yesg") == (bank.account, details.vpa)
    assert "'****'" in repr(ja.AccountDetails(vpa="a@bc"))


@pytest.mark.asyncio
async def test_logs_never_contain_personal_data(
    fake: FakeJuspay, client: ja.AccountsClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A walk with retries logged at DEBUG mentions no account number or VPA."""
    caplog.set_level(logging.DEBUG)
    accounts = [fake.add_account("c", bank_account=fake.make_bank_account()) for _ in range(3)]
    accounts.append(fake.add_account("c", vpa="9876501234@okhdfc"))
    fake.max_page_size = 2
    fake.inject(Fault.respond(502, "bad gateway"))
    assert 4 == len(await client.all_accounts("c", page_size=2))
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert "retrying" in logged
    for account in accounts:
        details = account["account_details"]
        secret = details["bank_account"]["account"] if "bank_account" in details else details["vpa"]
        assert secret not in logged


def test_error_bodies_keep_no_account_numbers() -> None:
    """A malformed success body kept in ResponseValidationError has personal values masked."""
    body = json.dumps(
        {
            "list": [
                {
                    "account_details": {
                        "vpa": "4225246777@yesg",
                        "bank_account": {"account": "026291800001191", "name": "Asha Verma"},
                    }
                }
            ]
        }
    ).encode()
    with pytest.raises(ja.ResponseValidationError) as info:
        _response.decode_list_response(200, {}, body)
    text = everything_about(info.value)
    for secret in ("4225246777", "026291800001191", "Asha Verma"):
        assert secret not in text
    assert '"vpa": "<masked>"' in info.value.body


# -- request side ------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["cst\r\nX-Injected: 1", "cst\nx", "cst\x00", "cst\x1b[31m", "cst\x85"]
)
def test_control_characters_never_reach_headers(bad: str) -> None:
    """CR/LF and other control characters in ids are refused before sending."""
    settings = _config.make_settings(api_key="k", base_url="https://h", user_agent="ua")
    with pytest.raises(ValueError, match="control characters"):
        _request.build_list_request(settings, bad)
    with pytest.raises(ValueError, match="control characters"):
        _request.build_list_request(settings, "ok", routing_id=bad)


@pytest.mark.asyncio
async def test_oversized_body_is_refused_unread(fake: FakeJuspay) -> None:
    """A success body over max_response_bytes is refused, with or without Content-Length."""
    fake.add_customer("c")
    big: dict[str, Any] = {"list": [], "offset": 0, "count": 0, "total": 0, "pad": "x" * 200_000}
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, max_response_bytes=100_000, retry=ja.RetryPolicy.disabled()
    ) as client:
        for chunked in (False, True):
            fake.inject(Fault.respond(200, json.dumps(big), chunked=chunked))
            with pytest.raises(
                ja.ResponseValidationError, match="larger than max_response_bytes=100000"
            ):
                await client.list_accounts("c")
        # The 64 KiB cap on error bodies is measured on the wire (bytes the server got out)
        # in tests/transport/test_transport_limits.py::test_error_body_read_stops_near_the_cap.
        assert 0 == (await client.list_accounts("c")).total
