"""Outgoing SMTP: MX lookup (dnspython, against the configured resolver) or the relay, and a
pool of reused connections per host (aiosmtplib), STARTTLS whenever the server offers it.

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

import aiosmtplib
import dns.asyncresolver
import dns.exception
import dns.resolver

from openline.config import EmailSettings
from openline.services.email import RELAY_ROUTE, RecipientResult

log = logging.getLogger("openline.smtp")

IDLE_SECONDS = 30.0  # a pooled connection unused this long is closed, not reused (servers time out ~5 min)
CONNECT_TIMEOUT = 15.0
COMMAND_TIMEOUT = 60.0
MAX_MX_HOSTS = 5  # hosts tried per delivery, in preference order


@dataclass
class _Idle:
    client: aiosmtplib.SMTP
    since: float


@dataclass
class _Host:
    idle: list[_Idle] = field(default_factory=list)
    slots: asyncio.Semaphore | None = None


class SmtpDelivery:
    def __init__(self, settings: EmailSettings, hostname: str) -> None:
        self._settings = settings
        self._hostname = settings.helo_name or hostname
        self._hosts: dict[tuple[str, int], _Host] = {}
        self._resolver: dns.asyncresolver.Resolver | None = None
        # One context for every opportunistic TLS session: building one loads the CA store (~0.25 s).
        self._no_verify = ssl.create_default_context()
        self._no_verify.check_hostname = False
        self._no_verify.verify_mode = ssl.CERT_NONE
        if settings.resolver and settings.resolver != "system":
            address, port = _split_nameserver(settings.resolver)
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [address]
            self._resolver.port = port
        elif settings.resolver == "system":
            self._resolver = dns.asyncresolver.Resolver()

    async def aclose(self) -> None:
        for host in self._hosts.values():
            for idle in host.idle:
                with contextlib.suppress(Exception):
                    await idle.client.quit()
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
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                last_error = f"{host}:{port}: {exc}"
                log.info("delivery to %s failed: %s", route, last_error)
        return [{rcpt: RecipientResult(451, f"4.4.1 {last_error}") for rcpt in rcpts} for _, rcpts, _ in items]

    async def _mx(self, domain: str) -> list[tuple[str, int]]:
        if self._resolver is None:
            raise _Temporary("no resolver is configured")
        port = self._settings.smtp_port
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
        return targets

    def _tls(self) -> tuple[bool, bool | None, bool]:
        """(use_tls, start_tls, validate_certs)."""
        relay = self._settings.relay
        if relay is None:
            return False, None, False  # opportunistic STARTTLS toward MX hosts (RFC 7435)
        if relay.tls == "tls":
            return True, False, relay.tls_verify
        if relay.tls == "none":
            return False, False, relay.tls_verify
        return False, True if relay.username else None, relay.tls_verify

    async def _connect(self, host: str, port: int) -> aiosmtplib.SMTP:
        use_tls, start_tls, verify = self._tls()
        context = None if verify else self._no_verify
        client = aiosmtplib.SMTP(hostname=host, port=port, use_tls=use_tls, start_tls=start_tls,
                                 validate_certs=verify, tls_context=context, local_hostname=self._hostname,
                                 timeout=COMMAND_TIMEOUT)
        await asyncio.wait_for(client.connect(), CONNECT_TIMEOUT)
        relay = self._settings.relay
        if relay is not None and relay.username:
            await client.login(relay.username, relay.password.get_secret_value() if relay.password else "")
        return client

    async def _acquire(self, host: str, port: int) -> aiosmtplib.SMTP:
        pool = self._hosts[(host, port)]
        now = time.monotonic()
        while pool.idle:
            idle = pool.idle.pop()
            if idle.client.is_connected and now - idle.since < IDLE_SECONDS:
                return idle.client
            with contextlib.suppress(Exception):
                idle.client.close()
        return await self._connect(host, port)

    async def _send_all(self, host: str, port: int, items: Sequence[tuple[str, list[str], bytes]]
                        ) -> list[dict[str, RecipientResult]]:
        pool = self._hosts.setdefault((host, port), _Host())
        if pool.slots is None:
            pool.slots = asyncio.Semaphore(self._settings.connections_per_domain)
        async with pool.slots:
            client = await self._acquire(host, port)
            results: list[dict[str, RecipientResult]] = []
            try:
                for sender, rcpts, raw in items:
                    try:
                        results.append(await self._send_one(client, sender, rcpts, raw))
                    except aiosmtplib.SMTPServerDisconnected:
                        client = await self._connect(host, port)  # the reused session had gone: once more
                        results.append(await self._send_one(client, sender, rcpts, raw))
            except BaseException:
                client.close()
                raise
            pool.idle.append(_Idle(client, time.monotonic()))
            return results

    @staticmethod
    async def _send_one(client: aiosmtplib.SMTP, sender: str, rcpts: list[str], raw: bytes
                        ) -> dict[str, RecipientResult]:
        try:
            refused, reply = await client.sendmail(sender, rcpts, raw)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            with contextlib.suppress(aiosmtplib.SMTPException):
                await client.rset()
            return {r.recipient: RecipientResult(r.code, r.message) for r in exc.recipients}
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
            with contextlib.suppress(aiosmtplib.SMTPException):
                await client.rset()
            return {rcpt: RecipientResult(exc.code, exc.message) for rcpt in rcpts}
        answers = {rcpt: RecipientResult(250, reply) for rcpt in rcpts}
        for rcpt, response in refused.items():
            answers[rcpt] = RecipientResult(response.code, response.message)
        return answers


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
