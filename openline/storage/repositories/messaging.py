"""Repositories for messages, media, messaging services and the records around them."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from openline.core.lifecycle import Direction, MessageStatus
from openline.core.messaging import (
    Alert,
    Content,
    HandsetMessage,
    Media,
    Message,
    MessagingService,
    SenderKind,
    ServiceSender,
)
from openline.storage import schema
from openline.storage.database import Conn
from openline.storage.fastpath import Prepared
from openline.storage.paging import Cursor, Page
from openline.storage.repositories.base import TableRepository

_INSERT_EVENT = Prepared(insert(schema.message_events))
_SERVICE_OF_NUMBER = Prepared(select(schema.service_senders.c.service_sid).where(
    schema.service_senders.c.address == bindparam("p_address"),
    schema.service_senders.c.kind == SenderKind.PHONE.value).limit(1))
_OPTED_OUT = Prepared(select(schema.opt_outs.c.scope).where(
    schema.opt_outs.c.scope == bindparam("p_scope"), schema.opt_outs.c.address == bindparam("p_address")))


class MessageRepository(TableRepository[Message]):
    table = schema.messages
    entity = Message
    enums: ClassVar[Mapping[str, type[Enum]]] = {"direction": Direction, "status": MessageStatus}

    async def page_for(
        self, conn: Conn, account_sid: str, size: int, cursor: Cursor, *, to: str | None = None,
        from_: str | None = None, sent_on: tuple[datetime, datetime] | None = None,
        sent_before: datetime | None = None, sent_after: datetime | None = None,
    ) -> Page[Message]:
        c = self.table.c
        where: list[ColumnElement[bool]] = [c.account_sid == account_sid, c.concealed.is_(False)]
        if to is not None:
            where.append(c.to_addr == to)
        if from_ is not None:
            where.append(c.from_addr == from_)
        if sent_on is not None:
            where += [c.date_sent >= sent_on[0], c.date_sent < sent_on[1]]
        if sent_before is not None:
            where.append(c.date_sent < sent_before)
        if sent_after is not None:
            where.append(c.date_sent > sent_after)
        return await self.page(conn, where, size, cursor)

    async def set_status(
        self, conn: Conn, message: Message, status: MessageStatus, now: datetime,
        changes: Mapping[str, Any] | None = None, detail: str | None = None,
    ) -> Message:
        """Store a lifecycle step: the new status on the row and a line in its timeline."""
        values = {"status": status, "date_updated": now, **(changes or {})}
        await self.change(conn, message.sid, values)
        await conn.execute(_INSERT_EVENT, {"message_sid": message.sid, "status": status.value,
                                           "error_code": values.get("error_code"), "detail": detail, "at": now})
        return dataclasses.replace(message, **values)

    async def set_statuses(
        self, conn: Conn, message: Message, steps: Sequence[tuple[MessageStatus, Mapping[str, Any]]], now: datetime,
    ) -> list[Message]:
        """Store consecutive lifecycle steps taken at once (queued → sending → sent): one UPDATE
        leaves the row as the last step does, and each step gets its timeline line. Returns the
        message as of each step, in order."""
        states: list[Message] = []
        values: dict[str, Any] = {}
        current = message
        for status, changes in steps:
            step = {"status": status, "date_updated": now, **changes}
            values.update(step)
            current = dataclasses.replace(current, **step)
            states.append(current)
            await conn.execute(_INSERT_EVENT, {"message_sid": message.sid, "status": status.value,
                                               "error_code": step.get("error_code"), "detail": None, "at": now})
        await self.change(conn, message.sid, values)
        return states

    async def record_event(self, conn: Conn, message: Message, now: datetime,
                           detail: str | None = None) -> None:
        await conn.execute(_INSERT_EVENT, {"message_sid": message.sid, "status": message.status.value,
                                           "error_code": message.error_code, "detail": detail, "at": now})

    async def timeline(self, conn: Conn, message_sid: str) -> list[dict[str, Any]]:
        e = schema.message_events
        rows = await conn.execute(select(e).where(e.c.message_sid == message_sid).order_by(e.c.id))
        return [dict(row._mapping) for row in rows]

    async def queue_depths(self, conn: Conn) -> dict[str, int]:
        c = self.table.c
        rows = await conn.execute(select(c.from_addr, func.count()).where(
            c.status.in_([MessageStatus.QUEUED.value, MessageStatus.SENDING.value]), c.from_addr.is_not(None))
            .group_by(c.from_addr))
        table: list[Any] = list(rows)
        return {str(sender): int(count) for sender, count in table}

    async def queue_depth(self, conn: Conn, sender: str) -> int:
        c = self.table.c
        return await self.count(conn, c.from_addr == sender,
                                c.status.in_([MessageStatus.QUEUED.value, MessageStatus.SENDING.value]))

    async def by_carrier_id(self, conn: Conn, carrier: str, carrier_message_id: str) -> Message | None:
        c = self.table.c
        return await self.find(conn, c.carrier == carrier, c.carrier_message_id == carrier_message_id,
                               c.direction != Direction.INBOUND.value)

    async def inbound_by_carrier_id(self, conn: Conn, carrier: str, carrier_message_id: str) -> Message | None:
        """A message a platform already handed us (webhooks are retried: each arrives once)."""
        c = self.table.c
        return await self.find(conn, c.carrier == carrier, c.carrier_message_id == carrier_message_id,
                               c.direction == Direction.INBOUND.value)

    async def fresh_reply_token(self, conn: Conn, from_addr: str, to_addr: str, since: datetime
                                ) -> tuple[str, str] | None:
        """The newest unused reply token of ``from_addr``'s messages to ``to_addr`` received after ``since``."""
        c = self.table.c
        row = (await conn.execute(select(c.sid, c.reply_token).where(
            c.from_addr == from_addr, c.to_addr == to_addr, c.direction == Direction.INBOUND.value,
            c.reply_token.is_not(None), c.date_created > since).order_by(c.id.desc()).limit(1))).first()
        return (str(row.sid), str(row.reply_token)) if row else None

    async def claim_reply_token(self, conn: Conn, sid: str, token: str) -> bool:
        """Take the token for one send: a reply token is good for one reply only."""
        c = self.table.c
        result = await conn.execute(update(self.table).where(c.sid == sid, c.reply_token == token)
                                    .values(reply_token=None))
        return bool(result.rowcount)

    async def last_inbound(self, conn: Conn, from_addr: str, to_addr: str) -> datetime | None:
        """When ``from_addr`` last wrote to ``to_addr`` (a chat channel's customer-service window)."""
        c = self.table.c
        value = (await conn.execute(select(c.date_created).where(
            c.from_addr == from_addr, c.to_addr == to_addr, c.direction == Direction.INBOUND.value)
            .order_by(c.id.desc()).limit(1))).scalar()
        return value if isinstance(value, datetime) else None

    async def unread_until(self, conn: Conn, from_addr: str, to_addr: str, until: datetime) -> list[Message]:
        """Messages sent to ``to_addr`` up to ``until`` that no read report covers yet (Messenger watermarks)."""
        c = self.table.c
        rows = await conn.execute(select(self.table).where(
            c.from_addr == from_addr, c.to_addr == to_addr, c.date_sent <= until,
            c.status.in_([MessageStatus.SENT.value, MessageStatus.DELIVERED.value])).order_by(c.id))
        return [self._entity(row) for row in rows]


