"""Sphinx configuration: furo, MyST Markdown, autodoc from the docstrings."""

from __future__ import annotations

import importlib
import logging
import sys
from importlib.metadata import version as _version
from typing import TYPE_CHECKING, Any

from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging as sphinx_logging

if TYPE_CHECKING:
    from sphinx.addnodes import pending_xref
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

project = "juspay-accounts"
author = "The juspay-accounts developers"
copyright = "2026, The juspay-accounts developers"  # noqa: A001 - Sphinx's name
release = _version("juspay-accounts")
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "conftest.py"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
# Bases only where they say something (the exception tree: reference.md asks for them there);
# elsewhere "Bases: object" under every class is noise.
autodoc_default_options = {"members": True}
# Show each class's own docstring, never one inherited from object, str or Exception.
autodoc_inherit_docstrings = False
# Types read `CustomerAccount`, linked, rather than `juspay_accounts._models.CustomerAccount`:
# private module paths are mapped to the public names in _public_path() below.
python_use_unqualified_type_names = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = f"juspay-accounts {release}"
html_static_path = ["_static"]
html_css_files = ["fit.css"]

_LOG = sphinx_logging.getLogger(__name__)


def _own_docstring(qualified: str) -> list[str] | None:
    """The ``\"\"\"docstring\"\"\"`` under the assignment of a public constant, wherever it lives.

    Public constants are re-exported from private modules (``juspay_accounts._client``), where
    their docstrings are written; autodoc looks only in the module named in the directive and
    otherwise shows the docstring of the value's type (``str(object='') -> str``).
    """
    package, _, name = qualified.rpartition(".")
    candidates = [package, *sorted(m for m in sys.modules if m.startswith(f"{package}._"))]
    for module in candidates:
        try:
            docs = ModuleAnalyzer.for_module(module).find_attr_docs()
        except Exception:  # noqa: BLE001, S112 - not a module with source: try the next
            continue
        if ("", name) in docs:
            return list(docs["", name])
    return None


def _constant_docstrings(
    _app: Sphinx,
    what: str,
    name: str,
    _obj: object,
    _options: object,
    lines: list[str],
) -> None:
    if what != "data" or not name.startswith("juspay_accounts"):
        return
    own = _own_docstring(name)
    if own is None:
        _LOG.warning("the public constant %s has no docstring of its own", name)
        return
    lines[:] = own


def _public_path(app: Sphinx, env: BuildEnvironment, node: pending_xref, contnode: Any) -> Any:
    """Resolve ``juspay_accounts._models.CustomerAccount`` to the documented public name.

    Annotations name the private module that defines a class; users import it from
    ``juspay_accounts`` (or ``juspay_accounts.testing``), which is where the reference
    documents it.
    """
    package, _, name = str(node.get("reftarget", "")).rpartition(".")
    parts = package.split(".")
    private = parts[0] == "juspay_accounts" and any(part.startswith("_") for part in parts)
    if node.get("refdomain") != "py" or not private:
        return None
    for public in ("juspay_accounts", "juspay_accounts.testing"):
        if name in importlib.import_module(public).__all__:
            return env.domains["py"].resolve_xref(
                env,
                node["refdoc"],
                app.builder,
                node["reftype"],
                f"{public}.{name}",
                node,
                contnode,
            )
    return None


class _NoMystConfigDump(logging.Filter):
    """Drop MyST's one-line dump of its whole configuration from the build's output."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "myst v" not in str(record.msg)


def setup(app: Sphinx) -> None:
    """Register the hooks above."""
    app.connect("autodoc-process-docstring", _constant_docstrings)
    app.connect("missing-reference", _public_path)
    logging.getLogger("sphinx.myst_parser.sphinx_ext.main").addFilter(_NoMystConfigDump())
    importlib.import_module("juspay_accounts.testing")  # its private modules, for the above
