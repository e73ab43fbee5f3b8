"""Sphinx configuration: furo, MyST Markdown, autodoc from the docstrings."""

from importlib.metadata import version as _version

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
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "furo"
html_title = f"juspay-accounts {release}"
