"""Build the RFC 5322 message for one personalization, and read stored messages back.

Structure (RFC 2046 §5.1): multipart/mixed [ multipart/related [ multipart/alternative
[text/plain, text/html, other], inline parts ], attachments ]; levels with one part collapse.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, formataddr
from typing import Any
from urllib.parse import quote

from openline.core.email import Address, Attachment, Content

# Reading stored messages back: the SMTP policy keeps CRLF line ends as they are on the wire.
POLICY = email.policy.SMTP.clone(max_line_length=998)
CRLF = "\r\n"
MAX_LINE = 998  # RFC 5322 §2.1.1


@dataclass(frozen=True, slots=True)
class Built:
    raw: bytes
    message_id: str  # the Message-ID header, with angle brackets


def _mailbox(value: Address) -> str:
    if not value.name:
        return value.email
    if value.name.isascii():
        return formataddr((value.name, value.email))
    return formataddr((value.name, value.email), charset="utf-8")


def _header_value(value: str) -> str:
    # Non-ASCII text travels as RFC 2047 encoded words, folded at 78 columns.
    if value.isascii() and len(value) < MAX_LINE - 80:
        return value
    return Header(value, "utf-8", maxlinelen=76).encode(linesep=CRLF)


def _crlf(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", CRLF)


def _text_part(content_type: str, value: str) -> str:
    text = _crlf(value)
    if not text.endswith(CRLF):
        text += CRLF
    if text.isascii() and all(len(line) <= MAX_LINE for line in text.split(CRLF)):
        return (f"Content-Type: {content_type}; charset=\"utf-8\"{CRLF}Content-Transfer-Encoding: 7bit{CRLF}{CRLF}"
                + text)
    # quoted-printable keeps mostly-ASCII text readable and survives every hop (RFC 2045 §6.7).
    encoded = binascii.b2a_qp(text.replace(CRLF, "\n").encode("utf-8")).decode("ascii").replace("\n", CRLF)
    if not encoded.endswith(CRLF):
        encoded += CRLF
    return (f"Content-Type: {content_type}; charset=\"utf-8\"{CRLF}"
            f"Content-Transfer-Encoding: quoted-printable{CRLF}{CRLF}" + encoded)


def _quoted(value: str) -> str:
    if value.isascii() and not any(c in value for c in '"\\\r\n'):
        return f'"{value}"'
    return "UTF-8''" + quote(value, safe="")  # RFC 2231 §4


def _binary_part(attachment: Attachment) -> str:
    name = _quoted(attachment.filename)
    param = "filename*=" + name if name.startswith("UTF-8''") else "filename=" + name
    name_param = "name*=" + name if name.startswith("UTF-8''") else "name=" + name
    head = (f"Content-Type: {attachment.type}; {name_param}{CRLF}"
            f"Content-Disposition: {attachment.disposition}; {param}{CRLF}"
            f"Content-Transfer-Encoding: base64{CRLF}")
    if attachment.content_id:
        head += f"Content-ID: <{attachment.content_id}>{CRLF}"
    data = base64.b64encode(attachment.content).decode("ascii")
    lines = CRLF.join(data[i:i + 76] for i in range(0, len(data), 76))
    return head + CRLF + lines + CRLF


def _multipart(subtype: str, parts: list[str]) -> str:
    boundary = "=_" + secrets.token_hex(12)
    # The CRLF before each delimiter belongs to the delimiter (RFC 2046 §5.1.1), not to the part.
    body = "".join(f"--{boundary}{CRLF}{part}{CRLF}" for part in parts)
    return (f'Content-Type: multipart/{subtype}; boundary="{boundary}"{CRLF}{CRLF}'
            f"{body}--{boundary}--{CRLF}")


def compose(
    *, sender: Address, to: tuple[Address, ...], cc: tuple[Address, ...], reply_to: tuple[Address, ...],
    subject: str, contents: list[Content], attachments: tuple[Attachment, ...], headers: dict[str, str],
    date: datetime, x_message_id: str, msgid_domain: str,
) -> Built:
    parts = [_text_part(c.type, c.value) for c in contents]
    entity = parts[0] if len(parts) == 1 else _multipart("alternative", parts)
    inline = [a for a in attachments if a.disposition == "inline"]
    if inline:
        entity = _multipart("related", [entity, *(_binary_part(a) for a in inline)])
    files = [a for a in attachments if a.disposition != "inline"]
    if files:
        entity = _multipart("mixed", [entity, *(_binary_part(a) for a in files)])
    message_id = f"<{x_message_id}.{secrets.token_hex(6)}@{msgid_domain}>"
    lines = [f"From: {_mailbox(sender)}", "To: " + ", ".join(_mailbox(a) for a in to)]
    if cc:
        lines.append("Cc: " + ", ".join(_mailbox(a) for a in cc))
    if reply_to:
        lines.append("Reply-To: " + ", ".join(_mailbox(a) for a in reply_to))
    lines += [f"Subject: {_header_value(subject)}", f"Date: {format_datetime(date)}", f"Message-ID: {message_id}",
              f"X-Message-Id: {x_message_id}"]
    lines += [f"{name}: {_header_value(value)}" for name, value in headers.items()]
    lines.append("MIME-Version: 1.0")
    raw = CRLF.join(lines) + CRLF + entity
    return Built(raw.encode("ascii"), message_id)


def parse_stored(raw: bytes) -> dict[str, Any]:
    """A stored message as the sandbox mailbox API shows it."""
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments: list[dict[str, Any]] = []
    for part in message.walk():
        if part.is_multipart() or part in (text, html):
            continue
        payload = part.get_payload(decode=True)
        content_id = part.get("Content-ID")
        attachments.append({
            "filename": part.get_filename(), "content_type": part.get_content_type(),
            "size": len(payload) if isinstance(payload, bytes) else 0,
            "content_id": str(content_id).strip("<>") if content_id else None,
        })
    return {
        "from": str(message.get("From", "")),
        "to": _addr_specs(message.get("To")),
        "cc": _addr_specs(message.get("Cc")),
        "subject": str(message.get("Subject", "")),
        "text": _lf(text.get_content()) if isinstance(text, EmailMessage) else None,
        "html": _lf(html.get_content()) if isinstance(html, EmailMessage) else None,
        "headers": {name: str(value) for name, value in message.items()},
        "attachments": attachments,
    }


def _addr_specs(header: Any) -> list[str]:
    return [str(a.addr_spec) for a in header.addresses] if header is not None else []


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")
