"""WebhookClient against real HTTP servers on 127.0.0.1 (uvicorn + Starlette, and raw asyncio sockets).

Nothing here leaves the machine: every server listens on 127.0.0.1, and the one host
name used (under the reserved .invalid TLD) is refused before any DNS lookup.
"""

from __future__ import annotations

import asyncio
import base64
import ipaddress
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from twilio.request_validator import RequestValidator

from openline.core.errors import CATALOGUE
from openline.transports.webhooks import (
    DEFAULT_RETRY_POLICY,
    MAX_RESPONSE_BYTES,
    RetryOn,
    WebhookClient,
    WebhookRequest,
    WebhookResult,
    parse_connection_overrides,
)

TOKEN = "0123456789abcdef0123456789abcdef"
TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response><Message>ok</Message></Response>'
PARAMS = (
    ("MessageSid", "SM" + "1" * 32),
    ("AccountSid", "AC" + "2" * 32),
    ("From", "+15551234567"),
    ("To", "+15005550006"),
    ("Body", "Héllo wörld & more = 100% ✓"),
    ("NumMedia", "2"),
    ("MediaUrl", "https://media.example/b"),
    ("MediaUrl", "https://media.example/a"),
    ("MediaUrl", "https://media.example/a"),  # identical repeated value
    ("Empty", ""),
)


@dataclass
class Seen:
    method: str
    url: str  # rebuilt from what arrived on the wire: scheme, Host, raw path and query
    headers: dict[str, str]
    form: FormData


