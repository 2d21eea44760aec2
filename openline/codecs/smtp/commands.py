"""SMTP client commands as bytes (RFC 5321 §4.1), message content framing, AUTH responses.

Addresses reach the wire only through :func:`path`, which refuses anything that could end the
command early or start another (CR, LF, NUL, angle brackets): a recipient can never inject an
SMTP command.
"""

from __future__ import annotations

import base64
import re

__all__ = ["CommandError", "auth_login_start", "auth_plain", "data_content", "ehlo", "helo", "mail_from", "path",
           "rcpt_to", "simple"]

_BAD_IN_PATH = re.compile(r"[\x00-\x1f\x7f<>\s]")
_LINE_ENDS = re.compile(rb"\r\n|\r|\n")
MAX_PATH = 256  # RFC 5321 §4.5.3.1.3


class CommandError(ValueError):
    """Our side asked for a command that cannot be written (e.g. an address with a line break)."""


def path(address: str) -> str:
    """``<address>`` for MAIL FROM / RCPT TO; the null reverse-path is ``<>``."""
    if _BAD_IN_PATH.search(address) or len(address) > MAX_PATH:
        raise CommandError(f"address not usable in an SMTP command: {address[:60]!r}")
    return f"<{address}>"


def _line(text: str) -> bytes:
    return (text + "\r\n").encode("utf-8")


def _name(hostname: str) -> str:
    if not hostname or _BAD_IN_PATH.search(hostname):
        raise CommandError(f"not a host name for EHLO: {hostname[:60]!r}")
    return hostname


def ehlo(hostname: str) -> bytes:
    return _line(f"EHLO {_name(hostname)}")


def helo(hostname: str) -> bytes:
    return _line(f"HELO {_name(hostname)}")


def mail_from(sender: str, *, size: int | None = None, eight_bit: bool = False, smtputf8: bool = False) -> bytes:
    text = f"MAIL FROM:{path(sender)}"
    if size is not None:
        text += f" SIZE={size}"  # RFC 1870 §6
    if eight_bit:
        text += " BODY=8BITMIME"  # RFC 6152
    if smtputf8:
        text += " SMTPUTF8"  # RFC 6531 §3.4
    return _line(text)


def rcpt_to(recipient: str) -> bytes:
    return _line(f"RCPT TO:{path(recipient)}")


def simple(verb: str) -> bytes:
    """DATA, RSET, QUIT, NOOP, STARTTLS."""
    return _line(verb)


def data_content(message: bytes) -> bytes:
    """The message as sent after 354: CRLF line ends, dot-stuffed, ended by ``CRLF.CRLF``
    (RFC 5321 §4.5.2 transparency, §2.3.8 line ends)."""
    if message.count(b"\n") != message.count(b"\r\n") or message.count(b"\r") != message.count(b"\r\n"):
        message = _LINE_ENDS.sub(b"\r\n", message)
    if not message.endswith(b"\r\n"):
        message += b"\r\n"
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def auth_plain(username: str, password: str) -> bytes:
    """``AUTH PLAIN`` with the initial response (RFC 4616 §2: authzid NUL authcid NUL passwd)."""
    token = base64.b64encode(b"\0" + username.encode("utf-8") + b"\0" + password.encode("utf-8")).decode("ascii")
    return _line(f"AUTH PLAIN {token}")


def auth_login_start() -> bytes:
    return _line("AUTH LOGIN")


def auth_login_answer(value: str) -> bytes:
    """One answer to an AUTH LOGIN 334 challenge: the user name, then the password, in base64."""
    return _line(base64.b64encode(value.encode("utf-8")).decode("ascii"))
