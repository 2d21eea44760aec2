"""Web chat use cases: what a browser holding an access token may do in a conversation.

A token names an identity in a conversation service (``access_tokens``). That identity may act
only in conversations where it is a chat participant, checked on every request (a participant
removed over REST loses access at once). Sending goes through the same path as the REST API
(``ConversationMessages.add_message``) with ``Source=SDK``: pre-event webhooks can block or
change it, post-events fire, and SMS participants get their copies. Editing and removing go
through the same paths as ``POST``/``DELETE …/Messages/{Sid}``. Every action that changes a
message is checked against the participant's conversation role (Twilio's permission names:
``sendMessage``, ``editOwnMessage``, ``deleteAnyMessage``, …), read afresh each time so a role
changed over REST applies at once. Reading moves the participant's read horizon, turns its chat
receipts up to there into ``read`` and fires ``onParticipantUpdated`` as Twilio does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from openline.core.clock import Clock
from openline.core.conversations import (
    DEFAULT_ROLES,
    ChannelType,
    ChatAction,
    ChatService,
    Conversation,
    Participant,
    Receipt,
    Source,
    chat_permitted,
)
from openline.core.errors import TwilioError
from openline.core.sids import SidPrefix, new_sid
from openline.services.access_tokens import AccessTokens, ChatIdentity
from openline.services.conversation_events import ConversationEvents, participant_params
from openline.services.conversation_messages import ConversationMessages, MessageView
from openline.services.conversations import Conversations
from openline.services.queue import Wakeup
from openline.storage.chat_feed import ChatFeed, read_notice, typing_notice
from openline.storage.database import Conn, Database
from openline.storage.paging import Cursor
from openline.storage.repositories.conversations import ConversationRepositories

READ_RECEIPT_WINDOW = 1000  # a read horizon records read receipts for at most this many older messages
# A participant whose role is gone (and whose service names no default) is a plain "channel user".
CHANNEL_USER = frozenset(next(p for name, _, p in DEFAULT_ROLES if name == "channel user"))


@dataclass(frozen=True, slots=True)
class Membership:
    conversation: Conversation
    participant: Participant


@dataclass(frozen=True, slots=True)
class Joined:
    conversation: Conversation
    participant: Participant
    participants: list[Participant]


@dataclass(frozen=True, slots=True)
class HistoryPage:
    messages: list[MessageView]  # oldest first
    has_more: bool  # older messages exist


class WebChat:
    def __init__(self, db: Database, clock: Clock, wakeup: Wakeup, repos: ConversationRepositories,
                 conversations: Conversations, messages: ConversationMessages, events: ConversationEvents,
                 tokens: AccessTokens, feed: ChatFeed) -> None:
        self._db = db
        self._wakeup = wakeup
        self._events = events
        self._clock = clock
        self._repos = repos
        self._conversations = conversations
        self._messages = messages
        self._tokens = tokens
        self._feed = feed

    async def authenticate(self, token: str) -> ChatIdentity:
        return await self._tokens.verify_chat(token)

    async def _member(self, conn: Conn, who: ChatIdentity, conversation: str) -> Membership:
        found = await self._conversations.find(conn, who.service, conversation)
        participant = await self._repos.participants.by_identity(conn, found.sid, who.identity)
        if participant is None or participant.channel is not ChannelType.CHAT:
            raise TwilioError(20403, f"{who.identity} is not a participant of conversation {conversation}")
        return Membership(found, participant)

    async def membership(self, who: ChatIdentity, conversation: str) -> Membership:
        async with self._db.read() as conn:
            return await self._member(conn, who, conversation)

    async def join(self, who: ChatIdentity, conversation: str) -> Joined:
        async with self._db.read() as conn:
            member = await self._member(conn, who, conversation)
            participants = await self._repos.participants.of_conversation(conn, member.conversation.sid)
        return Joined(member.conversation, member.participant, participants)

    async def _permissions(self, conn: Conn, service: ChatService, participant: Participant) -> frozenset[str]:
        for sid in (participant.role_sid, service.default_conversation_role_sid):
            role = await self._repos.roles.get(conn, sid) if sid else None
            # Only a conversation role speaks for a participant (a service role names service actions).
            if role is not None and role.chat_service_sid == service.sid and role.type == "conversation":
                return frozenset(json.loads(role.permissions))
        return CHANNEL_USER

    async def _allowed(self, who: ChatIdentity, conversation: str, actions: list[ChatAction],
                       message_sid: str | None = None) -> Membership:
        """The membership, if the participant's role allows every one of ``actions`` (on that message)."""
        async with self._db.read() as conn:
            member = await self._member(conn, who, conversation)
            permissions = await self._permissions(conn, who.service, member.participant)
            own = True
            if message_sid is not None:
                message = await self._repos.messages.get(conn, message_sid)
                if message is None or message.conversation_sid != member.conversation.sid:
                    raise TwilioError(20404, f"Message {message_sid} was not found")
                own = message.participant_sid == member.participant.sid
        for action in actions:
            if not chat_permitted(permissions, action, own):
                whose = "its own" if own else "another participant's"
                raise TwilioError(50107, f"The role of {who.identity} does not allow: {action.value} "
                                         f"({whose} message)")
        return member

    async def send(self, who: ChatIdentity, conversation: str, body: str, attributes: str) -> MessageView:
        member = await self._allowed(who, conversation, [ChatAction.SEND])
        return await self._messages.add_message(
            who.account, who.service, member.conversation.sid,
            {"author": who.identity, "body": body, "attributes": attributes}, webhooks=True, source=Source.SDK)

    async def update(self, who: ChatIdentity, conversation: str, message_sid: str, body: str | None,
                     attributes: str | None) -> MessageView:
        actions = ([ChatAction.EDIT_BODY] if body is not None else []) + (
            [ChatAction.EDIT_ATTRIBUTES] if attributes is not None else [])
        member = await self._allowed(who, conversation, actions, message_sid)
        values = {k: v for k, v in (("body", body), ("attributes", attributes)) if v is not None}
        return await self._messages.update_message(who.service, member.conversation.sid, message_sid, values,
                                                   webhooks=True, source=Source.SDK, client_identity=who.identity)

    async def remove(self, who: ChatIdentity, conversation: str, message_sid: str) -> int:
        """Remove a message; its index."""
        member = await self._allowed(who, conversation, [ChatAction.REMOVE], message_sid)
        removed = await self._messages.remove_message(who.service, member.conversation.sid, message_sid,
                                                      webhooks=True, source=Source.SDK, client_identity=who.identity)
        return removed.idx

    async def history(self, who: ChatIdentity, conversation: str, before: int | None, limit: int) -> HistoryPage:
        """The newest ``limit`` messages, or those just older than index ``before``; oldest first."""
        async with self._db.read() as conn:
            member = await self._member(conn, who, conversation)
            # Listed newest first, so "after" a cursor index means older than it.
            page = await self._repos.messages.page_ordered(
                conn, member.conversation.sid, limit, Cursor(after_id=before), ascending=False)
            receipts = await self._repos.receipts.views_for(conn, [m.sid for m in page.items])
        views = [MessageView(m, receipts.get(m.sid, [])) for m in reversed(page.items)]
        return HistoryPage(views, page.next_token is not None)

    async def typing(self, who: ChatIdentity, member: Membership) -> None:
        await self._feed.announce_now(typing_notice(member.conversation.sid, member.participant.sid, who.identity))

    async def read(self, who: ChatIdentity, conversation: str, index: int) -> Participant:
        """Move the read horizon to ``index``: receipts of others' messages up to it become ``read``."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            member = await self._member(conn, who, conversation)
            current = await self._repos.conversations.get(conn, member.conversation.sid)
            newest = current.last_index if current is not None else -1
            if index > newest:
                raise TwilioError(20001, f"index {index} is past the conversation's newest message ({newest})")
            before = member.participant.last_read_message_index
            participant = replace(member.participant, last_read_message_index=index,
                                  last_read_timestamp=now.strftime("%Y-%m-%dT%H:%M:%SZ"), date_updated=now)
            await self._repos.participants.change(conn, participant.sid, {
                "last_read_message_index": index, "last_read_timestamp": participant.last_read_timestamp,
                "date_updated": now})
            await self._repos.receipts.mark_read(conn, participant.sid, member.conversation.sid, index, now)
            # Messages never pushed to a socket of this participant get their receipt now, already read.
            floor = index - READ_RECEIPT_WINDOW
            after = max(before, floor) if before is not None and before < index else floor
            missing = await self._repos.receipts.unreceipted(conn, participant.sid, member.conversation.sid,
                                                             after, index)
            await self._repos.receipts.record_chat(conn, [Receipt(
                sid=new_sid(SidPrefix.DELIVERY_RECEIPT), account_sid=who.account.sid,
                chat_service_sid=member.conversation.chat_service_sid, conversation_sid=member.conversation.sid,
                message_sid=sid, participant_sid=participant.sid, channel_message_sid=None, error_code=None,
                date_created=now, date_updated=now, status="read") for sid, _ in missing])
            await self._feed.announce(conn, read_notice(member.conversation.sid, participant.sid, who.identity,
                                                        index))
            if before != index:  # as on Twilio, a moved read horizon is a participant update
                params = [*participant_params(participant, Source.SDK), ("ClientIdentity", who.identity)]
                await self._events.post(conn, who.service, member.conversation.sid, "onParticipantUpdated", params)
        self._wakeup.notify()
        return participant
