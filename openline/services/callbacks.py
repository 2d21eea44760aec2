"""Status callbacks: what Twilio reports to StatusCallback on each step of a message's life.

The parameters are captured when the status changes (inside that transaction), so a callback
describes the step it reports even if the message has moved on by the time it is sent.
Openline retries a callback on connection errors and 5xx answers with exponential backoff,
up to ``messaging.status_callback_attempts`` tries; a 4xx answer is final.
"""

from __future__ import annotations

import asyncio

from openline.core.clock import Clock
from openline.core.lifecycle import CALLBACK_STATUSES, MessageStatus
from openline.core.messaging import Message
from openline.services.alerts import AlertService
from openline.services.webhooks import WebhookCall, WebhookCaller, new_idempotency_token
from openline.storage import jobs
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.repositories import ApplicationRepository
from openline.storage.repositories.messaging import MessagingServiceRepository

STATUS_CALLBACK = "status_callback"
API_VERSION = "2010-04-01"
SERVICE_ONLY = frozenset({MessageStatus.ACCEPTED, MessageStatus.SCHEDULED, MessageStatus.CANCELED})


class CallbackFailed(Exception):
    pass


def callback_params(message: Message) -> list[tuple[str, str]]:
    params = [
        ("MessageSid", message.sid), ("SmsSid", message.sid), ("AccountSid", message.account_sid),
        ("From", message.from_addr or ""), ("To", message.to_addr),
        ("MessageStatus", message.status.value), ("SmsStatus", message.status.value), ("ApiVersion", API_VERSION),
    ]
    if message.messaging_service_sid:
        params.append(("MessagingServiceSid", message.messaging_service_sid))
    if message.error_code is not None and message.status in (MessageStatus.FAILED, MessageStatus.UNDELIVERED):
        params.append(("ErrorCode", str(message.error_code)))
    return params


class StatusCallbacks:
    def __init__(self, db: Database, clock: Clock, applications: ApplicationRepository,
                 services: MessagingServiceRepository, caller: WebhookCaller, alerts: AlertService,
                 max_attempts: int) -> None:
        self._db = db
        self._clock = clock
        self._apps = applications
        self._services = services
        self._caller = caller
        self._alerts = alerts
        self._max_attempts = max_attempts
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    async def _target(self, conn: Conn, message: Message) -> tuple[str, str] | None:
        if message.status_callback:
            return message.status_callback, message.status_callback_method
        if message.application_sid:
            app = await self._apps.get(conn, message.application_sid)
            if app and (app.message_status_callback or app.sms_status_callback):
                return app.message_status_callback or app.sms_status_callback or "", "POST"
        if message.messaging_service_sid:
            service = await self._services.get(conn, message.messaging_service_sid)
            if service and service.status_callback:
                return service.status_callback, "POST"
        return None

    async def on_status(self, conn: Conn, message: Message) -> None:
        """Enqueue the callback for the message's current status, if one is due."""
        if message.status not in CALLBACK_STATUSES:
            return
        if message.status in SERVICE_ONLY and not message.messaging_service_sid:
            return
        target = await self._target(conn, message)
        if target is None:
            return
        now = self._clock.now()
        await jobs.enqueue(conn, STATUS_CALLBACK, {
            "account_sid": message.account_sid, "sid": message.sid, "url": target[0], "method": target[1],
            "params": callback_params(message), "token": new_idempotency_token(),
            "service_sid": message.messaging_service_sid,
        }, now, now, max_attempts=self._max_attempts)

    async def deliver(self, job: Job) -> None:
        # One message's callbacks go out one at a time, in the order they were claimed (the
        # order of the steps), so a receiver sees queued before sent before delivered.
        sid = job.payload["sid"]
        lock, users = self._locks.get(sid, (asyncio.Lock(), 0))
        self._locks[sid] = (lock, users + 1)
        try:
            async with lock:
                await self._deliver(job)
        finally:
            lock, users = self._locks[sid]
            if users == 1:
                del self._locks[sid]
            else:
                self._locks[sid] = (lock, users - 1)

    async def _deliver(self, job: Job) -> None:
        p = job.payload
        call = WebhookCall(p["account_sid"], p["sid"], "status", p["url"], p["method"],
                           tuple((k, v) for k, v in p["params"]), p["token"])
        result = await self._caller.send(call)
        retry = not result.ok and (result.status_code is None or result.status_code >= 500)
        async with self._db.transaction() as conn:
            await self._caller.record(conn, call, result)
            if not result.ok and job.attempts == 1:
                await self._alerts.record(
                    conn, call.account_sid, result.error_code or 11200,
                    f"Status callback to {call.url} failed: {result.error_message or result.status_code}",
                    request_url=call.url, request_method=call.method, request_params=call.params,
                    response_body=result.body.decode("utf-8", "replace") if result.body else None,
                    resource_sid=call.resource_sid, service_sid=p.get("service_sid"), log_level="warning")
            if not retry:
                await jobs.complete(conn, job.id)
        if retry:
            raise CallbackFailed(f"{call.url}: {result.error_message or result.status_code}")
