"""Read-only queries for the web console: filtered message logs with row ids (for live streams),
status changes, conversations with a sandbox handset, chart buckets, and the newest row ids.

Every query that returns account data filters by the account SID given; the console's service
(``openline.services.insight``) passes the account the session may act for, never a raw input.
Nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select

from openline.core.lifecycle import Direction, MessageStatus
from openline.core.messaging import Alert, HandsetMessage, Message
from openline.core.verify import Verification
from openline.storage import schema
from openline.storage.database import Conn
from openline.storage.paging import Cursor, Page
from openline.storage.repositories.carriers import CarrierRecords, MessagePart
from openline.storage.repositories.messaging import AlertRepository, MediaRepository, MessageRepository
from openline.storage.repositories.verify import VerificationRepository

QUEUED_STATUSES = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value)


@dataclass(frozen=True, slots=True)
class Marks:
    """The newest row ids of the tables live views follow (0 for an empty table)."""

    messages: int
    events: int
    handset: int


@dataclass(frozen=True, slots=True)
class MessageFilter:
    to: str | None = None
    from_: str | None = None
    status: MessageStatus | None = None
    direction: Direction | None = None
    created_from: datetime | None = None  # inclusive
    created_to: datetime | None = None  # exclusive


@dataclass(frozen=True, slots=True)
class StatusChange:
    event_id: int
    message_sid: str
    status: str
    error_code: int | None


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    purpose: str
    url: str
    method: str
    params: list[tuple[str, str]]
    status_code: int | None
    response_excerpt: str | None
    error_code: int | None
    duration_ms: float
    at: datetime


@dataclass(frozen=True, slots=True)
class VolumeCount:
    bucket: int
    direction: str
    status: str
    count: int


class MessageInsights(MessageRepository):
    """Messages as the console lists them: with their row ids, newest first, concealed ones never."""

    def _where(self, account_sid: str, f: MessageFilter) -> list[ColumnElement[bool]]:
        c = self.table.c
        where: list[ColumnElement[bool]] = [c.account_sid == account_sid, c.concealed.is_(False)]
        if f.to is not None:
            where.append(c.to_addr == f.to)
        if f.from_ is not None:
            where.append(c.from_addr == f.from_)
        if f.status is not None:
            where.append(c.status == f.status.value)
        if f.direction is not None:
            where.append(c.direction == f.direction.value)
        if f.created_from is not None:
            where.append(c.date_created >= f.created_from)
        if f.created_to is not None:
            where.append(c.date_created < f.created_to)
        return where

    async def search(self, conn: Conn, account_sid: str, f: MessageFilter, size: int,
                     older_than: int | None = None) -> tuple[list[tuple[int, Message]], bool]:
        """One page, newest first, and whether older rows follow."""
        c = self.table.c
        where = self._where(account_sid, f)
        if older_than is not None:
            where.append(c.id < older_than)
        rows = list(await conn.execute(select(self.table).where(*where).order_by(c.id.desc()).limit(size + 1)))
        return [(int(r.id), self._entity(r)) for r in rows[:size]], len(rows) > size

    async def newer(self, conn: Conn, account_sid: str, f: MessageFilter, after_id: int, limit: int
                    ) -> list[tuple[int, Message]]:
        """Rows added after ``after_id``, oldest first."""
        c = self.table.c
        rows = await conn.execute(select(self.table).where(*self._where(account_sid, f), c.id > after_id)
                                  .order_by(c.id.asc()).limit(limit))
        return [(int(r.id), self._entity(r)) for r in rows]

    async def status_changes(self, conn: Conn, account_sid: str, after_event_id: int, limit: int
                             ) -> list[StatusChange]:
        e, c = schema.message_events.c, self.table.c
        rows = await conn.execute(
            select(e.id, e.message_sid, e.status, e.error_code)
            .select_from(schema.message_events.join(self.table, c.sid == e.message_sid))
            .where(e.id > after_event_id, c.account_sid == account_sid, c.concealed.is_(False))
            .order_by(e.id.asc()).limit(limit))
        return [StatusChange(int(r.id), str(r.message_sid), str(r.status), r.error_code) for r in rows]

    async def sent_by_handset(self, conn: Conn, account_sid: str, handset: str, number: str, after_id: int,
                              limit: int, newest: bool = False) -> list[tuple[int, Message]]:
        """Inbound messages the handset sent to the account's number (oldest first, or the newest)."""
        c = self.table.c
        query = select(self.table).where(
            c.account_sid == account_sid, c.from_addr == handset, c.to_addr == number,
            c.direction == Direction.INBOUND.value, c.id > after_id)
        if newest:
            rows = list(await conn.execute(query.order_by(c.id.desc()).limit(limit)))[::-1]
        else:
            rows = list(await conn.execute(query.order_by(c.id.asc()).limit(limit)))
        return [(int(r.id), self._entity(r)) for r in rows]

    async def volume(self, conn: Conn, account_sid: str, edges: Sequence[datetime], scan_limit: int
                     ) -> list[VolumeCount]:
        """Counts per time bucket (``edges[i] <= date_created < edges[i+1]``), direction and status,
        over at most the account's ``scan_limit`` newest messages (a chart must stay cheap)."""
        c = self.table.c
        recent = (select(c.date_created, c.direction, c.status)
                  .where(c.account_sid == account_sid, c.concealed.is_(False))
                  .order_by(c.id.desc()).limit(scan_limit).subquery())
        bucket = case(*[(recent.c.date_created < edges[i + 1], i) for i in range(len(edges) - 1)], else_=-1)
        rows = await conn.execute(
            select(bucket.label("bucket"), recent.c.direction, recent.c.status, func.count().label("n"))
            .where(recent.c.date_created >= edges[0], recent.c.date_created < edges[-1])
            .group_by(bucket, recent.c.direction, recent.c.status))
        return [VolumeCount(int(r.bucket), str(r.direction), str(r.status), int(r.n)) for r in rows]

    async def queue_depths_of(self, conn: Conn, account_sid: str, limit: int) -> list[tuple[str, int]]:
        """Messages waiting per sender (queued or being sent) for one account, deepest first."""
        c = self.table.c
        count = func.count().label("n")
        rows = await conn.execute(
            select(c.from_addr, count)
            .where(c.account_sid == account_sid, c.status.in_(QUEUED_STATUSES), c.from_addr.is_not(None))
            .group_by(c.from_addr).order_by(count.desc()).limit(limit))
        return [(str(r.from_addr), int(r.n)) for r in rows]


