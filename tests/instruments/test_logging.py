"""Logging as a library should: silent unless the application configures logging."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

import juspay_accounts as ja

if TYPE_CHECKING:
    from juspay_accounts.testing import FakeJuspay

RETRIED_CALL = """
import asyncio

import juspay_accounts as ja
from juspay_accounts.testing import FakeJuspay, Fault


async def main() -> None:
    async with FakeJuspay() as fake:
        fake.add_account("cst_1")
        fake.inject(Fault.respond(503, "<html>busy</html>"))
        policy = ja.RetryPolicy().without_waiting()
        async with ja.AccountsClient(fake.api_key, base_url=fake.url, retry=policy) as client:
            print(len(await client.all_accounts("cst_1")), len(fake.requests))


asyncio.run(main())
"""


def test_a_retried_call_prints_nothing_without_logging_configured() -> None:
    """An application that never configures logging gets nothing on stderr from a retry."""
    # No PYTHONDEVMODE: asyncio's debug mode logs slow callbacks, which is not the point.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDEVMODE"}
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, "-W", "error", "-c", RETRIED_CALL],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert ("1 2\n", "") == (done.stdout, done.stderr)


def test_the_library_logger_has_a_null_handler() -> None:
    """The juspay_accounts logger carries a NullHandler, so Python's last resort stays quiet."""
    handlers = logging.getLogger(ja.__name__).handlers
    assert [logging.NullHandler] == [type(h) for h in handlers]


@pytest.mark.asyncio
async def test_debug_records_each_request_and_answer(
    fake: FakeJuspay, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG: the method and path of each request, then its status and request id."""
    fake.add_account("cst_1")
    caplog.set_level(logging.DEBUG, logger="juspay_accounts")
    async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
        page = await client.list_accounts("cst_1")
    path = "/customers/cst_1/customer-accounts/list"
    assert [
        f"GET {path}",
        f"GET {path} -> 200 (request id {page.request_id})",
    ] == [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
