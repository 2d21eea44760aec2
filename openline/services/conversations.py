"""Conversations, participants, messages and their delivery receipts, scoped webhooks and timers.

A message added to a conversation (through the API, or arriving as an SMS from a bound
address) is stored with its index, and in the same transaction every *other* SMS participant
gets an ordinary outbound SMS from its proxy address (``MessagingService.accept``: durable,
dispatched by the SMS pipeline) plus a delivery receipt that follows that SMS's status. Post-event
webhooks are queued in that transaction too. See ``openline.core.conversations`` for the model
and ``openline.services.conversation_events`` for webhooks.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from openline.core.clock import Clock
from openline.core.conversations import (
    DEFAULT_AUTHOR,
    MAX_BODY,
    MIN_CLOSED,
    MIN_INACTIVE,
    SCOPED_EVENTS,
    ChannelType,
    ChatService,
    Conversation,
    ConversationMessage,
    ConversationState,
    Participant,
    Receipt,
    ReceiptView,
    ScopedWebhook,
    Source,
    can_change_state,
    delivery_summary,
    due_state,
    next_deadline,
    parse_duration,
)
from openline.core.dates import iso8601
from openline.core.entities import Account, AccountStatus, IncomingPhoneNumber
from openline.core.errors import TwilioError
from openline.core.lifecycle import Direction
from openline.core.messaging import Message
from openline.core.numbering import parse_e164
from openline.core.sids import SidPrefix, is_sid, new_sid
from openline.services.accounts import not_found
from openline.services.conversation_admin import (
    ConversationAdmin,
    check_attributes,
    check_filters,
    check_name,
    check_timer,
)
from openline.services.conversation_events import ConversationEvents, Hook, Params
from openline.services.messaging import MessagingService as Sender
from openline.services.messaging import SendRequest
from openline.services.queue import Wakeup
from openline.services.urls import PublicUrl
from openline.storage import jobs
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.paging import Cursor, Page
from openline.storage.repositories import AccountRepository, IncomingPhoneNumberRepository
from openline.storage.repositories.conversations import ConversationRepositories
from openline.storage.repositories.messaging import MediaRepository, MessageRepository, MessagingServiceRepository

CONVERSATION_TIMER = "conversation_timer"
CONVERSATION_INBOUND = "conversation_inbound"
WEBHOOK_TARGETS = ("webhook", "trigger")  # Studio flows are not served


@dataclass(frozen=True, slots=True)
class MessageView:
    message: ConversationMessage
    receipts: list[ReceiptView]

    @property
    def delivery(self) -> dict[str, object] | None:
        return delivery_summary([r.status for r in self.receipts])


def _conversation_params(c: Conversation, source: Source) -> Params:
    return [("AccountSid", c.account_sid), ("ChatServiceSid", c.chat_service_sid), ("ConversationSid", c.sid),
            ("FriendlyName", c.friendly_name or ""), ("UniqueName", c.unique_name or ""),
            ("Attributes", c.attributes), ("DateCreated", iso8601(c.date_created) or ""), ("State", c.state.value),
            ("MessagingServiceSid", c.messaging_service_sid or ""), ("Source", source.value)]


def _participant_params(p: Participant, source: Source) -> Params:
    params = [("AccountSid", p.account_sid), ("ChatServiceSid", p.chat_service_sid),
              ("ConversationSid", p.conversation_sid), ("ParticipantSid", p.sid), ("Attributes", p.attributes),
              ("DateCreated", iso8601(p.date_created) or ""), ("RoleSid", p.role_sid or ""), ("Source", source.value)]
    if p.identity is not None:
        params.append(("Identity", p.identity))
    if p.address is not None:
        params += [("MessagingBinding.Address", p.address), ("MessagingBinding.ProxyAddress", p.proxy_address or "")]
    return params


def _message_params(m: ConversationMessage, source: Source) -> Params:
    params = [("AccountSid", m.account_sid), ("ChatServiceSid", m.chat_service_sid),
              ("ConversationSid", m.conversation_sid), ("MessageSid", m.sid), ("Index", str(m.idx)),
              ("Author", m.author), ("Body", m.body or ""), ("Attributes", m.attributes),
              ("ParticipantSid", m.participant_sid or ""), ("DateCreated", iso8601(m.date_created) or ""),
              ("Source", source.value)]
    if m.media:
        params.append(("Media", m.media))
    return params


class Conversations:
    def __init__(self, db: Database, clock: Clock, wakeup: Wakeup, repos: ConversationRepositories,
                 admin: ConversationAdmin, events: ConversationEvents, sender: Sender,
                 numbers: IncomingPhoneNumberRepository, accounts: AccountRepository,
                 messaging_services: MessagingServiceRepository, media: MediaRepository, sms: MessageRepository,
                 urls: PublicUrl) -> None:
        self._db = db
        self._clock = clock
        self._wakeup = wakeup
        self._repos = repos
        self._admin = admin
        self._events = events
        self._sender = sender
        self._numbers = numbers
        self._accounts = accounts
        self._messaging_services = messaging_services
        self._media = media
        self._sms = sms
        self._urls = urls

    # --- conversations -----------------------------------------------------------------------

    async def _find(self, conn: Conn, service: ChatService, sid_or_name: str) -> Conversation:
        if is_sid(sid_or_name, SidPrefix.CONVERSATION):
            conversation = await self._repos.conversations.get(conn, sid_or_name)
        else:
            conversation = await self._repos.conversations.by_unique_name(conn, service.sid, sid_or_name)
        if conversation is None or conversation.chat_service_sid != service.sid:
            raise not_found(f"Conversation {sid_or_name} was not found")
        return conversation

    async def get(self, service: ChatService, sid_or_name: str) -> Conversation:
        async with self._db.read() as conn:
            return await self._find(conn, service, sid_or_name)

    async def list_conversations(self, service: ChatService, size: int, cursor: Cursor,
                                 state: str | None) -> Page[Conversation]:
        if state is not None and state not in {s.value for s in ConversationState}:
            raise TwilioError(20001, "State must be active, inactive or closed")
        async with self._db.read() as conn:
            return await self._repos.conversations.page_for(conn, service.sid, size, cursor, state)

    async def _check_conversation_values(self, service: ChatService, values: dict[str, Any]) -> None:
        check_name(values.get("friendly_name"), "FriendlyName")
        check_name(values.get("unique_name"), "UniqueName")
        if "attributes" in values:
            check_attributes(values["attributes"])
        if "state" in values and values["state"] not in {s.value for s in ConversationState}:
            raise TwilioError(20001, "State must be active, inactive or closed")
        if "timer_inactive" in values:
            values["timer_inactive"] = check_timer(values["timer_inactive"], "Timers.Inactive", MIN_INACTIVE)
        if "timer_closed" in values:
            values["timer_closed"] = check_timer(values["timer_closed"], "Timers.Closed", MIN_CLOSED)
        if values.get("messaging_service_sid"):
            async with self._db.read() as conn:
                found = await self._messaging_services.get(conn, values["messaging_service_sid"],
                                                           account_sids=[service.account_sid])
            if found is None:
                raise TwilioError(21701, f"{values['messaging_service_sid']} is not a messaging service of this "
                                         "account")

    def _timers(self, conversation: Conversation, now: datetime, reset_inactive: bool,
                reset_closed: bool) -> Conversation:
        """Restart the timers the change asks for: the inactive one runs from the last activity."""
        changes: dict[str, Any] = {}
        if reset_inactive:
            inactive = parse_duration(conversation.timer_inactive) if conversation.timer_inactive else None
            changes["date_inactive"] = now + inactive if inactive and \
                conversation.state is ConversationState.ACTIVE else None
        if reset_closed:
            closed = parse_duration(conversation.timer_closed) if conversation.timer_closed else None
            changes["date_closed"] = now + closed if closed and \
                conversation.state is not ConversationState.CLOSED else None
        return replace(conversation, **changes)

    async def _schedule(self, conn: Conn, conversation: Conversation) -> None:
        deadline = next_deadline(conversation)
        if deadline is not None:
            await jobs.enqueue(conn, CONVERSATION_TIMER, {"sid": conversation.sid}, deadline, self._clock.now(),
                               max_attempts=10)

    async def create(self, account: Account, service: ChatService, values: Mapping[str, Any],
                     webhooks: bool) -> Conversation:
        values = dict(values)
        await self._check_conversation_values(service, values)
        if webhooks:
            draft = self._draft(account, service, values, self._clock.now())
            outcome = await self._events.pre(service, "onConversationAdd",
                                             _conversation_params(draft, Source.API), None)
            if outcome.blocked:
                raise TwilioError(20403, f"The onConversationAdd pre-event webhook {outcome.blocked_by} "
                                         "rejected the conversation")
            for key in ("friendly_name", "unique_name", "attributes"):
                if isinstance(outcome.changes.get(key), str):
                    values[key] = outcome.changes[key]
            await self._check_conversation_values(service, values)
        async with self._db.transaction() as conn:
            conversation = await self.create_in(conn, account, service, values, Source.API, webhooks)
        self._wakeup.notify()
        return conversation

    def _draft(self, account: Account, service: ChatService, values: Mapping[str, Any], now: datetime) -> Conversation:
        return Conversation(
            sid=new_sid(SidPrefix.CONVERSATION), account_sid=account.sid, chat_service_sid=service.sid,
            messaging_service_sid=values.get("messaging_service_sid"), unique_name=values.get("unique_name"),
            friendly_name=values.get("friendly_name"), attributes=values.get("attributes") or "{}",
            state=ConversationState(values.get("state") or "active"), timer_inactive=values.get("timer_inactive"),
            timer_closed=values.get("timer_closed"), date_inactive=None, date_closed=None, last_index=-1,
            date_created=values.get("date_created") or now, date_updated=values.get("date_updated") or now)

    async def create_in(self, conn: Conn, account: Account, service: ChatService, values: Mapping[str, Any],
                        source: Source, webhooks: bool) -> Conversation:
        now = self._clock.now()
        config = await self._admin.config_in(conn, account.sid)
        defaults = {"timer_inactive": config.default_inactive_timer, "timer_closed": config.default_closed_timer,
                    "messaging_service_sid": config.default_messaging_service_sid}
        merged = {**{k: v for k, v in defaults.items() if v is not None}, **values}
        conversation = self._timers(self._draft(account, service, merged, now), now, True, True)
        if conversation.unique_name and await self._repos.conversations.by_unique_name(
                conn, service.sid, conversation.unique_name) is not None:
            raise TwilioError(50353, f"A conversation with unique name {conversation.unique_name} already exists")
        await self._repos.conversations.insert(conn, conversation)
        await self._schedule(conn, conversation)
        if webhooks:
            await self._events.post(conn, service, conversation.sid, "onConversationAdded",
                                    _conversation_params(conversation, source))
        return conversation

    async def update(self, service: ChatService, sid: str, values: Mapping[str, Any], webhooks: bool) -> Conversation:
        values = dict(values)
        await self._check_conversation_values(service, values)
        current = await self.get(service, sid)
        if webhooks:
            outcome = await self._events.pre(service, "onConversationUpdate",
                                             _conversation_params(replace(current, **{
                                                 k: v for k, v in values.items() if k in (
                                                     "friendly_name", "unique_name", "attributes")}), Source.API),
                                             current.sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onConversationUpdate pre-event webhook {outcome.blocked_by} "
                                         "rejected the change")
            for key in ("friendly_name", "unique_name", "attributes"):
                if isinstance(outcome.changes.get(key), str):
                    values[key] = outcome.changes[key]
        async with self._db.transaction() as conn:
            current = await self._find(conn, service, sid)
            now = self._clock.now()
            if "state" in values:
                values["state"] = ConversationState(values["state"])
                if not can_change_state(current.state, values["state"]):
                    raise TwilioError(20001, "A closed conversation cannot be reopened")
            if values.get("unique_name") and values["unique_name"] != current.unique_name and \
                    await self._repos.conversations.by_unique_name(conn, service.sid, values["unique_name"]):
                raise TwilioError(50353, f"A conversation with unique name {values['unique_name']} already exists")
            updated = replace(current, **values, date_updated=values.get("date_updated") or now)
            updated = self._timers(updated, now, "timer_inactive" in values or "state" in values,
                                   "timer_closed" in values)
            changes = {k: getattr(updated, k) for k in (*values, "date_updated", "date_inactive", "date_closed")}
            await self._repos.conversations.change(conn, current.sid, changes)
            await self._schedule(conn, updated)
            if webhooks:
                await self._events.post(conn, service, current.sid, "onConversationUpdated",
                                        _conversation_params(updated, Source.API))
            if updated.state is not current.state:
                await self._state_event(conn, service, current, updated, "API")
        self._wakeup.notify()
        return updated

    async def _state_event(self, conn: Conn, service: ChatService, before: Conversation, after: Conversation,
                           reason: str) -> None:
        await self._events.post(conn, service, after.sid, "onConversationStateUpdated", [
            *_conversation_params(after, Source.API), ("StateFrom", before.state.value),
            ("StateTo", after.state.value), ("Reason", reason)])

    async def delete(self, service: ChatService, sid: str, webhooks: bool) -> None:
        conversation = await self.get(service, sid)
        if webhooks:
            outcome = await self._events.pre(service, "onConversationRemove",
                                             _conversation_params(conversation, Source.API), conversation.sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onConversationRemove pre-event webhook {outcome.blocked_by} "
                                         "kept the conversation")
        async with self._db.transaction() as conn:
            if webhooks:
                await self._events.post(conn, service, None, "onConversationRemoved",
                                        _conversation_params(conversation, Source.API))
            for repo in (self._repos.receipts, self._repos.messages, self._repos.participants, self._repos.webhooks):
                await repo.delete_for_conversation(conn, conversation.sid)
            await self._repos.conversations.delete(conn, conversation.sid)
        self._wakeup.notify()

    async def run_timer(self, job: Job) -> None:
        """A timer is due: move the conversation on (stale jobs find nothing to do)."""
        async with self._db.transaction() as conn:
            conversation = await self._repos.conversations.get(conn, job.payload["sid"])
            now = self._clock.now()
            state = due_state(conversation, now) if conversation else None
            if conversation is not None and state is not None:
                updated = replace(conversation, state=state, date_updated=now, date_inactive=None,
                                  date_closed=conversation.date_closed if state is ConversationState.INACTIVE
                                  else None)
                await self._repos.conversations.change(conn, conversation.sid, {
                    "state": state, "date_updated": now, "date_inactive": None, "date_closed": updated.date_closed})
                service = await self._repos.services.get(conn, conversation.chat_service_sid)
                if service is not None:
                    await self._state_event(conn, service, conversation, updated, "TIMER")
                await self._schedule(conn, updated)
            await jobs.complete(conn, job.id)
        self._wakeup.notify()

    # --- participants ------------------------------------------------------------------------

    async def _participant(self, conn: Conn, conversation: Conversation, sid_or_identity: str) -> Participant:
        if is_sid(sid_or_identity, SidPrefix.PARTICIPANT):
            participant = await self._repos.participants.get(conn, sid_or_identity)
        else:
            participant = await self._repos.participants.by_identity(conn, conversation.sid, sid_or_identity)
        if participant is None or participant.conversation_sid != conversation.sid:
            raise not_found(f"Participant {sid_or_identity} was not found")
        return participant

    async def participant(self, service: ChatService, conversation_sid: str, sid: str) -> Participant:
        async with self._db.read() as conn:
            conversation = await self._find(conn, service, conversation_sid)
            return await self._participant(conn, conversation, sid)

    async def participants(self, service: ChatService, conversation_sid: str, size: int,
                           cursor: Cursor) -> Page[Participant]:
        async with self._db.read() as conn:
            conversation = await self._find(conn, service, conversation_sid)
            return await self._repos.participants.page_for(conn, conversation.sid, size, cursor)

    async def _check_binding(self, conn: Conn, account: Account, address: str | None,
                             proxy: str | None) -> tuple[str, str]:
        if address is None or not address:
            raise TwilioError(20001, "MessagingBinding.Address is required")
        if ":" in address:
            raise TwilioError(20001, f"MessagingBinding.Address {address}: only SMS addresses (E.164) are served")
        parsed = parse_e164(address)
        if parsed is None:
            raise TwilioError(21211, f"MessagingBinding.Address {address} is not a valid phone number")
        if not proxy:
            raise TwilioError(20001, "MessagingBinding.ProxyAddress is required for an SMS participant")
        proxy_parsed = parse_e164(proxy)
        number = await self._numbers.by_number(conn, proxy_parsed.e164) if proxy_parsed else None
        if number is None or number.account_sid != account.sid or not number.sms_capable:
            raise TwilioError(21606, f"MessagingBinding.ProxyAddress {proxy} is not an SMS-capable number of this "
                                     "account")
        return parsed.e164, number.phone_number

    async def add_participant(self, account: Account, service: ChatService, conversation_sid: str,
                              values: Mapping[str, Any], webhooks: bool) -> Participant:
        values = dict(values)
        identity, address = values.get("identity"), values.get("address")
        if not identity and not address:
            raise TwilioError(20001, "Give Identity (chat) or MessagingBinding.Address (SMS)")
        if identity and address:
            raise TwilioError(20001, "A participant has an Identity or a MessagingBinding.Address, not both")
        check_name(identity, "Identity")
        check_attributes(values.get("attributes") or "{}")
        if values.get("role_sid"):
            await self._admin.role(service, values["role_sid"])
        conversation = await self.get(service, conversation_sid)
        if webhooks:
            draft = self._participant_draft(account, service, conversation, values, self._clock.now())
            outcome = await self._events.pre(service, "onParticipantAdd",
                                             [*_participant_params(draft, Source.API)], conversation.sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onParticipantAdd pre-event webhook {outcome.blocked_by} "
                                         "rejected the participant")
            if isinstance(outcome.changes.get("attributes"), str):
                values["attributes"] = check_attributes(outcome.changes["attributes"])
        async with self._db.transaction() as conn:
            conversation = await self._find(conn, service, conversation_sid)
            participant = await self.add_participant_in(conn, account, service, conversation, values,
                                                        Source.API, webhooks)
        self._wakeup.notify()
        return participant

    def _participant_draft(self, account: Account, service: ChatService, conversation: Conversation,
                           values: Mapping[str, Any], now: datetime) -> Participant:
        return Participant(
            sid=new_sid(SidPrefix.PARTICIPANT), account_sid=account.sid, chat_service_sid=service.sid,
            conversation_sid=conversation.sid,
            channel=ChannelType.SMS if values.get("address") else ChannelType.CHAT,
            identity=values.get("identity"), address=values.get("address"), proxy_address=values.get("proxy_address"),
            attributes=values.get("attributes") or "{}",
            role_sid=values.get("role_sid") or (service.default_conversation_role_sid
                                                if values.get("identity") else None),
            last_read_message_index=None, last_read_timestamp=None,
            date_created=values.get("date_created") or now, date_updated=values.get("date_updated") or now)

    async def add_participant_in(self, conn: Conn, account: Account, service: ChatService,
                                 conversation: Conversation, values: Mapping[str, Any], source: Source,
                                 webhooks: bool) -> Participant:
        if conversation.state is ConversationState.CLOSED:
            raise TwilioError(20001, f"Conversation {conversation.sid} is closed")
        values = dict(values)
        if values.get("identity"):
            if await self._repos.participants.by_identity(conn, conversation.sid, values["identity"]):
                raise TwilioError(50433, f"Participant with identity {values['identity']} already exists in "
                                         f"conversation {conversation.sid}")
            await self._admin.ensure_user(conn, service, values["identity"])
        else:
            values["address"], values["proxy_address"] = await self._check_binding(
                conn, account, values.get("address"), values.get("proxy_address"))
            if await self._repos.participants.by_address(conn, conversation.sid, values["address"]):
                raise TwilioError(50433, f"Participant with address {values['address']} already exists in "
                                         f"conversation {conversation.sid}")
            bound = await self._repos.participants.open_binding(conn, values["address"], values["proxy_address"])
            if bound is not None:
                raise TwilioError(50416, "A binding for this participant and proxy address already exists in "
                                         f"Conversation {bound.conversation_sid}")
        participant = self._participant_draft(account, service, conversation, values, self._clock.now())
        await self._repos.participants.insert(conn, participant)
        if webhooks:
            await self._events.post(conn, service, conversation.sid, "onParticipantAdded",
                                    _participant_params(participant, source))
        return participant

    async def update_participant(self, service: ChatService, conversation_sid: str, sid: str,
                                 values: Mapping[str, Any], webhooks: bool) -> Participant:
        values = dict(values)
        if "attributes" in values:
            check_attributes(values["attributes"])
        if values.get("role_sid"):
            await self._admin.role(service, values["role_sid"])
        if "identity" in values:
            check_name(values["identity"], "Identity")
        current = await self.participant(service, conversation_sid, sid)
        if webhooks:
            outcome = await self._events.pre(service, "onParticipantUpdate", _participant_params(
                replace(current, **values), Source.API), current.conversation_sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onParticipantUpdate pre-event webhook {outcome.blocked_by} "
                                         "rejected the change")
        async with self._db.transaction() as conn:
            conversation = await self._find(conn, service, conversation_sid)
            current = await self._participant(conn, conversation, sid)
            if values.get("identity") and values["identity"] != current.identity:
                if current.channel is not ChannelType.CHAT:
                    raise TwilioError(20001, "Only a chat participant has an Identity")
                if await self._repos.participants.by_identity(conn, conversation.sid, values["identity"]):
                    raise TwilioError(50433, f"Participant with identity {values['identity']} already exists")
                await self._admin.ensure_user(conn, service, values["identity"])
            updated = replace(current, **values, date_updated=values.get("date_updated") or self._clock.now())
            await self._repos.participants.change(conn, current.sid, {
                k: getattr(updated, k) for k in (*values, "date_updated")})
            if webhooks:
                await self._events.post(conn, service, conversation.sid, "onParticipantUpdated",
                                        _participant_params(updated, Source.API))
        self._wakeup.notify()
        return updated

    async def remove_participant(self, service: ChatService, conversation_sid: str, sid: str, webhooks: bool) -> None:
        current = await self.participant(service, conversation_sid, sid)
        if webhooks:
            outcome = await self._events.pre(service, "onParticipantRemove",
                                             _participant_params(current, Source.API), current.conversation_sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onParticipantRemove pre-event webhook {outcome.blocked_by} "
                                         "kept the participant")
        async with self._db.transaction() as conn:
            await self._repos.participants.delete(conn, current.sid)
            if webhooks:
                await self._events.post(conn, service, current.conversation_sid, "onParticipantRemoved",
                                        _participant_params(current, Source.API))
        self._wakeup.notify()

    # --- messages ----------------------------------------------------------------------------

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
                          values: Mapping[str, Any], webhooks: bool) -> MessageView:
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
        conversation = await self.get(service, conversation_sid)
        if conversation.state is ConversationState.CLOSED:
            raise TwilioError(20001, f"Conversation {conversation.sid} is closed")
        if webhooks:
            outcome = await self._events.pre(service, "onMessageAdd", [
                ("AccountSid", account.sid), ("ChatServiceSid", service.sid), ("ConversationSid", conversation.sid),
                ("Author", values.get("author") or DEFAULT_AUTHOR), ("Body", body or ""),
                ("Attributes", values.get("attributes") or "{}"), ("Source", Source.API.value)], conversation.sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onMessageAdd pre-event webhook {outcome.blocked_by} rejected the "
                                         "message")
            for key in ("body", "author", "attributes"):
                if isinstance(outcome.changes.get(key), str):
                    values[key] = outcome.changes[key]
            check_attributes(values.get("attributes") or "{}")
        async with self._db.transaction() as conn:
            conversation = await self._find(conn, service, conversation_sid)
            media = await self._media_for(conn, account, values.get("media_sid"))
            author = values.get("author") or DEFAULT_AUTHOR
            by = await self._repos.participants.by_identity(conn, conversation.sid, author) \
                or await self._repos.participants.by_address(conn, conversation.sid, author)
            view = await self.add_message_in(conn, account, service, conversation, by, author, values.get("body"),
                                             media, values, Source.API, webhooks)
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
        # Activity: an inactive conversation wakes up and the inactive timer restarts.
        before = conversation
        after = self._timers(replace(conversation, state=ConversationState.ACTIVE, date_updated=now, last_index=index),
                             now, True, False)
        await self._repos.conversations.change(conn, conversation.sid, {
            "state": after.state, "date_updated": now, "date_inactive": after.date_inactive})
        await self._schedule(conn, after)
        receipts = await self._fan_out(conn, account, after, message, by)
        if webhooks:
            await self._events.post(conn, service, conversation.sid, "onMessageAdded",
                                    _message_params(message, source), body=body)
        if before.state is not after.state:
            await self._state_event(conn, service, before, after, "MESSAGE")
        return MessageView(message, receipts)

    async def _fan_out(self, conn: Conn, account: Account, conversation: Conversation, message: ConversationMessage,
                       by: Participant | None) -> list[ReceiptView]:
        media_urls = []
        for item in json.loads(message.media) if message.media else []:
            media_urls.append(self._urls.media(account.sid, item["message_sid"], item["sid"]))
        views = []
        now = self._clock.now()
        for participant in await self._repos.participants.of_conversation(conn, conversation.sid):
            if participant.channel is not ChannelType.SMS or (by is not None and participant.sid == by.sid):
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
            conversation = await self._find(conn, service, conversation_sid)
            message = await self._repos.messages.get(conn, sid) if is_sid(sid, SidPrefix.CONVERSATION_MESSAGE) \
                else None
            if message is None or message.conversation_sid != conversation.sid:
                raise not_found(f"Message {sid} was not found")
            receipts = await self._repos.receipts.views_for(conn, [message.sid])
        return MessageView(message, receipts.get(message.sid, []))

    async def messages(self, service: ChatService, conversation_sid: str, size: int, cursor: Cursor,
                       ascending: bool) -> Page[MessageView]:
        async with self._db.read() as conn:
            conversation = await self._find(conn, service, conversation_sid)
            page = await self._repos.messages.page_ordered(conn, conversation.sid, size, cursor, ascending)
            receipts = await self._repos.receipts.views_for(conn, [m.sid for m in page.items])
        return Page([MessageView(m, receipts.get(m.sid, [])) for m in page.items], page.next_token,
                    page.previous_token)

    async def update_message(self, service: ChatService, conversation_sid: str, sid: str,
                             values: Mapping[str, Any], webhooks: bool) -> MessageView:
        values = dict(values)
        if "attributes" in values:
            check_attributes(values["attributes"])
        if values.get("body") is not None and len(values["body"]) > MAX_BODY:
            raise TwilioError(20001, f"Body must be at most {MAX_BODY} characters")
        current = await self.message(service, conversation_sid, sid)
        if webhooks:
            outcome = await self._events.pre(service, "onMessageUpdate", _message_params(
                replace(current.message, **values), Source.API), current.message.conversation_sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onMessageUpdate pre-event webhook {outcome.blocked_by} rejected the "
                                         "change")
            for key in ("body", "author", "attributes"):
                if isinstance(outcome.changes.get(key), str):
                    values[key] = outcome.changes[key]
        updated = replace(current.message, **values, date_updated=values.get("date_updated") or self._clock.now())
        async with self._db.transaction() as conn:
            await self._repos.messages.change(conn, updated.sid, {
                k: getattr(updated, k) for k in (*values, "date_updated")})
            if webhooks:
                await self._events.post(conn, service, updated.conversation_sid, "onMessageUpdated",
                                        _message_params(updated, Source.API))
        self._wakeup.notify()
        return MessageView(updated, current.receipts)

    async def remove_message(self, service: ChatService, conversation_sid: str, sid: str, webhooks: bool) -> None:
        current = await self.message(service, conversation_sid, sid)
        if webhooks:
            outcome = await self._events.pre(service, "onMessageRemove", _message_params(
                current.message, Source.API), current.message.conversation_sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onMessageRemove pre-event webhook {outcome.blocked_by} kept the "
                                         "message")
        async with self._db.transaction() as conn:
            await self._repos.receipts.delete_for_messages(conn, [current.message.sid])
            await self._repos.messages.delete(conn, current.message.sid)
            if webhooks:
                await self._events.post(conn, service, current.message.conversation_sid, "onMessageRemoved",
                                        _message_params(current.message, Source.API))
        self._wakeup.notify()

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

    # --- conversation-scoped webhooks --------------------------------------------------------

    def _check_webhook(self, target: str, values: dict[str, Any]) -> None:
        if target == "studio":
            raise TwilioError(20001, "Target=studio is not served: Openline runs no Studio flows")
        if target not in WEBHOOK_TARGETS:
            raise TwilioError(20001, "Target must be webhook or trigger")
        if not values.get("url"):
            raise TwilioError(20001, "Configuration.Url is required")
        if "filters" in values:
            values["filters"] = check_filters(values["filters"], SCOPED_EVENTS, "Configuration.Filters")
        if "triggers" in values:
            values["triggers"] = json.dumps([t for t in values["triggers"] if t])
        if target == "trigger" and values.get("triggers", "[]") == "[]":
            raise TwilioError(20001, "Configuration.Triggers is required with Target=trigger")

    async def webhook(self, service: ChatService, conversation_sid: str, sid: str) -> ScopedWebhook:
        async with self._db.read() as conn:
            conversation = await self._find(conn, service, conversation_sid)
            webhook = await self._repos.webhooks.get(conn, sid) if is_sid(sid, SidPrefix.CONVERSATION_WEBHOOK) \
                else None
        if webhook is None or webhook.conversation_sid != conversation.sid:
            raise not_found(f"Webhook {sid} was not found")
        return webhook

    async def webhooks(self, service: ChatService, conversation_sid: str, size: int,
                       cursor: Cursor) -> Page[ScopedWebhook]:
        async with self._db.read() as conn:
            conversation = await self._find(conn, service, conversation_sid)
            return await self._repos.webhooks.page_for(conn, conversation.sid, size, cursor)

    async def add_webhook(self, service: ChatService, conversation_sid: str, target: str | None,
                          values: Mapping[str, Any]) -> ScopedWebhook:
        values = dict(values)
        self._check_webhook(target or "", values)
        now = self._clock.now()
        async with self._db.transaction() as conn:
            conversation = await self._find(conn, service, conversation_sid)
            webhook = await self.add_webhook_in(conn, conversation, target or "", values, now)
            if webhook.replay_after is not None:  # replay the messages from that index on, oldest first
                page = await self._repos.messages.page_ordered(conn, conversation.sid, 1000,
                                                               Cursor(after_id=webhook.replay_after - 1), True)
                for item in page.items:
                    if "onMessageAdded" in json.loads(webhook.filters) or webhook.target == "trigger":
                        await self._events.enqueue(conn, service.account_sid, service.sid, conversation.sid,
                                                   [Hook(webhook.url or "", webhook.method)],
                                                   [*_message_params(item, Source.API),
                                                    ("EventType", "onMessageAdded")])
        self._wakeup.notify()
        return webhook

    async def add_webhook_in(self, conn: Conn, conversation: Conversation, target: str, values: Mapping[str, Any],
                             now: datetime) -> ScopedWebhook:
        webhook = ScopedWebhook(
            sid=new_sid(SidPrefix.CONVERSATION_WEBHOOK), account_sid=conversation.account_sid,
            chat_service_sid=conversation.chat_service_sid, conversation_sid=conversation.sid, target=target,
            url=values.get("url"), method=values.get("method") or "POST", filters=values.get("filters", "[]"),
            triggers=values.get("triggers", "[]"), replay_after=values.get("replay_after"),
            date_created=now, date_updated=now)
        return await self._repos.webhooks.insert(conn, webhook)

    async def update_webhook(self, service: ChatService, conversation_sid: str, sid: str,
                             values: Mapping[str, Any]) -> ScopedWebhook:
        current = await self.webhook(service, conversation_sid, sid)
        values = dict(values)
        merged = {"url": current.url, **values}
        self._check_webhook(current.target, merged)
        changes = {k: merged[k] for k in values} | {"date_updated": self._clock.now()}
        if current.target == "trigger" and "triggers" not in values:
            changes.pop("triggers", None)
        async with self._db.transaction() as conn:
            updated = await self._repos.webhooks.update(conn, current.sid, changes)
        return updated or current

    async def remove_webhook(self, service: ChatService, conversation_sid: str, sid: str) -> None:
        current = await self.webhook(service, conversation_sid, sid)
        async with self._db.transaction() as conn:
            await self._repos.webhooks.delete(conn, current.sid)

    # --- inbound SMS -------------------------------------------------------------------------

    async def route_inbound(self, conn: Conn, message: Message, number: IncomingPhoneNumber) -> bool:
        """Claim an inbound SMS for Conversations (inside the inbound transaction).

        A message from an address bound to this number in an open conversation joins it; else an
        address configuration with auto-creation opens a conversation for it. Either way the
        number's SmsUrl is not called, as on Twilio. The message is added by a job, because the
        onMessageAdd pre-event is an HTTP request that must not run inside this transaction.
        """
        sender = message.from_addr or ""
        participant = await self._repos.participants.open_binding(conn, sender, number.phone_number)
        if participant is None:
            config = await self._repos.addresses.by_address(conn, "sms", number.phone_number)
            if config is None or not config.auto_creation_enabled or config.account_sid != number.account_sid:
                return False
            account = await self._accounts.get(conn, number.account_sid)
            if account is None or account.status is not AccountStatus.ACTIVE:
                return False
            service_sid = config.conversation_service_sid or \
                (await self._admin.config_in(conn, account.sid)).default_chat_service_sid
            service = await self._repos.services.get(conn, service_sid)
            if service is None:
                return False
            conversation = await self.create_in(conn, account, service, {}, Source.SMS, True)
            if config.auto_creation_type == "webhook" and config.webhook_url:
                await self.add_webhook_in(conn, conversation, "webhook", {
                    "url": config.webhook_url, "method": config.webhook_method,
                    "filters": config.webhook_filters}, self._clock.now())
            participant = await self.add_participant_in(conn, account, service, conversation, {
                "address": sender, "proxy_address": number.phone_number}, Source.SMS, True)
        now = self._clock.now()
        await jobs.enqueue(conn, CONVERSATION_INBOUND, {"message_sid": message.sid, "participant_sid": participant.sid},
                           now, now, max_attempts=10)
        return True

    async def deliver_inbound(self, job: Job) -> None:
        """Add a routed inbound SMS to its conversation, after the onMessageAdd pre-event."""
        async with self._db.read() as conn:
            participant = await self._repos.participants.get(conn, job.payload["participant_sid"])
            sms = await self._sms.get(conn, job.payload["message_sid"])
            conversation = await self._repos.conversations.get(conn, participant.conversation_sid) \
                if participant else None
            service = await self._repos.services.get(conn, conversation.chat_service_sid) if conversation else None
            account = await self._accounts.get(conn, conversation.account_sid) if conversation else None
            media = await self._media.for_message(conn, sms.sid) if sms else []
        if participant is None or sms is None or conversation is None or service is None or account is None \
                or conversation.state is ConversationState.CLOSED:
            async with self._db.transaction() as conn:
                await jobs.complete(conn, job.id)
            return
        author, body, attributes = participant.address or "", sms.body, "{}"
        outcome = await self._events.pre(service, "onMessageAdd", [
            ("AccountSid", account.sid), ("ChatServiceSid", service.sid), ("ConversationSid", conversation.sid),
            ("ParticipantSid", participant.sid), ("Author", author), ("Body", body), ("Attributes", attributes),
            ("MessagingBinding.Address", participant.address or ""),
            ("MessagingBinding.ProxyAddress", participant.proxy_address or ""), ("Source", Source.SMS.value)],
            conversation.sid)
        async with self._db.transaction() as conn:
            if not outcome.blocked:
                for key, value in outcome.changes.items():
                    if isinstance(value, str) and key in ("body", "author", "attributes"):
                        author, body, attributes = (value if key == "author" else author,
                                                    value if key == "body" else body,
                                                    value if key == "attributes" and
                                                    _is_json(value) else attributes)
                current = await self._repos.conversations.get(conn, conversation.sid)
                if current is not None and current.state is not ConversationState.CLOSED:
                    media_json = json.dumps([{"sid": m.sid, "content_type": m.content_type, "filename": None,
                                              "size": m.size or 0, "category": "media", "message_sid": sms.sid}
                                             for m in media]) if media else None
                    await self.add_message_in(conn, account, service, current, participant, author, body or None,
                                              media_json, {"attributes": attributes}, Source.SMS, True)
            await jobs.complete(conn, job.id)
        self._wakeup.notify()

    # --- the console -------------------------------------------------------------------------

    async def recent(self, account_sid: str, limit: int = 100) -> list[Conversation]:
        async with self._db.read() as conn:
            return await self._repos.conversations.for_account(conn, account_sid, limit)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
