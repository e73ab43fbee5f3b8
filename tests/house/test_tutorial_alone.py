"""The tutorial's examples run as its page promises: each pasted alone, each printing something."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

TUTORIAL = Path(__file__).parents[2] / "docs" / "tutorial.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", TUTORIAL.read_text(), flags=re.DOTALL)


def test_the_tutorial_has_its_four_examples() -> None:
    """The first call, every page, many customers, errors."""
    assert 4 == len(EXAMPLES)


@pytest.mark.parametrize("number", range(1, len(EXAMPLES) + 1))
def test_each_example_runs_alone_and_prints(number: int, tmp_path: Path) -> None:
    """Example N in a file of its own, in a fresh interpreter: no NameError, some output."""
    script = tmp_path / f"example_{number}.py"
    script.write_text(EXAMPLES[number - 1])
    done = subprocess.run(  # noqa: S603 - our own interpreter and the page's code
        [sys.executable, "-W", "error", str(script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )
    assert 0 == done.returncode, done.stderr
    assert done.stdout.strip()