class ContentRepository(TableRepository[Content]):
    table = schema.contents
    entity = Content

    async def page_for(self, conn: Conn, account_sid: str, size: int, cursor: Cursor) -> Page[Content]:
        return await self.page(conn, [self.table.c.account_sid == account_sid], size, cursor)


class MediaRepository(TableRepository[Media]):
    table = schema.message_media
    entity = Media

    async def for_message(self, conn: Conn, message_sid: str) -> list[Media]:
        c = self.table.c
        rows = await conn.execute(select(self.table).where(c.message_sid == message_sid).order_by(c.id))
        return [self._entity(row) for row in rows]

    async def page_for(self, conn: Conn, message_sid: str, size: int, cursor: Cursor) -> Page[Media]:
        return await self.page(conn, [self.table.c.message_sid == message_sid], size, cursor)

    async def delete_for_message(self, conn: Conn, message_sid: str) -> list[Media]:
        media = await self.for_message(conn, message_sid)
        await conn.execute(delete(self.table).where(self.table.c.message_sid == message_sid))
        return media


class MessagingServiceRepository(TableRepository[MessagingService]):
    table = schema.messaging_services
    entity = MessagingService

    async def page_for(self, conn: Conn, account_sid: str, size: int, cursor: Cursor
                       ) -> Page[MessagingService]:
        return await self.page(conn, [self.table.c.account_sid == account_sid], size, cursor)

    async def get_for_update(self, conn: Conn, sid: str, account_sid: str) -> MessagingService | None:
        """The account's service, row-locked until the transaction ends (PostgreSQL; SQLite
        transactions are already serialised by the write lock), so sender changes that check
        "one per service" rules cannot interleave."""
        c = self.table.c
        row = (await conn.execute(select(self.table).where(c.sid == sid, c.account_sid == account_sid)
                                  .with_for_update())).first()
        return self._entity(row) if row else None


