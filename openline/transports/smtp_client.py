"""Outgoing SMTP: MX lookup (dnspython, against the configured resolver) or the relay, and a
pool of reused connections per host, each a thin asyncio shell around the sans-IO session in
``codecs/smtp`` (PIPELINING, STARTTLS, AUTH PLAIN/LOGIN).

One delivery job hands over a chunk of messages for one route; they go down one pooled
connection as pipelined transactions (one write and one round trip per message when the server
offers PIPELINING). STARTTLS is taken whenever offered: opportunistic and unverified toward MX
hosts (RFC 7435), verified toward the relay unless ``tls_verify`` is off, and required toward a
relay that gets credentials.

Answers come back per recipient as SMTP reply codes; the mail service decides what they mean
(2xx delivered, 4xx deferred and retried, 5xx bounced). A host that cannot be reached counts
as 451 for every recipient (RFC 5321 §4.5.4.1: keep trying), an unknown domain as 550 and a
null MX (RFC 7505) as 556.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.asyncresolver
import dns.exception
import dns.resolver

from openline.codecs.smtp import (
    Authenticated,
    ClientSession,
    Closed,
    MailOutcome,
    NeedData,
    Ready,
    Refused,
    Reply,
    SmtpParseError,
    TlsReady,
)
from openline.config import EmailSettings
from openline.services.email import RELAY_ROUTE, RecipientResult

log = logging.getLogger("openline.smtp")

IDLE_SECONDS = 30.0  # a pooled connection unused this long is closed, not reused (servers time out ~5 min)
CONNECT_TIMEOUT = 15.0
COMMAND_TIMEOUT = 60.0  # per reply; RFC 5321 §4.5.3.2 allows servers minutes, loopback sinks answer in ms
MAX_MX_HOSTS = 5  # hosts tried per delivery, in preference order
MX_CACHE_SECONDS = 60.0  # MX answers are reused this long (or their TTL, if shorter): one lookup per chunk is waste
READ_SIZE = 65536
DRAIN_ABOVE = 1 << 20  # bytes queued on the socket before a write waits for them to leave


class SmtpFailure(Exception):
    """This host could not take the mail (connect, TLS, greeting, AUTH): try the next one."""


@dataclass
class _Host:
    idle: list[_Connection] = field(default_factory=list)
    slots: asyncio.Semaphore | None = None


class _Connection:
    """One SMTP session: asyncio streams in, ``ClientSession`` decides."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, session: ClientSession) -> None:
        self.reader = reader
        self.writer = writer
        self.session = session
        self.secure = writer.get_extra_info("ssl_object") is not None
        self.since = time.monotonic()

    @property
    def usable(self) -> bool:
        return (self.session.idle and not self.reader.at_eof() and not self.writer.is_closing()
                and time.monotonic() - self.since < IDLE_SECONDS)

    def close(self) -> None:
        self.session.connection_lost()
        with contextlib.suppress(Exception):
            self.writer.close()

    async def flush_and_read(self) -> None:
        """Write what the session wants sent, then feed it the next bytes from the server."""
        out = self.session.data_to_send()
        try:
            if out:
                self.writer.write(out)
                if self.writer.transport.get_write_buffer_size() > DRAIN_ABOVE:  # a large message: let it go out
                    await asyncio.wait_for(self.writer.drain(), COMMAND_TIMEOUT)
            data = await asyncio.wait_for(self.reader.read(READ_SIZE), COMMAND_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            log.info("SMTP connection lost: %r", exc)
            self.close()
            return
        if not data:
            self.close()
            return
        try:
            self.session.receive_data(data)
        except SmtpParseError as exc:
            log.warning("SMTP server sent garbage: %s", exc)
            self.close()

    async def next_event(self) -> object:
        while True:
            event = self.session.next_event()
            if not isinstance(event, NeedData):
                return event
            if self.session.closed:
                return Closed(None)
            await self.flush_and_read()

    async def quit(self) -> None:
        self.session.quit()
        with contextlib.suppress(Exception):
            self.writer.write(self.session.data_to_send())
            await asyncio.wait_for(self.reader.read(READ_SIZE), 2.0)
        self.close()


class SmtpDelivery:
    def __init__(self, settings: EmailSettings, hostname: str) -> None:
        self._settings = settings
        self._hostname = settings.helo_name or hostname
        self._hosts: dict[tuple[str, int], _Host] = {}
        self._mx_cache: dict[str, tuple[float, list[tuple[str, int]]]] = {}
        self._resolver: dns.asyncresolver.Resolver | None = None
        # One context per policy for every session: building one loads the CA store (~0.25 s).
        self._no_verify = ssl.create_default_context()
        self._no_verify.check_hostname = False
        self._no_verify.verify_mode = ssl.CERT_NONE
        self._verify: ssl.SSLContext | None = None
        if settings.resolver and settings.resolver != "system":
            address, port = _split_nameserver(settings.resolver)
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [address]
            self._resolver.port = port
        elif settings.resolver == "system":
            self._resolver = dns.asyncresolver.Resolver()

    async def aclose(self) -> None:
        for host in self._hosts.values():
            for connection in host.idle:
                await connection.quit()
            host.idle.clear()

    async def deliver(self, route: str, items: Sequence[tuple[str, list[str], bytes]]
                      ) -> list[dict[str, RecipientResult]]:
        if route == RELAY_ROUTE and self._settings.relay is not None:
            targets = [(self._settings.relay.host, self._settings.relay.port)]
        else:
            try:
                targets = await self._mx(route)
            except _Permanent as exc:
                return [{rcpt: RecipientResult(exc.code, exc.text) for rcpt in rcpts} for _, rcpts, _ in items]
            except _Temporary as exc:
                return [{rcpt: RecipientResult(451, exc.text) for rcpt in rcpts} for _, rcpts, _ in items]
        last_error = "no host reachable"
        for host, port in targets[:MAX_MX_HOSTS]:
            try:
                return await self._send_all(host, port, items)
            except (SmtpFailure, OSError, TimeoutError) as exc:
                last_error = f"{host}:{port}: {exc}"
                log.info("delivery to %s failed: %s", route, last_error)
        return [{rcpt: RecipientResult(451, f"4.4.1 {last_error}") for rcpt in rcpts} for _, rcpts, _ in items]

    async def _mx(self, domain: str) -> list[tuple[str, int]]:
        cached = self._mx_cache.get(domain)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        if self._resolver is None:
            raise _Temporary("no resolver is configured")
        port = self._settings.smtp_port
        ttl = MX_CACHE_SECONDS
        try:
            answer = await self._resolver.resolve(domain, "MX", lifetime=10)
        except dns.resolver.NXDOMAIN:
            raise _Permanent(550, f"5.1.2 domain {domain} does not exist") from None
        except dns.resolver.NoAnswer:
            hosts = [domain]  # RFC 5321 §5.1: no MX records, the domain itself is the host
        except dns.exception.DNSException as exc:
            raise _Temporary(f"4.4.3 MX lookup for {domain} failed: {exc!r}") from None
        else:
            records = sorted(answer, key=lambda r: r.preference)
            hosts = [str(r.exchange).rstrip(".") for r in records]
            if hosts == [""]:
                raise _Permanent(556, f"5.1.10 {domain} accepts no mail (null MX)")
            ttl = min(ttl, float(answer.rrset.ttl if answer.rrset is not None else 0))
        # Host addresses come from the same resolver (RFC 5321 §5.1: A, then AAAA).
        targets: list[tuple[str, int]] = []
        for host in [h for h in hosts if h][:MAX_MX_HOSTS]:
            for kind in ("A", "AAAA"):
                try:
                    addresses = await self._resolver.resolve(host, kind, lifetime=10)
                except dns.exception.DNSException:
                    continue
                targets += [(str(a.address), port) for a in addresses]
        if not targets:
            raise _Temporary(f"4.4.3 no address for the mail hosts of {domain}")
        if ttl > 0:
            self._mx_cache[domain] = (time.monotonic() + ttl, targets)
        return targets

    def _context(self, verify: bool) -> ssl.SSLContext:
        if not verify:
            return self._no_verify
        if self._verify is None:
            self._verify = ssl.create_default_context()
        return self._verify

    async def _connect(self, host: str, port: int) -> _Connection:
        relay = self._settings.relay
        implicit = relay is not None and relay.tls == "tls"
        verify = relay is not None and relay.tls_verify
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            host, port, ssl=self._context(verify) if implicit else None,
            server_hostname=host if implicit else None), CONNECT_TIMEOUT)
        connection = _Connection(reader, writer, ClientSession(self._hostname))
        try:
            await asyncio.wait_for(self._handshake(connection, host), CONNECT_TIMEOUT + COMMAND_TIMEOUT)
        except BaseException:
            connection.close()
            raise
        return connection

    async def _handshake(self, connection: _Connection, host: str) -> None:
        relay = self._settings.relay
        session = connection.session
        event = await connection.next_event()
        if not isinstance(event, Ready):
            raise SmtpFailure(_describe("greeting", event))
        want_tls = relay is None or relay.tls == "starttls"
        if want_tls and not connection.secure and event.capabilities.starttls:
            session.start_tls()
            event = await connection.next_event()
            if isinstance(event, TlsReady):
                await connection.writer.start_tls(self._context(relay is not None and relay.tls_verify),
                                                  server_hostname=host)
                connection.secure = True
                session.tls_started()
                event = await connection.next_event()
                if not isinstance(event, Ready):
                    raise SmtpFailure(_describe("EHLO after STARTTLS", event))
            elif not isinstance(event, Refused):  # a refused STARTTLS leaves a usable plain session
                raise SmtpFailure(_describe("STARTTLS", event))
        if relay is not None and relay.username:
            if relay.tls != "none" and not connection.secure:
                raise SmtpFailure("the relay does not offer STARTTLS; credentials are not sent in plain text")
            session.authenticate(relay.username, relay.password.get_secret_value() if relay.password else "")
            event = await connection.next_event()
            if not isinstance(event, Authenticated):
                raise SmtpFailure(_describe("AUTH", event))

    async def _acquire(self, host: str, port: int) -> _Connection:
        pool = self._hosts[(host, port)]
        while pool.idle:
            connection = pool.idle.pop()
            if connection.usable:
                return connection
            connection.close()
        return await self._connect(host, port)

    async def _send_all(self, host: str, port: int, items: Sequence[tuple[str, list[str], bytes]]
                        ) -> list[dict[str, RecipientResult]]:
        pool = self._hosts.setdefault((host, port), _Host())
        if pool.slots is None:
            pool.slots = asyncio.Semaphore(self._settings.connections_per_domain)
        async with pool.slots:
            connection = await self._acquire(host, port)
            results: dict[int, dict[str, RecipientResult]] = {}
            lost = "4.4.2 connection lost"
            try:
                unsent = await self._transact(connection, list(enumerate(items)), results)
                if unsent:  # the reused session had gone before taking them: once more, on a new one
                    try:
                        connection = await self._connect(host, port)
                    except (SmtpFailure, OSError, TimeoutError) as exc:
                        lost = f"4.4.2 reconnecting to {host}:{port}: {exc}"  # what went through stays delivered
                    else:
                        unsent = await self._transact(connection, unsent, results)
                for index, (_, rcpts, _raw) in unsent:
                    results[index] = dict.fromkeys(rcpts, RecipientResult(451, lost))
            except BaseException:
                connection.close()
                raise
            if connection.session.idle:
                connection.since = time.monotonic()
                pool.idle.append(connection)
            else:
                connection.close()
            return [results[index] for index in range(len(items))]

    @staticmethod
    async def _transact(connection: _Connection, work: list[tuple[int, tuple[str, list[str], bytes]]],
                        results: dict[int, dict[str, RecipientResult]]
                        ) -> list[tuple[int, tuple[str, list[str], bytes]]]:
        """Pipeline every message down this session; those that never reached the server come back."""
        session = connection.session
        unsent: list[tuple[int, tuple[str, list[str], bytes]]] = []
        waiting = 0
        for index, item in work:
            sender, rcpts, raw = item
            if not rcpts:
                results[index] = {}
            elif session.closed:
                unsent.append((index, item))
            else:
                session.send_mail(index, sender, rcpts, raw)
                waiting += 1
        by_index = dict(work)
        while waiting:
            event = await connection.next_event()
            if isinstance(event, MailOutcome):
                waiting -= 1
                assert isinstance(event.tag, int)
                lost = not event.content_sent and any(r.code in (421, 451) for r in event.replies.values())
                if lost and session.closed:
                    unsent.append((event.tag, by_index[event.tag]))
                else:
                    results[event.tag] = {rcpt: _result(reply) for rcpt, reply in event.replies.items()}
            elif isinstance(event, Closed):
                break  # the core answers every message before it reports Closed; this is a guard
        retried = {index for index, _ in unsent}
        for index, (_, rcpts, _raw) in work:
            if index not in results and index not in retried:
                results[index] = dict.fromkeys(rcpts, RecipientResult(451, "4.4.2 no answer"))
        return sorted(unsent)


def _result(reply: Reply) -> RecipientResult:
    return RecipientResult(reply.code, reply.text)


def _describe(step: str, event: object) -> str:
    if isinstance(event, Refused):
        return f"{event.step} refused: {event.reply.code} {event.reply.text}"
    if isinstance(event, Closed):
        return f"connection closed during {step}" + (f": {event.reply.code} {event.reply.text}" if event.reply
                                                     else "")
    return f"unexpected {type(event).__name__} during {step}"


class _Permanent(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class _Temporary(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def _split_nameserver(value: str) -> tuple[str, int]:
    if value.startswith("["):
        address, _, rest = value[1:].partition("]")
        return address, int(rest[1:]) if rest.startswith(":") else 53
    if value.count(":") == 1:
        address, port = value.split(":")
        return address, int(port)
    return value, 53
