"""The live side of web chat in one process: which sockets follow which conversation, and pushing.

Notices come from :class:`openline.storage.chat_feed.ChatFeed` (LISTEN/NOTIFY on PostgreSQL,
after-commit in-process on SQLite). A message notice names a conversation only; the hub then
reads what each following socket has not seen yet (its own horizon, ``pushed``) from the
table, so notices may coalesce, come twice or arrive late without a message being lost or
doubled. One catch-up runs per conversation at a time; a notice during it asks for another
round. Pushing a message to a chat participant's live socket records its delivery receipt
(``delivered``), once per participant however many sockets it has open. Edits and removals are
told by the same catch-up, after the new messages it pushed, to the sockets that have the
message; so no socket gets a message as it was before a change after that change's frame.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from openline.core.chat_protocol import message_json
from openline.core.clock import Clock
from openline.core.conversations import ConversationMessage, Receipt
from openline.core.sids import SidPrefix, new_sid
from openline.storage.chat_feed import ChatFeed
from openline.storage.database import Database
from openline.storage.paging import Cursor
from openline.storage.repositories.conversations import ConversationRepositories

log = logging.getLogger("openline.chat")

PUSH_BATCH = 100  # messages read per round; a socket further behind gets the rest next round
MAX_ROUNDS = 10  # rounds per catch-up before yielding to other conversations (a notice resumes it)


@dataclass(eq=False)
class Subscription:
    """One socket following one conversation as one participant."""

    push: Callable[[dict[str, Any]], None]  # non-blocking: the socket's bounded outbox
    account_sid: str
    conversation_sid: str
    participant_sid: str
    pushed: int  # the highest message index this socket has (from history or pushes)


class ChatHub:
    def __init__(self, db: Database, clock: Clock, repos: ConversationRepositories, feed: ChatFeed) -> None:
        self._db = db
        self._clock = clock
        self._repos = repos
        self._subs: dict[str, set[Subscription]] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        # Edits and removals to tell, per conversation, in notice order: (kind, message SID, index).
        self._changes: dict[str, list[tuple[str, str, int]]] = {}
        self.sockets = 0  # live sockets in this process (the endpoint bounds it)
        feed.attach(self.notice)

    def subscribe(self, sub: Subscription) -> None:
        self._subs.setdefault(sub.conversation_sid, set()).add(sub)
        # A message committed between the caller's read and now would have no notice left: look once.
        self._catch_up(sub.conversation_sid)

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self._subs.get(sub.conversation_sid)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subs[sub.conversation_sid]

    def follows(self, sub: Subscription) -> bool:
        return sub in self._subs.get(sub.conversation_sid, ())

    def followed(self) -> list[str]:
        return list(self._subs)

    def notice(self, payload: str | None) -> None:
        """A notice from the feed (called on the event loop, never blocking)."""
        if payload is None:  # notices may have been lost (the LISTEN connection came back): look everywhere
            for conversation_sid in list(self._subs):
                self._catch_up(conversation_sid)
            return
        try:
            data = json.loads(payload)
            kind, conversation_sid = data["k"], data["c"]
        except (ValueError, KeyError, TypeError):
            log.warning("chat notice not understood: %.100r", payload)
            return
        if conversation_sid not in self._subs:
            return
        if kind == "message":
            self._catch_up(conversation_sid)
        elif kind == "typing":
            frame = {"type": "typing", "conversation": conversation_sid, "participant_sid": data.get("p"),
                     "identity": data.get("i")}
            for sub in list(self._subs.get(conversation_sid, ())):
                if sub.participant_sid != data.get("p"):
                    sub.push(frame)
        elif kind in ("updated", "removed"):
            sid, index = data.get("m"), data.get("x")
            if isinstance(sid, str) and isinstance(index, int) and not isinstance(index, bool):
                # Told by the catch-up, after it pushed what it read: a socket never gets a message
                # read before the change after the change's own frame.
                self._changes.setdefault(conversation_sid, []).append((kind, sid, index))
                self._catch_up(conversation_sid)
        elif kind == "read":
            frame = {"type": "read", "conversation": conversation_sid, "participant_sid": data.get("p"),
                     "identity": data.get("i"), "index": data.get("x")}
            for sub in list(self._subs.get(conversation_sid, ())):
                sub.push(frame)

    async def _push_changes(self, conversation_sid: str) -> None:
        """Tell each socket that has the message about its edit (as it is now) or removal."""
        changes = self._changes.pop(conversation_sid, [])
        edited = [sid for kind, sid, _ in changes if kind == "updated"]
        current: dict[str, ConversationMessage] = {}
        if edited:
            async with self._db.read() as conn:
                for sid in dict.fromkeys(edited):
                    message = await self._repos.messages.get(conn, sid)
                    if message is not None and message.conversation_sid == conversation_sid:
                        current[sid] = message
        subs = list(self._subs.get(conversation_sid, ()))
        for kind, sid, index in changes:
            if kind == "removed":
                frame = {"type": "message_removed", "conversation": conversation_sid,
                         "message": {"sid": sid, "index": index}}
            elif sid in current:
                frame = {"type": "message_updated", "conversation": conversation_sid,
                         "message": message_json(current[sid])}
            else:  # removed since: its own notice tells
                continue
            # A socket that gets the message later reads it as it is then (or not at all).
            for sub in subs:
                if sub.pushed >= index:
                    sub.push(frame)

    def _catch_up(self, conversation_sid: str) -> None:
        if conversation_sid in self._running:
            self._again.add(conversation_sid)
            return
        self._running[conversation_sid] = asyncio.get_running_loop().create_task(
            self._run(conversation_sid), name=f"chat-{conversation_sid}")

    async def _run(self, conversation_sid: str) -> None:
        try:
            for _ in range(MAX_ROUNDS):
                self._again.discard(conversation_sid)
                more = await self._push_new(conversation_sid)
                if conversation_sid in self._changes:
                    await self._push_changes(conversation_sid)
                if not more and conversation_sid not in self._again:
                    break
        except Exception:
            log.exception("pushing chat messages of %s failed", conversation_sid)
        finally:
            del self._running[conversation_sid]
        if conversation_sid in self._again:
            self._catch_up(conversation_sid)

    async def _push_new(self, conversation_sid: str) -> bool:
        """Push each socket the messages past its horizon; True if there may be more."""
        subs = list(self._subs.get(conversation_sid, ()))
        if not subs:
            return False
        low = min(sub.pushed for sub in subs)
        async with self._db.read() as conn:
            page = await self._repos.messages.page_ordered(conn, conversation_sid, PUSH_BATCH, Cursor(after_id=low),
                                                           True)
            present = {p.sid for p in await self._repos.participants.of_conversation(conn, conversation_sid)} \
                if page.items else set()
        if not page.items:
            return False
        # A participant removed (or its conversation deleted) stops receiving at once.
        for sub in [s for s in subs if s.participant_sid not in present]:
            self.unsubscribe(sub)
            sub.push({"type": "left", "conversation": conversation_sid, "reason": "removed"})
        subs = [s for s in subs if s.participant_sid in present]
        now = self._clock.now()
        receipts: dict[tuple[str, str], Receipt] = {}
        for sub in subs:
            for message in page.items:
                if message.idx <= sub.pushed:
                    continue
                sub.push({"type": "message", "conversation": conversation_sid, "message": message_json(message)})
                sub.pushed = message.idx
                if message.participant_sid != sub.participant_sid:
                    receipts[(message.sid, sub.participant_sid)] = Receipt(
                        sid=new_sid(SidPrefix.DELIVERY_RECEIPT), account_sid=message.account_sid,
                        chat_service_sid=message.chat_service_sid, conversation_sid=conversation_sid,
                        message_sid=message.sid, participant_sid=sub.participant_sid, channel_message_sid=None,
                        error_code=None, date_created=now, date_updated=now, status="delivered")
        if receipts:
            async with self._db.transaction() as conn:
                await self._repos.receipts.record_chat(conn, list(receipts.values()))
        return page.next_token is not None

    async def idle(self) -> None:
        """Wait for running catch-ups (tests and shutdown)."""
        while self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)
