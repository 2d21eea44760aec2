"""Alerts: what Twilio's debugger shows (Monitor v1 Alerts), recorded when a webhook or TwiML fails."""

from __future__ import annotations

import json
from collections.abc import Sequence

from openline.core.clock import Clock
from openline.core.errors import lookup
from openline.core.messaging import Alert
from openline.core.sids import SidPrefix, new_sid
from openline.storage.database import Conn, Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories.messaging import AlertRepository

MAX_RESPONSE_BODY = 4096


class AlertService:
    def __init__(self, db: Database, alerts: AlertRepository, clock: Clock) -> None:
        self._db = db
        self._alerts = alerts
        self._clock = clock

    async def record(
        self, conn: Conn, account_sid: str, code: int, text: str | None = None, *,
        request_url: str | None = None, request_method: str | None = None,
        request_params: Sequence[tuple[str, str]] = (), response_body: str | None = None,
        resource_sid: str | None = None, service_sid: str | None = None, log_level: str = "error",
    ) -> Alert:
        spec = lookup(code)
        now = self._clock.now()
        alert = Alert(
            sid=new_sid(SidPrefix.ALERT), account_sid=account_sid, error_code=code, log_level=log_level,
            alert_text=text or (spec.description if spec else f"Error {code}"),
            request_url=request_url, request_method=request_method,
            request_variables=json.dumps(list(request_params)) if request_params else None,
            response_body=(response_body or "")[:MAX_RESPONSE_BODY] or None,
            resource_sid=resource_sid, service_sid=service_sid, date_created=now, date_updated=now)
        await self._alerts.insert(conn, alert)
        return alert

    async def get(self, account_sid: str, sid: str) -> Alert | None:
        async with self._db.read() as conn:
            return await self._alerts.get(conn, sid, account_sids=[account_sid])

    async def list(self, account_sid: str, size: int, cursor: Cursor, log_level: str | None = None,
                   start: object = None, end: object = None) -> Page[Alert]:
        async with self._db.read() as conn:
            return await self._alerts.page_for(conn, account_sid, size, cursor, log_level,
                                               start, end)  # type: ignore[arg-type]
