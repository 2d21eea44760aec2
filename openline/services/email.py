"""Sending mail: accept (durable before 202), expand personalizations, deliver, record events.

Pipeline (outbox pattern, like SMS):
  accept  → one transaction: the request row + an ``email.expand`` job per send time → 202
  expand  → render every personalization, drop suppressed recipients (``dropped``), store the
            built messages (``processed``); no relay or resolver configured: deliver into sandbox
            mailboxes in the same transaction (``delivered``); else ``email.deliver`` jobs, one per
            recipient domain (or for the relay)
  deliver → SMTP; 2xx ``delivered``, 4xx ``deferred`` and retried with backoff, 5xx ``bounce``
            (and a bounce suppression)
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import orjson

from openline.config import EmailSettings
from openline.core.clock import Clock
from openline.core.email import (
    Address,
    MailRequest,
    SendGridError,
    email_domain,
    normalize_email,
    parse_mail,
)
from openline.core.email_compose import compose
from openline.services.email_events import EventWebhooks, event
from openline.services.email_render import (
    TemplateVersion,
    Tokens,
    add_footer,
    add_tracking,
    render,
)
from openline.services.queue import RetryLater, Wakeup
from openline.services.urls import PublicUrl
from openline.storage import jobs
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.repositories.email import MailRepository, SuppressionRepository, TemplateRepository

log = logging.getLogger("openline.email")

EMAIL_EXPAND = "email.expand"
EMAIL_DELIVER = "email.deliver"
RELAY_ROUTE = "*relay*"
DELIVER_CHUNK = 100  # messages per delivery job: one SMTP session carries them, jobs run in parallel
PAUSE_RECHECK_SECONDS = 5.0  # a paused batch is looked at again this often (one read per request)
DROP_REASONS = {"bounces": "Bounced Address", "blocks": "Blocked Address", "spam_reports": "Spam Reporting Address",
                "invalid_emails": "Invalid", "unsubscribes": "Unsubscribed Address", "group": "Unsubscribed Address"}


def sg_message_id(message_id: str, index: int) -> str:
    """The id of one personalization's message, as SendGrid forms it (events carry it)."""
    return f"{message_id}.filter{index:04d}.{index}"


@dataclass(frozen=True, slots=True)
class RecipientResult:
    code: int  # SMTP reply code (or 450 when the host could not be reached)
    text: str


class MailTransport(Protocol):
    """Hands built messages to the next hop (transports/smtp_client.py)."""

    async def deliver(self, route: str, items: Sequence[tuple[str, list[str], bytes]]
                      ) -> list[dict[str, RecipientResult]]:
        """For each (sender, recipients, raw) the answer per recipient."""
        ...


class Signer(Protocol):
    async def refresh(self, force: bool = False) -> None: ...

    def sign(self, domain: str, raw: bytes) -> bytes: ...


