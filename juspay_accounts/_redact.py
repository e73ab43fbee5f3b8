"""Keeping the API key out of what a server sends back.

A server or proxy that reflects the request (an echo endpoint, a firewall page quoting the
request's headers, a broken status line or header made of them) puts the ``Authorization``
value into the answer. The library quotes answers in its errors (bodies, Juspay's messages,
request ids, a redirect's target, aiohttp's parse errors), so the transport replaces every
form of the key in an answer before anything reads it. An answer without the key is
returned as it came, at the cost of a substring search per form.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import TYPE_CHECKING, Final, NamedTuple

from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["REDACTED", "Secrets", "redact_answer", "redact_text", "secret_forms"]

REDACTED: Final = "<redacted>"

# Shorter forms are left alone: replacing a few common characters would garble every
# message (and a real key is far longer).
_SHORTEST: Final = 8


class Secrets(NamedTuple):
    """The forms of one key to look for: as text (headers, messages) and as UTF-8 (bodies).

    Made once per client (its settings keep it), so an answer costs only the searches.
    """

    text: tuple[str, ...]
    raw: tuple[bytes, ...]

    def __repr__(self) -> str:
        """How many forms, never the forms themselves (they are the key)."""
        return f"Secrets(<{len(self.text)} forms of the key>)"


@functools.lru_cache(maxsize=16)
def secret_forms(authorization: str) -> Secrets:
    """The texts that give the key away, from the ``Authorization`` value sent.

    The base64 form without its padding (so a reflection cut short after it is caught too),
    the same with ``/`` escaped as some JSON encoders write it, and the key itself.
    """
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "basic" or not token:
        return Secrets((), ())
    try:
        key = base64.b64decode(token, validate=True).decode().removesuffix(":")
    except (binascii.Error, UnicodeDecodeError):
        key = ""
    unpadded = token.rstrip("=")
    forms = {unpadded, unpadded.replace("/", "\\/"), key}
    # Longest first, so that a form inside another is not replaced half-way.
    text = tuple(sorted((f for f in forms if len(f) >= _SHORTEST), key=len, reverse=True))
    return Secrets(text, tuple(form.encode() for form in text))


def redact_text(text: str, forms: tuple[str, ...]) -> str:
    """``text`` with every form of the key replaced by ``<redacted>``."""
    for form in forms:
        if form in text:
            text = text.replace(form, REDACTED)
    return text


def redact_answer(
    headers: Mapping[str, str], body: bytes, secrets: Secrets
) -> tuple[Mapping[str, str], bytes]:
    """The answer's headers and body with every form of the key replaced (unchanged if absent)."""
    for raw in secrets.raw:
        if raw in body:
            body = body.replace(raw, _REDACTED_BYTES)
    # One search per form in all the values at once (no form holds the "\n" that joins
    # them): a generator over every value and form cost about 15k instructions per answer
    # (perf change 3 in docs/performance-notes.md).
    values = "\n".join(headers.values())
    forms = secrets.text
    for form in forms:
        if form in values:
            headers = CIMultiDictProxy(
                CIMultiDict((name, redact_text(value, forms)) for name, value in headers.items())
            )
            break
    return headers, body


_REDACTED_BYTES: Final = REDACTED.encode()
