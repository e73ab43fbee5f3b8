"""Release readiness: the changelog agrees with the version, and install lines work today."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.version import Version

ROOT = Path(__file__).parents[2]
VERSION = Version(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"])
# `pip install ... juspay-accounts[...]` or `pip install juspay-accounts`: PyPI's name.
FROM_PYPI = re.compile(r"pip install\s+(?:-\S+\s+)*[\"']?juspay-accounts\b")


def released_versions(changelog: str) -> list[Version]:
    """The versions of the changelog's release headings (``## [0.1.0] - 2026-12-08``)."""
    return [Version(v) for v in re.findall(r"^## \[(\d[^\]]*)\]", changelog, flags=re.MULTILINE)]


def test_changelog_agrees_with_the_version() -> None:
    """The newest release in CHANGELOG.md is the version, or the version is still Unreleased."""
    changelog = (ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[([^\]]+)\]", changelog, flags=re.MULTILINE)
    assert headings, "CHANGELOG.md has no version headings"
    released = released_versions(changelog)
    if headings[0] == "Unreleased":
        # The version being prepared is newer than anything released.
        assert all(VERSION > v for v in released), (VERSION, released)
    else:
        assert VERSION == released[0], "the newest release heading must be the version"
    assert released == sorted(released, reverse=True), "releases newest first"


@pytest.mark.parametrize(
    "path",
    [
        ROOT / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted((ROOT / "juspay_accounts").rglob("*.py")),
    ],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_install_lines_work_before_a_release(path: Path) -> None:
    """A line that installs juspay-accounts from PyPI also says it is for once it is published.

    The name is not on PyPI yet: such a line would fail, or install whatever someone else
    publishes under it.
    """
    if VERSION_RELEASED:
        pytest.skip("released: PyPI's name is the install line")
    bad = [
        line.strip()
        for line in path.read_text().splitlines()
        if FROM_PYPI.search(line) and "published" not in line
    ]
    assert [] == bad


# Flip when the first release is on PyPI (and name it in CHANGELOG.md).
VERSION_RELEASED = False