class ServiceSenderRepository(TableRepository[ServiceSender]):
    table = schema.service_senders
    entity = ServiceSender
    enums: ClassVar[Mapping[str, type[Enum]]] = {"kind": SenderKind}

    async def for_service(self, conn: Conn, service_sid: str, kind: SenderKind | None = None
                          ) -> list[ServiceSender]:
        c = self.table.c
        where = [c.service_sid == service_sid] + ([c.kind == kind.value] if kind else [])
        rows = await conn.execute(select(self.table).where(*where).order_by(c.id))
        return [self._entity(row) for row in rows]

    async def page_for(self, conn: Conn, service_sid: str, kind: SenderKind, size: int,
                       cursor: Cursor) -> Page[ServiceSender]:
        c = self.table.c
        return await self.page(conn, [c.service_sid == service_sid, c.kind == kind.value], size, cursor)

    async def service_of_number(self, conn: Conn, phone_number: str) -> str | None:
        row = (await conn.execute(_SERVICE_OF_NUMBER, {"p_address": phone_number})).first()
        return str(row[0]) if row else None

    async def delete_for_number_sid(self, conn: Conn, number_sid: str) -> None:
        await conn.execute(delete(self.table).where(self.table.c.sid == number_sid))

    async def delete_for_service(self, conn: Conn, service_sid: str) -> None:
        await conn.execute(delete(self.table).where(self.table.c.service_sid == service_sid))

    async def in_service(self, conn: Conn, service_sid: str, sid: str, kind: SenderKind
                         ) -> ServiceSender | None:
        c = self.table.c
        return await self.find(conn, c.service_sid == service_sid, c.sid == sid, c.kind == kind.value)


def _upsert(conn: Conn, table: Any, values: dict[str, Any], keys: Sequence[str],
            updates: Sequence[str]) -> Any:
    """INSERT … ON CONFLICT DO UPDATE in the connection's dialect."""
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = make(table).values(**values)
    if updates:
        return statement.on_conflict_do_update(index_elements=list(keys),
                                               set_={name: values[name] for name in updates})
    return statement.on_conflict_do_nothing(index_elements=list(keys))


class StickySenderRepository:
    table = schema.sticky_senders

    async def get(self, conn: Conn, service_sid: str, to: str) -> str | None:
        c = self.table.c
        row = (await conn.execute(select(c.from_addr).where(c.service_sid == service_sid, c.to_addr == to))).first()
        return str(row[0]) if row else None

    async def put(self, conn: Conn, service_sid: str, to: str, sender: str) -> None:
        await conn.execute(_upsert(conn, self.table, {"service_sid": service_sid, "to_addr": to,
                                                      "from_addr": sender}, ("service_sid", "to_addr"),
                                   ("from_addr",)))


class OptOutRepository:
    table = schema.opt_outs

    async def is_opted_out(self, conn: Conn, scope: str, address: str) -> bool:
        row = (await conn.execute(_OPTED_OUT, {"p_scope": scope, "p_address": address})).first()
        return row is not None

    async def opt_out(self, conn: Conn, scope: str, address: str, account_sid: str, now: datetime
                      ) -> None:
        await conn.execute(_upsert(conn, self.table, {"scope": scope, "address": address,
                                                      "account_sid": account_sid, "date_created": now},
                                   ("scope", "address"), ()))

    async def opt_in(self, conn: Conn, scope: str, address: str) -> None:
        c = self.table.c
        await conn.execute(delete(self.table).where(and_(c.scope == scope, c.address == address)))


class AlertRepository(TableRepository[Alert]):
    table = schema.alerts
    entity = Alert

    async def page_for(self, conn: Conn, account_sid: str, size: int, cursor: Cursor,
                       log_level: str | None = None, start: datetime | None = None,
                       end: datetime | None = None) -> Page[Alert]:
        c = self.table.c
        where: list[ColumnElement[bool]] = [c.account_sid == account_sid]
        if log_level:
            where.append(c.log_level == log_level)
        if start:
            where.append(c.date_created >= start)
        if end:
            where.append(c.date_created <= end)
        return await self.page(conn, where, size, cursor)


class WebhookAttemptRepository:
    table = schema.webhook_attempts

    async def add(self, conn: Conn, **values: Any) -> None:
        await conn.execute(insert(self.table).values(**values))

    async def for_resource(self, conn: Conn, resource_sid: str) -> list[dict[str, Any]]:
        c = self.table.c
        rows = await conn.execute(select(self.table).where(c.resource_sid == resource_sid).order_by(c.id))
        return [dict(row._mapping) for row in rows]


class HandsetRepository:
    table = schema.handset_messages

    async def deliver(self, conn: Conn, item: HandsetMessage) -> None:
        await conn.execute(insert(self.table).values(
            handset=item.handset, message_sid=item.message_sid, account_sid=item.account_sid,
            from_addr=item.from_addr, body=item.body, status=item.status, date_sent=item.date_sent))

    async def inbox(self, conn: Conn, handset: str, account_sids: Sequence[str], size: int,
                    offset: int) -> tuple[list[HandsetMessage], bool]:
        c = self.table.c
        rows = list(await conn.execute(
            select(self.table).where(c.handset == handset, c.account_sid.in_(list(account_sids)))
            .order_by(c.id.desc()).limit(size + 1).offset(offset)))
        items = [HandsetMessage(r.handset, r.message_sid, r.account_sid, r.from_addr, r.body, r.status, r.date_sent)
                 for r in rows[:size]]
        return items, len(rows) > size

