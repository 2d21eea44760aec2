"""SMTP commands and message framing as bytes."""

from __future__ import annotations

import base64

import pytest

from openline.codecs.smtp import CommandError, data_content
from openline.codecs.smtp import commands as c


def test_envelope_commands() -> None:
    assert c.ehlo("out.example.com") == b"EHLO out.example.com\r\n"
    assert c.helo("out.example.com") == b"HELO out.example.com\r\n"
    assert c.mail_from("a@example.com") == b"MAIL FROM:<a@example.com>\r\n"
    assert c.mail_from("", size=1234) == b"MAIL FROM:<> SIZE=1234\r\n"
    assert c.mail_from("a@example.com", eight_bit=True, smtputf8=True) == \
        b"MAIL FROM:<a@example.com> BODY=8BITMIME SMTPUTF8\r\n"
    assert c.rcpt_to("jürgen@bei.example") == "RCPT TO:<jürgen@bei.example>\r\n".encode()
    assert c.simple("DATA") == b"DATA\r\n"


@pytest.mark.parametrize("address", ["a@b.test>\r\nRCPT TO:<evil@x.test", "a@b.test\nDATA", "a b@c.test",
                                     "<a@b.test>", "a\x00@b.test", "x" * 300 + "@b.test"])
def test_addresses_cannot_inject_commands(address: str) -> None:
    with pytest.raises(CommandError):
        c.rcpt_to(address)
    with pytest.raises(CommandError):
        c.mail_from(address)


def test_bad_ehlo_name() -> None:
    with pytest.raises(CommandError):
        c.ehlo("host\r\nQUIT")
    with pytest.raises(CommandError):
        c.ehlo("")


def test_dot_stuffing_and_terminator() -> None:
    assert data_content(b"Subject: x\r\n\r\nhello\r\n") == b"Subject: x\r\n\r\nhello\r\n.\r\n"
    assert data_content(b"a\r\n.\r\n..b\r\n") == b"a\r\n..\r\n...b\r\n.\r\n"
    assert data_content(b".first line") == b"..first line\r\n.\r\n"
    assert data_content(b"") == b"\r\n.\r\n"


def test_line_ends_become_crlf() -> None:
    assert data_content(b"a\nb\rc\r\n.d\n") == b"a\r\nb\r\nc\r\n..d\r\n.\r\n"
    assert data_content(b"no end") == b"no end\r\n.\r\n"


def test_auth_responses() -> None:
    line = c.auth_plain("user", "pässword")
    assert line.startswith(b"AUTH PLAIN ") and line.endswith(b"\r\n")
    assert base64.b64decode(line[11:-2]) == b"\0user\0p\xc3\xa4ssword"
    assert c.auth_login_start() == b"AUTH LOGIN\r\n"
    assert c.auth_login_answer("user") == b"dXNlcg==\r\n"
