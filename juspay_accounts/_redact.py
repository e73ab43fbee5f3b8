"""Keeping the API key, and a proxy's credentials, out of what the library quotes of an answer.

A server or proxy that reflects the request (an echo endpoint, a firewall page quoting the
request's headers, a broken status line or header made of them) puts the ``Authorization``
value (or the ``Proxy-Authorization`` one) into the answer. The library quotes answers in
its errors (bodies, Juspay's messages, request ids, a redirect's target, aiohttp's parse
errors and a proxy's reason phrase), in log records and in spans, so every form of those
secrets is replaced where an answer is quoted:

- the headers (names and values), by the transport, before anything reads them: the
  request id is logged and traced, and a page or an error keeps them all;
- the body, where the answer becomes an error
  (:func:`~juspay_accounts._response.decode_list_response`), which is then made from the
  answer with the forms replaced;
- aiohttp's and a transport's own messages, where they become the library's errors
  (:mod:`._failures`, :mod:`._seam`).

A page that decodes is not searched: it is the server's data, handed over as it came. An
answer without the forms is left as it came, at the cost of a substring search per form.
"""

from __future__ import annotations

import base64
import binascii
import functools
from typing import TYPE_CHECKING, AnyStr, Final, NamedTuple

from multidict import CIMultiDict, CIMultiDictProxy

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "REDACTED",
    "Secrets",
    "joined_secrets",
    "proxy_secret_forms",
    "redact_answer",
    "redact_headers",
    "redact_text",
    "secret_forms",
]

REDACTED: Final = "<redacted>"

# Shorter forms are left alone: replacing a few common characters would garble every
# message (and a real key is far longer).
_SHORTEST: Final = 8

_CUT_SHORT: Final = 16
"""A form's first characters that give it away even when a reflection cuts the rest off.

A server or proxy that truncates what it echoes (a request id made of the first 30
characters of a header) still shows most of the key: from this many characters of a form
on, the whole run of them is replaced, as far as it matches.
"""


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
    return _secrets({*_unpadded_forms(token), key})


def _unpadded_forms(token: str) -> set[str]:
    """A base64 token without its padding, and the same with ``/`` escaped as in JSON."""
    unpadded = token.rstrip("=")
    return {unpadded, unpadded.replace("/", "\\/")}


def _secrets(forms: set[str]) -> Secrets:
    # In any order: where forms overlap, the longest run found at a place is replaced.
    text = tuple(form for form in forms if len(form) >= _SHORTEST)
    return Secrets(text, tuple(form.encode() for form in text))


@functools.lru_cache(maxsize=16)
def proxy_secret_forms(user: str, password: str, raw_user: str, raw_password: str) -> Secrets:
    """The texts that give a proxy's credentials away, from its URL's user and password.

    ``user:password`` as given and percent-encoded (``raw_*``: as the URL holds them), the
    password alone both ways, and the base64 of ``user:password`` that aiohttp sends as
    ``Proxy-Authorization: Basic ...`` (in latin-1, as aiohttp encodes it, and in UTF-8).
    """
    forms = {
        f"{user}:{password}",
        f"{raw_user}:{raw_password}",
        password,
        raw_password,
    }
    for encoding in ("latin-1", "utf-8"):
        try:
            raw = f"{user}:{password}".encode(encoding)
        except UnicodeEncodeError:
            continue
        forms |= _unpadded_forms(base64.b64encode(raw).decode())
    return _secrets(forms)


@functools.lru_cache(maxsize=16)
def joined_secrets(first: Secrets, second: Secrets) -> Secrets:
    """The forms of both (a request's key and the proxy's credentials)."""
    return _secrets(set(first.text) | set(second.text))


def redact_text(text: str, forms: tuple[str, ...]) -> str:
    """``text`` with every form of the key replaced by ``<redacted>``, even one cut short.

    ``text`` itself when no form is in it.
    """
    return _replace_runs(text, forms, REDACTED)


def _replace_runs(text: AnyStr, forms: tuple[AnyStr, ...], replacement: AnyStr) -> AnyStr:
    """``text`` with each run of a form's first characters (16 or more) replaced.

    Where forms start alike (the base64 form, and the same with ``/`` escaped), the run
    is the longest any of them matches there. ``text`` itself (not a copy) when no form is
    in it: one search per form, as a check before it would make.
    """
    probes = [(form[:_CUT_SHORT], form) for form in forms]
    parts: list[AnyStr] = []
    start = 0
    while hits := [(at, form) for probe, form in probes if (at := text.find(probe, start)) != -1]:
        found = min(at for at, _ in hits)
        end = max(_run_end(text, found, form) for at, form in hits if at == found)
        parts += (text[start:found], replacement)
        start = end
    if not parts:
        return text
    parts.append(text[start:])
    return text[:0].join(parts)


def _run_end(text: AnyStr, found: int, form: AnyStr) -> int:
    """Where the run of ``form``'s first characters that starts at ``found`` ends."""
    end, matched = found, 0
    while matched < len(form) and end < len(text) and text[end] == form[matched]:
        end, matched = end + 1, matched + 1
    return end


def redact_answer(
    headers: Mapping[str, str], body: bytes, secrets: Secrets
) -> tuple[Mapping[str, str], bytes]:
    """The answer's headers (names and values) and body with every form replaced.

    Unchanged where no form is found.
    """
    return redact_headers(headers, secrets), _replace_runs(body, secrets.raw, _REDACTED_BYTES)


def redact_headers(headers: Mapping[str, str], secrets: Secrets) -> Mapping[str, str]:
    """The headers with every form replaced in their names and values (unchanged if absent).

    A name matters too: a server may make a header's name of the request's credentials.
    """
    # One search per form in all the names and values at once (no form holds the "\n" that
    # joins them): a generator over every value and form cost about 15k instructions per
    # answer (perf change 3 in docs/performance-notes.md), two joins 2.7k more than one.
    forms = secrets.text
    if forms:
        text = "\n".join([*headers.keys(), *headers.values()])
        for form in forms:
            if form[:_CUT_SHORT] in text:
                return CIMultiDictProxy(
                    CIMultiDict(
                        (redact_text(name, forms), redact_text(value, forms))
                        for name, value in headers.items()
                    )
                )
    return headers


_REDACTED_BYTES: Final = REDACTED.encode()
