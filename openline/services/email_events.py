"""SendGrid's event webhook: settings, batched JSON events, ECDSA signatures, durable delivery.

Events are built where they happen and enqueued in the same transaction (one job per batch of
up to ``event_batch_max`` events). The job POSTs the JSON array; with signing enabled it
carries ``X-Twilio-Email-Event-Webhook-Signature``: base64 of the DER ECDSA P-256/SHA-256
signature over ``timestamp + body``, with the timestamp in ``X-Twilio-Email-Event-Webhook-Timestamp``,
which is what SendGrid sends and what its SDKs' ``EventWebhook`` helpers verify.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import time
import uuid
from datetime import datetime
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from openline.core.clock import Clock
from openline.core.crypto import SecretBox
from openline.core.email import SendGridError
from openline.services.queue import Wakeup
from openline.storage import jobs
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.repositories.email import EmailSettingsRepository

log = logging.getLogger("openline.email")

EMAIL_EVENTS = "email.events"
SETTINGS = "event_webhook"
SIGNING_KEY = "event_webhook_key"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
EVENT_FLAGS = ("group_resubscribe", "delivered", "group_unsubscribe", "spam_report", "bounce", "deferred",
               "unsubscribe", "processed", "open", "click", "dropped")
# Which settings flag governs each event name.
FLAG_OF = {"processed": "processed", "dropped": "dropped", "deferred": "deferred", "delivered": "delivered",
           "bounce": "bounce", "open": "open", "click": "click", "unsubscribe": "unsubscribe",
           "group_unsubscribe": "group_unsubscribe", "group_resubscribe": "group_resubscribe",
           "spamreport": "spam_report"}
WEBHOOK_ATTEMPTS = 12  # with exponential backoff, about a day, like SendGrid's 24-hour retry window


def default_settings() -> dict[str, Any]:
    return {"enabled": False, "url": "", **{flag: False for flag in EVENT_FLAGS},
            "oauth_client_id": "", "oauth_token_url": ""}


def event(kind: str, email: str, meta: dict[str, Any], sg_message_id: str, at: datetime,
          **extra: Any) -> dict[str, Any]:
    """One event in SendGrid's shape; custom args travel as top-level keys, as SendGrid sends them."""
    body: dict[str, Any] = {**meta.get("custom_args", {}), "email": email, "timestamp": int(at.timestamp()),
                            "event": kind, "sg_event_id": base64.urlsafe_b64encode(uuid.uuid4().bytes)
                            .rstrip(b"=").decode(), "sg_message_id": sg_message_id}
    if meta.get("smtp_id"):
        body["smtp-id"] = meta["smtp_id"]
    if meta.get("categories"):
        body["category"] = meta["categories"]
    if meta.get("asm_group_id") is not None:
        body["asm_group_id"] = meta["asm_group_id"]
    body.update(extra)
    return body


