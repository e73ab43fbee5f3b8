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


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """The package's modules, each with the package modules it imports (TYPE_CHECKING too)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                edges.update(alias.name for alias in node.names if alias.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module in modules:
                # `from pkg import sub` imports the submodule `pkg.sub`, not the package.
                subs = {f"{node.module}.{alias.name}" for alias in node.names}
                found = subs & modules.keys()
                edges.update(found or {node.module})
        edges.discard(name)
    return graph


def test_no_module_of_the_package_imports_one_that_imports_it_back() -> None:
    """No import cycle among the package's modules, counting imports under TYPE_CHECKING.

    The package's ``__init__`` (which re-exports the public names) and the modules that
    import it for those names are left out: that is the facade, not a cycle of rooms.
    """
    graph = import_graph()
    top = PACKAGE.name
    graph.pop(top)
    cycles = []
    for start in graph:
        seen: dict[str, str | None] = {start: None}
        stack = [start]
        while stack:
            node = stack.pop()
            for nxt in graph.get(node, ()):
                if nxt == start:
                    path = [node]
                    while (parent := seen[path[-1]]) is not None:
                        path.append(parent)
                    cycles.append(" -> ".join([start, *reversed(path[:-1]), start]))
                elif nxt not in seen and nxt != top:
                    seen[nxt] = node
                    stack.append(nxt)
    assert [] == sorted(cycles)


def test_no_module_is_over_450_lines() -> None:
    """A module that outgrows one screenful of rooms has more than one job: split it."""
    longest = {
        str(path.relative_to(PACKAGE)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    assert {} == {name: lines for name, lines in longest.items() if lines > 450}
