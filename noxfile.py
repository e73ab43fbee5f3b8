"""Developer tasks. ``nox -l`` lists them; ``nox -s tests`` runs the suite."""

from __future__ import annotations

import re
from pathlib import Path

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "typecheck", "tests"]

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
# Every Python the classifiers claim, for the `tests_all_pythons` matrix.
PYTHONS = [
    m.group(1)
    for c in PYPROJECT["project"]["classifiers"]
    if (m := re.fullmatch(r"Programming Language :: Python :: (3\.\d+)", c))
]


def _install(session: nox.Session, *groups: str) -> None:
    """Install the package (not editable: tests run against what users get) and groups."""
    session.install(".")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


def _run_tests(session: nox.Session) -> None:
    # PYTHONSAFEPATH keeps the source tree off sys.path, so the tests import the
    # installed package (and catch packaging mistakes); PYTHONDEVMODE shows every
    # ResourceWarning and never-awaited coroutine, which pytest then turns into errors.
    _install(session, "tests")
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        *session.posargs,
        env={"PYTHONDEVMODE": "1", "PYTHONSAFEPATH": "1"},
    )
    session.run("coverage", "combine", "--quiet")
    session.run("coverage", "report", "--fail-under=90")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite with warnings as errors and report branch coverage."""
    _run_tests(session)


@nox.session(name="tests_all_pythons", python=PYTHONS)
def tests_all_pythons(session: nox.Session) -> None:
    """Run the suite on every supported Python found on this machine."""
    _run_tests(session)


@nox.session
def lint(session: nox.Session) -> None:
    """Ruff: lint and check formatting."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Mypy --strict on the package and the tests."""
    _install(session, "typing")
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("mypy", "juspay_accounts", "tests", "noxfile.py")
    session.run("mypy", "docs")  # apart: docs/ has a conftest.py of its own


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against raw aiohttp and httpx; writes docs/performance.md.

    ``nox -s bench -- --smoke`` runs tiny sizes and writes nothing.
    """
    session.install(".[fast]")
    session.install(*nox.project.dependency_groups(PYPROJECT, "bench"))
    args = session.posargs or ["--output", "docs/performance.md"]
    session.run("python", "tests/benchmarks/run.py", *args)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with warnings as errors (docs/_build/html)."""
    _install(session, "docs", "tests")  # tests: the pytest plugin is documented too
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session
def demo(session: nox.Session) -> None:
    """Run the demo: the real client against the embedded fake Juspay."""
    session.install(".")
    session.run("juspay-accounts", "demo")
