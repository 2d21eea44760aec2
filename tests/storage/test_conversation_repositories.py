"""Conversations' storage on SQLite and PostgreSQL: message indexes, ordered paging, SMS bindings
of open conversations, and delivery receipts read through their SMS."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

from openline.core.conversations import (
    ChannelType,
    Conversation,
    ConversationMessage,
    ConversationState,
    Participant,
    Receipt,
)
from openline.core.lifecycle import Direction, MessageStatus
from openline.core.messaging import Message
from openline.core.sids import SidPrefix, new_sid
from openline.storage.database import Database
from openline.storage.paging import Cursor
from openline.storage.repositories import AccountRepository
from openline.storage.repositories.conversations import ConversationRepositories
from openline.storage.repositories.messaging import MessageRepository
from tests.storage.test_repositories import T0, account, database_url, db  # noqa: F401  (fixtures)

ACCOUNT, SERVICE = "AC" + "1" * 32, "IS" + "1" * 32


def conversation(state: ConversationState = ConversationState.ACTIVE) -> Conversation:
    return Conversation(new_sid(SidPrefix.CONVERSATION), ACCOUNT, SERVICE, None, None, None, "{}", state, None, None,
                        None, None, -1, T0, T0)


def sms_participant(conv: Conversation, address: str, proxy: str) -> Participant:
    return Participant(new_sid(SidPrefix.PARTICIPANT), ACCOUNT, SERVICE, conv.sid, ChannelType.SMS, None, address,
                       proxy, "{}", None, None, None, T0, T0)


async def test_indexes_and_ordered_paging(db: Database) -> None:  # noqa: F811
    repos = ConversationRepositories()
    conv = conversation()
    async with db.transaction() as conn:
        await repos.conversations.insert(conn, conv)

    async def add(i: int) -> None:
        async with db.transaction() as conn:
            index = await repos.conversations.next_index(conn, conv.sid)
            await repos.messages.insert(conn, ConversationMessage(
                new_sid(SidPrefix.CONVERSATION_MESSAGE), ACCOUNT, SERVICE, conv.sid, index, "a", f"m{i}", None, "{}",
                None, T0, T0))

    await asyncio.gather(*(add(i) for i in range(7)))  # concurrent writers never share an index
    async with db.read() as conn:
        assert (await repos.conversations.get(conn, conv.sid)).last_index == 6  # type: ignore[union-attr]
        seen, cursor = [], Cursor()
        while True:
            page = await repos.messages.page_ordered(conn, conv.sid, 3, cursor, ascending=True)
            seen += [m.idx for m in page.items]
            if page.next_token is None:
                break
            cursor = Cursor.parse(page.next_token)
        assert seen == list(range(7))
        back = await repos.messages.page_ordered(conn, conv.sid, 3, Cursor.parse(page.previous_token), True)
        assert [m.idx for m in back.items] == [3, 4, 5]
        desc = await repos.messages.page_ordered(conn, conv.sid, 4, Cursor(), ascending=False)
        assert [m.idx for m in desc.items] == [6, 5, 4, 3] and desc.previous_token is None
        following = await repos.messages.page_ordered(conn, conv.sid, 4, Cursor.parse(desc.next_token), False)
        assert [m.idx for m in following.items] == [2, 1, 0] and following.next_token is None


async def test_bindings_of_open_conversations(db: Database) -> None:  # noqa: F811
    repos = ConversationRepositories()
    open_one, closed_one = conversation(), conversation(ConversationState.CLOSED)
    async with db.transaction() as conn:
        for conv in (open_one, closed_one):
            await repos.conversations.insert(conn, conv)
        old = await repos.participants.insert(conn, sms_participant(closed_one, "+15550001", "+15559999"))
        live = await repos.participants.insert(conn, sms_participant(open_one, "+15550001", "+15559999"))
    async with db.read() as conn:
        assert (await repos.participants.open_binding(conn, "+15550001", "+15559999")).sid == live.sid  # type: ignore[union-attr]
        assert await repos.participants.open_binding(conn, "+15550001", "+15558888") is None
        assert old.sid != live.sid


async def test_receipts_read_their_sms_status(db: Database) -> None:  # noqa: F811
    repos, sms_repo = ConversationRepositories(), MessageRepository()
    conv = conversation()
    owner = account()
    sms = Message(new_sid(SidPrefix.MESSAGE), owner.sid, None, Direction.OUTBOUND_API, "+15559999", "+15550001", "hi",
                  MessageStatus.QUEUED, None, None, 1, 0, "GSM-7", None, "USD", None, None, None, None, "POST", None,
                  None, None, None, None, T0, T0)
    msg_sid = new_sid(SidPrefix.CONVERSATION_MESSAGE)
    sent = Receipt(new_sid(SidPrefix.DELIVERY_RECEIPT), ACCOUNT, SERVICE, conv.sid, msg_sid,
                   new_sid(SidPrefix.PARTICIPANT), sms.sid, None, T0, T0)
    never = dataclasses.replace(sent, sid=new_sid(SidPrefix.DELIVERY_RECEIPT), channel_message_sid=None,
                                error_code=21610, participant_sid=new_sid(SidPrefix.PARTICIPANT))
    async with db.transaction() as conn:
        await AccountRepository().insert(conn, owner)
        await sms_repo.insert(conn, sms)
        await repos.receipts.insert(conn, sent)
        await repos.receipts.insert(conn, never)
    async with db.read() as conn:
        views = (await repos.receipts.views_for(conn, [msg_sid]))[msg_sid]
        assert [(v.status, v.error_code) for v in views] == [("sent", 0), ("failed", 21610)]
    async with db.transaction() as conn:
        await sms_repo.set_status(conn, sms, MessageStatus.UNDELIVERED, T0 + timedelta(seconds=5),
                                  {"error_code": 30003})
    async with db.read() as conn:
        view = await repos.receipts.view(conn, msg_sid, sent.sid)
        assert view is not None and (view.status, view.error_code) == ("undelivered", 30003)
        assert view.date_updated == T0 + timedelta(seconds=5)
        page = await repos.receipts.page_views(conn, msg_sid, 1, Cursor())
        assert len(page.items) == 1 and page.next_token is not None


async def test_chat_receipts_once_per_participant_and_read_horizon(db: Database) -> None:  # noqa: F811
    """Web chat: a chat participant's receipt carries its own status; several sockets record it once."""
    repos = ConversationRepositories()
    conv = conversation()
    reader = new_sid(SidPrefix.PARTICIPANT)
    author = new_sid(SidPrefix.PARTICIPANT)
    messages = [ConversationMessage(new_sid(SidPrefix.CONVERSATION_MESSAGE), ACCOUNT, SERVICE, conv.sid, i, "a",
                                    f"m{i}", None, "{}", reader if i == 2 else author, T0, T0) for i in range(4)]

    def chat_receipt(message: ConversationMessage, status: str) -> Receipt:
        return Receipt(new_sid(SidPrefix.DELIVERY_RECEIPT), ACCOUNT, SERVICE, conv.sid, message.sid, reader, None,
                       None, T0, T0, status)

    async with db.transaction() as conn:
        await repos.conversations.insert(conn, conv)
        for message in messages:
            await repos.messages.insert(conn, message)
        await repos.receipts.record_chat(conn, [chat_receipt(messages[0], "delivered")])
        await repos.receipts.record_chat(conn, [chat_receipt(messages[0], "delivered"),  # a second socket: kept once
                                                chat_receipt(messages[1], "delivered")])
    async with db.read() as conn:
        views = await repos.receipts.views_for(conn, [m.sid for m in messages])
        assert [(v.status, v.error_code) for v in views[messages[0].sid]] == [("delivered", 0)]
        # Messages 2 (the reader's own) and 3 have no receipt; 0 and 1 do.
        assert await repos.receipts.unreceipted(conn, reader, conv.sid, -1, 3) == [(messages[3].sid, 3)]
        assert await repos.receipts.unreceipted(conn, reader, conv.sid, -1, 2) == []
    async with db.transaction() as conn:
        await repos.receipts.mark_read(conn, reader, conv.sid, 0, T0 + timedelta(seconds=1))
    async with db.read() as conn:
        views = await repos.receipts.views_for(conn, [m.sid for m in messages])
        assert [v.status for v in views[messages[0].sid]] == ["read"]
        assert [v.status for v in views[messages[1].sid]] == ["delivered"]  # past the horizon
    async with db.transaction() as conn:  # a late "delivered" never turns a read receipt back
        await repos.receipts.record_chat(conn, [chat_receipt(messages[0], "delivered")])
    async with db.read() as conn:
        assert [v.status for v in (await repos.receipts.views_for(conn, [messages[0].sid]))[messages[0].sid]] == [
            "read"]


async def test_after_commit_runs_only_after_a_commit(db: Database) -> None:  # noqa: F811
    seen: list[str] = []
    async with db.transaction() as conn:
        conn.after_commit(lambda: seen.append("committed"))
        assert seen == []
    assert seen == ["committed"]
    try:
        async with db.transaction() as conn:
            conn.after_commit(lambda: seen.append("rolled back"))
            raise RuntimeError("undo")
    except RuntimeError:
        pass
    assert seen == ["committed"]
