"""Mail Send validation, the MIME writer, DKIM signing and tracking tokens, without a server."""

from __future__ import annotations

import base64
import contextlib
import time
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import default

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from openline.core.email import Address, Attachment, Content, SendGridError, parse_mail
from openline.core.email_compose import compose, parse_stored
from openline.services.email_dkim import DomainKey, generate, sign_message
from openline.services.email_render import Tokens

NOW = int(time.time())
BASE = {"personalizations": [{"to": [{"email": "b@example.org"}]}], "from": {"email": "a@example.com"},
        "subject": "s", "content": [{"type": "text/plain", "value": "x"}]}


def test_a_minimal_request_parses() -> None:
    request = parse_mail(BASE, NOW)
    assert request.from_ == Address("a@example.com") and request.recipient_count == 1


@pytest.mark.parametrize(("change", "field"), [
    ({"personalizations": []}, "personalizations"),
    ({"personalizations": [{"to": []}]}, "personalizations.0.to"),
    ({"from": {"email": "a@b"}}, "from.email"),
    ({"headers": {"Subject": "x"}}, "headers.Subject"),
    ({"headers": {"X-Ok": "a\r\nBcc: evil@example.com"}}, "headers.X-Ok"),
    ({"subject": "line\r\nBcc: evil@example.com"}, "subject"),
    ({"categories": ["a"] * 11}, "categories"),
    ({"custom_args": {"n": 1}}, "custom_args.n"),
    ({"content": [{"type": "text/plain\r\nX: y", "value": "x"}]}, "content.0.type"),
    ({"attachments": [{"content": "aGk=", "filename": "a", "disposition": "inline"}]}, "attachments.0.content_id"),
    ({"asm": {"group_id": "1"}}, "asm.group_id"),
    ({"send_at": NOW + 73 * 3600}, "send_at"),
    ({"reply_to": {"email": "r@example.com"}, "reply_to_list": [{"email": "s@example.com"}]}, "reply_to"),
])
def test_invalid_requests_name_the_field(change: dict, field: str) -> None:
    with pytest.raises(SendGridError) as caught:
        parse_mail({**BASE, **change}, NOW)
    assert caught.value.status == 400 and caught.value.field == field
    assert set(caught.value.payload()["errors"][0]) == {"message", "field", "help"}


@settings(database=None, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner,
                                                                                 max_size=4), max_leaves=20))
def test_any_json_is_accepted_or_refused_with_sendgrid_error(body: object) -> None:
    with contextlib.suppress(SendGridError):
        parse_mail(body, NOW)


def _built(subject: str = "Héllo", text: str = "plain\n.dot line\n") -> bytes:
    return compose(sender=Address("a@example.com", "Änne"), to=(Address("b@example.org"),),
                   cc=(Address("c@example.org"),), reply_to=(), subject=subject,
                   contents=[Content("text/plain", text), Content("text/html", "<p>x</p>")],
                   attachments=(Attachment(b"\x00\x01binary", "f.bin", "application/octet-stream", "attachment",
                                           None),
                                Attachment(b"png", "logo.png", "image/png", "inline", "logo")),
                   headers={"X-Tag": "t"}, date=datetime.now(UTC), x_message_id="MSGID", msgid_domain="host").raw


def test_composed_messages_read_back_with_the_stdlib_parser() -> None:
    raw = _built()
    assert raw.isascii() and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    parsed = parse_stored(raw)
    assert parsed["subject"] == "Héllo" and parsed["to"] == ["b@example.org"] and parsed["cc"] == ["c@example.org"]
    assert parsed["text"] == "plain\n.dot line\n" and parsed["html"].strip() == "<p>x</p>"
    files = {a["filename"]: a for a in parsed["attachments"]}
    assert files["f.bin"]["size"] == 8 and files["logo.png"]["content_id"] == "logo"
    message = BytesParser(policy=default).parsebytes(raw)
    assert message["From"].addresses[0].display_name == "Änne" and message["X-Tag"] == "t"
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


@pytest.mark.parametrize("algorithm", ["rsa-sha256", "ed25519-sha256"])
def test_dkim_signatures_verify_with_dkimpy(algorithm: str) -> None:
    pem, public = generate("example.com", "sel", algorithm)
    key = serialization.load_pem_private_key(pem.encode(), None)
    dk = DomainKey("example.com", "sel", algorithm, key, public)
    record = dk.dns_records()[0][2].encode()
    signed = sign_message(_built(subject="x" * 300), dk, NOW)
    assert dkim.verify(signed, dnsfunc=lambda name, timeout=5: record)
    assert not dkim.verify(signed.replace(b"X-Tag: t", b"X-Tag: t").replace(b"Subject: x", b"Subject: y"),
                           dnsfunc=lambda name, timeout=5: record)


def test_tracking_tokens_are_signed() -> None:
    tokens = Tokens(b"k" * 32)
    token = tokens.make(["c", "AC1", "msg.0", "a@example.com", "https://example.com/"])
    assert tokens.read(token) == ["c", "AC1", "msg.0", "a@example.com", "https://example.com/"]
    _body, _, mac = token.partition(".")
    forged = base64.urlsafe_b64encode(b'["c","AC1","msg.0","a@example.com","https://evil.example/"]').rstrip(b"=")
    assert tokens.read(forged.decode() + "." + mac) is None
    assert tokens.read("garbage") is None and Tokens(b"j" * 32).read(token) is None
