"""Inbound parse: mail received for a configured hostname becomes SendGrid's multipart POST.

The SMTP listener (transports/smtp_inbound.py) calls :meth:`InboundParse.accept` before it
answers 250 to DATA: the raw message and its envelope are stored as a job in one transaction,
so accepted mail survives a crash. The job POSTs ``multipart/form-data`` with SendGrid's fields
(``headers``, ``to``, ``from``, ``subject``, ``text``, ``html``, ``envelope``, ``attachments``,
``attachment-info``, ``charsets``, ``SPF``, ``dkim``, ``sender_ip``, files ``attachmentN``), or
with ``send_raw`` the whole message in ``email``; failures are retried with backoff.
"""

from __future__ import annotations

import base64
import email.policy
import json
import logging
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import httpx

from openline.core.clock import Clock
from openline.core.email import email_domain
from openline.services.email_admin import EmailAdmin
from openline.services.queue import Wakeup
from openline.storage import jobs
from openline.storage.database import Database
from openline.storage.jobs import Job

log = logging.getLogger("openline.email")

EMAIL_PARSE = "email.parse"
PARSE_ATTEMPTS = 12  # with exponential backoff, about a day (SendGrid retries for 3 days)


class InboundParse:
    def __init__(self, db: Database, clock: Clock, wakeup: Wakeup, admin: EmailAdmin, http: httpx.AsyncClient
                 ) -> None:
        self._db = db
        self._clock = clock
        self._wakeup = wakeup
        self._admin = admin
        self._http = http

    async def accepts(self, rcpt: str) -> bool:
        """Whether mail for this address is ours (its domain has a parse setting)."""
        return await self._admin.parse_target(email_domain(rcpt)) is not None

    async def accept(self, mail_from: str, rcpts: list[str], raw: bytes, peer_ip: str) -> None:
        """Store the message for every parse setting its recipients reach; returns once durable."""
        targets: dict[str, tuple[str, dict[str, Any], list[str]]] = {}
        for rcpt in rcpts:
            hostname = email_domain(rcpt)
            found = await self._admin.parse_target(hostname)
            if found is None:
                continue
            entry = targets.setdefault(hostname, (found[0], found[1], []))
            entry[2].append(rcpt)
        now = self._clock.now()
        async with self._db.transaction() as conn:
            for _hostname, (account_sid, setting, to) in targets.items():
                await jobs.enqueue(conn, EMAIL_PARSE, {
                    "account": account_sid, "url": setting["url"], "send_raw": setting.get("send_raw", False),
                    "envelope": {"to": to, "from": mail_from}, "sender_ip": peer_ip,
                    "raw": base64.b64encode(raw).decode()}, now, now, max_attempts=PARSE_ATTEMPTS)
        self._wakeup.notify()

    async def deliver(self, job: Job) -> None:
        payload = job.payload
        raw = base64.b64decode(payload["raw"])
        data, files = parse_payload(raw, payload["envelope"], payload["sender_ip"], payload["send_raw"])
        try:
            # Always multipart/form-data, as SendGrid posts it (fields without a filename are values).
            fields: list[tuple[str, Any]] = [(name, (None, value.encode())) for name, value in data.items()]
            response = await self._http.post(payload["url"], files=[*fields, *files],
                                             headers={"User-Agent": "Sendlib/1.0 (Openline inbound parse)"})
        except httpx.HTTPError as exc:
            raise RuntimeError(f"inbound parse POST to {payload['url']} failed: {exc!r}") from None
        if not 200 <= response.status_code < 300:
            raise RuntimeError(f"inbound parse POST to {payload['url']} answered {response.status_code}")
        async with self._db.transaction() as conn:
            await jobs.complete(conn, job.id)


def parse_payload(raw: bytes, envelope: dict[str, Any], sender_ip: str, send_raw: bool
                  ) -> tuple[dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]:
    """SendGrid's parse fields (form values) and files for one message."""
    message = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    header_block = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw else raw.split(b"\n\n", 1)[0]
    data: dict[str, str] = {
        "headers": header_block.decode("utf-8", "replace").replace("\r\n", "\n"),
        "to": str(message.get("To", "")), "from": str(message.get("From", "")),
        "subject": str(message.get("Subject", "")), "envelope": json.dumps(envelope),
        "sender_ip": sender_ip,
        # Openline does not evaluate SPF or DKIM for inbound mail; it says so rather than guess.
        "SPF": "none", "dkim": "none" if message.get("DKIM-Signature") is None else "{unverified}",
    }
    if message.get("Cc"):
        data["cc"] = str(message["Cc"])
    charsets = {"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8"}
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    if send_raw:
        data["email"] = raw.decode("utf-8", "replace")
        data["charsets"] = json.dumps(charsets)
        return data, files
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    if isinstance(text, EmailMessage):
        data["text"] = str(text.get_content())
        charsets["text"] = (text.get_content_charset() or "us-ascii").upper()
    if isinstance(html, EmailMessage):
        data["html"] = str(html.get_content())
        charsets["html"] = (html.get_content_charset() or "us-ascii").upper()
    info: dict[str, dict[str, str]] = {}
    content_ids: dict[str, str] = {}
    for part in message.iter_attachments():
        content = part.get_payload(decode=True)
        if not isinstance(content, bytes):
            continue
        name = f"attachment{len(info) + 1}"
        filename = part.get_filename() or name
        entry = {"filename": filename, "name": filename, "type": part.get_content_type()}
        if part.get("Content-ID"):
            entry["content-id"] = str(part["Content-ID"]).strip("<>")
            content_ids[entry["content-id"]] = name
        info[name] = entry
        files.append((name, (filename, content, part.get_content_type())))
    data["attachments"] = str(len(info))
    if info:
        data["attachment-info"] = json.dumps(info)
    if content_ids:
        data["content-ids"] = json.dumps(content_ids)
    data["charsets"] = json.dumps(charsets)
    return data, files
