"""Developer tasks. ``nox -l`` lists them; ``nox -s tests`` runs the suite."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Final

import nox
import nox.virtualenv
from packaging.version import Version

nox.options.default_venv_backend = "venv"
if shutil.which("uv") is None:
    # The sessions use venv, yet nox looks for uv on every run and logs "uv binary not found.",
    # which reads like a problem to a newcomer. Tell it up front that there is none.
    nox.virtualenv.HAS_UV = False
    nox.virtualenv.UV = "uv"
    nox.virtualenv.UV_VERSION = Version("0.0")
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


def _pyenv_root() -> Path:
    """Where pyenv keeps its Pythons: `pyenv root`, else $PYENV_ROOT, else ~/.pyenv."""
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        done = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)  # noqa: S603 - pyenv itself
        if done.returncode == 0 and done.stdout.strip():
            return Path(done.stdout.strip())
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


# nox finds interpreters on PATH only, and pyenv keeps its Pythons out of it (behind shims
# that answer for the selected version alone): add each one's bin folder, at the end, so
# that `python3.12` is found without changing what `python3` is.
_PYENV_BINS = sorted(str(path) for path in (_pyenv_root() / "versions").glob("*/bin"))
os.environ["PATH"] = os.pathsep.join([os.environ.get("PATH", ""), *_PYENV_BINS])
# A Python the classifiers claim but this machine lacks fails its session loudly, in CI and
# on a laptop alike, instead of nox's quiet skip.
nox.options.error_on_missing_interpreters = True
MISSING_PYTHONS = [v for v in PYTHONS if shutil.which(f"python{v}") is None]
if MISSING_PYTHONS and any("tests_all_pythons" in arg for arg in sys.argv):
    print(  # noqa: T201 - said before nox starts, so that it is the first thing read
        f"nox: Python {', '.join(MISSING_PYTHONS)} not found (looked on PATH and in "
        f"{_pyenv_root()}/versions/*/bin): tests_all_pythons fails for "
        f"{'it' if len(MISSING_PYTHONS) == 1 else 'them'}; install with pyenv install "
        f"{' '.join(MISSING_PYTHONS)}, or choose sessions: nox -s 'tests_all_pythons-3.12'",
        file=sys.stderr,
    )


def _install(session: nox.Session, *groups: str) -> None:
    """Install the package (not editable: tests run against what users get) and groups."""
    session.install(".")
    for group in groups:
        session.install(*nox.project.dependency_groups(PYPROJECT, group))


# PYTHONSAFEPATH keeps the source tree off sys.path, so the tests import the installed
# package (and catch packaging mistakes); PYTHONDEVMODE shows every ResourceWarning and
# never-awaited coroutine, which pytest then turns into errors.
TEST_ENV: Final = {"PYTHONDEVMODE": "1", "PYTHONSAFEPATH": "1"}


def _run_tests(session: nox.Session) -> None:
    _install(session, "tests")
    session.run(
        "coverage",
        "run",
        "-m",
        "pytest",
        # The slow group (`nox -s slow`) is left out; a `-m` in the arguments replaces this.
        "-m",
        "not slow",
        *session.posargs,
        env=TEST_ENV,
    )
    session.run("coverage", "combine", "--quiet")
    if session.posargs:
        # Some tests, or some files: coverage is shown, but the gate is for the whole suite.
        session.log("a partial run (arguments given): coverage reported, not held to 90%")
        session.run("coverage", "report")
    else:
        session.run("coverage", "report", "--fail-under=90")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite with warnings as errors and report branch coverage."""
    _run_tests(session)


@nox.session
def slow(session: nox.Session) -> None:
    """Run the slow group (tests marked ``slow``): repeated runs, subprocess suites.

    Runs repeated hundreds of times, the benchmarks' smoke runs, the pytest plugin in
    subprocesses, budgets shared by several processes, the many-workers example, the chaos
    soak: left out of ``nox -s tests`` to keep it quick, run by CI.
    """
    _install(session, "tests")
    session.run("pytest", "-m", "slow", *session.posargs, env=TEST_ENV)


@nox.session(name="tests_all_pythons", python=PYTHONS)
def tests_all_pythons(session: nox.Session) -> None:
    """Run the suite on every Python the classifiers claim; a missing one fails, loudly.

    Interpreters are looked for on PATH and in pyenv's versions. ``nox -s
    'tests_all_pythons-3.12'`` runs one of them.
    """
    _run_tests(session)


