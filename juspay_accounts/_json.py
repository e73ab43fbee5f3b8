"""Reading a JSON body: orjson when installed, else the standard library, answering alike.

Sans-I/O. :func:`load_json` gives the value or why the body is not JSON; with or without
the ``fast`` extra the answer is the same (a byte-order mark skipped, a lone surrogate
escape refused, whole numbers beyond 64 bits as floats), and a number no float holds is
kept as an :class:`~juspay_accounts._converter.OutOfRangeNumber` so that its field can be
named. ``loads`` is the parser in use (tests swap in :func:`loads_stdlib`).
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any, Final

from juspay_accounts._converter import OutOfRangeNumber

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["TOO_DEEP", "load_json", "loads", "loads_stdlib"]

_SURROGATE_ESCAPE: Final = re.compile(rb"\\u[dD][89a-fA-F]")
_I64_MIN: Final = -(2**63)
_U64_MAX: Final = 2**64 - 1


def _out_of_range(text: str) -> OutOfRangeNumber:
    return OutOfRangeNumber(text)


def _float(text: str) -> float | OutOfRangeNumber:
    value = float(text)
    return value if math.isfinite(value) else OutOfRangeNumber(text)


def _int(text: str) -> int | float | OutOfRangeNumber:
    # As orjson: a whole number beyond 64 bits becomes a float (or is out of range).
    if len(text) < 20:  # noqa: PLR2004 - 19 characters are always within 64 bits
        return int(text)
    if len(text) == 20:  # noqa: PLR2004 - may be within 64 bits (21 never are)
        value = int(text)
        if _I64_MIN <= value <= _U64_MAX:
            return value
    return _float(text)


# Built once: json.loads(text, parse_int=...) builds a decoder and its scanner on every call,
# about 17k instructions per page (perf change 1 in docs/performance-notes.md).
_STDLIB_DECODER: Final = json.JSONDecoder(
    parse_float=_float, parse_int=_int, parse_constant=_out_of_range
)
_SCAN: Final[Callable[[str, int], tuple[Any, int]]] = _STDLIB_DECODER.scan_once  # type: ignore[attr-defined]
_JSON_SPACE: Final = " \t\n\r"


def loads_stdlib(body: bytes) -> Any:  # noqa: ANN401 - JSON of any shape
    """Parse JSON with the standard library, answering exactly as orjson does.

    UTF-8 only (``json.loads(bytes)`` would also guess UTF-16 and UTF-32), a lone surrogate
    escape is refused, whole numbers beyond 64 bits become floats. Where orjson refuses a
    number no float holds (``NaN``, ``Infinity``, ``1e999``), this keeps it as an
    :class:`OutOfRangeNumber`, so that the hook that refuses it names its field; the
    decoder asks this parser again whenever orjson refuses a body.
    """
    text = body.decode()
    # The scanner straight away, for a body that starts with its value (Juspay's do): the
    # decoder's own decode() adds two pattern matches for white space (perf change 7).
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        value, end = _STDLIB_DECODER.decode(text), len(text)  # white space first, or not JSON
    if end != len(text) and text[end:].strip(_JSON_SPACE):
        value = _STDLIB_DECODER.decode(text)  # raises: more after the value
    # "\\" is found by memchr, "\\u" by a slower search: both only lead to the pattern.
    if b"\\" in body and b"\\u" in body and _SURROGATE_ESCAPE.search(body):
        # Raises UnicodeEncodeError (a ValueError) if an escape decoded to a lone surrogate.
        json.dumps(value, ensure_ascii=False, default=repr).encode()
    return value


loads: Callable[[bytes], Any]
try:
    # The optional "fast" extra: orjson parses Juspay's pages about twice as fast as json
    # (0.85 against 1.8 µs per account), the largest cost of decoding after the models.
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - depends on the environment
    loads = loads_stdlib
else:
    loads = _orjson_loads

TOO_DEEP: Final = "the body is JSON nested too deeply to read"


_BOM: Final = b"\xef\xbb\xbf"


def load_json(body: bytes) -> tuple[Any, str | None]:
    """Parse ``body``; return ``(value, None)``, or ``(None, why)`` when it is not JSON.

    The answer is the same with or without orjson: a UTF-8 byte-order mark is skipped, and
    a body orjson refuses is read again by :func:`loads_stdlib`, which refuses exactly what
    orjson does except numbers no float holds (kept so that their field can be named).
    """
    if body[:3] == _BOM:
        body = body[3:]
    if not body or body.isspace():
        return None, "the body is empty"
    # Each parser either answers or says why not; the last one's reason is given.
    for parse in (loads,) if loads is loads_stdlib else (loads, loads_stdlib):
        try:
            return parse(body), None
        except RecursionError:
            why = TOO_DEEP
        except ValueError:  # UnicodeDecodeError and orjson's JSONDecodeError included
            why = "the body is not JSON"
    return None, why
