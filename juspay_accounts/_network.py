"""Where requests go and whom they trust: the proxy and TLS settings, checked once.

A proxy URL is checked (and never echoed: it may hold a password), shown with its
credentials masked, or found in the environment as aiohttp would (``HTTP(S)_PROXY``,
``NO_PROXY``); an ``ssl.SSLContext`` must keep verification on, checked when the client is
built and again before every request (the context is mutable).
"""

from __future__ import annotations

import logging
import ssl
import urllib.request
from typing import Final

import yarl

from juspay_accounts._redact import Secrets, proxy_secret_forms

__all__ = [
    "check_proxy",
    "check_ssl_context",
    "proxy_credentials",
    "proxy_from_env",
    "refuse_changed_ssl_context",
    "shown_proxy",
    "still_verifies",
]

_LOG: Final = logging.getLogger("juspay_accounts")


def check_proxy(proxy: object) -> yarl.URL | None:
    """The proxy URL, checked: ``http://`` or ``https://``, a host, nothing after it."""
    if proxy is None:
        return None
    if isinstance(proxy, yarl.URL):
        proxy = str(proxy)
    if not isinstance(proxy, str):
        msg = f"proxy must be a str URL or None, got {type(proxy).__name__}"
        raise TypeError(msg)
    try:
        url = yarl.URL(proxy.strip())
    except ValueError:
        url = None
    if (
        url is None
        or url.scheme not in {"http", "https"}
        or not url.host
        or url.path != "/"  # yarl gives "/" for no path at all
        or url.query_string
        or url.fragment
    ):
        # Never echo the value: it may hold the proxy's password.
        msg = (
            "proxy must be an http:// or https:// URL with a host and no path, "
            "such as http://proxy:3128"
        )
        raise ValueError(msg)
    return url


def shown_proxy(url: yarl.URL | None) -> str | None:
    """The proxy URL to show (repr, messages): any user name or password replaced."""
    if url is None:
        return None
    if url.user is None and url.password is None:
        return str(url)
    return str(url.with_user("***").with_password(None))


def check_ssl_context(ssl_context: object) -> ssl.SSLContext | None:
    """An ``ssl.SSLContext`` that still verifies certificates and host names."""
    if ssl_context is None:
        return None
    if not isinstance(ssl_context, ssl.SSLContext):
        msg = f"ssl_context must be an ssl.SSLContext or None, got {type(ssl_context).__name__}"
        raise TypeError(msg)
    if not still_verifies(ssl_context):
        msg = (
            "ssl_context must verify certificates and host names (verify_mode CERT_REQUIRED, "
            "check_hostname True): this library has no way to switch verification off. "
            "For a private CA, load it: ssl.create_default_context(cafile=...)"
        )
        raise ValueError(msg)
    return ssl_context


def still_verifies(ssl_context: ssl.SSLContext) -> bool:
    """Whether the context verifies certificates and host names (it can be changed later)."""
    return ssl_context.verify_mode == ssl.CERT_REQUIRED and ssl_context.check_hostname


def refuse_changed_ssl_context(ssl_context: ssl.SSLContext) -> None:
    """Refuse to send with a context whose verification was switched off after the check.

    Called before every request (an ``ssl.SSLContext`` is mutable, and the session's
    connections keep using the same object): two attribute reads.

    Raises:
        ValueError: the context no longer verifies; nothing has been sent.
    """
    if not still_verifies(ssl_context):
        # pragma: no mutate start (a message's wording is no promise)
        msg = (
            "the ssl_context given to this client no longer verifies certificates and host "
            f"names (verify_mode {ssl_context.verify_mode.name}, check_hostname "
            f"{ssl_context.check_hostname}): it was changed after the client was built, so "
            "nothing was sent. This library has no way to switch verification off; for a "
            "private CA, load it: ssl.create_default_context(cafile=...)"
        )
        # pragma: no mutate end
        raise ValueError(msg)


def proxy_from_env(url: yarl.URL) -> yarl.URL | None:
    """The proxy the environment names for ``url`` (``HTTP(S)_PROXY``, ``NO_PROXY``), as aiohttp."""
    if url.host is None or urllib.request.proxy_bypass(url.host):
        return None
    proxy = urllib.request.getproxies().get(url.scheme)
    if proxy is None:
        return None
    try:
        return check_proxy(proxy)
    except ValueError:
        _LOG.warning("ignoring the %s proxy from the environment: not a usable URL", url.scheme)
        return None


def proxy_credentials(proxy: yarl.URL | None) -> Secrets | None:
    """The forms of a proxy URL's credentials to keep out of answers, or ``None``."""
    if proxy is None or (proxy.user is None and proxy.password is None):
        return None
    return proxy_secret_forms(
        proxy.user or "", proxy.password or "", proxy.raw_user or "", proxy.raw_password or ""
    )
