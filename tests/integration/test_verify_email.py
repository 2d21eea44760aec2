"""Verify with channel=email: the code arrives by email; the test reads it from the sandbox mailbox."""

from __future__ import annotations

import re

from twilio.rest import Client

from tests.support.sendgrid import mailbox
from tests.support.server import OpenlineServer
from tests.support.twilio_client import rest_error


def test_email_verification_flow(client: Client, server: OpenlineServer) -> None:
    service = client.verify.v2.services.create(friendly_name="Acme").sid
    verification = client.verify.v2.services(service).verifications.create(to="Person@Example.org", channel="email")
    assert (verification.status, verification.channel, verification.to) == ("pending", "email", "person@example.org")
    [mail] = mailbox(server, "person@example.org")
    assert mail["subject"] == "Your Acme verification code is" and mail["from"].endswith("<verify@openline.localhost>")
    code = re.search(r"\b(\d{6})\b", mail["text"]).group(1)  # type: ignore[union-attr]
    assert code in mail["html"]
    wrong = client.verify.v2.services(service).verification_checks.create(to="person@example.org", code="000000"
                                                                         if code != "000000" else "111111")
    assert wrong.status == "pending"
    check = client.verify.v2.services(service).verification_checks.create(to="person@example.org", code=code)
    assert (check.status, check.valid, check.channel) == ("approved", True, "email")


def test_email_verification_is_localized(client: Client, server: OpenlineServer) -> None:
    service = client.verify.v2.services.create(friendly_name="Acme").sid
    client.verify.v2.services(service).verifications.create(to="persona@example.org", channel="email", locale="es")
    [mail] = mailbox(server, "persona@example.org")
    assert "Tu código de verificación de Acme es" in mail["text"]


def test_email_channel_needs_an_address(client: Client) -> None:
    service = client.verify.v2.services.create(friendly_name="Acme").sid
    verifications = client.verify.v2.services(service).verifications
    assert rest_error(lambda: verifications.create(to="+15005550006", channel="email")) == (400, 60200)
    assert rest_error(lambda: verifications.create(to="not-an-address@", channel="email")) == (400, 60200)
