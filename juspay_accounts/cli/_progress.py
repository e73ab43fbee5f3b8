"""Progress on a terminal while customers are listed: a bar on stderr (tqdm, the ``cli`` extra).

The bar shares the terminal with the output: it is cleared before anything else is written
there (:meth:`Progress.paused`) and removed, not left behind, when the run ends. Without
tqdm, a one-line hint says how to get it.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any, Final, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["NO_TQDM_HINT", "Progress"]

NO_TQDM_HINT: Final = (
    "juspay-accounts: listing... (install the cli extra, which brings tqdm, for a progress bar)"
)


class Progress:
    """A progress bar on ``stream`` (stderr), only on a terminal and only when enabled."""

    def __init__(self, total: int | None, *, enabled: bool, stream: TextIO) -> None:
        """A bar counting to ``total`` customers (``None``: a counter with a rate, no ETA)."""
        self.bar: Any = None
        self.stream = stream
        if not enabled or not stream.isatty():
            return
        try:
            from tqdm import tqdm  # noqa: PLC0415 - optional: the cli extra
        except ImportError:
            print(NO_TQDM_HINT, file=stream, flush=True)
            return
        self.bar = tqdm(
            total=total, unit=" customers", file=stream, dynamic_ncols=True, leave=False
        )

    def update(self) -> None:
        """One more customer done."""
        if self.bar is not None:
            self.bar.update()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Clear the bar while the block writes to the terminal; draw it again after."""
        if self.bar is None:
            yield
            return
        self.bar.clear()
        try:
            yield
        finally:
            self.bar.refresh()

    def close(self) -> None:
        """Remove the bar from the terminal."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None
