"""Repositories for Conversations: services, configuration, conversations and what they hold."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, and_, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from openline.core.conversations import (
    AccountConfig,
    AddressConfig,
    ChannelType,
    ChatService,
    ChatUser,
    Conversation,
    ConversationMessage,
    ConversationState,
    Participant,
    Receipt,
    ReceiptView,
    Role,
    ScopedWebhook,
    receipt_status,
)
from openline.storage import schema
from openline.storage.database import Conn
from openline.storage.paging import Cursor, Page, after_token, before_token
from openline.storage.repositories.base import TableRepository


class ChatServiceRepository(TableRepository[ChatService]):
    table = schema.conversation_services
    entity = ChatService

    async def page_for(self, conn: Conn, account_sid: str, size: int, cursor: Cursor) -> Page[ChatService]:
        return await self.page(conn, [self.table.c.account_sid == account_sid], size, cursor)


class AccountConfigRepository(TableRepository[AccountConfig]):
    table = schema.conversation_configs
    entity = AccountConfig


class ConversationRepository(TableRepository[Conversation]):
    table = schema.conversations
    entity = Conversation
    enums: ClassVar[Mapping[str, type[Enum]]] = {"state": ConversationState}

    async def by_unique_name(self, conn: Conn, service_sid: str, unique_name: str) -> Conversation | None:
        c = self.table.c
        return await self.find(conn, c.chat_service_sid == service_sid, c.unique_name == unique_name)

    async def page_for(self, conn: Conn, service_sid: str, size: int, cursor: Cursor,
                       state: str | None = None) -> Page[Conversation]:
        c = self.table.c
        where: list[ColumnElement[bool]] = [c.chat_service_sid == service_sid]
        if state is not None:
            where.append(c.state == state)
        return await self.page(conn, where, size, cursor)

    async def next_index(self, conn: Conn, sid: str) -> int:
        """Take the next message index; the row lock orders concurrent writers on PostgreSQL."""
        c = self.table.c
        row = (await conn.execute(update(self.table).where(c.sid == sid).values(last_index=c.last_index + 1)
                                  .returning(c.last_index))).first()
        if row is None:
            raise LookupError(sid)
        return int(row[0])

    async def for_account(self, conn: Conn, account_sid: str, limit: int) -> list[Conversation]:
        c = self.table.c
        rows = await conn.execute(select(self.table).where(c.account_sid == account_sid)
                                  .order_by(c.date_updated.desc(), c.id.desc()).limit(limit))
        return [self._entity(row) for row in rows]

    async def in_service(self, conn: Conn, service_sid: str) -> list[str]:
        rows = await conn.execute(select(self.table.c.sid).where(self.table.c.chat_service_sid == service_sid))
        return [row[0] for row in rows]


class ParticipantRepository(TableRepository[Participant]):
    table = schema.conversation_participants
    entity = Participant
    enums: ClassVar[Mapping[str, type[Enum]]] = {"channel": ChannelType}

    async def page_for(self, conn: Conn, conversation_sid: str, size: int, cursor: Cursor) -> Page[Participant]:
        return await self.page(conn, [self.table.c.conversation_sid == conversation_sid], size, cursor)

    async def of_conversation(self, conn: Conn, conversation_sid: str) -> list[Participant]:
        c = self.table.c
        rows = await conn.execute(select(self.table).where(c.conversation_sid == conversation_sid).order_by(c.id))
        return [self._entity(row) for row in rows]

    async def by_identity(self, conn: Conn, conversation_sid: str, identity: str) -> Participant | None:
        c = self.table.c
        return await self.find(conn, c.conversation_sid == conversation_sid, c.identity == identity)

    async def by_address(self, conn: Conn, conversation_sid: str, address: str) -> Participant | None:
        c = self.table.c
        return await self.find(conn, c.conversation_sid == conversation_sid, c.address == address)

    async def open_binding(self, conn: Conn, address: str, proxy_address: str) -> Participant | None:
        """The participant bound to ``address`` through ``proxy_address`` in a conversation that is not closed."""
        p, v = self.table.c, schema.conversations.c
        row = (await conn.execute(
            select(self.table).join(schema.conversations, v.sid == p.conversation_sid)
            .where(p.address == address, p.proxy_address == proxy_address,
                   v.state != ConversationState.CLOSED.value)
            .order_by(p.id.desc()).limit(1))).first()
        return self._entity(row) if row else None

    async def with_identity(self, conn: Conn, service_sid: str, identity: str) -> list[Participant]:
        c = self.table.c
        rows = await conn.execute(select(self.table).where(c.chat_service_sid == service_sid,
                                                           c.identity == identity).order_by(c.id))
        return [self._entity(row) for row in rows]

    async def delete_for_conversation(self, conn: Conn, conversation_sid: str) -> None:
        await conn.execute(delete(self.table).where(self.table.c.conversation_sid == conversation_sid))


class ConversationMessageRepository(TableRepository[ConversationMessage]):
    table = schema.conversation_messages
    entity = ConversationMessage

    async def by_index(self, conn: Conn, conversation_sid: str, index: int) -> ConversationMessage | None:
        c = self.table.c
        return await self.find(conn, c.conversation_sid == conversation_sid, c.idx == index)

    async def page_ordered(self, conn: Conn, conversation_sid: str, size: int, cursor: Cursor,
                           ascending: bool) -> Page[ConversationMessage]:
        """Messages by index, oldest first unless ``ascending`` is false (Twilio's ``Order``).

        Tokens name an index: ``PA`` continues past it in the listing's direction, ``PB`` goes back.
        """
        c = self.table.c
        query = select(self.table).where(c.conversation_sid == conversation_sid)

        def beyond(idx: int) -> ColumnElement[bool]:
            return c.idx > idx if ascending else c.idx < idx

        def before(idx: int) -> ColumnElement[bool]:
            return c.idx < idx if ascending else c.idx > idx

        forward, backward = (c.idx.asc(), c.idx.desc()) if ascending else (c.idx.desc(), c.idx.asc())
        if cursor.before_id is not None:
            rows = list((await conn.execute(query.where(before(cursor.before_id)).order_by(backward)
                                            .limit(size + 1))).all())
            has_previous = len(rows) > size
            rows = rows[:size][::-1]
            has_next = True
        else:
            if cursor.after_id is not None:
                query = query.where(beyond(cursor.after_id))
            rows = list((await conn.execute(query.order_by(forward).limit(size + 1))).all())
            has_next = len(rows) > size
            rows = rows[:size]
            has_previous = cursor.after_id is not None
        items = [self._entity(row) for row in rows]
        return Page(items, after_token(items[-1].idx) if items and has_next else None,
                    before_token(items[0].idx) if items and has_previous else None)

    async def delete_for_conversation(self, conn: Conn, conversation_sid: str) -> None:
        await conn.execute(delete(self.table).where(self.table.c.conversation_sid == conversation_sid))


class ReceiptRepository(TableRepository[Receipt]):
    table = schema.conversation_receipts
    entity = Receipt

    def _views(self, rows: Sequence[Any]) -> list[ReceiptView]:
        views = []
        for row in rows:
            receipt = self._entity(row)
            status = row.m_status
            if receipt.status is not None:  # a chat participant's receipt: its own status
                views.append(ReceiptView(receipt, receipt.status, 0, receipt.date_updated))
            elif status is None:  # never sent: failed with the code stored on the receipt
                views.append(ReceiptView(receipt, "failed", receipt.error_code or 0, receipt.date_updated))
            else:
                views.append(ReceiptView(receipt, receipt_status(status), row.m_error or 0,
                                         max(receipt.date_updated, row.m_updated)))
        return views

    def _joined(self) -> Any:
        m = schema.messages.c
        return (select(self.table, m.status.label("m_status"), m.error_code.label("m_error"),
                       m.date_updated.label("m_updated"))
                .outerjoin(schema.messages, m.sid == self.table.c.channel_message_sid))

    async def views_for(self, conn: Conn, message_sids: Sequence[str]) -> dict[str, list[ReceiptView]]:
        if not message_sids:
            return {}
        c = self.table.c
        rows = (await conn.execute(self._joined().where(c.message_sid.in_(list(message_sids))).order_by(c.id))).all()
        out: dict[str, list[ReceiptView]] = {}
        for view in self._views(rows):
            out.setdefault(view.receipt.message_sid, []).append(view)
        return out

    async def view(self, conn: Conn, message_sid: str, sid: str) -> ReceiptView | None:
        c = self.table.c
        rows = (await conn.execute(self._joined().where(c.message_sid == message_sid, c.sid == sid))).all()
        views = self._views(rows)
        return views[0] if views else None

    async def page_views(self, conn: Conn, message_sid: str, size: int, cursor: Cursor) -> Page[ReceiptView]:
        page = await self.page(conn, [self.table.c.message_sid == message_sid], size, cursor)
        views = await self.views_for(conn, [message_sid])
        by_sid = {v.receipt.sid: v for v in views.get(message_sid, [])}
        return Page([by_sid[r.sid] for r in page.items if r.sid in by_sid], page.next_token, page.previous_token)

    async def delete_for_messages(self, conn: Conn, message_sids: Sequence[str]) -> None:
        if message_sids:
            await conn.execute(delete(self.table).where(self.table.c.message_sid.in_(list(message_sids))))

    async def record_chat(self, conn: Conn, receipts: Sequence[Receipt]) -> None:
        """Chat receipts, once per (message, participant): an existing one (maybe ``read``) is kept."""
        if not receipts:
            return
        make: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        rows = [{name: getattr(r, name) for name in self._fields} for r in receipts]
        await conn.execute(make(self.table).values(rows).on_conflict_do_nothing(
            index_elements=["message_sid", "participant_sid"]))

    async def mark_read(self, conn: Conn, participant_sid: str, conversation_sid: str, up_to: int,
                        now: Any) -> None:
        """The participant's chat receipts of messages up to index ``up_to`` become ``read``."""
        m = schema.conversation_messages.c
        c = self.table.c
        read_messages = select(m.sid).where(m.conversation_sid == conversation_sid, m.idx <= up_to)
        await conn.execute(update(self.table).where(
            c.participant_sid == participant_sid, c.status.is_not(None), c.status != "read",
            c.message_sid.in_(read_messages)).values(status="read", date_updated=now))

    async def unreceipted(self, conn: Conn, participant_sid: str, conversation_sid: str, after: int,
                          up_to: int) -> list[tuple[str, int]]:
        """(sid, index) of others' messages in (after, up_to] this participant has no receipt for."""
        m = schema.conversation_messages.c
        c = self.table.c
        query = (select(m.sid, m.idx).select_from(schema.conversation_messages.outerjoin(
            self.table, and_(c.message_sid == m.sid, c.participant_sid == participant_sid)))
            .where(m.conversation_sid == conversation_sid, m.idx > after, m.idx <= up_to, c.sid.is_(None),
                   or_(m.participant_sid.is_(None), m.participant_sid != participant_sid))
            .order_by(m.idx))
        return [(row.sid, row.idx) for row in (await conn.execute(query)).all()]

    async def delete_for_conversation(self, conn: Conn, conversation_sid: str) -> None:
        await conn.execute(delete(self.table).where(self.table.c.conversation_sid == conversation_sid))


class ScopedWebhookRepository(TableRepository[ScopedWebhook]):
    table = schema.conversation_webhooks
    entity = ScopedWebhook

    async def page_for(self, conn: Conn, conversation_sid: str, size: int, cursor: Cursor) -> Page[ScopedWebhook]:
        return await self.page(conn, [self.table.c.conversation_sid == conversation_sid], size, cursor)

    async def of_conversation(self, conn: Conn, conversation_sid: str) -> list[ScopedWebhook]:
        c = self.table.c
        rows = await conn.execute(select(self.table).where(c.conversation_sid == conversation_sid).order_by(c.id))
        return [self._entity(row) for row in rows]

    async def delete_for_conversation(self, conn: Conn, conversation_sid: str) -> None:
        await conn.execute(delete(self.table).where(self.table.c.conversation_sid == conversation_sid))


class ChatUserRepository(TableRepository[ChatUser]):
    table = schema.conversation_users
    entity = ChatUser

    async def by_identity(self, conn: Conn, service_sid: str, identity: str) -> ChatUser | None:
        c = self.table.c
        return await self.find(conn, c.chat_service_sid == service_sid, c.identity == identity)

    async def page_for(self, conn: Conn, service_sid: str, size: int, cursor: Cursor) -> Page[ChatUser]:
        return await self.page(conn, [self.table.c.chat_service_sid == service_sid], size, cursor)


class RoleRepository(TableRepository[Role]):
    table = schema.conversation_roles
    entity = Role

    async def page_for(self, conn: Conn, service_sid: str, size: int, cursor: Cursor) -> Page[Role]:
        return await self.page(conn, [self.table.c.chat_service_sid == service_sid], size, cursor)


class AddressConfigRepository(TableRepository[AddressConfig]):
    table = schema.conversation_addresses
    entity = AddressConfig

    async def by_address(self, conn: Conn, type_: str, address: str) -> AddressConfig | None:
        c = self.table.c
        return await self.find(conn, c.type == type_, c.address == address)

    async def page_for(self, conn: Conn, account_sid: str, size: int, cursor: Cursor,
                       type_: str | None = None) -> Page[AddressConfig]:
        c = self.table.c
        where: list[ColumnElement[bool]] = [c.account_sid == account_sid]
        if type_ is not None:
            where.append(c.type == type_)
        return await self.page(conn, where, size, cursor)


async def delete_service_rows(conn: Conn, service_sid: str) -> None:
    """Everything a conversation service holds (its own row is deleted by its repository)."""
    for table in (schema.conversation_receipts, schema.conversation_messages, schema.conversation_participants,
                  schema.conversation_webhooks, schema.conversations, schema.conversation_users,
                  schema.conversation_roles):
        await conn.execute(delete(table).where(table.c.chat_service_sid == service_sid))


class ConversationRepositories:
    """All of them, for the services that work across the aggregate."""

    def __init__(self) -> None:
        self.services = ChatServiceRepository()
        self.configs = AccountConfigRepository()
        self.conversations = ConversationRepository()
        self.participants = ParticipantRepository()
        self.messages = ConversationMessageRepository()
        self.receipts = ReceiptRepository()
        self.webhooks = ScopedWebhookRepository()
        self.users = ChatUserRepository()
        self.roles = RoleRepository()
        self.addresses = AddressConfigRepository()
