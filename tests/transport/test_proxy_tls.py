"""Proxies and TLS on the client's own session: a forward proxy and a TLS server on loopback."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import ssl
from typing import TYPE_CHECKING

import aiohttp
import attrs
import pytest
import pytest_asyncio
import trustme
import yarl
from aiohttp import web

import juspay_accounts as ja

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from juspay_accounts.testing import FakeJuspay

_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authorization", "proxy-connection", "host", "te"}
)
_PAGE = json.dumps({"list": [], "offset": 0, "count": 0, "total": 0}).encode()
_USER, _PASSWORD = "alice", "s3cr@t"
_ENCODED_PASSWORD = "s3cr%40t"


@attrs.define
class ForwardProxy:
    """A forward proxy on loopback: records each request line, then forwards it or refuses it."""

    url: str = ""
    seen: list[tuple[str, str, str | None]] = attrs.Factory(list)
    refuse: bool = False

    def with_credentials(self) -> str:
        """Its URL with a user name and a password in it."""
        return self.url.replace("://", f"://{_USER}:{_ENCODED_PASSWORD}@", 1)


@pytest_asyncio.fixture
async def forward_proxy() -> AsyncIterator[ForwardProxy]:
    """A running forward proxy that answers absolute-form requests by forwarding them."""
    proxy = ForwardProxy()
    async with aiohttp.ClientSession(auto_decompress=False) as upstream:

        async def handle(request: web.Request) -> web.StreamResponse:
            # request.raw_path is the request target as sent: the absolute form for a proxy.
            auth = request.headers.get("Proxy-Authorization")
            proxy.seen.append((request.method, request.raw_path, auth))
            if proxy.refuse:
                return web.Response(status=407, headers={"Proxy-Authenticate": "Basic"})
            headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_BY_HOP}
            target = yarl.URL(request.raw_path, encoded=True)
            async with upstream.request(request.method, target, headers=headers) as answer:
                body = await answer.read()
                kept = {
                    k: v
                    for k, v in answer.headers.items()
                    if k.lower() in {"content-type", "content-encoding", "x-request-id"}
                }
                return web.Response(status=answer.status, body=body, headers=kept)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        proxy.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            yield proxy
        finally:
            await runner.cleanup()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _chain_text(exc: BaseException) -> str:
    """Everything an exception chain shows: str, repr, args and any request_info."""
    parts: list[str] = []
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        parts += [str(current), repr(current), repr(current.args)]
        parts.append(repr(getattr(current, "request_info", None)))
        pending += [current.__cause__, current.__context__]
    return "\n".join(parts)


@pytest.mark.asyncio
async def test_requests_go_through_the_proxy(fake: FakeJuspay, forward_proxy: ForwardProxy) -> None:
    """The proxy sees the absolute-form request line and the credentials, and answers for Juspay."""
    fake.add_account("cst_1")
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, proxy=forward_proxy.with_credentials()
    ) as client:
        page = await client.list_accounts("cst_1")
    assert 1 == len(page.accounts)
    assert [
        ("GET", f"{fake.url}/customers/cst_1/customer-accounts/list", _basic(_USER, _PASSWORD))
    ] == forward_proxy.seen
    (forwarded,) = fake.requests
    assert "Proxy-Authorization" not in forwarded.headers
    assert forwarded.headers["Authorization"].startswith("Basic ")


@pytest.mark.asyncio
async def test_proxy_credentials_never_shown(
    fake: FakeJuspay, forward_proxy: ForwardProxy, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the repr, the logs nor the whole exception chain shows the proxy's password."""
    caplog.set_level(logging.DEBUG)
    fake.add_account("cst_1")
    secrets = (_PASSWORD, _ENCODED_PASSWORD, _basic(_USER, _PASSWORD).split()[1], _USER)
    forward_proxy.refuse = True
    policy = ja.RetryPolicy.disabled()
    async with ja.AccountsClient(
        fake.api_key, base_url=fake.url, proxy=forward_proxy.with_credentials(), retry=policy
    ) as client:
        shown = repr(client)
        with pytest.raises(ja.APIError) as refused:
            await client.list_accounts("cst_1")
    closed_port = forward_proxy.url.rsplit(":", 1)[0] + ":9"
    async with ja.AccountsClient(
        fake.api_key,
        base_url=fake.url,
        proxy=closed_port.replace("://", f"://{_USER}:{_ENCODED_PASSWORD}@"),
        retry=policy,
    ) as client:
        with pytest.raises(ja.APIConnectionError) as unreachable:
            await client.list_accounts("cst_1")
    assert 407 == refused.value.status
    assert f"proxy='http://***@{forward_proxy.url.split('//')[1]}'" in shown
    texts = [shown, _chain_text(refused.value), _chain_text(unreachable.value)]
    texts += [record.getMessage() for record in caplog.records]
    for secret in secrets:
        for text in texts:
            assert secret not in text


