"""Run every asyncio test in this directory twice: on asyncio's own event loop and on uvloop.

The library never chooses the loop (that is the application's choice); these tests pin
that it behaves the same on both. pytest-asyncio's ``pytest_asyncio_loop_factories`` hook,
implemented here, applies only to the tests under this directory.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import uvloop

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import pytest

LOOP_FACTORIES: Mapping[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


def pytest_asyncio_loop_factories(
    config: pytest.Config,  # noqa: ARG001 - the hook's signature
    item: pytest.Item,  # noqa: ARG001 - the hook's signature
) -> Mapping[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Both loops, for every asyncio test under this directory."""
    return LOOP_FACTORIES
