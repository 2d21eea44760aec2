"""The sandbox phone network: Openline's embedded carrier, for development and CI.

Messages to any possible number are "delivered" after a short delay on Openline's clock and
land in that number's simulated handset inbox; messages to a number an account on this
Openline owns arrive there as inbound messages. Twilio's reserved test numbers fail as they
do on Twilio (see ``core.magic_numbers``). Chat addresses (``whatsapp:+…``, ``telegram:…``) of a
channel without credentials land in a simulated chat user's inbox the same way, with
``delivered`` and, on WhatsApp and Messenger, ``read`` receipts.
"""

from __future__ import annotations

from datetime import timedelta

from openline.codecs.segments import Segmentation
from openline.config import SandboxSettings
from openline.core import magic_numbers
from openline.core.channels import Channel, channel_of, is_chat
from openline.core.clock import Clock
from openline.core.lifecycle import MessageStatus
from openline.core.messaging import HandsetMessage, Message
from openline.services.carriers import Accepted, Rejected, SubmitResult
from openline.services.dispatch import Receipts
from openline.services.inbound import InboundService
from openline.storage import jobs
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.repositories import IncomingPhoneNumberRepository
from openline.storage.repositories.messaging import HandsetRepository, MediaRepository, MessageRepository

SANDBOX_DELIVER = "sandbox_deliver"
READ_RECEIPTS = frozenset({Channel.WHATSAPP, Channel.MESSENGER})


class SandboxNetwork:
    name = "sandbox"
    available = True

    def __init__(
        self, db: Database, clock: Clock, settings: SandboxSettings, messages: MessageRepository,
        media: MediaRepository, numbers: IncomingPhoneNumberRepository, handsets: HandsetRepository,
        receipts: Receipts, inbound: InboundService,
    ) -> None:
        self._db = db
        self._clock = clock
        self._settings = settings
        self._messages = messages
        self._media = media
        self._numbers = numbers
        self._handsets = handsets
        self._receipts = receipts
        self._inbound = inbound

    async def submit(self, message: Message, segmentation: Segmentation) -> SubmitResult:
        outcome = magic_numbers.TO_OUTCOMES.get(message.to_addr)
        if outcome is not None and outcome[0] == "failed":
            return Rejected(outcome[1], "The sandbox carrier refused the message (Twilio test number)")
        return Accepted("SB" + message.sid[2:])

    async def after_sent(self, conn: Conn, message: Message) -> None:
        now = self._clock.now()
        await jobs.enqueue(conn, SANDBOX_DELIVER, {"sid": message.sid},
                           now + timedelta(seconds=self._settings.delivery_delay_seconds), now)

    async def deliver(self, job: Job) -> None:
        async with self._db.transaction() as conn:
            message = await self._messages.get(conn, job.payload["sid"])
            if job.payload.get("read"):
                if message is not None and message.status is MessageStatus.DELIVERED:
                    await self._receipts.apply(conn, message, MessageStatus.READ)
            elif message is not None and message.status is MessageStatus.SENT:
                await self._deliver(conn, message)
            await jobs.complete(conn, job.id)

    async def _deliver(self, conn: Conn, message: Message) -> None:
        if is_chat(message.to_addr):
            await self._deliver_chat(conn, message)
            return
        outcome = magic_numbers.TO_OUTCOMES.get(message.to_addr)
        if outcome is not None:
            await self._receipts.apply(conn, message, MessageStatus(outcome[0]), outcome[1])
            return
        owner = await self._numbers.by_number(conn, message.to_addr)
        if owner is not None:
            # One account texting another: the message arrives on the Openline number.
            media = await self._media.for_message(conn, message.sid)
            await self._inbound.receive(conn, message.from_addr or "", owner, message.body,
                                        [(m.source_url or "", m.content_type, m.blob_key) for m in media])
        else:
            await self._handsets.deliver(conn, HandsetMessage(
                handset=message.to_addr, message_sid=message.sid, account_sid=message.account_sid,
                from_addr=message.from_addr or "", body=message.body, status=MessageStatus.DELIVERED.value,
                date_sent=self._clock.now()))
        await self._receipts.apply(conn, message, MessageStatus.DELIVERED)

    async def _deliver_chat(self, conn: Conn, message: Message) -> None:
        """A chat user's app shows the message (delivered), and they read it a moment later (read).

        WhatsApp and Messenger report reads; Telegram's and LINE's bot APIs report nothing past
        the send, so the sandbox stops at delivered for them.
        """
        await self._handsets.deliver(conn, HandsetMessage(
            handset=message.to_addr, message_sid=message.sid, account_sid=message.account_sid,
            from_addr=message.from_addr or "", body=message.body, status=MessageStatus.DELIVERED.value,
            date_sent=self._clock.now()))
        await self._receipts.apply(conn, message, MessageStatus.DELIVERED)
        if channel_of(message.to_addr) in READ_RECEIPTS:
            now = self._clock.now()
            await jobs.enqueue(conn, SANDBOX_DELIVER, {"sid": message.sid, "read": True},
                               now + timedelta(seconds=self._settings.delivery_delay_seconds), now)

