"""The chat hub's ordering of edits and removals against new messages, on SQLite and PostgreSQL:
a socket never holds a message as it was before a change once that change has been told."""

from __future__ import annotations

from typing import Any

from openline.core.clock import SystemClock
from openline.core.conversations import ChannelType, ConversationMessage, Participant
from openline.core.sids import SidPrefix, new_sid
from openline.services.chat_hub import ChatHub, Subscription
from openline.storage.chat_feed import ChatFeed, message_changed_notice, message_notice
from openline.storage.database import Database
from openline.storage.repositories.conversations import ConversationRepositories
from tests.storage.test_conversation_repositories import ACCOUNT, SERVICE, conversation
from tests.storage.test_repositories import T0, database_url, db  # noqa: F401  (fixtures)


async def test_changes_follow_the_messages_they_change(db: Database) -> None:  # noqa: F811
    repos = ConversationRepositories()
    conv = conversation()
    reader = Participant(new_sid(SidPrefix.PARTICIPANT), ACCOUNT, SERVICE, conv.sid, ChannelType.CHAT, "reader",
                         None, None, "{}", None, None, None, T0, T0)
    async with db.transaction() as conn:
        await repos.conversations.insert(conn, conv)
        await repos.participants.insert(conn, reader)

    async def add(body: str) -> ConversationMessage:
        async with db.transaction() as conn:
            index = await repos.conversations.next_index(conn, conv.sid)
            message = ConversationMessage(new_sid(SidPrefix.CONVERSATION_MESSAGE), ACCOUNT, SERVICE, conv.sid, index,
                                          "writer", body, None, "{}", None, T0, T0)
            await repos.messages.insert(conn, message)
        return message

    hub = ChatHub(db, SystemClock(), repos, ChatFeed(db))
    frames: list[dict[str, Any]] = []
    hub.subscribe(Subscription(frames.append, ACCOUNT, conv.sid, reader.sid, -1))
    await hub.idle()

    # Added, then edited before any catch-up ran: the socket gets the new text, in order.
    first = await add("frist")
    async with db.transaction() as conn:
        await repos.messages.change(conn, first.sid, {"body": "first"})
    hub.notice(message_notice(conv.sid))
    hub.notice(message_changed_notice(conv.sid, first.sid, first.idx, removed=False))
    await hub.idle()
    assert [(f["type"], f["message"]["body"]) for f in frames] == [("message", "first"), ("message_updated", "first")]

    # Added and removed before the catch-up: never shown, and the removal names nothing it has.
    frames.clear()
    gone = await add("oops")
    async with db.transaction() as conn:
        await repos.messages.delete(conn, gone.sid)
    hub.notice(message_notice(conv.sid))
    hub.notice(message_changed_notice(conv.sid, gone.sid, gone.idx, removed=True))
    await hub.idle()
    assert frames == []

    # Edited after it was pushed, then removed: both told, in that order.
    second = await add("second")
    hub.notice(message_notice(conv.sid))
    await hub.idle()
    async with db.transaction() as conn:
        await repos.messages.change(conn, second.sid, {"body": "second!"})
        await repos.messages.delete(conn, second.sid)
    hub.notice(message_changed_notice(conv.sid, second.sid, second.idx, removed=False))
    hub.notice(message_changed_notice(conv.sid, second.sid, second.idx, removed=True))
    await hub.idle()
    # The edit's row is gone by the time it is read: only the removal is told.
    assert [f["type"] for f in frames] == ["message", "message_removed"]
    assert frames[-1]["message"] == {"sid": second.sid, "index": second.idx}

    # A notice that is not understood costs nothing.
    hub.notice(f'{{"k": "updated", "c": "{conv.sid}", "m": 5}}')
    await hub.idle()
    assert len(frames) == 2
