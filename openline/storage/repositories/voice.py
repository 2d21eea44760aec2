"""Calls, recordings, and the sandbox handsets' voice side (behaviour, call history)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, delete, func, insert, literal, select, update

from openline.core.calls import Call, CallDirection, CallStatus, Recording
from openline.storage import schema
from openline.storage import schema_voice as t
from openline.storage.database import Conn
from openline.storage.paging import Cursor, Page
from openline.storage.repositories.base import TableRepository


@dataclass(frozen=True, slots=True)
class CallFilter:
    to: str | None = None
    from_: str | None = None
    status: CallStatus | None = None
    parent_call_sid: str | None = None
    started_after: datetime | None = None  # start_time >= this
    started_before: datetime | None = None  # start_time < this
    ended_after: datetime | None = None
    ended_before: datetime | None = None


class CallRepository(TableRepository[Call]):
    table = t.calls
    entity = Call
    enums: ClassVar[Mapping[str, type[Enum]]] = {"direction": CallDirection, "status": CallStatus}

    async def page_for(self, conn: Conn, account_sid: str, size: int, cursor: Cursor,
                       where: CallFilter = CallFilter()) -> Page[Call]:
        c = self.table.c
        clauses: list[ColumnElement[bool]] = [c.account_sid == account_sid]
        if where.to is not None:
            clauses.append(c.to_addr == where.to)
        if where.from_ is not None:
            clauses.append(c.from_addr == where.from_)
        if where.status is not None:
            clauses.append(c.status == where.status.value)
        if where.parent_call_sid is not None:
            clauses.append(c.parent_call_sid == where.parent_call_sid)
        if where.started_after is not None:
            clauses.append(c.start_time >= where.started_after)
        if where.started_before is not None:
            clauses.append(c.start_time < where.started_before)
        if where.ended_after is not None:
            clauses.append(c.end_time >= where.ended_after)
        if where.ended_before is not None:
            clauses.append(c.end_time < where.ended_before)
        return await self.page(conn, clauses, size, cursor)

    async def set_fields(self, conn: Conn, call: Call, changes: Mapping[str, Any]) -> Call:
        await self.change(conn, call.sid, changes)
        return dataclasses.replace(call, **changes)

    async def last_dial_slot(self, conn: Conn, account_sid: str) -> datetime | None:
        """The latest dial slot given to the account's outbound calls (the CPS queue's tail)."""
        c = self.table.c
        value = (await conn.execute(select(func.max(c.dial_at)).where(
            c.account_sid == account_sid, c.direction == CallDirection.OUTBOUND_API.value))).scalar_one_or_none()
        return value if isinstance(value, datetime) else None

    async def orphaned(self, conn: Conn, dial_kind: str) -> list[Call]:
        """Queued outbound calls with no dial job left (a crash between taking the job and dialing)."""
        c, j = self.table.c, schema.jobs.c
        pending = select(j.id).where(j.kind == dial_kind, j.payload == literal('{"sid":"') + c.sid + literal('"}'))
        rows = await conn.execute(select(self.table).where(
            c.status == CallStatus.QUEUED.value, c.direction != CallDirection.INBOUND.value, ~pending.exists()))
        return [self._entity(row) for row in rows]

    async def unfinished(self, conn: Conn) -> list[Call]:
        c = self.table.c
        rows = await conn.execute(select(self.table).where(
            c.status.in_([CallStatus.RINGING.value, CallStatus.IN_PROGRESS.value])))
        return [self._entity(row) for row in rows]


class RecordingRepository(TableRepository[Recording]):
    table = t.recordings
    entity = Recording

    async def page_for(self, conn: Conn, account_sid: str, size: int, cursor: Cursor,
                       call_sid: str | None = None) -> Page[Recording]:
        c = self.table.c
        clauses: list[ColumnElement[bool]] = [c.account_sid == account_sid]
        if call_sid is not None:
            clauses.append(c.call_sid == call_sid)
        return await self.page(conn, clauses, size, cursor)


@dataclass(frozen=True, slots=True)
class HandsetBehavior:
    answer: str  # answer | busy | no-answer | fail
    answer_after: int  # seconds of ringing before the answer (or the refusal)
    digits: str | None
    play_url: str | None
    hangup_after: int | None = None  # seconds after answering at which the handset hangs up


DEFAULT_BEHAVIOR = HandsetBehavior("answer", 0, None, None)


@dataclass(frozen=True, slots=True)
class HandsetCall:
    handset: str
    call_sid: str
    account_sid: str
    heard: tuple[str, ...]
    digits_sent: str
    blob_key: str | None
    date_created: datetime


class HandsetVoiceRepository:
    async def set_behavior(self, conn: Conn, account_sid: str, handset: str, behavior: HandsetBehavior,
                           now: datetime) -> None:
        b = t.handset_behaviors
        values = {"answer": behavior.answer, "answer_after": behavior.answer_after, "digits": behavior.digits,
                  "play_url": behavior.play_url, "hangup_after": behavior.hangup_after, "date_updated": now}
        done = await conn.execute(update(b).where(b.c.account_sid == account_sid, b.c.handset == handset)
                                  .values(**values))
        if not done.rowcount:
            await conn.execute(insert(b).values(account_sid=account_sid, handset=handset, **values))

    async def behavior(self, conn: Conn, account_sid: str, handset: str) -> HandsetBehavior:
        b = t.handset_behaviors
        row = (await conn.execute(select(b).where(b.c.account_sid == account_sid, b.c.handset == handset))).first()
        if row is None:
            return DEFAULT_BEHAVIOR
        return HandsetBehavior(row.answer, row.answer_after, row.digits, row.play_url, row.hangup_after)

    async def add_call(self, conn: Conn, item: HandsetCall) -> None:
        await conn.execute(insert(t.handset_calls).values(
            handset=item.handset, call_sid=item.call_sid, account_sid=item.account_sid,
            heard=json.dumps(list(item.heard)), digits_sent=item.digits_sent, blob_key=item.blob_key,
            date_created=item.date_created))

    async def call(self, conn: Conn, call_sid: str) -> HandsetCall | None:
        h = t.handset_calls
        row = (await conn.execute(select(h).where(h.c.call_sid == call_sid))).first()
        return _handset_call(row) if row else None

    async def calls(self, conn: Conn, handset: str, account_sids: Sequence[str], size: int,
                    offset: int) -> tuple[list[HandsetCall], bool]:
        h = t.handset_calls
        rows = list(await conn.execute(
            select(h).where(h.c.handset == handset, h.c.account_sid.in_(list(account_sids)))
            .order_by(h.c.id.desc()).limit(size + 1).offset(offset)))
        return [_handset_call(r) for r in rows[:size]], len(rows) > size

    async def delete_calls(self, conn: Conn, call_sid: str) -> None:
        await conn.execute(delete(t.handset_calls).where(t.handset_calls.c.call_sid == call_sid))


def _handset_call(row: Any) -> HandsetCall:
    return HandsetCall(row.handset, row.call_sid, row.account_sid, tuple(json.loads(row.heard)), row.digits_sent,
                       row.blob_key, row.date_created)