class MailService:
    def __init__(self, db: Database, clock: Clock, wakeup: Wakeup, settings: EmailSettings, urls: PublicUrl,
                 mail: MailRepository, templates: TemplateRepository, suppressions: SuppressionRepository,
                 events: EventWebhooks, tokens: Tokens, signer: Signer | None, transport: MailTransport | None,
                 hostname: str) -> None:
        self._db = db
        self._clock = clock
        self._wakeup = wakeup
        self._settings = settings
        self._urls = urls
        self._mail = mail
        self._templates = templates
        self._suppressions = suppressions
        self._events = events
        self._tokens = tokens
        self._signer = signer
        self._transport = transport
        self._hostname = hostname

    # Accepting.
    async def accept(self, account_sid: str, body: Any) -> tuple[MailRequest, str | None]:
        """Validate and store; the X-Message-Id, or None for sandbox_mode (validated only)."""
        now = self._clock.now()
        request = parse_mail(body, int(now.timestamp()))
        self._check_sender(request)
        if request.recipient_count > self._settings.max_recipients_per_request:
            raise SendGridError(400, f"The total number of recipients must be no more than "
                                     f"{self._settings.max_recipients_per_request}.", "personalizations")
        async with self._db.read() as conn:
            await self._check_references(conn, account_sid, request)
        if request.sandbox_mode:
            return request, None
        async with self._db.transaction() as conn:
            if request.batch_id is not None:
                await self._check_batch(conn, account_sid, request.batch_id)
            message_id = await self._store(conn, account_sid, request, body, now)
        self._wakeup.notify(EMAIL_EXPAND)  # only the email pool: other pools need not look
        return request, message_id

    async def send_in(self, conn: Conn, account_sid: str, body: dict[str, Any]) -> str:
        """Queue mail Openline itself sends (Verify codes) inside the caller's transaction."""
        now = self._clock.now()
        request = parse_mail(body, int(now.timestamp()))
        return await self._store(conn, account_sid, request, body, now)

    async def _store(self, conn: Conn, account_sid: str, request: MailRequest, body: Any, now: datetime) -> str:
        message_id = secrets.token_urlsafe(16)[:22]
        default_at = request.send_at
        groups: dict[int, list[int]] = defaultdict(list)
        for index, p in enumerate(request.personalizations):
            groups[p.send_at or default_at or 0].append(index)
        request_id = await self._mail.add_request(conn, {
            "message_id": message_id, "account_sid": account_sid,
            "body": orjson.dumps(body).decode(), "batch_id": request.batch_id,
            "send_at": datetime.fromtimestamp(default_at, UTC) if default_at else None, "state": "queued",
            "date_created": now})
        for at, indexes in groups.items():
            run_at = max(now, datetime.fromtimestamp(at, UTC)) if at else now
            only = None if len(groups) == 1 else indexes
            await jobs.enqueue(conn, EMAIL_EXPAND, {"request": request_id, "only": only}, run_at, now)
        return message_id

    def _check_sender(self, request: MailRequest) -> None:
        domains = self._settings.domains
        if not domains:
            return
        senders = [request.from_] + [p.from_ for p in request.personalizations if p.from_]
        for sender in senders:
            domain = email_domain(sender.email)
            if not any(domain == d or domain.endswith("." + d) for d in domains):
                raise SendGridError(403, "The from address does not match a verified Sender Identity. Mail cannot "
                                         "be sent until this error is resolved.", "from")

    async def _check_references(self, conn: Conn, account_sid: str, request: MailRequest) -> None:
        if request.template_id:
            template = await self._templates.get(conn, request.template_id, account_sid)
            if template is None:
                raise SendGridError(400, "The template_id must be a valid GUID, you provided "
                                         f"'{request.template_id}'.", "template_id")
            if request.dynamic and await self._templates.active_version(conn, request.template_id) is None:
                raise SendGridError(400, "The template has no active version.", "template_id")
        if request.asm_group_id is not None and await self._suppressions.group(
                conn, account_sid, request.asm_group_id) is None:
            raise SendGridError(400, "The asm group_id does not exist.", "asm.group_id")

    async def _check_batch(self, conn: Conn, account_sid: str, batch_id: str) -> None:
        if await self._mail.batch(conn, batch_id, account_sid) is None:
            raise SendGridError(400, "The batch id is not valid.", "batch_id")

    # Expanding.
    async def expand(self, job: Job) -> None:
        if self._signer is not None:
            await self._signer.refresh()
        now = self._clock.now()
        async with self._db.read() as conn:
            row = await self._mail.request(conn, job.payload["request"])
            if row is None:
                return await self._finish(job)
            batch = await self._mail.batch(conn, row["batch_id"], row["account_sid"]) if row["batch_id"] else None
            if batch is not None and batch["status"] == "pause":
                raise RetryLater(PAUSE_RECHECK_SECONDS, "batch paused")
            request = parse_mail(json.loads(row["body"]), int(row["date_created"].timestamp()))
            version = await self._template_version(conn, request)
        account_sid, message_id = row["account_sid"], row["message_id"]
        if batch is not None and batch["status"] == "cancel":
            async with self._db.transaction() as conn:
                await self._mail.set_request_state(conn, row["id"], "cancelled")
                await jobs.complete(conn, job.id)
            return
        only = job.payload.get("only")
        indexes = only if only is not None else range(len(request.personalizations))
        all_rcpts = [normalize_email(a.email) for i in indexes for a in request.personalizations[i].recipients]
        base_url = self._urls.base
        messages: list[dict[str, Any]] = []
        built_indexes: list[int] = []  # the personalization index of each built message
        events: list[dict[str, Any]] = []
        mailbox: list[dict[str, Any]] = []
        async with self._db.transaction() as conn:
            suppressed = {} if request.bypass_list_management else await self._suppressions.matching(
                conn, account_sid, all_rcpts, request.asm_group_id)
            for index in indexes:
                p = request.personalizations[index]
                sg_id = sg_message_id(message_id, index)
                custom_args = {**request.custom_args, **p.custom_args}
                meta: dict[str, Any] = {"categories": list(request.categories), "custom_args": custom_args,
                                        "asm_group_id": request.asm_group_id}
                sender = p.from_ or request.from_
                rcpts: list[str] = []
                for address in p.recipients:
                    kind = suppressed.get(normalize_email(address.email))
                    if kind is not None:
                        events.append(event("dropped", address.email, meta, sg_id, now, reason=DROP_REASONS[kind],
                                            status="5.0.0"))
                    else:
                        rcpts.append(address.email)
                if not rcpts:
                    continue
                try:
                    built = self._build(request, p, version, sender, sg_id, message_id, account_sid, base_url,
                                        now, rcpts[0])
                except SendGridError as exc:  # the template changed since the 202: nothing to send
                    events += [event("dropped", rcpt, meta, sg_id, now, reason=exc.message, status="5.6.0")
                               for rcpt in rcpts]
                    continue
                meta["smtp_id"] = built[1]
                built_indexes.append(index)
                messages.append({"sg_message_id": sg_id, "message_id": message_id, "account_sid": account_sid,
                                 "from_addr": sender.email, "recipients": json.dumps(rcpts), "subject": built[2],
                                 "raw": built[0].decode("ascii", "surrogateescape"), "meta": json.dumps(meta),
                                 "state": "queued", "detail": None, "date_created": now, "date_updated": now})
                for rcpt in rcpts:
                    events.append(event("processed", rcpt, meta, sg_id, now))
                if self._settings.sandboxed:
                    raw_text = built[0].decode("ascii", "surrogateescape")
                    for rcpt in rcpts:
                        mailbox.append({"account_sid": account_sid, "address": normalize_email(rcpt),
                                        "sg_message_id": sg_id, "raw": raw_text, "date_created": now})
                        events.append(event("delivered", rcpt, meta, sg_id, now,
                                            response="250 delivered to the sandbox mailbox"))
            if self._settings.sandboxed:
                for m in messages:
                    m["state"] = "delivered"
            await self._mail.add_messages(conn, messages)
            await self._mail.deliver_to_mailboxes(conn, mailbox)
            if not self._settings.sandboxed:
                await self._enqueue_deliveries(conn, messages, built_indexes, now)
            await self._events.emit(conn, account_sid, events)
            await self._mail.set_request_state(conn, row["id"], "expanded")
            await jobs.complete(conn, job.id)
        self._wakeup.notify(EMAIL_DELIVER)

    async def _template_version(self, conn: Conn, request: MailRequest) -> TemplateVersion | None:
        if not request.template_id:
            return None
        row = await self._templates.active_version(conn, request.template_id)
        return TemplateVersion(row["subject"], row["html_content"], row["plain_content"]) if row else None

    def _build(self, request: MailRequest, p: Any, version: TemplateVersion | None, sender: Address, sg_id: str,
               message_id: str, account_sid: str, base_url: str, now: datetime, first: str
               ) -> tuple[bytes, str, str]:
        """The built message; tracking links name ``first``, the personalization's first live recipient."""
        rendered = add_footer(render(request, p, version), request)
        unsubscribe_url: str | None = None
        headers = dict(rendered.headers)
        if request.asm_group_id is not None or request.tracking.subscription:
            unsubscribe_url = f"{base_url}/email/v1/u/" + self._tokens.make(
                ["u", account_sid, sg_id, first, request.asm_group_id])
            # RFC 8058: a POST to this URL unsubscribes with one click, no further page.
            headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
            headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        tracking = request.tracking
        if tracking.open or tracking.click or tracking.subscription:
            def token(values: list[Any]) -> str:
                return self._tokens.make([values[0], account_sid, sg_id, first, *values[1:]])
            rendered = add_tracking(rendered, request, base_url, token, unsubscribe_url)
        built = compose(sender=sender, to=p.to, cc=p.cc, reply_to=request.reply_to, subject=rendered.subject,
                        contents=rendered.contents, attachments=request.attachments, headers=headers,
                        date=now, x_message_id=message_id, msgid_domain=self._hostname)
        raw = built.raw
        if self._signer is not None:
            raw = self._signer.sign(email_domain(sender.email), raw)
        return raw, built.message_id, rendered.subject

    def _route(self, recipient: str) -> str:
        return RELAY_ROUTE if self._settings.relay else email_domain(recipient)

    async def _enqueue_deliveries(self, conn: Conn, messages: list[dict[str, Any]], indexes: list[int],
                                  now: datetime) -> None:
        # A first attempt names its messages by personalization index (the sg_message_id and, with the
        # route, the recipients follow from the stored message): a payload of a few hundred bytes
        # instead of kilobytes keeps job rows off SQLite overflow pages, which every claim scans.
        routes: dict[str, list[int]] = defaultdict(list)
        for m, index in zip(messages, indexes, strict=True):
            for route in dict.fromkeys(self._route(rcpt) for rcpt in json.loads(m["recipients"])):
                routes[route].append(index)
        message_id = messages[0]["message_id"] if messages else ""
        for route, chosen in routes.items():
            for start in range(0, len(chosen), DELIVER_CHUNK):
                await jobs.enqueue(conn, EMAIL_DELIVER, {"route": route, "message_id": message_id,
                                                         "indexes": chosen[start:start + DELIVER_CHUNK],
                                                         "attempt": 1}, now, now)

    # Delivering over SMTP.
    async def deliver(self, job: Job) -> None:
        if self._transport is None:
            raise RuntimeError("no mail transport is configured")
        route, attempt = job.payload["route"], int(job.payload["attempt"])
        items: list[list[Any]] | None = job.payload.get("items")  # retries: [[sg_message_id, [rcpt, ...]], ...]
        if items is None:
            message_id = job.payload["message_id"]
            sg_ids = [sg_message_id(message_id, index) for index in job.payload["indexes"]]
        else:
            sg_ids = [item[0] for item in items]
        async with self._db.read() as conn:
            rows = {r["sg_message_id"]: r for r in await self._mail.for_delivery(conn, sg_ids)}
        if items is None:
            items = [[sg, [r for r in json.loads(rows[sg]["recipients"])
                           if route == RELAY_ROUTE or self._route(r) == route]] for sg in sg_ids if sg in rows]
        work = [(rows[sg], rcpts) for sg, rcpts in items if sg in rows and rcpts]
        results = await self._transport.deliver(
            route, [(row["from_addr"], rcpts, row["raw"].encode("ascii", "surrogateescape")) for row, rcpts in work])
        now = self._clock.now()
        by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
        retry: list[list[Any]] = []
        states: dict[str, list[str]] = defaultdict(list)
        bounces: list[tuple[str, str, str]] = []
        for (row, rcpts), answers in zip(work, results, strict=True):
            meta = json.loads(row["meta"])
            sg = row["sg_message_id"]
            deferred: list[str] = []
            for rcpt in rcpts:
                answer = answers.get(rcpt) or RecipientResult(451, "no answer")
                response = f"{answer.code} {answer.text}".strip()
                if 200 <= answer.code < 300:
                    by_account[row["account_sid"]].append(event("delivered", rcpt, meta, sg, now, response=response))
                    states["delivered"].append(sg)
                elif 400 <= answer.code < 500 and attempt < self._settings.delivery_attempts:
                    by_account[row["account_sid"]].append(event("deferred", rcpt, meta, sg, now, response=response,
                                                                attempt=str(attempt)))
                    deferred.append(rcpt)
                    states["deferred"].append(sg)
                else:
                    status = f"{answer.code // 100}.0.0"
                    by_account[row["account_sid"]].append(event(
                        "bounce", rcpt, meta, sg, now, reason=response, status=status, type="bounce"))
                    bounces.append((row["account_sid"], rcpt, response))
                    states["bounced"].append(sg)
            if deferred:
                retry.append([sg, deferred])
        async with self._db.transaction() as conn:
            for state, ids in states.items():
                await self._mail.set_message_state(conn, sorted(set(ids)), state, None, now)
            for account_sid, rcpt, reason in bounces:
                await self._suppressions.add(conn, account_sid, "bounces", 0, normalize_email(rcpt), reason,
                                             reason.split(" ", 1)[0], int(now.timestamp()))
            if retry:
                delay = self._settings.retry_base_seconds * (2 ** (attempt - 1))
                await jobs.enqueue(conn, EMAIL_DELIVER, {"route": route, "items": retry, "attempt": attempt + 1},
                                   now + timedelta(seconds=delay), now)
            for account_sid, events in by_account.items():
                await self._events.emit(conn, account_sid, events)
            await jobs.complete(conn, job.id)

    async def _finish(self, job: Job) -> None:
        async with self._db.transaction() as conn:
            await jobs.complete(conn, job.id)

    # Tracking hits (open pixel, click redirect, unsubscribe).
    async def track(self, token: str, kind: str, user_agent: str, ip: str) -> dict[str, Any] | None:
        values = self._tokens.read(token)
        if not values or values[0] != kind or len(values) < 4:
            return None
        _, account_sid, sg_id, email = values[:4]
        now = self._clock.now()
        async with self._db.transaction() as conn:
            row = await self._mail.message(conn, sg_id)
            meta = json.loads(row["meta"]) if row else {}
            extra: dict[str, Any] = {"useragent": user_agent, "ip": ip}
            if kind == "c":
                extra["url"] = values[4]
                name = "click"
            elif kind == "o":
                name = "open"
            else:
                group_id = values[4] if len(values) > 4 else None
                if group_id is not None:
                    await self._suppressions.add(conn, account_sid, "group", int(group_id), normalize_email(email),
                                                 "one-click unsubscribe", "unsubscribe", int(now.timestamp()))
                    name = "group_unsubscribe"
                else:
                    await self._suppressions.add(conn, account_sid, "unsubscribes", 0, normalize_email(email),
                                                 "one-click unsubscribe", "unsubscribe", int(now.timestamp()))
                    name = "unsubscribe"
            await self._events.emit(conn, account_sid, [event(name, email, meta, sg_id, now, **extra)])
        return {"event": name, "url": extra.get("url")}

    # Sandbox mailboxes.
    async def mailbox(self, address: str, accounts: Sequence[str], limit: int, offset: int) -> list[dict[str, Any]]:
        async with self._db.read() as conn:
            return await self._mail.mailbox(conn, normalize_email(address), accounts, limit, offset)

    async def mailbox_message(self, address: str, accounts: Sequence[str], item_id: int) -> dict[str, Any] | None:
        async with self._db.read() as conn:
            return await self._mail.mailbox_message(conn, normalize_email(address), accounts, item_id)

    async def recent_mail(self, accounts: Sequence[str], limit: int) -> list[dict[str, Any]]:
        async with self._db.read() as conn:
            return await self._mail.recent_mail(conn, accounts, limit)

    async def mail_item(self, accounts: Sequence[str], item_id: int) -> dict[str, Any] | None:
        async with self._db.read() as conn:
            return await self._mail.mailbox_by_id(conn, accounts, item_id)

    # Batches and scheduled sends.
    async def new_batch(self, account_sid: str) -> str:
        batch_id = secrets.token_urlsafe(24)[:32]
        async with self._db.transaction() as conn:
            await self._mail.add_batch(conn, batch_id, account_sid, self._clock.now())
        return batch_id

    async def get_batch(self, account_sid: str, batch_id: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            row = await self._mail.batch(conn, batch_id, account_sid)
        if row is None:
            raise SendGridError(404, "batch id not found", "batch_id")
        return row

    async def set_batch_status(self, account_sid: str, batch_id: Any, status: Any, create: bool) -> dict[str, Any]:
        if not isinstance(batch_id, str) or not batch_id:
            raise SendGridError(400, "batch_id is required", "batch_id")
        if status not in ("pause", "cancel"):
            raise SendGridError(400, "status must be either cancel or pause", "status")
        async with self._db.transaction() as conn:
            row = await self._mail.batch(conn, batch_id, account_sid)
            if row is None:
                raise SendGridError(400, "batch id not found", "batch_id")
            if create and row["status"] is not None:
                raise SendGridError(400, "batch id already has a status; use PATCH to change it", "batch_id")
            await self._mail.set_batch_status(conn, batch_id, status)
        self._wakeup.notify(EMAIL_EXPAND)
        return {"batch_id": batch_id, "status": status}

    async def clear_batch_status(self, account_sid: str, batch_id: str) -> None:
        async with self._db.transaction() as conn:
            row = await self._mail.batch(conn, batch_id, account_sid)
            if row is None or row["status"] is None:
                raise SendGridError(404, "batch id not found", "batch_id")
            await self._mail.set_batch_status(conn, batch_id, None)
        self._wakeup.notify(EMAIL_EXPAND)

    async def scheduled(self, account_sid: str) -> list[dict[str, Any]]:
        async with self._db.read() as conn:
            return [{"batch_id": r["batch_id"], "status": r["status"]}
                    for r in await self._mail.batches_with_status(conn, account_sid)]
