"""The intercepting HTTP proxy of ``openline serve --intercept``.

Theory of operation. An unchanged app that honours ``HTTPS_PROXY`` opens a connection here and
asks for a tunnel, ``CONNECT api.twilio.com:443`` (RFC 9110 §9.3.6); one that honours
``HTTP_PROXY`` for plain http sends ``GET http://api.twilio.com/...`` (absolute-form, RFC 9112
§3.2.2). The first request head is parsed with h11 (bounded, with a deadline), then:

* a Twilio or SendGrid API host (:func:`openline.core.intercept.is_intercepted`): for CONNECT,
  answer 200, terminate TLS with a certificate for that host from the local CA, and give the
  decrypted connection to Openline's own HTTP server protocol (uvicorn's, in this process), which
  serves Openline's ASGI app: the product comes from the Host header as for any client. For
  absolute-form, the request is rewritten to origin-form with ``Host`` from the URL (the proxy
  must ignore the client's, RFC 9112 §3.2.2) and ``Connection: close``, so that the one request
  that was rewritten is the only one on that connection.
* any other host: 403 with a body saying why, unless passthrough is on, in which case a CONNECT
  becomes a blind TCP tunnel (no TLS termination) and an absolute-form request is forwarded
  as is (origin-form, ``Connection: close``). The proxy never reaches anything else by itself:
  it is not an open proxy.

Nothing is read from a connection before its head is complete and judged; a head that is
malformed, too large or too slow costs that connection only.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Callable, Coroutine
from typing import cast
from urllib.parse import urlsplit

import h11

from openline.core.intercept import (
    SENDGRID_API_HOST,
    TWILIO_DOMAIN,
    AuthorityError,
    is_intercepted,
    parse_authority,
)
from openline.transports.intercept_ca import CertificateAuthorityError, LocalCA

log = logging.getLogger("openline.intercept")

MAX_HEAD_BYTES = 16 * 1024  # request line + headers; Twilio's SDKs send well under 2 KiB
HEAD_TIMEOUT_SECONDS = 30.0  # a client that opens a connection and says nothing
TLS_HANDSHAKE_TIMEOUT_SECONDS = 30.0
UPSTREAM_CONNECT_TIMEOUT_SECONDS = 10.0
_HOP_BY_HOP = {b"connection", b"proxy-connection", b"keep-alive", b"proxy-authorization", b"host", b"te",
               b"upgrade", b"trailer"}  # RFC 9110 §7.6.1: not forwarded by a proxy

HttpProtocolFactory = Callable[[], asyncio.Protocol]


def _reply(status: int, reason: str, body: str = "") -> bytes:
    payload = body.encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
            f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n")
    return head.encode("latin-1") + payload


def refusal(target: str) -> str:
    return (f"Openline's intercept proxy refused {target}: it answers only for Twilio's API hosts "
            f"(*.{TWILIO_DOMAIN}) and SendGrid's ({SENDGRID_API_HOST}), and is not an open proxy. "
            "List other hosts in NO_PROXY, or start `openline serve --intercept --intercept-passthrough` "
            "to tunnel them unchanged.\n")


class InterceptProxy:
    """Listens for proxy requests; one :class:`_ProxyConnection` per client connection."""

    def __init__(self, ca: LocalCA, http_protocol: HttpProtocolFactory, passthrough: bool) -> None:
        self.ca = ca
        self.http_protocol = http_protocol
        self.passthrough = passthrough
        self._server: asyncio.AbstractServer | None = None
        self._connections: set[_ProxyConnection] = set()

    async def start(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _ProxyConnection(self), sock=sock)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._connections):
            connection.abort()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def track(self, connection: _ProxyConnection, alive: bool) -> None:
        if alive:
            self._connections.add(connection)
        else:
            self._connections.discard(connection)


class _ProxyConnection(asyncio.Protocol):
    """One client: reads the first request head, then intercepts, tunnels or refuses."""

    def __init__(self, proxy: InterceptProxy) -> None:
        self._proxy = proxy
        self._transport: asyncio.Transport | None = None
        self._parser = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self._state = "head"  # head → (handshake → handed over) | tunnel | closed
        self._pending: list[bytes] = []  # decrypted bytes that arrive before the handover
        self._peer: _Upstream | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._client = "?"
        self._task: asyncio.Task[None] | None = None
        self._received = 0

    # -- asyncio callbacks ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass asyncio's
        peer = transport.get_extra_info("peername")
        self._client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else "?"
        self._timer = asyncio.get_running_loop().call_later(HEAD_TIMEOUT_SECONDS, self._head_timeout)
        self._proxy.track(self, True)

    def data_received(self, data: bytes) -> None:
        if self._state == "head":
            self._receive_head(data)
        elif self._state == "handshake":
            self._pending.append(data)
        elif self._state == "tunnel" and self._peer is not None and self._peer.transport is not None:
            self._peer.transport.write(data)

    def eof_received(self) -> bool | None:
        if self._state == "tunnel" and self._peer is not None:
            return self._peer.half_close()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._state = "closed"
        self._cancel_timer()
        self._proxy.track(self, False)
        if self._peer is not None and self._peer.transport is not None:
            self._peer.transport.close()

    def pause_writing(self) -> None:  # the client reads slower than the upstream sends
        if self._peer is not None and self._peer.transport is not None:
            self._peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self._peer is not None and self._peer.transport is not None:
            self._peer.transport.resume_reading()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def close(self) -> None:
        """Close once what is buffered for the client has been written."""
        if self._transport is not None:
            self._transport.close()

    # -- the first request ----------------------------------------------------------------

    def _head_timeout(self) -> None:
        if self._state == "head":
            self._refuse(408, "Request Timeout", "No complete request head arrived in time.\n")

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _receive_head(self, data: bytes) -> None:
        self._received += len(data)
        self._parser.receive_data(data)
        try:
            event = self._parser.next_event()
        except h11.RemoteProtocolError as exc:
            status = exc.error_status_hint
            self._refuse(status, "Request Header Fields Too Large" if status == 431 else "Bad Request",
                         f"Malformed proxy request: {exc}\n")
            return
        if event is h11.NEED_DATA:
            return
        self._cancel_timer()
        if not isinstance(event, h11.Request):
            self._refuse(400, "Bad Request", "Expected a proxy request.\n")
            return
        trailing = self._parser.trailing_data[0]
        if self._received - len(trailing) > MAX_HEAD_BYTES:  # h11 bounds only heads that arrive in pieces
            self._refuse(431, "Request Header Fields Too Large", "The request head is too large.\n")
            return
        target = event.target.decode("ascii", "replace")
        if event.method == b"CONNECT":
            self._connect(target, trailing)
        elif target.lower().startswith("http://"):
            self._forward(event, target, trailing)
        else:
            self._refuse(400, "Bad Request",
                         "This is Openline's intercept proxy: set it as HTTPS_PROXY/HTTP_PROXY "
                         "(see `openline env`) rather than requesting it directly.\n")

    def _connect(self, target: str, trailing: bytes) -> None:
        try:
            host, port = parse_authority(target)
        except AuthorityError as exc:
            self._refuse(400, "Bad Request", f"CONNECT needs host:port ({exc}).\n")
            return
        if trailing:  # a client must wait for our answer before speaking TLS (RFC 9110 §9.3.6)
            self._refuse(400, "Bad Request", "Data sent before the tunnel was established.\n")
            return
        if is_intercepted(host):
            try:
                context = self._proxy.ca.server_context(host)
            except CertificateAuthorityError as exc:
                self._refuse(400, "Bad Request", f"{exc}\n")
                return
            self._begin(self._intercept_tls(context))
        elif self._proxy.passthrough:
            self._begin(self._tunnel(host, port, b"", b"HTTP/1.1 200 Connection established\r\n\r\n"))
        else:
            log.info("intercept: refused CONNECT %s from %s", target, self._client)
            self._refuse(403, "Forbidden", refusal(target))

    def _forward(self, request: h11.Request, target: str, trailing: bytes) -> None:
        parts = urlsplit(target)
        try:
            host, port = parse_authority(parts.netloc.rpartition("@")[2], default_port=80)
        except AuthorityError as exc:
            self._refuse(400, "Bad Request", f"Bad absolute URL ({exc}).\n")
            return
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        head = _origin_form(request, path, parts.netloc.rpartition("@")[2])
        if is_intercepted(host):
            self._hand_over(self._transport, head + trailing)
        elif self._proxy.passthrough:
            self._begin(self._tunnel(host, port, head + trailing, b""))
        else:
            log.info("intercept: refused %s %s from %s", request.method.decode(), target, self._client)
            self._refuse(403, "Forbidden", refusal(f"{parts.scheme}://{parts.netloc}"))

    def _begin(self, work: Coroutine[None, None, None]) -> None:
        assert self._transport is not None
        self._transport.pause_reading()  # nothing more is read until the next step is ready
        self._state = "handshake"
        self._task = asyncio.get_running_loop().create_task(work)  # referenced: tasks are weakly held

    def _refuse(self, status: int, reason: str, body: str) -> None:
        self._cancel_timer()
        self._state = "closed"
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(_reply(status, reason, body))
            self._transport.close()

    # -- what follows the head ----------------------------------------------------------------

    async def _intercept_tls(self, context: ssl.SSLContext) -> None:
        transport = self._transport
        assert transport is not None
        transport.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        try:
            tls = await asyncio.get_running_loop().start_tls(
                transport, self, context, server_side=True, ssl_handshake_timeout=TLS_HANDSHAKE_TIMEOUT_SECONDS)
        except (TimeoutError, OSError, ssl.SSLError, ConnectionError) as exc:
            # Usually a client that does not trust the Openline CA: say so where it can be seen.
            log.warning("intercept: TLS handshake with %s failed (%s); does the client trust the Openline CA?",
                        self._client, exc)
            transport.abort()
            return
        if tls is None or self._state == "closed":
            return
        self._hand_over(tls, b"".join(self._pending))

    def _hand_over(self, transport: asyncio.Transport | None, first: bytes) -> None:
        """From here on, the connection belongs to Openline's HTTP server."""
        assert transport is not None
        self._state = "handed over"
        self._pending = []
        self._proxy.track(self, False)  # the HTTP server's own shutdown closes it now
        protocol = self._proxy.http_protocol()
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        if first:
            protocol.data_received(first)

    async def _tunnel(self, host: str, port: int, first: bytes, answer: bytes) -> None:
        transport = self._transport
        assert transport is not None
        loop = asyncio.get_running_loop()
        try:
            upstream, peer = await asyncio.wait_for(
                loop.create_connection(lambda: _Upstream(self), host, port), UPSTREAM_CONNECT_TIMEOUT_SECONDS)
        except (TimeoutError, OSError) as exc:
            self._refuse(502, "Bad Gateway", f"Could not reach {host}:{port}: {exc}\n")
            return
        if self._state == "closed":
            upstream.close()
            return
        self._peer = peer
        self._state = "tunnel"
        if answer:
            transport.write(answer)
        if first:
            upstream.write(first)
        transport.resume_reading()

    def half_close(self) -> bool:
        """The upstream finished sending: pass the EOF on, keep the other direction open."""
        if self._transport is not None and self._transport.can_write_eof():
            self._transport.write_eof()
            return True
        return False


class _Upstream(asyncio.Protocol):
    """The far side of a passthrough tunnel."""

    def __init__(self, client: _ProxyConnection) -> None:
        self._client = client
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self._client._transport is not None:
            self._client._transport.write(data)

    def eof_received(self) -> bool | None:
        return self._client.half_close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._client.close()

    def pause_writing(self) -> None:  # the upstream reads slower than the client sends
        if self._client._transport is not None:
            self._client._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._client._transport is not None:
            self._client._transport.resume_reading()

    def half_close(self) -> bool:
        """The client finished sending."""
        if self.transport is not None and self.transport.can_write_eof():
            self.transport.write_eof()
            return True
        return False


def _origin_form(request: h11.Request, path: str, authority: str) -> bytes:
    """The request head as an origin server expects it (RFC 9112 §3.2.1), one request only."""
    version = request.http_version.decode("ascii")
    lines = [f"{request.method.decode('ascii')} {path} HTTP/{version}".encode("latin-1"),
             b"Host: " + authority.encode("idna")]
    lines += [name + b": " + value for name, value in request.headers.raw_items() if name.lower() not in _HOP_BY_HOP]
    lines.append(b"Connection: close")
    return b"\r\n".join(lines) + b"\r\n\r\n"
