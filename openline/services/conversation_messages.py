"""Conversation messages (IM…): adding one fans it out to every other SMS participant; delivery
receipts (DY…) follow each copy's SMS.

A message added to a conversation is stored with the next index, and in the same transaction
every *other* SMS participant gets an ordinary outbound SMS from its proxy address
(``MessagingService.accept``: durable, dispatched by the SMS pipeline) and a delivery receipt
that reads that SMS's status. A copy that cannot even be accepted (an opted-out handset, a body
over 1,600 characters) leaves the message standing and its receipt ``failed`` with the SMS
error code. An inactive conversation becomes active again, and its inactive timer restarts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from openline.core.clock import Clock
from openline.core.conversations import (
    DEFAULT_AUTHOR,
    MAX_BODY,
    ChannelType,
    ChatService,
    Conversation,
    ConversationMessage,
    ConversationState,
    Participant,
    Receipt,
    ReceiptView,
    Source,
    delivery_summary,
)
from openline.core.entities import Account
from openline.core.errors import TwilioError
from openline.core.lifecycle import Direction
from openline.core.messaging import Message
from openline.core.sids import SidPrefix, is_sid, new_sid
from openline.services.accounts import not_found
from openline.services.conversation_admin import check_attributes, check_name
from openline.services.conversation_events import ConversationEvents, message_params
from openline.services.conversations import Conversations
from openline.services.messaging import MessagingService as Sender
from openline.services.messaging import SendRequest
from openline.services.queue import Wakeup
from openline.services.urls import PublicUrl
from openline.storage.chat_feed import ChatFeed, message_changed_notice, message_notice
from openline.storage.database import Conn, Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories.conversations import ConversationRepositories
from openline.storage.repositories.messaging import MediaRepository


@dataclass(frozen=True, slots=True)
class MessageView:
    message: ConversationMessage
    receipts: list[ReceiptView]

    @property
    def delivery(self) -> dict[str, object] | None:
        return delivery_summary([r.status for r in self.receipts])

    @property
    def sms_delivery(self) -> dict[str, object] | None:
        """The SMS copies only (the console's wording); chat receipts have their own status."""
        return delivery_summary([r.status for r in self.receipts if r.receipt.status is None])

    @property
    def chat_seen(self) -> dict[str, int] | None:
        """Chat participants that got the message on a live socket, and those that read it."""
        chat = [r.status for r in self.receipts if r.receipt.status is not None]
        return {"total": len(chat), "read": chat.count("read")} if chat else None


@dataclass(frozen=True, slots=True)
class Thread:
    conversation: Conversation
    participants: list[Participant]
    messages: list[MessageView]


class ConversationMessages:
    def __init__(self, db: Database, clock: Clock, wakeup: Wakeup, repos: ConversationRepositories,
                 conversations: Conversations, events: ConversationEvents, sender: Sender, media: MediaRepository,
                 urls: PublicUrl, feed: ChatFeed | None = None) -> None:
        self._db = db
        self._clock = clock
        self._wakeup = wakeup
        self._repos = repos
        self._conversations = conversations
        self._events = events
        self._sender = sender
        self._media = media
        self._urls = urls
        self._feed = feed  # tells live chat sockets (web chat) about every message added

    async def _media_for(self, conn: Conn, account: Account, media_sid: str | None) -> str | None:
        """A message's media: a media item Openline holds for the account (ME…, e.g. from an inbound MMS)."""
        if not media_sid:
            return None
        item = await self._media.get(conn, media_sid, account_sids=[account.sid]) \
            if is_sid(media_sid, SidPrefix.MEDIA) else None
        if item is None:
            raise TwilioError(20001, f"MediaSid {media_sid} is not a media item of this account")
        return json.dumps([{"sid": item.sid, "content_type": item.content_type, "filename": None,
                            "size": item.size or 0, "category": "media",
                            "message_sid": item.message_sid}])

    async def add_message(self, account: Account, service: ChatService, conversation_sid: str,
                          values: Mapping[str, Any], webhooks: bool, source: Source = Source.API) -> MessageView:
        """Add a message (REST, or a chat socket with ``source`` SDK: then ``author`` is its identity)."""
        values = dict(values)
        if values.get("content_sid"):
            raise TwilioError(20001, "ContentSid (content templates) is not served yet")
        body = values.get("body")
        if body is not None and len(body) > MAX_BODY:
            raise TwilioError(20001, f"Body must be at most {MAX_BODY} characters")
        if not body and not values.get("media_sid"):
            raise TwilioError(20001, "Give a Body or a MediaSid")
        check_attributes(values.get("attributes") or "{}")
        check_name(values.get("author"), "Author")
        conversation = await self._conversations.get(service, conversation_sid)
        if conversation.state is ConversationState.CLOSED:
            raise TwilioError(20001, f"Conversation {conversation.sid} is closed")
        if webhooks:
            params = [
                ("AccountSid", account.sid), ("ChatServiceSid", service.sid), ("ConversationSid", conversation.sid),
                ("Author", values.get("author") or DEFAULT_AUTHOR), ("Body", body or ""),
                ("Attributes", values.get("attributes") or "{}"), ("Source", source.value)]
            if source is Source.SDK:  # Twilio names the chat client that acts
                params.append(("ClientIdentity", values.get("author") or ""))
            outcome = await self._events.pre(service, "onMessageAdd", params, conversation.sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onMessageAdd pre-event webhook {outcome.blocked_by} rejected the "
                                         "message")
            # A chat client's message stays its identity's: a hook may change body and attributes only.
            for key in ("body", "attributes") if source is Source.SDK else ("body", "author", "attributes"):
                if isinstance(outcome.changes.get(key), str):
                    values[key] = outcome.changes[key]
            check_attributes(values.get("attributes") or "{}")
        async with self._db.transaction() as conn:
            conversation = await self._conversations.find(conn, service, conversation_sid)
            media = await self._media_for(conn, account, values.get("media_sid"))
            author = values.get("author") or DEFAULT_AUTHOR
            by = await self._repos.participants.by_identity(conn, conversation.sid, author) \
                or await self._repos.participants.by_address(conn, conversation.sid, author)
            if source is Source.SDK and by is None:  # the identity left the conversation meanwhile
                raise TwilioError(20403, f"{author} is not a participant of conversation {conversation.sid}")
            view = await self.add_message_in(conn, account, service, conversation, by, author, values.get("body"),
                                             media, values, source, webhooks)
        self._wakeup.notify()
        return view

    async def add_message_in(self, conn: Conn, account: Account, service: ChatService, conversation: Conversation,
                             by: Participant | None, author: str, body: str | None, media: str | None,
                             values: Mapping[str, Any], source: Source, webhooks: bool) -> MessageView:
        """Store the message, send a copy to every other SMS participant, queue its events (caller's transaction)."""
        if conversation.state is ConversationState.CLOSED:
            raise TwilioError(20001, f"Conversation {conversation.sid} is closed")
        now = self._clock.now()
        index = await self._repos.conversations.next_index(conn, conversation.sid)
        message = ConversationMessage(
            sid=new_sid(SidPrefix.CONVERSATION_MESSAGE), account_sid=account.sid, chat_service_sid=service.sid,
            conversation_sid=conversation.sid, idx=index, author=author, body=body, media=media,
            attributes=values.get("attributes") or "{}", participant_sid=by.sid if by else None,
            date_created=values.get("date_created") or now, date_updated=values.get("date_updated") or now)
        await self._repos.messages.insert(conn, message)
        if self._feed is not None:
            await self._feed.announce(conn, message_notice(conversation.sid))
        # Activity: an inactive conversation wakes up and the inactive timer restarts.
        before = conversation
        after = self._conversations.restart_timers(replace(conversation, state=ConversationState.ACTIVE,
                                                           date_updated=now, last_index=index),
                             now, True, False)
        await self._repos.conversations.change(conn, conversation.sid, {
            "state": after.state, "date_updated": now, "date_inactive": after.date_inactive})
        await self._conversations.schedule(conn, after)
        receipts = await self._fan_out(conn, account, after, message, by)
        if webhooks:
            await self._events.post(conn, service, conversation.sid, "onMessageAdded",
                                    message_params(message, source, author if source is Source.SDK else None),
                                    body=body)
        if before.state is not after.state:
            await self._conversations.state_event(conn, service, before, after, "MESSAGE")
        return MessageView(message, receipts)

    async def _fan_out(self, conn: Conn, account: Account, conversation: Conversation, message: ConversationMessage,
                       by: Participant | None) -> list[ReceiptView]:
        media_urls = []
        for item in json.loads(message.media) if message.media else []:
            media_urls.append(self._urls.media(account.sid, item["message_sid"], item["sid"]))
        views = []
        now = self._clock.now()
        for participant in await self._repos.participants.of_conversation(conn, conversation.sid):
            if participant.channel is ChannelType.CHAT or (by is not None and participant.sid == by.sid):
                continue
            sms: Message | None = None
            error: TwilioError | None = None
            try:
                async with conn.begin_nested():
                    sms = await self._sender.accept(conn, account, SendRequest(
                        to=participant.address, from_=participant.proxy_address, body=message.body or "",
                        media_urls=media_urls, direction=Direction.OUTBOUND_API))
            except TwilioError as exc:  # the message stands; this copy's receipt says why it failed
                error = exc
            receipt = Receipt(
                sid=new_sid(SidPrefix.DELIVERY_RECEIPT), account_sid=account.sid,
                chat_service_sid=message.chat_service_sid, conversation_sid=conversation.sid,
                message_sid=message.sid, participant_sid=participant.sid,
                channel_message_sid=sms.sid if sms else None, error_code=error.code if error else None,
                date_created=now, date_updated=now)
            await self._repos.receipts.insert(conn, receipt)
            views.append(ReceiptView(receipt, "sent" if sms else "failed", error.code if error else 0, now))
        return views

    async def message(self, service: ChatService, conversation_sid: str, sid: str) -> MessageView:
        async with self._db.read() as conn:
            conversation = await self._conversations.find(conn, service, conversation_sid)
            message = await self._repos.messages.get(conn, sid) if is_sid(sid, SidPrefix.CONVERSATION_MESSAGE) \
                else None
            if message is None or message.conversation_sid != conversation.sid:
                raise not_found(f"Message {sid} was not found")
            receipts = await self._repos.receipts.views_for(conn, [message.sid])
        return MessageView(message, receipts.get(message.sid, []))

    async def messages(self, service: ChatService, conversation_sid: str, size: int, cursor: Cursor,
                       ascending: bool) -> Page[MessageView]:
        async with self._db.read() as conn:
            conversation = await self._conversations.find(conn, service, conversation_sid)
            page = await self._repos.messages.page_ordered(conn, conversation.sid, size, cursor, ascending)
            receipts = await self._repos.receipts.views_for(conn, [m.sid for m in page.items])
        return Page([MessageView(m, receipts.get(m.sid, [])) for m in page.items], page.next_token,
                    page.previous_token)

    async def update_message(self, service: ChatService, conversation_sid: str, sid: str,
                             values: Mapping[str, Any], webhooks: bool, source: Source = Source.API,
                             client_identity: str | None = None) -> MessageView:
        """Change a message (REST, or a chat socket with ``source`` SDK and the identity that acts: then
        its author stays)."""
        values = dict(values)
        if "attributes" in values:
            check_attributes(values["attributes"])
        if values.get("body") is not None and len(values["body"]) > MAX_BODY:
            raise TwilioError(20001, f"Body must be at most {MAX_BODY} characters")
        current = await self.message(service, conversation_sid, sid)
        if webhooks:
            outcome = await self._events.pre(service, "onMessageUpdate", message_params(
                replace(current.message, **values), source, client_identity), current.message.conversation_sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onMessageUpdate pre-event webhook {outcome.blocked_by} rejected the "
                                         "change")
            for key in ("body", "attributes") if source is Source.SDK else ("body", "author", "attributes"):
                if isinstance(outcome.changes.get(key), str):
                    values[key] = outcome.changes[key]
        updated = replace(current.message, **values, date_updated=values.get("date_updated") or self._clock.now())
        async with self._db.transaction() as conn:
            await self._repos.messages.change(conn, updated.sid, {
                k: getattr(updated, k) for k in (*values, "date_updated")})
            if webhooks:
                await self._events.post(conn, service, updated.conversation_sid, "onMessageUpdated",
                                        message_params(updated, source, client_identity))
            if self._feed is not None:
                await self._feed.announce(conn, message_changed_notice(updated.conversation_sid, updated.sid,
                                                                       updated.idx, removed=False))
        self._wakeup.notify()
        return MessageView(updated, current.receipts)

    async def remove_message(self, service: ChatService, conversation_sid: str, sid: str, webhooks: bool,
                             source: Source = Source.API, client_identity: str | None = None) -> ConversationMessage:
        current = await self.message(service, conversation_sid, sid)
        if webhooks:
            outcome = await self._events.pre(service, "onMessageRemove", message_params(
                current.message, source, client_identity), current.message.conversation_sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onMessageRemove pre-event webhook {outcome.blocked_by} kept the "
                                         "message")
        async with self._db.transaction() as conn:
            await self._repos.receipts.delete_for_messages(conn, [current.message.sid])
            await self._repos.messages.delete(conn, current.message.sid)
            if webhooks:
                await self._events.post(conn, service, current.message.conversation_sid, "onMessageRemoved",
                                        message_params(current.message, source, client_identity))
            if self._feed is not None:
                await self._feed.announce(conn, message_changed_notice(
                    current.message.conversation_sid, current.message.sid, current.message.idx, removed=True))
        self._wakeup.notify()
        return current.message

    async def receipt(self, service: ChatService, conversation_sid: str, message_sid: str, sid: str) -> ReceiptView:
        view = await self.message(service, conversation_sid, message_sid)
        for receipt in view.receipts:
            if receipt.receipt.sid == sid:
                return receipt
        raise not_found(f"Delivery receipt {sid} was not found")

    async def receipts(self, service: ChatService, conversation_sid: str, message_sid: str, size: int,
                       cursor: Cursor) -> Page[ReceiptView]:
        view = await self.message(service, conversation_sid, message_sid)
        async with self._db.read() as conn:
            return await self._repos.receipts.page_views(conn, view.message.sid, size, cursor)

    async def thread(self, account_sid: str, sid: str, limit: int = 200) -> Thread | None:
        """A conversation as the console shows it: participants and its newest messages, oldest first."""
        if not is_sid(sid, SidPrefix.CONVERSATION):
            return None
        async with self._db.read() as conn:
            conversation = await self._repos.conversations.get(conn, sid, account_sids=[account_sid])
            if conversation is None:
                return None
            participants = await self._repos.participants.of_conversation(conn, sid)
            page = await self._repos.messages.page_ordered(conn, sid, limit, Cursor(), ascending=False)
            receipts = await self._repos.receipts.views_for(conn, [m.sid for m in page.items])
        return Thread(conversation, participants,
                      [MessageView(m, receipts.get(m.sid, [])) for m in reversed(page.items)])

    async def recent(self, account_sid: str, limit: int = 100) -> list[Conversation]:
        async with self._db.read() as conn:
            return await self._repos.conversations.for_account(conn, account_sid, limit)
