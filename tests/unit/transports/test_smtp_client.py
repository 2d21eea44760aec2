"""SmtpDelivery toward the relay, against aiosmtpd (a real SMTP server Openline did not write) on
127.0.0.1: STARTTLS then AUTH PLAIN or LOGIN, the step-by-step path (aiosmtpd does not offer
PIPELINING), per-recipient refusals, pooled reuse, a pooled connection the server dropped, and
credentials never sent in plain text. The pipelined path runs against the npm smtp-server in
tests/integration/test_email_smtp.py and bench/email_send.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from openline.config import EmailRelaySettings, EmailSettings
from openline.services.email import RELAY_ROUTE
from openline.transports.smtp_client import SmtpDelivery
from tests.support.smsc import self_signed_context


@dataclass
class Relay:
    port: int = 0
    received: list[tuple[str, list[str], bytes, bool]] = field(default_factory=list)
    connections: list[SMTP] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          options: list[str]) -> str:
        if address.startswith("reject"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        assert isinstance(envelope.content, bytes) and envelope.mail_from is not None
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content,
                              server.transport.get_extra_info("ssl_object") is not None))
        return "250 2.0.0 queued"

    def authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                     data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((mechanism, data.login.decode()))
        # handled=False: aiosmtpd answers 535 itself (handled=True would leave the client waiting).
        return AuthResult(success=data.login == b"user" and data.password == b"s3cret", handled=False)


@pytest.fixture
async def relay_server(request: pytest.FixtureRequest) -> AsyncIterator[Relay]:
    tls, exclude = request.param if hasattr(request, "param") else (True, [])
    relay = Relay()
    context = self_signed_context()[0] if tls else None

    def factory() -> SMTP:
        server = SMTP(relay, hostname="relay.test", tls_context=context, authenticator=relay.authenticate,
                      auth_require_tls=tls, auth_exclude_mechanism=exclude, decode_data=False)
        relay.connections.append(server)
        return server

    listener = await asyncio.get_running_loop().create_server(factory, "127.0.0.1", 0)
    relay.port = listener.sockets[0].getsockname()[1]
    yield relay
    listener.close()
    for server in relay.connections:
        if server.transport is not None:
            server.transport.close()
    await listener.wait_closed()


def delivery(relay: Relay, *, tls: str = "starttls", username: str | None = "user",
             password: str = "s3cret") -> SmtpDelivery:
    return SmtpDelivery(EmailSettings(relay=EmailRelaySettings(
        host="127.0.0.1", port=relay.port, username=username, password=password, tls=tls, tls_verify=False)),
        "out.example.com")


MESSAGE = b"From: a@example.com\r\nSubject: hi\r\n\r\nline\r\n.starts with a dot\r\n"


@pytest.mark.parametrize(("relay_server", "mechanism"), [((True, []), "PLAIN"), ((True, ["PLAIN"]), "LOGIN")],
                         indirect=["relay_server"], ids=["plain", "login"])
async def test_starttls_auth_and_per_recipient_answers(relay_server: Relay, mechanism: str) -> None:
    smtp = delivery(relay_server)
    results = await smtp.deliver(RELAY_ROUTE, [
        ("a@example.com", ["x@dest.test", "reject-me@dest.test"], MESSAGE),
        ("b@example.com", ["y@dest.test"], MESSAGE.replace(b"line", b"second")),
    ])
    assert [{r: (a.code, a.text) for r, a in answers.items()} for answers in results] == [
        {"x@dest.test": (250, "2.0.0 queued"), "reject-me@dest.test": (550, "5.1.1 no such user")},
        {"y@dest.test": (250, "2.0.0 queued")}]
    assert [(f, t, secure) for f, t, _, secure in relay_server.received] == [
        ("a@example.com", ["x@dest.test"], True), ("b@example.com", ["y@dest.test"], True)]
    assert relay_server.received[0][2] == MESSAGE  # dot-stuffed on the wire, unstuffed by the server
    assert relay_server.logins == [(mechanism, "user")]
    # The pooled session carries the next chunk: no new connection, no second login.
    await smtp.deliver(RELAY_ROUTE, [("a@example.com", ["z@dest.test"], MESSAGE)])
    assert len(relay_server.connections) == 1 and len(relay_server.logins) == 1
    assert len(relay_server.received) == 3
    await smtp.aclose()


async def test_a_dropped_pooled_connection_is_replaced(relay_server: Relay) -> None:
    smtp = delivery(relay_server)
    await smtp.deliver(RELAY_ROUTE, [("a@example.com", ["x@dest.test"], MESSAGE)])
    first = relay_server.connections[0]
    assert first.transport is not None
    first.transport.close()  # the server hangs up on the idle session
    await asyncio.sleep(0.05)
    results = await smtp.deliver(RELAY_ROUTE, [("a@example.com", ["y@dest.test"], MESSAGE)])
    assert results[0]["y@dest.test"].code == 250
    assert len(relay_server.connections) == 2 and len(relay_server.received) == 2
    await smtp.aclose()


async def test_wrong_password_defers(relay_server: Relay) -> None:
    results = await delivery(relay_server, password="wrong").deliver(
        RELAY_ROUTE, [("a@example.com", ["x@dest.test"], MESSAGE)])
    answer = results[0]["x@dest.test"]
    assert answer.code == 451 and "AUTH refused: 535" in answer.text
    assert relay_server.received == []


@pytest.mark.parametrize("relay_server", [(False, [])], indirect=True)
async def test_credentials_are_not_sent_without_tls(relay_server: Relay) -> None:
    results = await delivery(relay_server).deliver(RELAY_ROUTE, [("a@example.com", ["x@dest.test"], MESSAGE)])
    answer = results[0]["x@dest.test"]
    assert answer.code == 451 and "does not offer STARTTLS" in answer.text
    assert relay_server.logins == [] and relay_server.received == []


@pytest.mark.parametrize("relay_server", [(False, [])], indirect=True)
async def test_plain_relay_without_credentials(relay_server: Relay) -> None:
    smtp = delivery(relay_server, tls="none", username=None)
    results = await smtp.deliver(RELAY_ROUTE, [("a@example.com", ["x@dest.test"], MESSAGE)])
    assert results[0]["x@dest.test"].code == 250
    assert relay_server.received[0][3] is False
    await smtp.aclose()


async def test_unreachable_relay_defers() -> None:
    smtp = delivery(Relay(port=1), tls="none", username=None)
    results = await smtp.deliver(RELAY_ROUTE, [("a@example.com", ["x@dest.test"], MESSAGE)])
    assert results[0]["x@dest.test"].code == 451 and results[0]["x@dest.test"].text.startswith("4.4.1")