class AlertInsights(AlertRepository):
    async def for_resource(self, conn: Conn, account_sid: str, resource_sid: str) -> list[Alert]:
        c = self.table.c
        rows = await conn.execute(select(self.table).where(c.account_sid == account_sid,
                                                           c.resource_sid == resource_sid).order_by(c.id))
        return [self._entity(r) for r in rows]


class VerificationInsights(VerificationRepository):
    async def page_for_service(self, conn: Conn, account_sid: str, service_sid: str, size: int,
                               cursor: Cursor) -> Page[Verification]:
        c = self.table.c
        return await self.page(conn, [c.account_sid == account_sid, c.service_sid == service_sid], size, cursor)


class HandsetInsights:
    table = schema.handset_messages

    async def received(self, conn: Conn, account_sid: str, handset: str, number: str, after_id: int,
                       limit: int, newest: bool = False) -> list[tuple[int, HandsetMessage]]:
        """What the handset received from the account's number (oldest first, or the newest)."""
        c = self.table.c
        query = select(self.table).where(c.handset == handset, c.account_sid == account_sid,
                                         c.from_addr == number, c.id > after_id)
        if newest:
            rows = list(await conn.execute(query.order_by(c.id.desc()).limit(limit)))[::-1]
        else:
            rows = list(await conn.execute(query.order_by(c.id.asc()).limit(limit)))
        return [(int(r.id), HandsetMessage(r.handset, r.message_sid, r.account_sid, r.from_addr, r.body,
                                           r.status, r.date_sent)) for r in rows]


class WebhookAttemptInsights:
    table = schema.webhook_attempts

    async def for_resource(self, conn: Conn, account_sid: str, resource_sid: str) -> list[WebhookAttempt]:
        c = self.table.c
        rows = await conn.execute(select(self.table).where(c.account_sid == account_sid,
                                                           c.resource_sid == resource_sid).order_by(c.id))
        return [WebhookAttempt(str(r.purpose), str(r.url), str(r.method), _params(r.request_params),
                               r.status_code, r.response_excerpt, r.error_code, float(r.duration_ms), r.at)
                for r in rows]


def _params(raw: str | None) -> list[tuple[str, str]]:
    try:
        value: Any = json.loads(raw or "[]")
    except ValueError:
        return []
    return [(str(pair[0]), str(pair[1])) for pair in value if isinstance(pair, list) and len(pair) == 2]


async def marks(conn: Conn) -> Marks:
    """The newest ids: three index lookups in one round trip (max of an integer primary key)."""
    m, e, h = schema.messages.c, schema.message_events.c, schema.handset_messages.c
    row: Any = (await conn.execute(select(
        select(func.max(m.id)).scalar_subquery(), select(func.max(e.id)).scalar_subquery(),
        select(func.max(h.id)).scalar_subquery()))).one()
    return Marks(int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


@dataclass(frozen=True, slots=True)
class InsightRepositories:
    """Everything the console reads, as one collaborator."""

    messages: MessageInsights = field(default_factory=MessageInsights)
    alerts: AlertInsights = field(default_factory=AlertInsights)
    verifications: VerificationInsights = field(default_factory=VerificationInsights)
    handsets: HandsetInsights = field(default_factory=HandsetInsights)
    attempts: WebhookAttemptInsights = field(default_factory=WebhookAttemptInsights)
    media: MediaRepository = field(default_factory=MediaRepository)
    carriers: CarrierRecords = field(default_factory=CarrierRecords)

    async def marks(self, conn: Conn) -> Marks:
        return await marks(conn)

    async def parts_of(self, conn: Conn, message_sid: str) -> list[MessagePart]:
        return await self.carriers.parts_of(conn, message_sid)
