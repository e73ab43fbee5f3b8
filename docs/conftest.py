"""Run the Python examples in these pages as tests (Sybil), so the docs cannot drift.

An example preceded by ``% skip: next`` is a fragment (it needs your key, a real Juspay or
another framework) and is not run.
"""

from sybil import Sybil
from sybil.parsers.myst import PythonCodeBlockParser, SkipParser


def _setup(namespace: dict[str, object]) -> None:
    # Each page runs as a module would (aiohttp's AppKey looks for its __name__).
    namespace["__name__"] = "docs_example"


pytest_collect_file = Sybil(
    parsers=[SkipParser(), PythonCodeBlockParser()],
    patterns=["*.md"],
    setup=_setup,
).pytest()
