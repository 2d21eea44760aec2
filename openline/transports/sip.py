"""SIP over UDP and TCP: a thin asyncio endpoint around the sans-IO transaction layer.

One :class:`SipEndpoint` listens on one address with UDP and TCP (same port, RFC 3261 §18) and
owns every transaction of the process. Datagrams and stream bytes are parsed by the codec
(``parse_message`` / ``StreamParser``), matched to transactions (§17.1.3, §17.2.3) and fed in;
the actions that come back are carried out here: messages sent, timers armed with the loop's
``call_at`` (one heap for all transactions, no task per timer), events handed to the
transaction user (:class:`SipHandler`).

Server side: the top Via of every request is stamped with ``received``/``rport`` (§18.2.1,
RFC 3581) so that responses go back where the request came from; on TCP they go back over the
same connection while it is open. CANCEL is answered here (§9.2: 200 to the CANCEL, 487 to the
INVITE) and reported to the handler. ACKs that match no transaction (the ACK for a 2xx) go to
``on_ack``. Bad input costs one message: it is counted and logged, the socket stays open (a
stream whose framing is lost is closed, there is no resync point).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

from openline.codecs.sip import (
    NameAddr,
    Request,
    Response,
    SipParseError,
    SipUri,
    StreamParser,
    Via,
    make_response,
    new_branch,
    parse_message,
)
from openline.codecs.sip.message import request_for_error_reply
from openline.codecs.sip.transaction import (
    Action,
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ClientTransaction,
    DeliverRequest,
    DeliverResponse,
    SendMessage,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    ServerTransaction,
    StartTimer,
    StopTimer,
    Terminated,
    TimedOut,
    Timer,
    Timers,
    TransactionState,
    TransportFailed,
    client_key,
    server_key,
)

__all__ = ["Address", "ClientCallbacks", "SipEndpoint", "SipHandler"]

ANY_PORT_ATTEMPTS: Final = 20  # port 0: tries to find a port free for both UDP and TCP

log = logging.getLogger("openline.sip")

MAX_TCP_CONNECTIONS: Final = 1024
TCP_IDLE_TIMEOUT: Final = 300.0


@dataclass(frozen=True, slots=True)
class Address:
    host: str
    port: int
    transport: str = "UDP"  # "UDP" | "TCP"


class SipHandler(Protocol):
    """The transaction user: the UA core (dialogs, calls) sits behind this."""

    def on_request(self, request: Request, transaction: ServerTransaction, source: Address) -> None:
        """A new request (never a retransmission). Answer with ``endpoint.respond``."""

    def on_ack(self, request: Request, source: Address) -> None:
        """An ACK outside any transaction: the ACK for a 2xx (§13.3.1.4 / §17.1.1.3)."""

    def on_cancel(self, invite: Request, source: Address) -> None:
        """The peer cancelled this INVITE; the endpoint has answered 487 already."""

    def on_stray_response(self, response: Response, source: Address) -> None:
        """A response matching no transaction, e.g. a 2xx retransmitted after Timer M (§13.2.2.4)."""

    def on_ack_timeout(self, invite: Request) -> None:
        """Our 2xx to ``invite`` was never ACKed (Timer L): §13.3.1.4 says end the call with BYE."""


@dataclass(slots=True)
class ClientCallbacks:
    on_response: Callable[[Response, bool], None]  # (response, retransmission)
    on_failure: Callable[[str], None]  # "timeout" | "transport"


@dataclass(slots=True)
class _ClientEntry:
    txn: ClientTransaction
    destination: Address
    callbacks: ClientCallbacks


@dataclass(slots=True)
class _ServerEntry:
    txn: ServerTransaction
    source: Address
    connection: _TcpConnection | None


class _TcpConnection:
    def __init__(self, endpoint: SipEndpoint, remote: Address) -> None:
        self.endpoint = endpoint
        self.remote = remote
        self.parser = StreamParser()
        self.writer: asyncio.StreamWriter | None = None
        self.pending: list[bytes] = []
        self.closed = False
        self.task: asyncio.Task[None] | None = None

    def write(self, data: bytes) -> None:
        if self.closed:
            raise ConnectionError("connection closed")
        if self.writer is None:
            self.pending.append(data)
        else:
            self.writer.write(data)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        for data in self.pending:
            writer.write(data)
        self.pending.clear()
        try:
            while True:
                chunk = await asyncio.wait_for(reader.read(65536), TCP_IDLE_TIMEOUT)
                if not chunk:
                    break
                try:
                    items = self.parser.feed(chunk)
                except SipParseError as exc:
                    self.endpoint.malformed += 1
                    log.warning("sip tcp %s:%s framing lost: %s", self.remote.host, self.remote.port, exc)
                    break
                for item in items:
                    if isinstance(item, SipParseError):
                        self.endpoint._malformed(None, item, self.remote, self)
                        continue
                    self.endpoint._dispatch(item, self.remote, self)
        except (TimeoutError, ConnectionError, OSError):
            pass
        finally:
            self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.endpoint._connection_closed(self)
        if self.writer is not None:
            self.writer.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        host, port = str(addr[0]), int(str(addr[1]))
        if data.strip(b"\r\n") == b"":
            return  # RFC 5626 keep-alive CRLFs
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self.endpoint._malformed(data, exc, Address(host, port, "UDP"), None)
            return
        self.endpoint._dispatch(message, Address(host, port, "UDP"), None)

    def error_received(self, exc: Exception) -> None:
        log.debug("sip udp error: %s", exc)


class SipEndpoint:
    def __init__(
        self, handler: SipHandler, *, host: str = "127.0.0.1", port: int = 5060, timers: Timers | None = None
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.timers = timers or Timers()
        self._udp: asyncio.DatagramTransport | None = None
        self._tcp_server: asyncio.AbstractServer | None = None
        self._connections: dict[tuple[str, int], _TcpConnection] = {}
        self._clients: dict[tuple[str, str], _ClientEntry] = {}
        self._servers: dict[tuple[str, ...], _ServerEntry] = {}
        self._timer_handles: dict[tuple[int, Timer], asyncio.TimerHandle] = {}
        self.malformed = 0
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        wanted = self.port
        # UDP and TCP share one port (§18). With port 0 the kernel picks a free UDP port whose TCP
        # twin may be taken: then pick again rather than fail.
        for attempt in range(ANY_PORT_ATTEMPTS if wanted == 0 else 1):
            transport, _ = await loop.create_datagram_endpoint(lambda: _Udp(self), local_addr=(self.host, wanted))
            port = int(transport.get_extra_info("sockname")[1])
            try:
                self._tcp_server = await asyncio.start_server(self._accept, self.host, port)
            except OSError:
                transport.close()
                if wanted != 0 or attempt == ANY_PORT_ATTEMPTS - 1:
                    raise
                continue
            self._udp, self.port = transport, port
            return

    async def close(self) -> None:
        for handle in self._timer_handles.values():
            handle.cancel()
        self._timer_handles.clear()
        for conn in list(self._connections.values()):
            conn.close()
            if conn.task is not None:
                conn.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await conn.task
        if self._tcp_server is not None:
            self._tcp_server.close()
            await self._tcp_server.wait_closed()
        if self._udp is not None:
            self._udp.close()
        self._clients.clear()
        self._servers.clear()

    @property
    def transactions(self) -> int:
        return len(self._clients) + len(self._servers)

    # --- helpers for the TU -------------------------------------------------------------------

    def via(self, transport: str = "UDP", branch: str | None = None) -> Via:
        """Our Via for a new request: sent-by = the listening address, rport requested."""
        return Via(
            transport=transport.upper(),
            host=self.host,
            port=self.port,
            params=(("branch", branch or new_branch()), ("rport", None)),
        )

    def contact(self, user: str | None = None, transport: str = "UDP") -> NameAddr:
        params: tuple[tuple[str, str | None], ...] = () if transport.upper() == "UDP" else (("transport", "tcp"),)
        return NameAddr(uri=SipUri(host=self.host, port=self.port, user=user, params=params))

    def send_request(self, request: Request, destination: Address, callbacks: ClientCallbacks) -> ClientTransaction:
        """Start a client transaction for ``request`` (not ACK) toward ``destination``."""
        reliable = destination.transport.upper() != "UDP"
        txn: ClientTransaction
        if request.method == "INVITE":
            txn = ClientInviteTransaction(request, reliable=reliable, timers=self.timers)
        else:
            txn = ClientNonInviteTransaction(request, reliable=reliable, timers=self.timers)
        entry = _ClientEntry(txn, destination, callbacks)
        self._clients[txn.key] = entry
        self._run_client(entry, txn.start())
        return txn

    def abandon(self, txn: ClientTransaction) -> None:
        """Stop a client transaction silently (no retransmissions, no callbacks): the TU gave up
        on a destination that never answered. A late response is then stray (a 2xx left
        unacknowledged makes the far end end its dialog itself, §13.3.1.4)."""
        entry = self._clients.get(txn.key)
        if entry is not None and entry.txn is txn:
            self._drop_timers(txn)
            del self._clients[txn.key]

    def send_stateless(self, message: Request | Response, destination: Address) -> None:
        """Send outside any transaction: the ACK for a 2xx (§13.2.2.4), or a re-sent 2xx."""
        self._send(message, destination, None)

    def respond(self, txn: ServerTransaction, response: Response) -> None:
        entry = self._servers.get(txn.key)
        if entry is None or entry.txn is not txn:
            raise LookupError("the server transaction is gone")
        self._run_server(entry, txn.send_response(response))

    def ack_for_2xx_received(self, txn: ServerInviteTransaction) -> None:
        entry = self._servers.get(txn.key)
        if entry is not None and entry.txn is txn:
            self._run_server(entry, txn.on_ack_for_2xx())

    # --- sending ------------------------------------------------------------------------------

    def _send(self, message: Request | Response, destination: Address, connection: _TcpConnection | None) -> None:
        data = bytes(message)
        if destination.transport.upper() == "UDP":
            if self._udp is None:
                raise ConnectionError("endpoint not started")
            self._udp.sendto(data, (destination.host, destination.port))
            return
        conn = connection if connection is not None and not connection.closed else self._tcp_to(destination)
        conn.write(data)

    def _tcp_to(self, destination: Address) -> _TcpConnection:
        key = (destination.host, destination.port)
        conn = self._connections.get(key)
        if conn is not None and not conn.closed:
            return conn
        if len(self._connections) >= MAX_TCP_CONNECTIONS:
            raise ConnectionError("too many TCP connections")
        conn = _TcpConnection(self, Address(destination.host, destination.port, "TCP"))
        self._connections[key] = conn

        async def connect() -> None:
            try:
                reader, writer = await asyncio.open_connection(destination.host, destination.port)
            except OSError as exc:
                log.info("sip tcp connect to %s:%s failed: %s", destination.host, destination.port, exc)
                conn.close()
                return
            await conn.serve(reader, writer)

        conn.task = asyncio.get_running_loop().create_task(connect())
        return conn

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        remote = Address(str(peer[0]), int(peer[1]), "TCP")
        if len(self._connections) >= MAX_TCP_CONNECTIONS:
            writer.close()
            return
        conn = _TcpConnection(self, remote)
        self._connections[(remote.host, remote.port)] = conn
        conn.task = asyncio.current_task()
        await conn.serve(reader, writer)

    def _connection_closed(self, conn: _TcpConnection) -> None:
        key = (conn.remote.host, conn.remote.port)
        if self._connections.get(key) is conn:
            del self._connections[key]
        # §18.4: a transport error fails the transactions using this connection
        for entry in [e for e in self._clients.values() if e.destination.transport == "TCP"]:
            if (entry.destination.host, entry.destination.port) == key and not entry.txn.terminated:
                self._run_client(entry, entry.txn.on_transport_error())
        for sentry in [e for e in self._servers.values() if e.connection is conn]:
            sentry.connection = None

    def _malformed(self, data: bytes | None, exc: SipParseError, source: Address, conn: _TcpConnection | None) -> None:
        """Count and log it; answer a request we can address with the error's status (§8.2),
        statelessly: a malformed request never creates a transaction."""
        self.malformed += 1
        log.info("sip %s %s:%s malformed message (%s): %s", source.transport, source.host, source.port, exc.status, exc)
        skeleton = request_for_error_reply(data) if data is not None else None
        if skeleton is None:
            return
        skeleton.headers.replace_top("Via", str(skeleton.via.stamped(source.host, source.port)))
        reply = make_response(skeleton, exc.status, str(exc)[:100].replace("\r", " ").replace("\n", " "))
        destination = source
        if source.transport == "UDP":
            host, port = reply.via.response_address()
            destination = Address(host, port, "UDP")
        with contextlib.suppress(ConnectionError, OSError):
            self._send(reply, destination, conn)

    # --- receiving ----------------------------------------------------------------------------

    def _dispatch(self, message: Request | Response, source: Address, connection: _TcpConnection | None) -> None:
        try:
            if isinstance(message, Response):
                self._on_response(message, source)
            else:
                self._on_request(message, source, connection)
        except SipParseError as exc:  # a header that only fails when used
            self.malformed += 1
            log.info("sip %s:%s unusable message: %s", source.host, source.port, exc)

    def _on_response(self, response: Response, source: Address) -> None:
        entry = self._clients.get(client_key(response))
        if entry is None:
            self.handler.on_stray_response(response, source)
            return
        self._run_client(entry, entry.txn.on_response(response))

    def _stamp_via(self, request: Request, source: Address) -> None:
        request.headers.replace_top("Via", str(request.via.stamped(source.host, source.port)))

    def _on_request(self, request: Request, source: Address, connection: _TcpConnection | None) -> None:
        self._stamp_via(request, source)
        key = server_key(request)
        existing = self._servers.get(key)
        if request.method == "ACK":
            if existing is not None and isinstance(existing.txn, ServerInviteTransaction):
                if existing.txn.state is TransactionState.ACCEPTED:
                    # an ACK for our 2xx that reused the INVITE's branch (RFC 2543 peers)
                    self._run_server(existing, existing.txn.on_ack_for_2xx())
                    self.handler.on_ack(request, source)
                else:
                    self._run_server(existing, existing.txn.on_request(request))
                return
            self.handler.on_ack(request, source)
            return
        if existing is not None:
            self._run_server(existing, existing.txn.on_request(request))
            return
        reliable = source.transport != "UDP"
        if request.method == "CANCEL":
            self._on_cancel(request, source, connection, reliable)
            return
        txn: ServerTransaction
        if request.method == "INVITE":
            txn = ServerInviteTransaction(request, reliable=reliable, timers=self.timers)
        else:
            txn = ServerNonInviteTransaction(request, reliable=reliable, timers=self.timers)
        entry = _ServerEntry(txn, source, connection)
        self._servers[key] = entry
        self._run_server(entry, txn.start())

    def _on_cancel(self, cancel: Request, source: Address, connection: _TcpConnection | None, reliable: bool) -> None:
        txn = ServerNonInviteTransaction(cancel, reliable=reliable, timers=self.timers)
        entry = _ServerEntry(txn, source, connection)
        self._servers[txn.key] = entry
        self._run_server(entry, [a for a in txn.start() if not isinstance(a, DeliverRequest)])
        invite_key = (*server_key(cancel)[:-1], "INVITE")
        invite = self._servers.get(invite_key)
        if invite is None or not isinstance(invite.txn, ServerInviteTransaction):
            self._run_server(entry, txn.send_response(make_response(cancel, 481)))
            return
        self._run_server(entry, txn.send_response(make_response(cancel, 200)))
        if invite.txn.state is TransactionState.PROCEEDING:
            request = invite.txn.request
            last = invite.txn.last_response
            tag = last.to.tag if last is not None and last.to.tag else None
            self._run_server(
                invite, invite.txn.send_response(make_response(request, 487, to_tag=tag or new_branch()[7:]))
            )
            self.handler.on_cancel(request, source)

    # --- running actions ----------------------------------------------------------------------

    def _timer(self, txn: object, action: StartTimer | StopTimer, fire: Callable[[Timer], None]) -> None:
        key = (id(txn), action.timer)
        old = self._timer_handles.pop(key, None)
        if old is not None:
            old.cancel()
        if isinstance(action, StartTimer):
            loop = self._loop or asyncio.get_running_loop()
            self._timer_handles[key] = loop.call_at(loop.time() + action.delay, fire, action.timer)

    def _drop_timers(self, txn: object) -> None:
        for timer in Timer:
            handle = self._timer_handles.pop((id(txn), timer), None)
            if handle is not None:
                handle.cancel()

    def _run_client(self, entry: _ClientEntry, actions: list[Action]) -> None:
        txn = entry.txn

        def fire(timer: Timer) -> None:
            self._timer_handles.pop((id(txn), timer), None)
            self._run_client(entry, txn.on_timer(timer))

        for action in actions:
            if isinstance(action, SendMessage):
                try:
                    self._send(action.message, entry.destination, None)
                except (ConnectionError, OSError) as exc:
                    log.info("sip send to %s failed: %s", entry.destination, exc)
                    self._run_client(entry, txn.on_transport_error())
                    return
            elif isinstance(action, StartTimer | StopTimer):
                self._timer(txn, action, fire)
            elif isinstance(action, DeliverResponse):
                entry.callbacks.on_response(action.response, action.retransmission)
            elif isinstance(action, TimedOut):
                entry.callbacks.on_failure("timeout")
            elif isinstance(action, TransportFailed):
                entry.callbacks.on_failure("transport")
            elif isinstance(action, Terminated):
                self._drop_timers(txn)
                if self._clients.get(txn.key) is entry:
                    del self._clients[txn.key]

    def _run_server(self, entry: _ServerEntry, actions: list[Action]) -> None:
        txn = entry.txn

        def fire(timer: Timer) -> None:
            self._timer_handles.pop((id(txn), timer), None)
            self._run_server(entry, txn.on_timer(timer))

        for action in actions:
            if isinstance(action, SendMessage):
                message = action.message
                destination = entry.source
                connection_gone = entry.connection is None or entry.connection.closed
                if isinstance(message, Response) and (destination.transport == "UDP" or connection_gone):
                    # §18.2.2: UDP responses go to received/rport; on a stream whose connection is
                    # gone, open a new one to the sent-by address (received, port)
                    host, port = message.via.response_address()
                    destination = Address(host, port, destination.transport)
                try:
                    self._send(message, destination, entry.connection)
                except (ConnectionError, OSError) as exc:
                    log.info("sip send to %s failed: %s", destination, exc)
                    self._run_server(entry, txn.on_transport_error())
                    return
            elif isinstance(action, StartTimer | StopTimer):
                self._timer(txn, action, fire)
            elif isinstance(action, DeliverRequest):
                self.handler.on_request(action.request, txn, entry.source)
            elif isinstance(action, TimedOut):
                log.info("sip server transaction %s timed out (%s)", txn.key[0], action.timer.value)
                if action.timer is Timer.L:
                    self.handler.on_ack_timeout(txn.request)
            elif isinstance(action, Terminated):
                self._drop_timers(txn)
                if self._servers.get(txn.key) is entry:
                    del self._servers[txn.key]