@pytest.mark.asyncio
async def test_trust_env_takes_the_proxy_from_the_environment(
    fake: FakeJuspay, forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """trust_env=True sends through HTTP_PROXY; without it the environment is ignored."""
    fake.add_account("cst_1")
    for name in ("http_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    async with ja.AccountsClient(fake.api_key, base_url=fake.url) as client:
        await client.list_accounts("cst_1")
    assert [] == forward_proxy.seen
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, trust_env=True) as client:
        await client.list_accounts("cst_1")
    assert [f"{fake.url}/customers/cst_1/customer-accounts/list"] == [
        target for _, target, _ in forward_proxy.seen
    ]
    assert 2 == len(fake.requests)


@pytest.mark.asyncio
async def test_trust_env_honours_no_proxy(
    fake: FakeJuspay, forward_proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host in NO_PROXY is reached directly even with trust_env=True."""
    fake.add_account("cst_1")
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.setenv("HTTP_PROXY", forward_proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, trust_env=True) as client:
        await client.list_accounts("cst_1")
    assert [] == forward_proxy.seen
    assert 1 == len(fake.requests)


@pytest.mark.parametrize(
    ("proxy", "shown"),
    [
        ("http://proxy:3128", "http://proxy:3128"),
        ("https://proxy:3128/", "https://proxy:3128/"),
        ("http://alice@proxy:3128", "http://***@proxy:3128"),
        ("http://:pw9@proxy:3128", "http://***@proxy:3128"),
        ("http://alice:pw9@proxy:3128", "http://***@proxy:3128"),
        (" http://proxy:3128 ", "http://proxy:3128"),
        (yarl.URL("http://alice@proxy:3128"), "http://***@proxy:3128"),
    ],
)
def test_proxy_shown_without_its_user_or_password(proxy: str, shown: str) -> None:
    """The repr shows the proxy as given (spaces dropped), a user name or password masked."""
    client = ja.AccountsClient("key", proxy=proxy)
    expected = f"<AccountsClient base_url={client.base_url!r} proxy='{shown}' session=own>"
    assert expected == repr(client)


@pytest.mark.asyncio
async def test_trust_env_ignores_an_unusable_proxy_with_a_warning(
    fake: FakeJuspay, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A SOCKS proxy in HTTP_PROXY is skipped with a warning naming the scheme, never the URL."""
    fake.add_account("cst_1")
    for name in ("http_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", "socks5://alice:pw9@127.0.0.1:9")
    caplog.set_level(logging.WARNING, logger="juspay_accounts")
    async with ja.AccountsClient(fake.api_key, base_url=fake.url, trust_env=True) as client:
        page = await client.list_accounts("cst_1")
    assert 1 == len(page.accounts)
    assert 1 == len(fake.requests)
    assert [
        (
            "juspay_accounts",
            logging.WARNING,
            "ignoring the http proxy from the environment: not a usable URL",
        )
    ] == caplog.record_tuples


@pytest.mark.parametrize(
    "proxy",
    [
        "ftp://alice:pw9@proxy:21",
        "socks5://alice:pw9@proxy:1080",
        "http://",
        "http://proxy:3128/path",
        "http://proxy:3128?x=1",
        "http://proxy:3128#pw9",
        "http://alice:pw9@proxy:port",
        "http://[::1",
        "not a url",
    ],
)
def test_bad_proxy_urls_are_refused(proxy: str) -> None:
    """A proxy that is not an http(s) URL with a host is a ValueError that never echoes it."""
    with pytest.raises(ValueError, match="proxy must be") as info:
        ja.AccountsClient("key", proxy=proxy)
    assert "pw9" not in str(info.value)


@pytest.mark.asyncio
async def test_session_options_with_a_given_session_are_refused() -> None:
    """proxy, trust_env and ssl_context belong to the client's own session."""
    async with aiohttp.ClientSession() as session:
        for options in (
            {"proxy": "http://proxy:3128"},
            {"trust_env": True},
            {"ssl_context": ssl.create_default_context()},
        ):
            with pytest.raises(ValueError, match="set them on that session") as info:
                ja.AccountsClient("key", session=session, **options)
            assert (
                "proxy, trust_env and ssl_context configure the session the client creates: "
                "with session= given, set them on that session (or its connector) instead"
            ) == str(info.value)


# -- TLS ------------------------------------------------------------------------------


@attrs.define
class TLSServer:
    """A TLS server on 127.0.0.1 whose certificate comes from a throwaway CA."""

    ca: trustme.CA
    context: ssl.SSLContext
    url: str = ""
    handshakes: int = 0
    requests: int = 0

    def trusting_context(self) -> ssl.SSLContext:
        """A client context that trusts the throwaway CA (and verifies, as by default)."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


async def _tls_server(*, require_client_cert: bool) -> AsyncIterator[TLSServer]:
    ca = trustme.CA()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        ca.configure_trust(context)
    server = TLSServer(ca=ca, context=context)

    def hello(*_: object) -> None:
        server.handshakes += 1  # called for every ClientHello, before any HTTP

    context.sni_callback = hello

    async def handle(_request: web.Request) -> web.Response:
        server.requests += 1
        return web.json_response(body=_PAGE, headers={"x-request-id": "tls-1"})

    app = web.Application()
    app.router.add_get("/customers/{customer_id}/customer-accounts/list", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    server.url = f"https://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield server
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture
async def tls_server() -> AsyncIterator[TLSServer]:
    """A running TLS server with a certificate no default trust store knows."""
    async for server in _tls_server(require_client_cert=False):
        yield server


@pytest_asyncio.fixture
async def mutual_tls_server() -> AsyncIterator[TLSServer]:
    """A running TLS server that also requires a client certificate from its CA."""
    async for server in _tls_server(require_client_cert=True):
        yield server


@pytest.mark.asyncio
async def test_private_ca_trusted_through_ssl_context(tls_server: TLSServer) -> None:
    """With ssl_context trusting the CA, the call succeeds over TLS."""
    async with ja.AccountsClient(
        "key", base_url=tls_server.url, ssl_context=tls_server.trusting_context()
    ) as client:
        page = await client.list_accounts("cst_1")
    assert "tls-1" == page.request_id
    assert 1 == tls_server.requests


@pytest.mark.asyncio
async def test_untrusted_certificate_is_refused_and_not_retried(tls_server: TLSServer) -> None:
    """Without the CA: APICertificateError saying so, after one handshake and no HTTP request."""
    policy = ja.RetryPolicy(max_attempts=4).without_waiting()
    async with ja.AccountsClient("key", base_url=tls_server.url, retry=policy) as client:
        with pytest.raises(ja.APICertificateError) as info:
            await client.list_accounts("cst_1")
        assert 1 == client.stats.requests
    assert isinstance(info.value, ja.APIConnectionError)
    assert "certificate" in str(info.value)
    assert "ssl_context=" in str(info.value)
    assert 1 == info.value.attempts
    assert (1, 0) == (tls_server.handshakes, tls_server.requests)


@pytest.mark.asyncio
async def test_client_certificate_through_ssl_context(mutual_tls_server: TLSServer) -> None:
    """A client certificate loaded into ssl_context is presented to a server that asks."""
    context = mutual_tls_server.trusting_context()
    mutual_tls_server.ca.issue_cert("client.example").configure_cert(context)
    async with ja.AccountsClient(
        "key", base_url=mutual_tls_server.url, ssl_context=context
    ) as client:
        await client.list_accounts("cst_1")
    assert 1 == mutual_tls_server.requests


def _not_verifying() -> list[ssl.SSLContext]:
    no_hostname = ssl.create_default_context()
    no_hostname.check_hostname = False
    nothing = ssl.create_default_context()
    nothing.check_hostname = False
    nothing.verify_mode = ssl.CERT_NONE
    optional = ssl.create_default_context()
    optional.verify_mode = ssl.CERT_OPTIONAL
    return [no_hostname, nothing, optional]


@pytest.mark.parametrize("context", _not_verifying())
def test_verification_cannot_be_switched_off(context: ssl.SSLContext) -> None:
    """An ssl_context that skips certificate or host name checks is refused."""
    with pytest.raises(ValueError, match="no way to switch verification off"):
        ja.AccountsClient("key", ssl_context=context)


def test_ssl_context_of_wrong_type() -> None:
    """ssl_context must be an ssl.SSLContext (a path to a CA file is a TypeError)."""
    with pytest.raises(TypeError, match="ssl_context"):
        ja.AccountsClient("key", ssl_context="/etc/ssl/ca.pem")  # type: ignore[arg-type]


# A password with a "/" and a non-ASCII letter, so that every form differs: as given, in the
# URL (percent-encoded), and in Proxy-Authorization (base64 of latin-1, as aiohttp sends it).
_HOSTILE_USER, _HOSTILE_PASSWORD = "proxyuser", "hunter2/Üb3r-secret"
_HOSTILE_RAW_PASSWORD = "hunter2%2F%C3%9Cb3r-secret"


def _proxy_forms() -> tuple[str, ...]:
    """Every form of the hostile credentials that must never show."""
    pair = f"{_HOSTILE_USER}:{_HOSTILE_PASSWORD}"
    return (
        pair,
        f"{_HOSTILE_USER}:{_HOSTILE_RAW_PASSWORD}",
        _HOSTILE_PASSWORD,
        _HOSTILE_RAW_PASSWORD,
        base64.b64encode(pair.encode("latin-1")).decode().rstrip("="),
        base64.b64encode(pair.encode()).decode().rstrip("="),
    )


@contextlib.asynccontextmanager
async def _quoting_proxy(status: int) -> AsyncIterator[str]:
    """A proxy on loopback that refuses every request, quoting it back in every way it can.

    Its reason phrase, a header's name and value, and its body quote the request's
    ``Proxy-Authorization`` as sent and decoded, and the credentials as a URL holds them.
    """

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            head = await reader.readuntil(b"\r\n\r\n")
            auth = next(
                line.split(b":", 1)[1].strip()
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"proxy-authorization:")
            )
            token = auth.partition(b" ")[2]
            decoded = base64.b64decode(token).decode("latin-1").encode()
            raw = f"{_HOSTILE_USER}:{_HOSTILE_RAW_PASSWORD}".encode()
            body = b"denied: %s\nuser %s\nurl http://%s@proxy\n" % (head, decoded, raw)
            writer.write(
                b"HTTP/1.1 %d Denied %s for %s\r\n" % (status, auth, raw)
                + b"Content-Type: text/plain\r\nConnection: close\r\n"
                + b"Content-Length: %d\r\n" % len(body)
                + b"X-Echo: %s %s\r\n" % (auth, decoded)
                + b"X-Request-Id: %s\r\n" % decoded
                + b"X-%s: 1\r\n\r\n" % token.rstrip(b"=").replace(b"/", b"-").replace(b"+", b"-")
                + body
            )
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://{_HOSTILE_USER}:{_HOSTILE_RAW_PASSWORD}@127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("from_env", [False, True], ids=["proxy=", "trust_env"])
@pytest.mark.parametrize("status", [407, 502])
@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.asyncio
async def test_a_proxy_quoting_the_request_never_shows_its_credentials(
    scheme: str,
    status: int,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    *,
    from_env: bool,
) -> None:
    """A proxy's reason phrase, headers and error page quoting Proxy-Authorization are redacted.

    Over http the proxy's answer is the API's (an APIError with its body and headers); over
    https it refuses the CONNECT (an APIConnectionError quoting its reason phrase). Neither,
    nor the fan-out's result, the client's repr or any log record, shows the credentials,
    whether the proxy was given or taken from the environment.
    """
    caplog.set_level(logging.DEBUG)
    for name in ("http_proxy", "https_proxy", "NO_PROXY", "no_proxy", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    # Port 9 is never reached: the proxy answers first.
    async with _quoting_proxy(status) as proxy_url:
        monkeypatch.setenv(f"{scheme.upper()}_PROXY", proxy_url)
        client = ja.AccountsClient(
            "sk_test_proxy_0123456789",
            base_url=f"{scheme}://127.0.0.1:9",
            retry=ja.RetryPolicy.disabled(),
            allow_insecure_http=True,
            **({"trust_env": True} if from_env else {"proxy": proxy_url}),
        )
        async with client:
            with pytest.raises(ja.JuspayError) as info:
                await client.list_accounts("cst_1")
            results = await client.gather_accounts(["cst_2"])
            shown = repr(client)
    failure = results["cst_2"].error
    assert failure is not None
    expected = ja.APIError if scheme == "http" else ja.APIConnectionError
    assert isinstance(info.value, expected)
    texts = [shown, _chain_text(info.value), _chain_text(failure), caplog.text]
    for error in (info.value, failure):
        texts.append(repr(vars(error)))
        if isinstance(error, ja.APIError):
            texts += [str(error.body), repr(dict(error.headers)), str(error.request_id)]
    text = "\n".join(texts)
    assert "<redacted>" in text  # the proxy did quote them, and they were seen
    assert [] == [form for form in _proxy_forms() if form in text]


def _switch_off(context: ssl.SSLContext, how: str) -> None:
    """Switch certificate or host name checking off on ``context``, as a careless caller might."""
    context.check_hostname = False
    if how == "CERT_NONE":
        context.verify_mode = ssl.CERT_NONE
    elif how == "CERT_OPTIONAL":
        context.verify_mode = ssl.CERT_OPTIONAL


@pytest.mark.parametrize("how", ["CERT_NONE", "CERT_OPTIONAL", "check_hostname"])
@pytest.mark.parametrize("after_first_call", [False, True])
@pytest.mark.asyncio
async def test_verification_switched_off_after_construction_is_refused(
    tls_server: TLSServer, how: str, *, after_first_call: bool
) -> None:
    """An ssl_context switched off after the client was built is refused; nothing is sent.

    Before the session exists, and after it has made verified connections; a fan-out stops
    with the same error rather than reporting one customer's failure.
    """
    context = tls_server.trusting_context()
    async with ja.AccountsClient("key", base_url=tls_server.url, ssl_context=context) as client:
        if after_first_call:
            await client.list_accounts("cst_1")
        handshakes, requests = tls_server.handshakes, tls_server.requests
        _switch_off(context, how)
        with pytest.raises(ValueError, match="no longer verifies") as refused:
            await client.list_accounts("cst_1")
        with pytest.raises(ValueError, match="no longer verifies"):
            await client.gather_accounts(["cst_1", "cst_2"])
    assert "nothing was sent" in str(refused.value)
    assert (handshakes, requests) == (tls_server.handshakes, tls_server.requests)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("user", "password"),
    [
        ("proxy-user-alice", "proxy-pass@word9"),
        ("proxy-user-alice", None),
        (None, "proxy-pass@word9"),
    ],
    ids=["user and password", "user only", "password only"],
)
async def test_a_proxy_reflecting_its_credentials_has_them_redacted(
    user: str | None, password: str | None
) -> None:
    """A proxy refuses, echoing the Proxy-Authorization it got in its body and a header.

    Whatever part of the credentials the proxy URL holds, a user name alone or a password
    alone too, the error and its whole chain show none of what aiohttp sent for them.
    """
    received: list[str] = []

    async def refuse(request: web.Request) -> web.Response:
        auth = request.headers.get("Proxy-Authorization", "")
        received.append(auth)
        decoded = base64.b64decode(auth.removeprefix("Basic ")).decode()
        return web.Response(
            status=407, text=f"refused {auth} ({decoded})", headers={"X-Echo": auth}
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    userinfo = f"{user or ''}" + (f":{password.replace('@', '%40')}" if password else "")
    proxy = f"http://{userinfo}@127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with ja.AccountsClient(
            "key", base_url="http://127.0.0.2:9", proxy=proxy, retry=ja.RetryPolicy.disabled()
        ) as client:
            with pytest.raises(ja.APIError) as refused:
                await client.list_accounts("cst_1")
    finally:
        await runner.cleanup()
    (auth,) = received
    sent = base64.b64decode(auth.removeprefix("Basic ")).decode()
    assert sent == f"{user or ''}:{password or ''}"  # aiohttp sent what the URL holds
    text = _chain_text(refused.value) + repr(refused.value.headers)
    assert "refused" in text  # the proxy's answer is there, its credentials are not
    for secret in (auth.removeprefix("Basic "), sent, user, password):
        assert secret is None or secret not in text
