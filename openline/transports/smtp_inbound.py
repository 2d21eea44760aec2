"""The inbound SMTP listener (aiosmtpd) that feeds SendGrid-style inbound parse.

RCPT is refused (550 5.7.1) for domains without a parse setting, so Openline is never an open
relay; DATA is answered 250 only once the message is stored as a job (services/email_inbound.py).
Size is bounded by ``max_message_bytes`` (aiosmtpd answers 552); STARTTLS is offered when a
certificate and key are configured.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from openline.config import EmailInboundSettings
from openline.services.email_inbound import InboundParse

log = logging.getLogger("openline.smtp")


class _Handler:
    def __init__(self, parse: InboundParse) -> None:
        self._parse = parse

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        try:
            ours = await self._parse.accepts(address)
        except Exception:
            log.exception("inbound: could not look up %s", address)
            return "451 4.3.0 temporary failure, try again later"
        if not ours:
            return "550 5.7.1 relaying denied: no inbound parse setting for this domain"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        try:
            await self._parse.accept(str(envelope.mail_from or ""), list(envelope.rcpt_tos), content, peer)
        except Exception:
            log.exception("inbound: could not store a message")
            return "451 4.3.0 temporary failure, try again later"
        return "250 2.0.0 OK: queued for inbound parse"


class InboundSmtpServer:
    def __init__(self, settings: EmailInboundSettings, parse: InboundParse, hostname: str) -> None:
        self._settings = settings
        self._handler = _Handler(parse)
        self._hostname = hostname
        self._server: asyncio.Server | None = None
        self.port = settings.port

    def _tls(self) -> ssl.SSLContext | None:
        if self._settings.tls_cert_file is None or self._settings.tls_key_file is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._settings.tls_cert_file, self._settings.tls_key_file)
        return context

    async def start(self) -> None:
        context = self._tls()

        def protocol() -> Any:
            return SMTP(self._handler, data_size_limit=self._settings.max_message_bytes, hostname=self._hostname,
                        tls_context=context, enable_SMTPUTF8=True, decode_data=False)

        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(protocol, self._settings.host, self._settings.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("inbound SMTP listening on %s:%d", self._settings.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