@nox.session
def build(session: nox.Session) -> None:
    """Build the sdist and wheel into dist/, check them, and run the demo from the wheel.

    ``twine check --strict`` (the metadata and README as PyPI would render them) and
    ``check-wheel-contents``; then the wheel, with its ``cli`` extra, goes into a fresh
    virtual environment outside the source tree, which runs ``juspay-accounts demo`` and
    checks the installed version is the project's.
    """
    session.install(*nox.project.dependency_groups(PYPROJECT, "release"))
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), str(ROOT))
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        session.error(f"expected one wheel and one sdist in dist/, found {wheels + sdists}")
    session.run("twine", "check", "--strict", str(wheels[0]), str(sdists[0]))
    session.run("check-wheel-contents", str(wheels[0]))
    version = PYPROJECT["project"]["version"]
    with tempfile.TemporaryDirectory() as fresh:
        venv = Path(fresh) / "venv"
        session.run(sys.executable, "-m", "venv", str(venv), external=True)
        python = str(venv / "bin" / "python")
        session.run(python, "-m", "pip", "install", "--quiet", f"{wheels[0]}[cli]", external=True)
        with session.chdir(fresh):  # not the source tree: the wheel's package is imported
            installed = session.run(
                python,
                "-c",
                "import juspay_accounts; print(juspay_accounts.__version__)",
                external=True,
                silent=True,
            )
            if str(installed).strip() != version:
                session.error(f"the wheel installs version {installed!r}, not {version}")
            session.run(str(venv / "bin" / "juspay-accounts"), "demo", external=True)
    session.log(f"dist/{wheels[0].name} and dist/{sdists[0].name}: built, checked, installed")


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
    ``nox -s bench -- --instructions`` counts instructions per lookup under valgrind
    instead (plain and with orjson, on asyncio and uvloop) and writes that section of
    docs/performance.md; ``-- --instructions --smoke`` runs it tiny and writes nothing.
    ``nox -s bench -- --scenarios`` runs the scenarios over TLS with 10-20 ms answers (a
    fan-out, idle gaps, a big customer) and prints their tables; ``--smoke`` runs them tiny.
    """
    session.install(".[fast]")
    session.install(*nox.project.dependency_groups(PYPROJECT, "bench"))
    if session.posargs[:1] == ["--instructions"]:
        args = session.posargs[1:]
        if "--output" not in args:
            args += ["--output", "docs/performance.md"]
        session.run("python", "tests/benchmarks/instructions.py", *args)
        return
    if session.posargs[:1] == ["--scenarios"]:
        session.run("python", "tests/benchmarks/scenarios.py", *session.posargs[1:])
        return
    args = session.posargs or ["--output", "docs/performance.md"]
    session.run("python", "tests/benchmarks/run.py", *args)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with warnings as errors (docs/_build/html)."""
    _install(session, "docs", "tests")  # tests: the pytest plugin is documented too
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


# The share of mutants the tests must kill in every core module.
MUTATION_TARGET: Final = 0.90


def _mutation_scores(results: str) -> dict[str, Counter[str]]:
    """Count the lines of ``mutmut results --all true`` by module and status.

    Each line reads ``    juspay_accounts._retry.x_name__mutmut_3: killed``.
    """
    scores: dict[str, Counter[str]] = {}
    for line in results.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            scores.setdefault(name.rsplit(".", 1)[0], Counter())[status] += 1
    return scores


# What mutmut reports when the worker running a mutant died rather than the tests failing.
CRASHED: Final = frozenset({"segfault", "suspicious"})


def _mutants_with(results: str, statuses: frozenset[str]) -> list[str]:
    """The names of the mutants whose status in ``mutmut results --all true`` is one of these."""
    names = []
    for line in results.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name and status in statuses:
            names.append(name)
    return names


@nox.session
def mutation(session: nox.Session) -> None:
    """Mutation testing of the core modules (mutmut); prints killed / total per module.

    Slow (tens of minutes on two cores), so not part of CI. ``nox -s mutation -- NAME...``
    runs only the mutants whose names match, e.g. ``"juspay_accounts._pagination*"``.
    Results are kept in ``mutants/``: delete it to start afresh. MUTMUT_MAX_CHILDREN sets
    the number of workers (2). Mutants whose worker crashed are run once more, by name.
    See docs/testing-the-library.md.
    """
    # The package itself is not installed: the tests must import the mutated copy that
    # mutmut writes to mutants/, not an installed one.
    session.install(*PYPROJECT["project"]["dependencies"])
    session.install(*nox.project.dependency_groups(PYPROJECT, "tests", "mutation"))
    session.run("python", "-m", "pip", "uninstall", "--yes", "--quiet", "juspay-accounts")
    max_children = os.environ.get("MUTMUT_MAX_CHILDREN", "2")
    session.run("mutmut", "run", "--max-children", max_children, *session.posargs)
    results = str(session.run("mutmut", "results", "--all", "true", silent=True))
    # A worker that crashed (a segfault or a kill of mutmut's forked worker, seen on the
    # event-loop code) says nothing about the mutant: run those once more, by name.
    crashed = _mutants_with(results, CRASHED)
    if crashed:
        session.log(f"running {len(crashed)} mutants again whose worker crashed")
        session.run("mutmut", "run", "--max-children", max_children, *crashed)
        results = str(session.run("mutmut", "results", "--all", "true", silent=True))
    scores = _mutation_scores(results)
    if not scores:
        session.error("mutmut reported no mutants")
    session.log(f"{'module':<28} {'killed':>6} {'run':>6} {'score':>7}")
    below = []
    for module, counts in sorted(scores.items()):
        total = counts.total()
        if counts["not checked"] == total:
            session.log(f"{module:<28} {'':>6} {total:>6} {'':>7}  not run")
            continue
        # A mutant that makes the tests run past their time limit was noticed too.
        killed = counts["killed"] + counts["timeout"]
        # A run of some mutants by name scores what it ran; only a module run whole is held
        # to the target.
        checked = total - counts["not checked"]
        score = killed / checked
        rest = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()) if s != "killed")
        session.log(f"{module:<28} {killed:>6} {checked:>6} {score:>7.1%}  {rest}")
        if score < MUTATION_TARGET and checked == total:
            below.append(module)
    session.log("Survivors: `mutmut results`; one of them: `mutmut show NAME` (.nox/mutation/bin)")
    if below:
        session.error(f"below {MUTATION_TARGET:.0%} killed: {', '.join(below)}")


@nox.session
def demo(session: nox.Session) -> None:
    """Run the demo: the real client against the embedded fake Juspay."""
    session.install(".")
    session.run("juspay-accounts", "demo")
