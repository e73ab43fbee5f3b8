"""The house rules of the package layout: the library never imports its command line."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import juspay_accounts as ja

PACKAGE = Path(ja.__file__).parent


def imported_modules(path: Path) -> set[str]:
    """Every module a source file imports, as written (relative imports are not used here)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            names.add(node.module)
    return names


def test_no_library_module_imports_the_command_line() -> None:
    """Only cli/ and __main__.py may import juspay_accounts.cli."""
    offenders = sorted(
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if "cli" not in path.relative_to(PACKAGE).parts[:1]
        and path.name != "__main__.py"
        and any(name.startswith("juspay_accounts.cli") for name in imported_modules(path))
    )
    assert [] == offenders


def test_importing_the_library_loads_no_command_line() -> None:
    """Importing juspay_accounts and its fake leaves juspay_accounts.cli unloaded."""
    code = (
        "import sys, juspay_accounts, juspay_accounts.testing\n"
        "print(sorted(m for m in sys.modules if m.startswith('juspay_accounts.cli')))"
    )
    done = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert "[]" == done.stdout.strip()
