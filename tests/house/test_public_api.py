"""The public surface: names, version, typing marker."""

from __future__ import annotations

import importlib.metadata
import importlib.resources

import juspay_accounts as ja


def test_all_lists_every_public_name_once() -> None:
    """__all__ names real objects, each once, and every public top-level name is in it."""
    assert len(set(ja.__all__)) == len(ja.__all__)
    for name in ja.__all__:
        assert getattr(ja, name) is not None
    # (pytest rewrites the plugin's package, adding non-identifier names such as @py_builtins.)
    public = {n for n in vars(ja) if n.isidentifier() and not n.startswith("_")}
    helpers = {"annotations", "TYPE_CHECKING", "Any"}  # from the module's own imports
    # Attributes once imported: exceptions and testing are in the docs; cli is the command line.
    submodules = {"cli", "exceptions", "testing"}
    assert set() == public - helpers - submodules - set(ja.__all__)


def test_contract_names() -> None:
    """The names the issue promised exist with the promised values."""
    assert "https://sandbox.juspay.in" == ja.SANDBOX_URL
    assert "https://api.juspay.in" == ja.PRODUCTION_URL
    assert "https://sandbox.juspay.io" == ja.EU_SANDBOX_URL
    assert "https://api.juspay.io" == ja.EU_PRODUCTION_URL


def test_the_transport_seam_names() -> None:
    """The seam's names: AccountsClient(transport=...), MockTransport and MockResponse."""
    from juspay_accounts.testing import MockResponse, MockTransport  # noqa: PLC0415

    transport = MockTransport(lambda _request: MockResponse(200, json={}, content=b"", headers={}))
    assert isinstance(transport, ja.AsyncTransport)
    ja.AccountsClient("k", transport=transport)


def test_testing_exports_its_public_names() -> None:
    """juspay_accounts.testing exports the fake server's and the mock transport's names."""
    expected = {
        "CHAOS_FAULTS",
        "DEFAULT_API_KEY",
        "FakeJuspay",
        "Fault",
        "MockRequest",
        "MockResponse",
        "MockTransport",
        "RecordedRequest",
    }
    assert expected == set(ja.testing.__all__)
    assert len(expected) == len(ja.testing.__all__)
    public = {n for n in vars(ja.testing) if n.isidentifier() and not n.startswith("_")}
    submodules = {"pytest_plugin"}  # an attribute once pytest has loaded the plugin
    assert set() == public - submodules - expected
    assert all(isinstance(getattr(ja.testing, n), type) for n in ("FakeJuspay", "Fault"))


def test_version_comes_from_metadata() -> None:
    """__version__ is the installed distribution's version."""
    assert importlib.metadata.version("juspay-accounts") == ja.__version__


def test_py_typed_is_shipped() -> None:
    """The package carries py.typed so type checkers use its annotations."""
    assert importlib.resources.files("juspay_accounts").joinpath("py.typed").is_file()


def test_accounts_for_customers_returns_a_customer_result_stream() -> None:
    """accounts_for_customers returns the public CustomerResultStream (no other name for it)."""
    stream = ja.AccountsClient("k").accounts_for_customers([])
    assert ja.CustomerResultStream is type(stream)
    assert not hasattr(ja, "FanOut")
