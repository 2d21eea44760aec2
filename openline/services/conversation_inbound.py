"""Inbound SMS for Conversations: messages from a bound address join their conversation.

A message from an address bound (as an SMS participant) to the number it was sent to, in a
conversation that is not closed, joins that conversation; otherwise an address configuration
of the number with auto-creation opens a conversation for it (with a scoped webhook for
``AutoCreation.Type=webhook``). Either way the number's SmsUrl is not called, as on Twilio.
The message is added by a job, because the onMessageAdd pre-event is an HTTP request that must
not run inside the inbound transaction; a blocked message is not added.
"""

from __future__ import annotations

import json

from openline.core.channels import Channel, channel_of
from openline.core.clock import Clock
from openline.core.conversations import ConversationState, Source
from openline.core.entities import AccountStatus
from openline.core.errors import TwilioError
from openline.core.messaging import Message
from openline.services.conversation_admin import ConversationAdmin
from openline.services.conversation_events import ConversationEvents
from openline.services.conversation_messages import ConversationMessages
from openline.services.conversations import Conversations
from openline.services.queue import Wakeup
from openline.storage import jobs
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.repositories import AccountRepository
from openline.storage.repositories.conversations import ConversationRepositories
from openline.storage.repositories.messaging import MediaRepository, MessageRepository

CONVERSATION_INBOUND = "conversation_inbound"


class ConversationInbound:
    def __init__(self, db: Database, clock: Clock, wakeup: Wakeup, repos: ConversationRepositories,
                 admin: ConversationAdmin, conversations: Conversations, messages: ConversationMessages,
                 events: ConversationEvents, accounts: AccountRepository, media: MediaRepository,
                 sms: MessageRepository) -> None:
        self._db = db
        self._clock = clock
        self._wakeup = wakeup
        self._repos = repos
        self._admin = admin
        self._conversations = conversations
        self._messages = messages
        self._events = events
        self._accounts = accounts
        self._media = media
        self._sms = sms

    async def route_inbound(self, conn: Conn, message: Message, account_sid: str) -> bool:
        """Claim an inbound SMS (inside the inbound transaction); True if it belongs to a conversation.

        A message from an address bound to this number in an open conversation joins it; else an
        address configuration with auto-creation opens a conversation for it. Either way the
        number's SmsUrl is not called, as on Twilio. The message is added by a job, because the
        onMessageAdd pre-event is an HTTP request that must not run inside this transaction.
        """
        sender = message.from_addr or ""
        proxy = message.to_addr  # the number, or the channel sender (whatsapp:+…, telegram:…)
        channel = channel_of(proxy)
        participant = await self._repos.participants.open_binding(conn, sender, proxy)
        if participant is None:
            config = await self._repos.addresses.by_address(conn, channel.value, proxy)
            if config is None or not config.auto_creation_enabled or config.account_sid != account_sid:
                return False
            account = await self._accounts.get(conn, account_sid)
            if account is None or account.status is not AccountStatus.ACTIVE:
                return False
            service_sid = config.conversation_service_sid or \
                (await self._admin.config_in(conn, account.sid)).default_chat_service_sid
            service = await self._repos.services.get(conn, service_sid)
            if service is None:
                return False
            try:
                async with conn.begin_nested():
                    conversation = await self._conversations.create_in(conn, account, service, {},
                                                                       _source(channel), True)
                    if config.auto_creation_type == "webhook" and config.webhook_url:
                        await self._conversations.add_webhook_in(conn, conversation, "webhook", {
                            "url": config.webhook_url, "method": config.webhook_method,
                            "filters": config.webhook_filters}, self._clock.now())
                    participant = await self._conversations.add_participant_in(
                        conn, account, service, conversation,
                        {"address": sender, "proxy_address": proxy}, _source(channel), True)
            except TwilioError:  # the number no longer qualifies: the message still arrives, at the SmsUrl
                return False
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
        source = _source(channel_of(participant.proxy_address or ""))
        outcome = await self._events.pre(service, "onMessageAdd", [
            ("AccountSid", account.sid), ("ChatServiceSid", service.sid), ("ConversationSid", conversation.sid),
            ("ParticipantSid", participant.sid), ("Author", author), ("Body", body), ("Attributes", attributes),
            ("MessagingBinding.Address", participant.address or ""),
            ("MessagingBinding.ProxyAddress", participant.proxy_address or ""), ("Source", source.value)],
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
                    await self._messages.add_message_in(conn, account, service, current, participant, author,
                                                        body or None, media_json, {"attributes": attributes},
                                                        source, True)
            await jobs.complete(conn, job.id)
        self._wakeup.notify()


def _source(channel: Channel) -> Source:
    return Source.SMS if channel is Channel.SMS else Source(channel.value.upper())


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True
