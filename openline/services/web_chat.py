"""Web chat use cases: what a browser holding an access token may do in a conversation.

A token names an identity in a conversation service (``access_tokens``). That identity may act
only in conversations where it is a chat participant, checked on every request (a participant
removed over REST loses access at once). Sending goes through the same path as the REST API
(``ConversationMessages.add_message``) with ``Source=SDK``: pre-event webhooks can block or
change it, post-events fire, and SMS participants get their copies. Reading moves the
participant's read horizon and turns its chat receipts up to there into ``read``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from openline.core.clock import Clock
from openline.core.conversations import ChannelType, Conversation, Participant, Receipt, Source
from openline.core.errors import TwilioError
from openline.core.sids import SidPrefix, new_sid
from openline.services.access_tokens import AccessTokens, ChatIdentity
from openline.services.conversation_messages import ConversationMessages, MessageView
from openline.services.conversations import Conversations
from openline.storage.chat_feed import ChatFeed, read_notice, typing_notice
from openline.storage.database import Conn, Database
from openline.storage.paging import Cursor
from openline.storage.repositories.conversations import ConversationRepositories

READ_RECEIPT_WINDOW = 1000  # a read horizon records read receipts for at most this many older messages


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
    def __init__(self, db: Database, clock: Clock, repos: ConversationRepositories, conversations: Conversations,
                 messages: ConversationMessages, tokens: AccessTokens, feed: ChatFeed) -> None:
        self._db = db
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

    async def send(self, who: ChatIdentity, conversation: str, body: str, attributes: str) -> MessageView:
        member = await self.membership(who, conversation)
        return await self._messages.add_message(
            who.account, who.service, member.conversation.sid,
            {"author": who.identity, "body": body, "attributes": attributes}, webhooks=True, source=Source.SDK)

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
        return participant
