"""Build the RFC 5322 message for one personalization, and read stored messages back.

Structure (RFC 2046 §5.1): multipart/mixed [ multipart/related [ multipart/alternative
[text/plain, text/html, other], inline parts ], attachments ]; levels with one part collapse.
"""

from __future__ import annotations

import email.policy
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import format_datetime, make_msgid
from typing import Any

from openline.core.email import Address, Attachment, Content

# SMTP policy: CRLF line ends and 78-column folding, as the message goes on the wire.
POLICY = email.policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True, slots=True)
class Built:
    raw: bytes
    message_id: str  # the Message-ID header, with angle brackets


def _address(value: Address) -> HeaderAddress:
    local, _, domain = value.email.rpartition("@")
    return HeaderAddress(display_name=value.name or "", username=local, domain=domain)


def compose(
    *, sender: Address, to: tuple[Address, ...], cc: tuple[Address, ...], reply_to: tuple[Address, ...],
    subject: str, contents: list[Content], attachments: tuple[Attachment, ...], headers: dict[str, str],
    date: datetime, x_message_id: str, msgid_domain: str,
) -> Built:
    body = EmailMessage(policy=POLICY)
    texts = list(contents)
    first = texts[0]
    main, sub = first.type.split("/", 1)
    if main == "text":
        body.set_content(first.value, subtype=sub, charset="utf-8", cte=_cte(first.value))
    else:
        body.set_content(first.value.encode(), maintype=main, subtype=sub)
    for extra in texts[1:]:
        main, sub = extra.type.split("/", 1)
        body.add_alternative(extra.value, subtype=sub, charset="utf-8", cte=_cte(extra.value)) if main == "text" \
            else body.add_alternative(extra.value.encode(), maintype=main, subtype=sub)
    for part in attachments:
        main, sub = part.type.split("/", 1)
        if part.disposition == "inline":
            body.add_related(part.content, maintype=main, subtype=sub, disposition="inline",
                             filename=part.filename, cid=f"<{part.content_id}>")
    for part in attachments:
        if part.disposition != "inline":
            main, sub = part.type.split("/", 1)
            body.add_attachment(part.content, maintype=main, subtype=sub, filename=part.filename)
    message_id = make_msgid(idstring=x_message_id, domain=msgid_domain)
    body["From"] = _address(sender)
    body["To"] = [_address(a) for a in to]
    if cc:
        body["Cc"] = [_address(a) for a in cc]
    if reply_to:
        body["Reply-To"] = [_address(a) for a in reply_to]
    body["Subject"] = subject
    body["Date"] = format_datetime(date)
    body["Message-ID"] = message_id
    body["X-Message-Id"] = x_message_id
    for name, value in headers.items():
        body[name] = value
    return Built(body.as_bytes(policy=POLICY), message_id)


def _cte(text: str) -> str:
    # 8bit would need the 8BITMIME extension at every hop; quoted-printable always travels.
    return "7bit" if text.isascii() and all(len(line) <= 998 for line in text.splitlines()) else "quoted-printable"


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