class EventWebhooks:
    def __init__(self, db: Database, clock: Clock, wakeup: Wakeup, settings: EmailSettingsRepository,
                 secrets_box: SecretBox, http: httpx.AsyncClient, batch_max: int) -> None:
        self._db = db
        self._clock = clock
        self._wakeup = wakeup
        self._settings = settings
        self._box = secrets_box
        self._http = http
        self._batch_max = batch_max

    # Settings.
    async def get_settings(self, account_sid: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            return await self._read(conn, account_sid)

    async def _read(self, conn: Conn, account_sid: str) -> dict[str, Any]:
        raw = await self._settings.get(conn, account_sid, SETTINGS)
        return {**default_settings(), **(json.loads(raw) if raw else {})}

    async def update_settings(self, account_sid: str, changes: Any) -> dict[str, Any]:
        if not isinstance(changes, dict):
            raise SendGridError(400, "expected a JSON object", None)
        async with self._db.transaction() as conn:
            current = await self._read(conn, account_sid)
            for key, value in changes.items():
                if key == "url":
                    if not isinstance(value, str) or (value and not value.startswith(("http://", "https://"))):
                        raise SendGridError(400, "url must be an http or https URL", "url")
                elif key in ("enabled", *EVENT_FLAGS):
                    if not isinstance(value, bool):
                        raise SendGridError(400, f"{key} must be a boolean", key)
                elif key in ("oauth_client_id", "oauth_token_url", "oauth_client_secret"):
                    continue  # accepted for compatibility; Openline signs instead of OAuth
                else:
                    raise SendGridError(400, f"unknown field {key}", key)
                current[key] = value
            if current["enabled"] and not current["url"]:
                raise SendGridError(400, "a url is required to enable the event webhook", "url")
            await self._settings.put(conn, account_sid, SETTINGS, json.dumps(current))
        return current

    async def signing(self, account_sid: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            raw = await self._settings.get(conn, account_sid, SIGNING_KEY)
        if not raw:
            return {"public_key": ""}
        stored = json.loads(raw)
        return {"public_key": stored["public_key"] if stored["enabled"] else ""}

    async def set_signing(self, account_sid: str, enabled: Any) -> dict[str, Any]:
        if not isinstance(enabled, bool):
            raise SendGridError(400, "enabled must be a boolean", "enabled")
        async with self._db.transaction() as conn:
            raw = await self._settings.get(conn, account_sid, SIGNING_KEY)
            stored = json.loads(raw) if raw else None
            if stored is None:
                key = ec.generate_private_key(ec.SECP256R1())
                pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
                public = key.public_key().public_bytes(serialization.Encoding.DER,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
                stored = {"private_key": base64.b64encode(self._box.seal(pem, f"{account_sid}:events")).decode(),
                          "public_key": base64.b64encode(public).decode()}
            stored["enabled"] = enabled
            await self._settings.put(conn, account_sid, SIGNING_KEY, json.dumps(stored))
        return {"public_key": stored["public_key"] if enabled else ""}

    # Events.
    async def emit(self, conn: Conn, account_sid: str, events: list[dict[str, Any]]) -> None:
        """Enqueue the events the account's settings ask for, in this transaction."""
        if not events:
            return
        settings = await self._read(conn, account_sid)
        if not settings["enabled"] or not settings["url"]:
            return
        wanted = [e for e in events if settings.get(FLAG_OF.get(e["event"], ""), False)]
        now = self._clock.now()
        for start in range(0, len(wanted), self._batch_max):
            await jobs.enqueue(conn, EMAIL_EVENTS, {"account": account_sid,
                                                    "events": wanted[start:start + self._batch_max]},
                               now, now, max_attempts=WEBHOOK_ATTEMPTS)
        if wanted:
            self._wakeup.notify(EMAIL_EVENTS)

    async def _signer(self, account_sid: str) -> ec.EllipticCurvePrivateKey | None:
        async with self._db.read() as conn:
            raw = await self._settings.get(conn, account_sid, SIGNING_KEY)
        if not raw:
            return None
        stored = json.loads(raw)
        if not stored["enabled"]:
            return None
        pem = self._box.open(base64.b64decode(stored["private_key"]), f"{account_sid}:events")
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    async def post(self, account_sid: str, url: str, events: list[dict[str, Any]]) -> int:
        body = json.dumps(events, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "SendGrid Event API"}
        key = await self._signer(account_sid)
        if key is not None:
            timestamp = str(int(time.time()))
            signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
            headers[SIGNATURE_HEADER] = base64.b64encode(signature).decode()
            headers[TIMESTAMP_HEADER] = timestamp
        response = await self._http.post(url, content=body, headers=headers)
        return response.status_code

    async def deliver(self, job: Job) -> None:
        account_sid = job.payload["account"]
        settings = await self.get_settings(account_sid)
        if settings["enabled"] and settings["url"]:
            try:
                status = await self.post(account_sid, settings["url"], job.payload["events"])
            except httpx.HTTPError as exc:
                raise RuntimeError(f"event webhook {settings['url']}: {exc!r}") from None
            if not 200 <= status < 300:
                raise RuntimeError(f"event webhook {settings['url']} answered {status}")
        async with self._db.transaction() as conn:
            await jobs.complete(conn, job.id)

    async def test(self, account_sid: str, url: Any) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise SendGridError(400, "url must be an http or https URL", "url")
        sample = event("processed", "example@test.com", {"categories": ["cat facts"]},
                       f"{secrets.token_hex(11)}.filter0001.0", self._clock.now())
        try:
            await self.post(account_sid, url, [sample])
        except httpx.HTTPError as exc:
            raise SendGridError(400, f"the test event could not be delivered: {exc}", "url") from None
