"""Conversations (CH…) with their state timers, participants (MB…) and scoped webhooks (WH…).

Messages are in ``conversation_messages``, inbound SMS in ``conversation_inbound``; see
``openline.core.conversations`` for the model and ``conversation_events`` for webhooks. Every
change is one transaction with the jobs it causes (timers, post-events).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from openline.core.channels import Channel, channel_of, check_pair, is_chat, parse_address
from openline.core.clock import Clock
from openline.core.conversations import (
    MIN_CLOSED,
    MIN_INACTIVE,
    SCOPED_EVENTS,
    ChannelType,
    ChatService,
    Conversation,
    ConversationState,
    Participant,
    ScopedWebhook,
    Source,
    can_change_state,
    due_state,
    next_deadline,
    parse_duration,
)
from openline.core.entities import Account
from openline.core.errors import TwilioError
from openline.core.numbering import parse_e164
from openline.core.sids import SidPrefix, is_sid, new_sid
from openline.services.accounts import not_found
from openline.services.channels import ChannelDirectory
from openline.services.conversation_admin import (
    ConversationAdmin,
    check_attributes,
    check_filters,
    check_name,
    check_timer,
)
from openline.services.conversation_events import (
    ConversationEvents,
    Hook,
    conversation_params,
    message_params,
    participant_params,
)
from openline.services.queue import Wakeup
from openline.storage import jobs
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.paging import Cursor, Page
from openline.storage.repositories import IncomingPhoneNumberRepository
from openline.storage.repositories.conversations import ConversationRepositories
from openline.storage.repositories.messaging import MessagingServiceRepository

CONVERSATION_TIMER = "conversation_timer"
WEBHOOK_TARGETS = ("webhook", "trigger")  # Studio flows are not served


class Conversations:
    def __init__(self, db: Database, clock: Clock, wakeup: Wakeup, repos: ConversationRepositories,
                 admin: ConversationAdmin, events: ConversationEvents, numbers: IncomingPhoneNumberRepository,
                 messaging_services: MessagingServiceRepository, channels: ChannelDirectory) -> None:
        self._db = db
        self._channels = channels
        self._clock = clock
        self._wakeup = wakeup
        self._repos = repos
        self._admin = admin
        self._events = events
        self._numbers = numbers
        self._messaging_services = messaging_services

    # --- conversations -----------------------------------------------------------------------

    async def find(self, conn: Conn, service: ChatService, sid_or_name: str) -> Conversation:
        if is_sid(sid_or_name, SidPrefix.CONVERSATION):
            conversation = await self._repos.conversations.get(conn, sid_or_name)
        else:
            conversation = await self._repos.conversations.by_unique_name(conn, service.sid, sid_or_name)
        if conversation is None or conversation.chat_service_sid != service.sid:
            raise not_found(f"Conversation {sid_or_name} was not found")
        return conversation

    async def get(self, service: ChatService, sid_or_name: str) -> Conversation:
        async with self._db.read() as conn:
            return await self.find(conn, service, sid_or_name)

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

    def restart_timers(self, conversation: Conversation, now: datetime, reset_inactive: bool,
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

    async def schedule(self, conn: Conn, conversation: Conversation) -> None:
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
                                             conversation_params(draft, Source.API), None)
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
        conversation = self.restart_timers(self._draft(account, service, merged, now), now, True, True)
        if conversation.unique_name and await self._repos.conversations.by_unique_name(
                conn, service.sid, conversation.unique_name) is not None:
            raise TwilioError(50353, f"A conversation with unique name {conversation.unique_name} already exists")
        await self._repos.conversations.insert(conn, conversation)
        await self.schedule(conn, conversation)
        if webhooks:
            await self._events.post(conn, service, conversation.sid, "onConversationAdded",
                                    conversation_params(conversation, source))
        return conversation

    async def update(self, service: ChatService, sid: str, values: Mapping[str, Any], webhooks: bool) -> Conversation:
        values = dict(values)
        await self._check_conversation_values(service, values)
        current = await self.get(service, sid)
        if webhooks:
            outcome = await self._events.pre(service, "onConversationUpdate",
                                             conversation_params(replace(current, **{
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
            current = await self.find(conn, service, sid)
            now = self._clock.now()
            if "state" in values:
                values["state"] = ConversationState(values["state"])
                if not can_change_state(current.state, values["state"]):
                    raise TwilioError(20001, "A closed conversation cannot be reopened")
            if values.get("unique_name") and values["unique_name"] != current.unique_name and \
                    await self._repos.conversations.by_unique_name(conn, service.sid, values["unique_name"]):
                raise TwilioError(50353, f"A conversation with unique name {values['unique_name']} already exists")
            updated = replace(current, **values, date_updated=values.get("date_updated") or now)
            updated = self.restart_timers(updated, now, "timer_inactive" in values or "state" in values,
                                   "timer_closed" in values)
            changes = {k: getattr(updated, k) for k in (*values, "date_updated", "date_inactive", "date_closed")}
            await self._repos.conversations.change(conn, current.sid, changes)
            await self.schedule(conn, updated)
            if webhooks:
                await self._events.post(conn, service, current.sid, "onConversationUpdated",
                                        conversation_params(updated, Source.API))
            if updated.state is not current.state:
                await self.state_event(conn, service, current, updated, "API")
        self._wakeup.notify()
        return updated

    async def state_event(self, conn: Conn, service: ChatService, before: Conversation, after: Conversation,
                           reason: str) -> None:
        await self._events.post(conn, service, after.sid, "onConversationStateUpdated", [
            *conversation_params(after, Source.API), ("StateFrom", before.state.value),
            ("StateTo", after.state.value), ("Reason", reason)])

    async def delete(self, service: ChatService, sid: str, webhooks: bool) -> None:
        conversation = await self.get(service, sid)
        if webhooks:
            outcome = await self._events.pre(service, "onConversationRemove",
                                             conversation_params(conversation, Source.API), conversation.sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onConversationRemove pre-event webhook {outcome.blocked_by} "
                                         "kept the conversation")
        async with self._db.transaction() as conn:
            if webhooks:
                await self._events.post(conn, service, None, "onConversationRemoved",
                                        conversation_params(conversation, Source.API))
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
                    await self.state_event(conn, service, conversation, updated, "TIMER")
                await self.schedule(conn, updated)
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
            conversation = await self.find(conn, service, conversation_sid)
            return await self._participant(conn, conversation, sid)

    async def participants(self, service: ChatService, conversation_sid: str, size: int,
                           cursor: Cursor) -> Page[Participant]:
        async with self._db.read() as conn:
            conversation = await self.find(conn, service, conversation_sid)
            return await self._repos.participants.page_for(conn, conversation.sid, size, cursor)

    async def _check_binding(self, conn: Conn, account: Account, address: str | None,
                             proxy: str | None) -> tuple[str, str]:
        if address is None or not address:
            raise TwilioError(20001, "MessagingBinding.Address is required")
        if is_chat(address) or is_chat(proxy):
            return await self._check_chat_binding(conn, account, address, proxy)
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

    async def _check_chat_binding(self, conn: Conn, account: Account, address: str,
                                  proxy: str | None) -> tuple[str, str]:
        """A WhatsApp/Messenger/Telegram/LINE participant: its address and the sender it talks to."""
        user = parse_address(address)
        if user is None:
            raise TwilioError(21211, f"MessagingBinding.Address {address} is not a valid channel address")
        if not proxy:
            raise TwilioError(20001, f"MessagingBinding.ProxyAddress is required for a {user.channel.value} "
                                     "participant")
        sender = parse_address(proxy)
        if sender is None:
            raise TwilioError(21212, f"MessagingBinding.ProxyAddress {proxy} is not a valid channel address")
        check_pair(user, sender)
        if not self._channels.reachable(sender.channel):
            raise TwilioError(21612, f"The {sender.channel.value} channel is not configured and the sandbox is off")
        if sender.channel is Channel.WHATSAPP:
            number = await self._numbers.by_number(conn, sender.id)
            if number is None or number.account_sid != account.sid:
                raise TwilioError(63007, f"MessagingBinding.ProxyAddress {proxy}: {sender.id} is not a number of "
                                         "this account")
        elif not self._channels.may_send(account.sid, sender):
            raise TwilioError(63007, f"MessagingBinding.ProxyAddress {proxy} is not a {sender.channel.value} "
                                     "sender of this account")
        return str(user), str(sender)

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
                                             [*participant_params(draft, Source.API)], conversation.sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onParticipantAdd pre-event webhook {outcome.blocked_by} "
                                         "rejected the participant")
            if isinstance(outcome.changes.get("attributes"), str):
                values["attributes"] = check_attributes(outcome.changes["attributes"])
        async with self._db.transaction() as conn:
            conversation = await self.find(conn, service, conversation_sid)
            participant = await self.add_participant_in(conn, account, service, conversation, values,
                                                        Source.API, webhooks)
        self._wakeup.notify()
        return participant

    def _participant_draft(self, account: Account, service: ChatService, conversation: Conversation,
                           values: Mapping[str, Any], now: datetime) -> Participant:
        return Participant(
            sid=new_sid(SidPrefix.PARTICIPANT), account_sid=account.sid, chat_service_sid=service.sid,
            conversation_sid=conversation.sid,
            channel=ChannelType(channel_of(values["address"]).value) if values.get("address") else ChannelType.CHAT,
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
                                    participant_params(participant, source))
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
            outcome = await self._events.pre(service, "onParticipantUpdate", participant_params(
                replace(current, **values), Source.API), current.conversation_sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onParticipantUpdate pre-event webhook {outcome.blocked_by} "
                                         "rejected the change")
        async with self._db.transaction() as conn:
            conversation = await self.find(conn, service, conversation_sid)
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
                                        participant_params(updated, Source.API))
        self._wakeup.notify()
        return updated

    async def remove_participant(self, service: ChatService, conversation_sid: str, sid: str, webhooks: bool) -> None:
        current = await self.participant(service, conversation_sid, sid)
        if webhooks:
            outcome = await self._events.pre(service, "onParticipantRemove",
                                             participant_params(current, Source.API), current.conversation_sid)
            if outcome.blocked:
                raise TwilioError(20403, f"The onParticipantRemove pre-event webhook {outcome.blocked_by} "
                                         "kept the participant")
        async with self._db.transaction() as conn:
            await self._repos.participants.delete(conn, current.sid)
            if webhooks:
                await self._events.post(conn, service, current.conversation_sid, "onParticipantRemoved",
                                        participant_params(current, Source.API))
        self._wakeup.notify()

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
            conversation = await self.find(conn, service, conversation_sid)
            webhook = await self._repos.webhooks.get(conn, sid) if is_sid(sid, SidPrefix.CONVERSATION_WEBHOOK) \
                else None
        if webhook is None or webhook.conversation_sid != conversation.sid:
            raise not_found(f"Webhook {sid} was not found")
        return webhook

    async def webhooks(self, service: ChatService, conversation_sid: str, size: int,
                       cursor: Cursor) -> Page[ScopedWebhook]:
        async with self._db.read() as conn:
            conversation = await self.find(conn, service, conversation_sid)
            return await self._repos.webhooks.page_for(conn, conversation.sid, size, cursor)

    async def add_webhook(self, service: ChatService, conversation_sid: str, target: str | None,
                          values: Mapping[str, Any]) -> ScopedWebhook:
        values = dict(values)
        self._check_webhook(target or "", values)
        now = self._clock.now()
        async with self._db.transaction() as conn:
            conversation = await self.find(conn, service, conversation_sid)
            webhook = await self.add_webhook_in(conn, conversation, target or "", values, now)
            if webhook.replay_after is not None:  # replay the messages from that index on, oldest first
                page = await self._repos.messages.page_ordered(conn, conversation.sid, 1000,
                                                               Cursor(after_id=webhook.replay_after - 1), True)
                for item in page.items:
                    if "onMessageAdded" in json.loads(webhook.filters) or webhook.target == "trigger":
                        await self._events.enqueue(conn, service.account_sid, service.sid, conversation.sid,
                                                   [Hook(webhook.url or "", webhook.method)],
                                                   [*message_params(item, Source.API),
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