class HookServer:
    """A customer's webhook endpoint: records every request, answers per path."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.port = 0
        self.other: HookServer | None = None  # target of /elsewhere
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _record(self, request: Request) -> Seen:
        raw = await request.body()
        query = request.scope["query_string"].decode()
        path = request.scope["raw_path"].decode()
        seen = Seen(
            method=request.method,
            url=f"http://{request.headers['host']}{path}" + (f"?{query}" if query else ""),
            headers=dict(request.headers),
            form=FormData(parse_qsl(raw.decode(), keep_blank_values=True)),
        )
        self.seen.append(seen)
        return seen

    async def hook(self, request: Request) -> Response:
        await self._record(request)
        return Response(TWIML, media_type="text/xml")

    async def status(self, request: Request) -> Response:
        await self._record(request)
        return PlainTextResponse("nope", status_code=int(request.path_params["code"]))

    async def loop(self, request: Request) -> Response:
        await self._record(request)
        return RedirectResponse("/loop", status_code=302)

    async def redirect(self, request: Request) -> Response:
        await self._record(request)
        code = int(request.path_params["code"])
        return RedirectResponse(f"/hook?via={code}", status_code=code)

    async def elsewhere(self, request: Request) -> Response:
        await self._record(request)
        assert self.other is not None
        return RedirectResponse(self.other.url("/hook"), status_code=307)

    async def big(self, request: Request) -> Response:
        await self._record(request)
        return Response(b"x" * (MAX_RESPONSE_BYTES + 1), media_type="text/plain")

    async def big_chunked(self, request: Request) -> Response:
        await self._record(request)

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(MAX_RESPONSE_BYTES // 4096 + 2):
                yield b"y" * 4096

        return StreamingResponse(chunks(), media_type="text/plain")

    async def start(self) -> None:
        app = Starlette(
            routes=[
                Route("/hook", self.hook, methods=["GET", "POST"]),
                Route("/status/{code:int}", self.status, methods=["GET", "POST"]),
                Route("/loop", self.loop, methods=["GET", "POST"]),
                Route("/redirect/{code:int}", self.redirect, methods=["GET", "POST"]),
                Route("/elsewhere", self.elsewhere, methods=["GET", "POST"]),
                Route("/big", self.big, methods=["GET", "POST"]),
                Route("/big-chunked", self.big_chunked, methods=["GET", "POST"]),
            ]
        )
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="critical", lifespan="off", ws="none", http="h11", access_log=False)
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.005)

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None
        self._server.should_exit = True
        await self._task


@pytest.fixture
async def hook_server() -> AsyncIterator[HookServer]:
    server = HookServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client() -> AsyncIterator[WebhookClient]:
    webhook_client = WebhookClient()
    yield webhook_client
    await webhook_client.aclose()


@asynccontextmanager
async def raw_server(
    handler: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]],
) -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that answers whatever ``handler`` writes."""

    async def guarded(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handler(reader, writer)
        finally:
            writer.close()
            with suppress(ConnectionError):
                await writer.wait_closed()

    server = await asyncio.start_server(guarded, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def _until_eof(reader: asyncio.StreamReader) -> None:
    while await reader.read(4096):
        pass


def request(
    url: str, method: str = "POST", params: tuple[tuple[str, str], ...] = PARAMS, token: str = "idem-1"
) -> WebhookRequest:
    return WebhookRequest(url=url, method=method, params=params, auth_token=TOKEN, idempotency_token=token)


def assert_failed(result: WebhookResult, code: int) -> None:
    assert not result.ok
    assert result.error_code == code, (result.error_code, result.error_message)
    assert code in CATALOGUE and result.error_message
    assert result.attempts and result.attempts[-1].error_code == code


# ----------------------------------------------------------------------------- signing


async def test_post_is_signed_for_the_sdk_validator(hook_server: HookServer, client: WebhookClient) -> None:
    configured = hook_server.url("/hook?x=1&y=two%20words&z=a+b")
    result = await client.send(request(configured + "#ct=1000&rt=2000"))

    assert result.ok and result.status_code == 200 and result.error_code is None
    assert result.body == TWIML.encode() and result.content_type == "text/xml; charset=utf-8"
    [seen] = hook_server.seen
    assert seen.method == "POST"
    assert seen.url == configured  # the fragment never travels
    signature = seen.headers["x-twilio-signature"]
    validator = RequestValidator(TOKEN)
    assert validator.validate(configured, seen.form, signature)  # the URL set in "the console"
    assert validator.validate(seen.url, seen.form, signature)  # the URL the app rebuilds
    assert not RequestValidator("f" * 32).validate(configured, seen.form, signature)
    # Sent as given, duplicate included; the signature counts the duplicate once.
    assert seen.form.getlist("MediaUrl") == [v for k, v in PARAMS if k == "MediaUrl"]
    assert seen.form["Body"] == "Héllo wörld & more = 100% ✓" and seen.form["Empty"] == ""
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded; charset=utf-8"
    assert seen.headers["i-twilio-idempotency-token"] == "idem-1"
    assert seen.headers["user-agent"] == "TwilioProxy/1.1"
    assert seen.headers["accept"] == "*/*"
    assert "authorization" not in seen.headers

    [attempt] = result.attempts
    assert attempt.url == configured and attempt.method == "POST" and attempt.status_code == 200
    assert attempt.response_excerpt == TWIML and attempt.error_code is None and attempt.duration_ms > 0


async def test_get_puts_params_in_the_query_and_signs_only_the_url(
    hook_server: HookServer,
    client: WebhookClient,
) -> None:
    result = await client.send(request(hook_server.url("/hook?existing=1"), method="GET"))

    assert result.ok
    [seen] = hook_server.seen
    assert seen.method == "GET" and not seen.form and "content-type" not in seen.headers
    assert seen.url.startswith(hook_server.url("/hook?existing=1&MessageSid="))
    assert "Body=H%C3%A9llo+w%C3%B6rld+%26+more+%3D+100%25+%E2%9C%93" in seen.url  # spaces as "+"
    query = parse_qsl(seen.url.partition("?")[2], keep_blank_values=True)
    assert query == [("existing", "1"), *PARAMS]
    assert RequestValidator(TOKEN).validate(seen.url, {}, seen.headers["x-twilio-signature"])
    assert result.attempts[0].url == seen.url


async def test_basic_auth_from_userinfo_is_sent_and_not_signed(
    hook_server: HookServer,
    client: WebhookClient,
) -> None:
    url = f"http://us%40er:p%3Ass@127.0.0.1:{hook_server.port}/hook"
    result = await client.send(request(url))

    assert result.ok
    [seen] = hook_server.seen
    expected = base64.b64encode(b"us@er:p:ss").decode()
    assert seen.headers["authorization"] == f"Basic {expected}"
    # Twilio drops the username and password before signing (docs, Security › Notes).
    assert RequestValidator(TOKEN).validate(hook_server.url("/hook"), seen.form, seen.headers["x-twilio-signature"])
    assert "p%3Ass" not in result.attempts[0].url and "us%40er" not in result.attempts[0].url


# ----------------------------------------------------------------------------- failures


async def test_500_is_a_retrieval_failure_and_not_retried_by_default(
    hook_server: HookServer,
    client: WebhookClient,
) -> None:
    result = await client.send(request(hook_server.url("/status/500")))

    assert_failed(result, 11200)
    assert result.status_code == 500 and result.body == b"nope"
    assert len(result.attempts) == 1 and result.attempts[0].response_excerpt == "nope"


async def test_connection_refused_is_11205_and_retried_once_by_default(client: WebhookClient) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now

    result = await client.send(request(f"http://127.0.0.1:{port}/hook"))

    assert_failed(result, 11205)
    assert result.status_code is None
    assert len(result.attempts) == 2  # rc=1 and rp=ct are Twilio's defaults


async def test_invalid_tld_fails_without_any_dns_lookup(
    client: WebhookClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_dns(*args: object, **kwargs: object) -> object:
        raise AssertionError("DNS must not be asked about .invalid names")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    result = await client.send(request("http://hooks.openline.invalid/sms"))

    assert_failed(result, 11210)
    assert len(result.attempts) == 1


async def test_dns_failure_is_11210(client: WebhookClient, monkeypatch: pytest.MonkeyPatch) -> None:
    lookups: list[str] = []

    def nxdomain(host: bytes | str, *args: object, **kwargs: object) -> object:
        lookups.append(host.decode() if isinstance(host, bytes) else host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", nxdomain)  # the lookup fails here, not on the network
    result = await client.send(request("http://hooks.example.test/sms"))

    assert lookups == ["hooks.example.test"]
    assert_failed(result, 11210)
    assert len(result.attempts) == 1  # a name that does not resolve is not retried


async def test_read_timeout_from_the_fragment_is_honoured(client: WebhookClient) -> None:
    async with raw_server(lambda reader, writer: _until_eof(reader)) as port:
        result = await client.send(request(f"http://127.0.0.1:{port}/hook#rt=300"))

    assert_failed(result, 11205)
    assert "read timeout" in (result.error_message or "")
    [attempt] = result.attempts  # rp=ct by default: a read timeout is not retried
    assert 250 <= attempt.duration_ms < 3000


async def test_read_timeout_retried_when_rp_says_rt(client: WebhookClient) -> None:
    async with raw_server(lambda reader, writer: _until_eof(reader)) as port:
        result = await client.send(request(f"http://127.0.0.1:{port}/hook#rt=150&rc=1&rp=rt"))

    assert_failed(result, 11205)
    assert len(result.attempts) == 2


async def test_total_timeout_bounds_every_try(client: WebhookClient) -> None:
    async with raw_server(lambda reader, writer: _until_eof(reader)) as port:
        started = asyncio.get_running_loop().time()
        result = await client.send(request(f"http://127.0.0.1:{port}/hook#rt=2000&tt=200&rc=5&rp=all"))
        elapsed = asyncio.get_running_loop().time() - started

    assert_failed(result, 11205)
    assert "total timeout" in (result.error_message or "")
    assert len(result.attempts) == 1 and elapsed < 1.5


async def test_503_with_rc_2_rp_5xx_makes_three_attempts(hook_server: HookServer, client: WebhookClient) -> None:
    result = await client.send(request(hook_server.url("/status/503#rc=2&rp=5xx"), token="same-token"))

    assert_failed(result, 11200)
    assert result.status_code == 503
    assert [a.status_code for a in result.attempts] == [503, 503, 503]
    assert [s.headers["i-twilio-idempotency-token"] for s in hook_server.seen] == ["same-token"] * 3


async def test_4xx_not_retried_under_rp_5xx(hook_server: HookServer, client: WebhookClient) -> None:
    result = await client.send(request(hook_server.url("/status/404#rc=3&rp=5xx")))
    assert_failed(result, 11200)
    assert len(result.attempts) == 1


async def test_malformed_http_is_a_protocol_violation(client: WebhookClient) -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"HELLO THERE\r\nthis is not http\r\n\r\n")
        await writer.drain()

    async with raw_server(garbage) as port:
        result = await client.send(request(f"http://127.0.0.1:{port}/hook"))

    assert_failed(result, 11206)
    assert len(result.attempts) == 1


async def test_hang_up_without_answer_is_a_protocol_violation(client: WebhookClient) -> None:
    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)

    async with raw_server(hang_up) as port:
        result = await client.send(request(f"http://127.0.0.1:{port}/hook"))

    assert_failed(result, 11206)


def _self_signed_context(tmp_path: Path) -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context


async def test_untrusted_certificate_is_11237(client: WebhookClient, tmp_path: Path) -> None:
    context = _self_signed_context(tmp_path)

    async def tls_handshake_then_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with suppress(ConnectionError, ssl.SSLError):
            await _until_eof(reader)

    server = await asyncio.start_server(tls_handshake_then_read, "127.0.0.1", 0, ssl=context)
    try:
        port = server.sockets[0].getsockname()[1]
        result = await client.send(request(f"https://127.0.0.1:{port}/hook"))
    finally:
        server.close()
        await server.wait_closed()

    assert_failed(result, 11237)
    assert len(result.attempts) == 1  # the same certificate would fail again


async def test_plain_http_on_an_https_url_is_a_tls_handshake_error(client: WebhookClient) -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async with raw_server(plain) as port:
        result = await client.send(request(f"https://127.0.0.1:{port}/hook"))

    assert_failed(result, 11220)
    assert len(result.attempts) == 2  # a connect-phase failure: retried once under the default rp=ct


async def test_oversize_body_is_refused(hook_server: HookServer, client: WebhookClient) -> None:
    for path in ("/big", "/big-chunked"):
        result = await client.send(request(hook_server.url(path)))
        assert_failed(result, 11200)
        assert result.status_code == 200 and result.body == b""
        assert str(MAX_RESPONSE_BYTES) in (result.error_message or "")
        assert len(result.attempts[0].response_excerpt) <= 1024


async def test_unusable_urls_become_results(client: WebhookClient) -> None:
    for url in ("ftp://127.0.0.1/hook", "not a url", "http:///nohost", "http://[::1/bad"):
        result = await client.send(request(url))
        assert not result.ok and result.error_code in CATALOGUE, url


async def test_bad_method_is_a_programming_error(client: WebhookClient) -> None:
    with pytest.raises(ValueError, match="GET or POST"):
        await client.send(request("http://127.0.0.1:1/", method="PUT"))


# ----------------------------------------------------------------------------- redirects


async def test_redirect_loop_is_11215(hook_server: HookServer) -> None:
    webhook_client = WebhookClient(max_redirects=3)
    try:
        result = await webhook_client.send(request(hook_server.url("/loop")))
    finally:
        await webhook_client.aclose()

    assert_failed(result, 11215)
    assert result.status_code == 302
    assert [a.status_code for a in result.attempts] == [302] * 4
    assert result.attempts[-1].error_code == 11215


async def test_303_is_followed_with_a_signed_get(hook_server: HookServer, client: WebhookClient) -> None:
    result = await client.send(request(hook_server.url("/redirect/303")))

    assert result.ok and result.body == TWIML.encode()
    first, second = hook_server.seen
    assert (first.method, second.method) == ("POST", "GET")
    assert second.url == hook_server.url("/hook?via=303") and not second.form
    assert RequestValidator(TOKEN).validate(second.url, {}, second.headers["x-twilio-signature"])
    assert [(a.method, a.status_code) for a in result.attempts] == [("POST", 303), ("GET", 200)]


async def test_307_keeps_the_signed_post(hook_server: HookServer, client: WebhookClient) -> None:
    result = await client.send(request(hook_server.url("/redirect/307")))

    assert result.ok
    _, second = hook_server.seen
    assert second.method == "POST" and second.form.getlist("MediaUrl")[0] == "https://media.example/b"
    assert RequestValidator(TOKEN).validate(second.url, second.form, second.headers["x-twilio-signature"])


async def test_credentials_do_not_follow_a_redirect_to_another_origin(hook_server: HookServer) -> None:
    other = HookServer()
    await other.start()
    hook_server.other = other
    webhook_client = WebhookClient()
    try:
        url = f"http://user:secret@127.0.0.1:{hook_server.port}/elsewhere"
        result = await webhook_client.send(request(url))
    finally:
        await webhook_client.aclose()
        await other.stop()

    assert result.ok
    assert hook_server.seen[0].headers["authorization"].startswith("Basic ")
    [arrived] = other.seen
    assert "authorization" not in arrived.headers
    assert RequestValidator(TOKEN).validate(arrived.url, arrived.form, arrived.headers["x-twilio-signature"])


# ----------------------------------------------------------------------------- pieces


def test_connection_overrides_defaults_and_clamping() -> None:
    default = parse_connection_overrides("")
    assert default.connect_timeout is None and default.read_timeout is None and default.total_timeout is None
    assert default.retry_count == 1 and default.retry_policy == DEFAULT_RETRY_POLICY == {RetryOn.CONNECT}

    clamped = parse_connection_overrides("ct=1&rt=999999&tt=50&rc=9&rp=4xx,5xx")
    assert clamped.connect_timeout == 0.1 and clamped.read_timeout == 15.0 and clamped.total_timeout == 0.1
    assert clamped.retry_count == 5 and clamped.retry_policy == {RetryOn.CLIENT_ERROR, RetryOn.SERVER_ERROR}

    assert parse_connection_overrides("rp=all").retry_policy == set(RetryOn)
    assert parse_connection_overrides("rp=ct%2Crt").retry_policy == {RetryOn.CONNECT, RetryOn.READ}
    junk = parse_connection_overrides("ct=abc&rt=-5&rc=&rp=sometimes&e=ashburn&sni=y&noequals")
    assert junk == default


def test_excerpt_is_the_first_kib_decoded_with_replacement() -> None:
    from openline.transports.webhooks import _excerpt

    assert _excerpt(b"ok \xff") == "ok \ufffd"
    cut = ("é" * 600).encode()  # 1200 bytes: the 1024-byte cut falls inside no character
    assert _excerpt(cut) == "é" * 512
    assert _excerpt(b"a" + cut) == "a" + "é" * 511  # a half character at the cut is dropped


async def test_injected_client_is_not_closed() -> None:
    async with httpx.AsyncClient(trust_env=False) as shared:
        webhook_client = WebhookClient(client=shared)
        await webhook_client.aclose()
        assert not shared.is_closed
