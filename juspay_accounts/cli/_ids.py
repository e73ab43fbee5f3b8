"""Where the command line's customer ids come from: arguments, stdin and ``--ids-file``.

One id a line; blank lines and lines starting with ``#`` are skipped; a UTF-8 byte-order
mark at the start is ignored. A regular file is checked and counted before anything is
sent (so a bad file is a usage error, and the progress bar has a total); stdin, a pipe or
any other stream is read lazily in a thread of its own, so a slow writer never stalls the
event loop and results flow while ids still arrive.

That thread reads the file descriptor with ``os.read``, never through Python's buffered
reader: a daemon thread blocked in ``BufferedReader.readline()`` holds the reader's lock,
and an interpreter exiting meanwhile (Ctrl-C, SIGTERM) aborts with "Fatal Python error:
_enter_buffered_busy" when it flushes stdin.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import threading
from typing import TYPE_CHECKING, BinaryIO, Final

import attrs

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator
    from pathlib import Path

__all__ = ["IdsFile", "UnreadableIdsError", "check_ids_file", "customer_ids", "lines"]

_BOM: Final = b"\xef\xbb\xbf"
_READ_AHEAD: Final = 1024
"""How many ids the stdin thread reads ahead of the fan-out: memory stays bounded."""
_CHUNK: Final = 64 * 1024
"""How many bytes the stdin thread asks ``os.read`` for at a time."""


class UnreadableIdsError(Exception):
    """An ``--ids-file`` that cannot be read or is not UTF-8 text."""


@attrs.frozen
class IdsFile:
    """An ``--ids-file`` that has been checked.

    Attributes:
        path: The file.
        ids: The distinct ids in it, when it is a regular file that was counted first;
            ``None`` for a pipe or device, which can be read only once.
        stream: The pipe or device, opened; ``None`` for a regular file.
    """

    path: Path
    ids: frozenset[str] | None
    stream: BinaryIO | None = None


def _id(raw: bytes, *, errors: str) -> str | None:
    text = raw.decode("utf-8", errors).strip()
    return text if text and not text.startswith("#") else None


def lines(stream: Iterable[bytes]) -> Iterator[str]:
    """The ids in a stream of lines (bytes): blank lines, comments and a BOM skipped.

    Undecodable bytes become lone surrogates (``surrogateescape``), as Python does for
    command-line arguments: such an id fails on its own.
    """
    for number, raw in enumerate(stream):
        customer_id = _id(raw.removeprefix(_BOM) if number == 0 else raw, errors="surrogateescape")
        if customer_id is not None:
            yield customer_id


def check_ids_file(path: Path) -> IdsFile:
    """Check ``path``; read a regular file through once, counting its ids.

    Raises:
        UnreadableIdsError: the file is missing, a directory, unreadable or not UTF-8.
    """
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            msg = f"cannot read --ids-file {path}: it is a directory"
            raise UnreadableIdsError(msg)
        if not stat.S_ISREG(mode):  # a pipe or a device: it can be read only once
            return IdsFile(path, None, path.open("rb"))  # closed by its reader
        ids: set[str] = set()
        with path.open("rb") as stream:
            for number, raw in enumerate(stream, 1):
                try:
                    customer_id = _id(
                        raw.removeprefix(_BOM) if number == 1 else raw, errors="strict"
                    )
                except UnicodeDecodeError:
                    msg = f"--ids-file {path}: line {number} is not UTF-8 text"
                    raise UnreadableIdsError(msg) from None
                if customer_id is not None:
                    ids.add(customer_id)
    except OSError as exc:
        msg = f"cannot read --ids-file {path}: {exc.strerror or exc}"
        raise UnreadableIdsError(msg) from None
    return IdsFile(path, frozenset(ids))


def _unbuffered_lines(fd: int) -> Iterator[bytes]:
    """The lines of the file descriptor ``fd``, read with ``os.read`` (no lock is held)."""
    pending = b""
    while chunk := os.read(fd, _CHUNK):
        pending += chunk
        if b"\n" in chunk:
            *complete, pending = pending.split(b"\n")
            for line in complete:
                yield line + b"\n"
    if pending:
        yield pending


async def _in_thread(stream: BinaryIO) -> AsyncIterator[str]:
    """The ids in ``stream``, read by a daemon thread so that a slow stream never blocks.

    The thread is a daemon: an interrupted run exits even while it waits for a line. It
    reads the stream's file descriptor directly (see the module's docstring); nothing has
    been read from the stream through its buffer before.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()
    room = threading.Semaphore(_READ_AHEAD)

    def put(item: str | None) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def read() -> None:
        with contextlib.suppress(OSError, ValueError):  # closed under us: end of the ids
            for customer_id in lines(_unbuffered_lines(stream.fileno())):
                room.acquire()
                put(customer_id)
        put(None)

    threading.Thread(target=read, name="juspay-accounts stdin", daemon=True).start()
    while (customer_id := await queue.get()) is not None:
        room.release()
        yield customer_id


async def _every(
    arguments: Iterable[str], stdin: BinaryIO, ids_file: IdsFile | None
) -> AsyncIterator[str]:
    for argument in arguments:
        if argument != "-":
            yield argument
            continue
        async for customer_id in _in_thread(stdin):
            yield customer_id
    if ids_file is None:
        return
    if ids_file.stream is not None:
        with ids_file.stream:
            async for customer_id in _in_thread(ids_file.stream):
                yield customer_id
        return
    with ids_file.path.open("rb") as stream:  # a regular file: reading it never blocks
        for customer_id in lines(stream):
            yield customer_id


async def customer_ids(
    arguments: Iterable[str],
    *,
    stdin: BinaryIO,
    ids_file: IdsFile | None,
    reject: Callable[[str], None],
) -> AsyncIterator[str]:
    """Every id, in order: the arguments (``-`` reads stdin there), then ``--ids-file``.

    An id that cannot be encoded as UTF-8 (undecodable bytes in an argument or a line) is
    given to ``reject`` instead of being sent.
    """
    async for customer_id in _every(arguments, stdin, ids_file):
        try:
            customer_id.encode()
        except UnicodeEncodeError:
            reject(customer_id)
            continue
        yield customer_id
