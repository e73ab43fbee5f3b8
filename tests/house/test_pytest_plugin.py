"""The pytest plugin users get: fixtures for a fake Juspay and a client wired to it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
# The slow group (nox -s slow, in CI): each test runs pytest in a subprocess.
pytestmark = pytest.mark.slow

TESTING_PAGE = Path(__file__).parents[2] / "docs" / "testing.md"


def documented_settings() -> str:
    """The ``pyproject.toml`` block docs/testing.md tells users to write."""
    blocks: list[str] = re.findall(r"```toml\n(.*?)```", TESTING_PAGE.read_text(), flags=re.DOTALL)
    (block,) = blocks
    return block


USER_TEST = '''
import asyncio

import attrs
import pytest
import juspay_accounts as ja
from juspay_accounts.testing import Fault


async def count_active(client: ja.AccountsClient, customer_id: str) -> int:
    """The user's own code under test."""
    accounts = await client.all_accounts(customer_id, page_size=2)
    return sum(a.validation_status == ja.ValidationStatus.ACTIVE for a in accounts)


@pytest.mark.asyncio
async def test_counts_active_accounts(fake_juspay, juspay_client):
    fake_juspay.max_page_size = 2
    for status in ("ACTIVE", "PENDING", "ACTIVE", "FAILURE", "ACTIVE"):
        fake_juspay.add_account("cst_1", validation_status=status)
    fake_juspay.inject(Fault.respond(503, "busy"))
    assert 3 == await count_active(juspay_client, "cst_1")
    assert 4 == len(fake_juspay.requests)


@pytest.mark.asyncio
async def test_unknown_customer(juspay_client):
    with pytest.raises(ja.NotFoundError):
        await count_active(juspay_client, "nobody")


def test_policy_keeps_the_default_rules(juspay_retry_policy):
    assert ja.RetryPolicy() == attrs.evolve(juspay_retry_policy, sleep=asyncio.sleep)


@pytest.mark.asyncio
async def test_policy_does_not_wait(juspay_retry_policy):
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(5):
        await juspay_retry_policy.sleep(3600)
    assert loop.time() - started < 1


@pytest.mark.asyncio
async def test_client_retries_without_waiting(fake_juspay, juspay_client):
    fake_juspay.add_account("cst_2")
    fake_juspay.inject(Fault.respond(429, "{}", headers={"Retry-After": "30"}), times=2)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with asyncio.timeout(5):
        assert 1 == len(await juspay_client.all_accounts("cst_2"))
    assert loop.time() - started < 1
    assert 3 == len(fake_juspay.requests)
'''


def test_plugin_fixtures_work_in_a_users_project(pytester: pytest.Pytester) -> None:
    """With the settings testing.md documents, a user's suite gets the fixtures for free."""
    pytester.makepyprojecttoml(documented_settings())
    pytester.makepyfile(test_user_service=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_plugin_is_registered_through_the_entry_point(pytester: pytest.Pytester) -> None:
    """The plugin is found by pytest's entry-point discovery, listed with the others."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    result = pytester.runpytest_subprocess("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*juspay_retry_policy*", "*fake_juspay*", "*juspay_client*"])


def test_documented_settings_are_needed(pytester: pytest.Pytester) -> None:
    """Without the loop-scope setting testing.md names, -W error stops a user's run."""
    settings = documented_settings()
    assert "asyncio_default_fixture_loop_scope" in settings
    pytester.makepyprojecttoml(
        "\n".join(line for line in settings.splitlines() if "loop_scope" not in line)
    )
    pytester.makepyfile(test_user_service=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert pytest.ExitCode.INTERNAL_ERROR == result.ret


ANYIO_TEST = """
import pytest
import juspay_accounts as ja
from juspay_accounts.testing import Fault

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend():
    return "asyncio"


async def test_lists_through_the_fake(fake_juspay, juspay_client):
    fake_juspay.add_account("cst_1")
    fake_juspay.inject(Fault.respond(503, "busy"))  # retried, without waiting
    assert 1 == len(await juspay_client.all_accounts("cst_1"))


async def test_unknown_customer(juspay_client):
    with pytest.raises(ja.NotFoundError):
        await juspay_client.list_accounts("nobody")
"""


def without_pytest_asyncio(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make pytest-asyncio impossible to import in pytester's subprocesses, as if not installed.

    A package of that name, first on the path, that fails to import: a finder on
    ``sys.meta_path`` would not do, as pytest's assertion rewriter finds plugins' modules
    by itself.
    """
    shadow = pytester.mkdir("not_installed") / "pytest_asyncio"
    shadow.mkdir()
    (shadow / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'pytest_asyncio'\", name='pytest_asyncio')\n"
    )
    path = f"{shadow.parent}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
    monkeypatch.setenv("PYTHONPATH", path)


def test_fixtures_work_under_anyio_alone(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With anyio's plugin and no pytest-asyncio at all, the async fixtures work."""
    without_pytest_asyncio(pytester, monkeypatch)
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makepyfile(test_user_service=ANYIO_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:asyncio")
    result.assert_outcomes(passed=2)


def test_fixtures_work_under_pytest_asyncio_alone(pytester: pytest.Pytester) -> None:
    """With pytest-asyncio and anyio's plugin switched off, the async fixtures work."""
    pytester.makepyprojecttoml(documented_settings())
    pytester.makepyfile(test_user_service=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:anyio")
    result.assert_outcomes(passed=5)


def test_anyio_and_pytest_asyncio_tests_side_by_side(pytester: pytest.Pytester) -> None:
    """Both plugins installed: each test's fixtures run on that test's own loop."""
    pytester.makepyprojecttoml(documented_settings())
    pytester.makepyfile(test_anyio_style=ANYIO_TEST, test_asyncio_style=USER_TEST)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=7)


def test_without_an_async_plugin_it_says_what_to_install(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Neither plugin: asking for an async fixture names both ways to get one."""
    without_pytest_asyncio(pytester, monkeypatch)
    pytester.makeini("[pytest]\nfilterwarnings = error\n")
    pytester.makepyfile(
        test_user_service="def test_sync(juspay_client):\n    pass\n",
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "no:asyncio", "-p", "no:anyio"
    )
    assert pytest.ExitCode.OK != result.ret
    result.stdout.fnmatch_lines(["*install pytest-asyncio*anyio*"])


def test_loading_the_plugin_imports_neither_the_client_nor_aiohttp() -> None:
    """The plugin, which pytest loads in every project that installs the library, stays light.

    Importing it (as pytest does, through the ``pytest11`` entry point) imports neither
    aiohttp nor the client; the fixtures import them when a test uses them.
    """
    code = (
        "import sys\n"
        "import juspay_accounts.testing.pytest_plugin\n"
        "heavy = ('aiohttp', 'yarl', 'attrs', 'cattrs', 'tenacity', 'juspay_accounts._')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "[]" == done.stdout.strip()
