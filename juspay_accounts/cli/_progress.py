"""Progress on a terminal while customers are listed: a bar on stderr (tqdm, the ``cli`` extra).

The bar shares the terminal with the output: it is cleared before anything else is written
there (:meth:`Progress.paused`) and removed, not left behind, when the run ends. Without
tqdm, a one-line hint says how to get it, once: a marker file in the user's cache folder
(``$XDG_CACHE_HOME``, else ``~/.cache``) keeps it from showing on every run.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TextIO

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["NO_TQDM_HINT", "Progress"]

NO_TQDM_HINT: Final = (
    "juspay-accounts: listing... (install the cli extra, which brings tqdm, for a progress "
    "bar; this hint shows once)"
)


def _hint_marker() -> Path:
    """The file whose existence says the hint has been shown on this account."""
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "juspay-accounts" / "progress-hint-shown"


def _first_time() -> bool:
    """Whether the hint is yet to be shown; marks it shown. Unwritable: always shown."""
    marker = _hint_marker()
    try:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch(exist_ok=False)
    except FileExistsError:
        return False
    except OSError:
        return True
    return True


_ERASE_LINE: Final = "\r\x1b[2K"
"""Back to the start of the line and erase all of it (ECMA-48 EL 2): the bar and any ``^C``."""


class _BarStream:
    """The terminal as the bar sees it: after each drawing the cursor goes back to column 0.

    The bar then never holds the cursor at its end: what another writer puts on the terminal
    next (``^C`` echoed by the terminal, the lines of ``| head``) starts at the left, over the
    bar, instead of after it on a line the bar's own clearing can no longer find.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        """Write ``text``; a drawing that leaves the cursor mid-line returns it to the left."""
        if text and not text.endswith(("\r", "\n")):
            text += "\r"
        return self.stream.write(text)

    def flush(self) -> None:
        """Flush the terminal."""
        self.stream.flush()

    def isatty(self) -> bool:
        """Always a terminal (the bar is only made for one)."""
        return True

    def fileno(self) -> int:
        """The terminal's descriptor (tqdm reads its width from it)."""
        return self.stream.fileno()


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
            if _first_time():
                print(NO_TQDM_HINT, file=stream, flush=True)
            return
        self.bar = tqdm(
            total=total,
            unit=" customers",
            file=_BarStream(stream),
            dynamic_ncols=True,
            leave=False,
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
            # tqdm blanks only what it drew last; a ^C echoed after it would stay.
            self.stream.write(_ERASE_LINE)
            self.stream.flush()
