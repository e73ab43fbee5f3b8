"""The public surface: names, version, typing marker."""

from __future__ import annotations

import importlib.metadata
import importlib.resources

import juspay_accounts as ja


def test_all_is_sorted_and_importable() -> None:
    """__all__ lists real names, sorted, so the surface is easy to review."""
    assert (
        sorted(ja.__all__, key=lambda n: (not n.isupper(), n)) == ja.__all__
        or sorted(ja.__all__) == ja.__all__
    )
    for name in ja.__all__:
        assert getattr(ja, name) is not None


def test_contract_names() -> None:
    """The names the issue promised exist with the promised values."""
    assert "https://sandbox.juspay.in" == ja.SANDBOX_URL
    assert "https://api.juspay.in" == ja.PRODUCTION_URL
    assert "https://sandbox.juspay.io" == ja.EU_SANDBOX_URL
    assert "https://api.juspay.io" == ja.EU_PRODUCTION_URL
    assert ja.testing.FakeJuspay is not None


def test_version_comes_from_metadata() -> None:
    """__version__ is the installed distribution's version."""
    assert importlib.metadata.version("juspay-accounts") == ja.__version__


def test_py_typed_is_shipped() -> None:
    """The package carries py.typed so type checkers use its annotations."""
    assert importlib.resources.files("juspay_accounts").joinpath("py.typed").is_file()
