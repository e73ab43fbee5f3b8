"""The docs as a reader meets them: listings that match the code, code that fits the page."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import juspay_accounts as ja
from juspay_accounts import exceptions

ROOT = Path(__file__).parents[2]
DOCS = ROOT / "docs"
WIDEST_CODE_LINE = 84
"""Characters of code that fit the docs theme's box at a 1280-pixel window without scrolling."""


def call_arguments(text: str, opening: str) -> list[str]:
    """The arguments of the call that starts with ``opening``, as written, split at top level."""
    start = text.index(opening) + len(opening)
    depth, arguments, current = 0, [], ""
    for char in text[start:]:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                break
            depth -= 1
        if char == "," and depth == 0:
            arguments.append(current)
            current = ""
            continue
        current += char
    arguments.append(current)
    return [" ".join(a.split()).strip("`") for a in arguments if a.strip(" \n`")]


@pytest.mark.parametrize(
    ("page", "opening"),
    [("README.md", "`AccountsClient("), ("docs/client.md", "ja.AccountsClient(\n")],
)
def test_constructor_listing_matches_the_signature(page: str, opening: str) -> None:
    """README's and client.md's AccountsClient listings name every parameter, default and all."""
    listed = call_arguments((ROOT / page).read_text(), opening)
    # The public names, not vars(ja): the package imports each on first use.
    namespace = {**{name: getattr(ja, name) for name in ja.__all__}, "ja": ja}
    shown = []
    for argument in listed:
        name, _, default = argument.partition("=")
        value = (
            inspect.Parameter.empty
            if not default
            else eval(compile(ast.parse(default, mode="eval"), page, "eval"), namespace)  # noqa: S307 - our own docs
        )
        shown.append((name.strip(), value))
    expected = []
    for parameter in inspect.signature(ja.AccountsClient).parameters.values():
        if (
            parameter.kind is inspect.Parameter.KEYWORD_ONLY
            and ("*", inspect.Parameter.empty) not in expected
        ):
            expected.append(("*", inspect.Parameter.empty))
        expected.append((parameter.name, parameter.default))
    assert expected == shown


def code_lines(page: Path) -> list[tuple[int, str]]:
    """The lines of the page's fenced code blocks, except ```text output (which wraps)."""
    found, language = [], None
    for number, line in enumerate(page.read_text().splitlines(), 1):
        if line.startswith("```"):
            # A fence opens a block (```{directive} too, whose body is no code), or closes one.
            language = line[3:].strip() if language is None else None
            continue
        if language is not None and language != "text" and not language.startswith("{"):
            found.append((number, line))
    return found


@pytest.mark.parametrize("page", sorted(DOCS.glob("*.md")), ids=lambda page: page.name)
def test_code_fits_the_page(page: Path) -> None:
    """No code line in the docs runs past the box it is shown in."""
    too_wide = [(n, line) for n, line in code_lines(page) if len(line) > WIDEST_CODE_LINE]
    assert [] == too_wide


def test_exception_tree_is_the_same_on_the_page_and_in_the_module() -> None:
    """errors.md and the exceptions module draw one tree, in plain text (no RST markup)."""
    (page_tree,) = re.findall(
        r"```\n(JuspayError .*?)```", (DOCS / "errors.md").read_text(), re.DOTALL
    )
    module_doc = exceptions.__doc__ or ""
    module_tree = "\n".join(
        line.removeprefix("    ")
        for line in module_doc.splitlines()
        if line.startswith(("    JuspayError", "    ├", "    │", "    └"))
    )
    assert page_tree.rstrip("\n") == module_tree
    assert "``" not in module_tree


def test_retries_page_says_which_answers_have_their_retry_after_honoured() -> None:
    """retries.md's Retry-After rule names every status retried by default, as the code does."""
    waits = (DOCS / "retries.md").read_text().split("## Waits", 1)[1].split("\n## ", 1)[0]
    (rule,) = [b for b in waits.split("\n- ") if "carries `Retry-After`" in b]
    rule = " ".join(rule.split())
    assert "retry_statuses" in rule
    assert [] == [s for s in sorted(ja.DEFAULT_RETRY_STATUSES) if str(s) not in rule]


def test_readme_error_list_names_every_exception() -> None:
    """The README's one-line exception tree names every error class the library exports."""
    readme = (ROOT / "README.md").read_text()
    (listing,) = [b for b in readme.split("\n- ") if b.startswith("Errors: `JuspayError`")]
    named = set(re.findall(r"`(\w+)`", listing))
    errors = {
        name
        for name in ja.__all__
        if isinstance(obj := getattr(ja, name), type) and issubclass(obj, ja.JuspayError)
    }
    assert set() == errors - named
