"""Sending messages: validation with Twilio's codes, and the durable accept (row + job, one commit).

Everything a message needs is decided here or in ``core``: the checks and their error codes,
the initial status, segmentation, the dispatch job. The 201 goes out only after the message,
its first timeline entry and its jobs are committed together.
"""

from __future__ import annotations

import mimetypes
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from openline.codecs.segments import segment
from openline.config import MessagingSettings
from openline.core import magic_numbers
from openline.core.channels import Channel, channel_of, check_pair, check_to, is_chat, parse_address
from openline.core.clock import Clock
from openline.core.entities import Account, AccountStatus
from openline.core.errors import TwilioError
from openline.core.lifecycle import Direction, MessageStatus, is_final
from openline.core.messaging import Media, Message
from openline.core.numbering import parse_e164
from openline.core.sids import SidPrefix, is_sid, new_sid
from openline.services.accounts import not_found
from openline.services.callbacks import StatusCallbacks
from openline.services.channels import ChannelDirectory
from openline.services.content import ContentService
from openline.services.queue import Wakeup
from openline.storage import jobs
from openline.storage.blobs import Blob, BlobStore
from openline.storage.database import Conn, Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories import ApplicationRepository, IncomingPhoneNumberRepository
from openline.storage.repositories.messaging import (
    MediaRepository,
    MessageRepository,
    MessagingServiceRepository,
    OptOutRepository,
    ServiceSenderRepository,
)

MAX_BODY_CHARS = 1600  # Twilio's limit on a message body (21617)
MAX_MEDIA = 10  # Twilio's limit on MediaUrl values per message
SCHEDULE_MIN = timedelta(minutes=15)
SCHEDULE_MAX = timedelta(days=35)
ALPHA_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
NANP_PREFIX = "+1"

DISPATCH = "dispatch"
QUEUE_DEPTH_TTL = 1.0  # seconds a counted queue depth is trusted (a COUNT per message would not scale)


@dataclass(frozen=True, slots=True)
class SendRequest:
    to: str | None
    from_: str | None = None
    messaging_service_sid: str | None = None
    body: str | None = None
    media_urls: Sequence[str] = ()
    status_callback: str | None = None
    application_sid: str | None = None
    validity_period: int | None = None
    send_at: datetime | None = None
    schedule_type: str | None = None
    max_price: str | None = None
    direction: Direction = Direction.OUTBOUND_API
    in_reply_to: str | None = None
    skip_opt_out_check: bool = False  # opt-out confirmations must reach the person who opted out
    concealed: bool = False  # see Message.concealed
    extra: dict[str, str] = field(default_factory=dict)
    content_sid: str | None = None
    content_variables: str | None = None


def is_alpha_sender(value: str) -> bool:
    return bool(ALPHA_SENDER.match(value))


def opt_out_scope(service_sid: str | None, sender: str | None) -> str | None:
    """Opt-outs hold per messaging service, or per number for a number outside any service."""
    return service_sid or sender


def price_for(settings: MessagingSettings, to: str, segments: int) -> str:
    parsed = parse_e164(to)
    table = settings.price_per_segment
    rate = Decimal(table.get(parsed.iso_country if parsed else "", table.get("default", "0")))
    return f"{-(rate * segments):.5f}"


def guess_content_type(url: str) -> str:
    return mimetypes.guess_type(url.split("?", 1)[0])[0] or "application/octet-stream"


class MessagingService:
    def __init__(
        self, db: Database, clock: Clock, settings: MessagingSettings, wakeup: Wakeup, blobs: BlobStore,
        messages: MessageRepository, media: MediaRepository, numbers: IncomingPhoneNumberRepository,
        applications: ApplicationRepository, services: MessagingServiceRepository,
        senders: ServiceSenderRepository, opt_outs: OptOutRepository, callbacks: StatusCallbacks,
        channels: ChannelDirectory, contents: ContentService,
    ) -> None:
        self._db = db
        self._channels = channels
        self._contents = contents
        self._clock = clock
        self._settings = settings
        self._wakeup = wakeup
        self._blobs = blobs
        self._messages = messages
        self._media = media
        self._numbers = numbers
        self._apps = applications
        self._services = services
        self._senders = senders
        self._opt_outs = opt_outs
        self._callbacks = callbacks
        self._depths: dict[str, tuple[float, int]] = {}

    # --- accept ----------------------------------------------------------------------------

    async def send(self, account: Account, request: SendRequest) -> Message:
        async with self._db.transaction() as conn:
            message = await self.accept(conn, account, request)
        self._wakeup.notify()
        return message

    async def accept(self, conn: Conn, account: Account, request: SendRequest) -> Message:
        """Validate and store one outbound message with its jobs, inside the caller's transaction."""
        if account.status is not AccountStatus.ACTIVE:
            raise TwilioError(10001, f"Account {account.sid} is {account.status.value}: it cannot send messages")
        now = self._clock.now()
        to = self._check_to(request.to)
        body = request.body or ""
        media_urls = list(request.media_urls)
        if request.content_sid:
            # The content decides what the message says; Body and MediaUrl are ignored, as on Twilio.
            rendered = await self._contents.rendered(conn, account.sid, request.content_sid,
                                                     request.content_variables)
            body, media_urls = rendered.body, list(rendered.media)
        elif request.content_variables:
            raise TwilioError(21656, "ContentVariables needs a ContentSid")
        if not body and not media_urls:
            raise TwilioError(21602, "Message body is required: give Body or at least one MediaUrl")
        if len(body) > MAX_BODY_CHARS:
            raise TwilioError(21617, f"The message body has {len(body)} characters; the limit is {MAX_BODY_CHARS}")
        if len(media_urls) > MAX_MEDIA:
            raise TwilioError(21623, f"A message can carry at most {MAX_MEDIA} MediaUrl values")

        service = None
        if request.messaging_service_sid:
            service = await self._services.get(conn, request.messaging_service_sid, account_sids=[account.sid])
            if service is None:
                raise TwilioError(21701, f"Messaging service {request.messaging_service_sid} does not exist")
        sender = None
        if request.from_:
            sender = await self._check_from(conn, account, request.from_, to)
        elif service is None:
            raise TwilioError(21603, "A 'From' phone number or a MessagingServiceSid is required")

        if request.application_sid and await self._apps.get(
                conn, request.application_sid, account_sids=[account.sid]) is None:
            raise TwilioError(21609, f"ApplicationSid {request.application_sid} is not an application of this account")

        if is_chat(to) and sender is None and channel_of(to) is not Channel.WHATSAPP:
            # A messaging service's numbers can be WhatsApp senders; other channels have one sender each.
            raise TwilioError(63007, f"Give a 'From' on the {channel_of(to).value} channel to send to {to}")
        if not request.skip_opt_out_check and not is_chat(to):
            scope = await self.opt_out_scope(conn, service.sid if service else None, sender)
            if scope and await self._opt_outs.is_opted_out(conn, scope, to):
                raise TwilioError(21610, f"{to} has replied STOP to this sender: reply START to opt back in")
        if sender is not None and sender != magic_numbers.VALID_FROM \
                and await self._queue_depth(conn, sender) >= self._settings.max_queue_per_sender:
            raise TwilioError(21611, f"{sender} has too many queued messages")

        validity = request.validity_period or (service.validity_period if service else None) \
            or self._settings.default_validity_period
        if not 1 <= validity <= 36_000:
            raise TwilioError(90007, "ValidityPeriod must be between 1 and 36000 seconds")
        send_at = self._check_schedule(request, service is not None, now)
        if request.max_price is not None:
            try:
                Decimal(request.max_price)
            except InvalidOperation:
                raise TwilioError(20001, "MaxPrice must be a decimal number") from None

        if send_at is not None:
            status = MessageStatus.SCHEDULED
        elif service is not None and request.from_ is None:
            status = MessageStatus.ACCEPTED
        else:
            status = MessageStatus.QUEUED
        segmentation = segment(body)
        segments = segmentation.num_segments if body and not is_chat(to) else 1  # chat carries a body whole
        sid = new_sid(SidPrefix.MMS if media_urls else SidPrefix.MESSAGE)
        start = send_at or now
        message = Message(
            sid=sid, account_sid=account.sid, messaging_service_sid=service.sid if service else None,
            direction=request.direction, from_addr=sender, to_addr=to, body=body, status=status,
            error_code=None, error_message=None, num_segments=segments,
            num_media=len(media_urls), encoding=segmentation.encoding.value, price=None,
            price_unit=self._settings.price_unit, date_sent=None, send_at=send_at,
            expires_at=start + timedelta(seconds=validity), status_callback=request.status_callback,
            status_callback_method="POST", application_sid=request.application_sid, max_price=request.max_price,
            carrier=None, carrier_message_id=None, in_reply_to=request.in_reply_to, date_created=now,
            date_updated=now, concealed=request.concealed, content_sid=request.content_sid,
            content_variables=request.content_variables if request.content_sid else None)
        await self._messages.insert(conn, message)
        await self._messages.record_event(conn, message, now)
        for url in media_urls:
            await self._media.insert(conn, Media(new_sid(SidPrefix.MEDIA), sid, account.sid, guess_content_type(url),
                                                 url, None, None, now, now))
        await jobs.enqueue(conn, DISPATCH, {"sid": sid}, start, now, max_attempts=1000)
        await self._callbacks.on_status(conn, message)
        return message

    async def _queue_depth(self, conn: Conn, sender: str) -> int:
        """Queued messages of a sender: counted at most once a second, plus what we added since."""
        now = time.monotonic()
        cached = self._depths.get(sender)
        if cached is None or now - cached[0] > QUEUE_DEPTH_TTL:
            cached = (now, await self._messages.queue_depth(conn, sender))
        self._depths[sender] = (cached[0], cached[1] + 1)
        return cached[1]

    async def opt_out_scope(self, conn: Conn, service_sid: str | None, sender: str | None) -> str | None:
        """A number inside a messaging service shares the service's opt-out list."""
        if service_sid is None and sender is not None and sender.startswith("+"):
            service_sid = await self._senders.service_of_number(conn, sender)
        return opt_out_scope(service_sid, sender)

    def _check_to(self, raw: str | None) -> str:
        if not raw:
            raise TwilioError(21604, "A 'To' phone number is required")
        if is_chat(raw):
            address = check_to(raw)
            if not self._channels.reachable(address.channel):
                raise TwilioError(21612, f"The {address.channel.value} channel is not configured and the sandbox "
                                         "is off")
            return str(address)
        parsed = parse_e164(raw)
        if parsed is not None and parsed.e164 in magic_numbers.TO_ERRORS:
            code = magic_numbers.TO_ERRORS[parsed.e164]
            raise TwilioError(code, f"The 'To' number {parsed.e164} answers {code} (Twilio test number)")
        if parsed is None:
            raise TwilioError(21211, f"The 'To' number {raw} is not a valid phone number")
        return parsed.e164

    async def _check_from(self, conn: Conn, account: Account, raw: str, to: str) -> str:
        if is_chat(to) or is_chat(raw):
            return await self._check_channel_sender(conn, account, raw, to)
        parsed = parse_e164(raw)
        if parsed is not None:
            if parsed.e164 in magic_numbers.FROM_ERRORS:
                code = magic_numbers.FROM_ERRORS[parsed.e164]
                raise TwilioError(code, f"The 'From' number {parsed.e164} answers {code} (Twilio test number)")
            if parsed.e164 == magic_numbers.VALID_FROM:
                return parsed.e164
            if await self._numbers.sms_sender_of(conn, parsed.e164) != account.sid:
                raise TwilioError(21606, f"The 'From' number {parsed.e164} is not a valid, SMS-capable phone "
                                         "number of this account")
            return parsed.e164
        if is_alpha_sender(raw):
            if not account.alpha_sender_enabled:
                raise TwilioError(21212, f"Alphanumeric sender IDs are not enabled for this account: {raw}")
            if to.startswith(NANP_PREFIX):
                raise TwilioError(21612, "Alphanumeric sender IDs cannot send to the US or Canada")
            return raw
        raise TwilioError(21212, f"The 'From' number {raw} is not a valid phone number or sender ID")

    async def _check_channel_sender(self, conn: Conn, account: Account, raw: str, to: str) -> str:
        """The From of a chat message: a sender of the To's channel that this account may use."""
        sender = parse_address(raw)
        if sender is None:
            raise TwilioError(21212, f"The 'From' address {raw} is not a valid phone number or channel address")
        target = parse_address(to)
        assert target is not None  # _check_to passed
        check_pair(target, sender)
        if sender.channel is Channel.WHATSAPP:
            owned = await self._numbers.by_number(conn, sender.id)
            configured = self._channels.configured(Channel.WHATSAPP)
            if owned is None or owned.account_sid != account.sid or (
                    configured and self._channels.whatsapp_number_id(sender.id) is None):
                raise TwilioError(63007, f"{raw} is not a WhatsApp sender of this account: it must be a number "
                                         "of the account" + (" listed in channels.whatsapp.numbers" if configured
                                                             else ""))
        elif not self._channels.may_send(account.sid, sender):
            raise TwilioError(63007, f"{raw} is not a configured {sender.channel.value} sender of this account")
        return str(sender)

    def _check_schedule(self, request: SendRequest, has_service: bool, now: datetime) -> datetime | None:
        if request.schedule_type is None and request.send_at is None:
            return None
        if request.schedule_type != "fixed":
            raise TwilioError(35111, "ScheduleType must be 'fixed' to schedule a message (with SendAt)")
        if request.send_at is None:
            raise TwilioError(35114, "SendAt is required with ScheduleType=fixed")
        if not has_service:
            raise TwilioError(35118, "Scheduled messages must be sent with a MessagingServiceSid")
        if request.send_at - now < SCHEDULE_MIN:
            raise TwilioError(35114, "SendAt must be at least 15 minutes in the future")
        if request.send_at - now > SCHEDULE_MAX:
            raise TwilioError(35115, "SendAt must be at most 35 days in the future")
        return request.send_at

    # --- read, change, delete -----------------------------------------------------------------

    async def get(self, account: Account, sid: str) -> Message:
        async with self._db.read() as conn:
            message = await self._messages.get(conn, sid, account_sids=[account.sid]) if is_sid(sid) else None
        if message is None or message.concealed:
            raise not_found(f"The requested resource {sid} was not found")
        return message

    async def search(
        self, account: Account, size: int, cursor: Cursor, *, to: str | None, from_: str | None,
        sent_on: tuple[datetime, datetime] | None, sent_before: datetime | None, sent_after: datetime | None,
    ) -> Page[Message]:
        async with self._db.read() as conn:
            return await self._messages.page_for(conn, account.sid, size, cursor, to=to, from_=from_,
                                                 sent_on=sent_on, sent_before=sent_before, sent_after=sent_after)

    async def redact(self, account: Account, sid: str) -> Message:
        async with self._db.transaction() as conn:
            message = await self._messages.get(conn, sid, account_sids=[account.sid])
            if message is None or message.concealed:
                raise not_found()
            if not is_final(message.status) and message.status is not MessageStatus.RECEIVED:
                raise TwilioError(20009, "A message can be redacted once it is no longer queued or being sent")
            updated = await self._messages.update(conn, sid, {"body": "", "date_updated": self._clock.now()})
        assert updated is not None
        return updated

    async def cancel(self, account: Account, sid: str) -> Message:
        async with self._db.transaction() as conn:
            message = await self._messages.get(conn, sid, account_sids=[account.sid])
            if message is None or message.concealed:
                raise not_found()
            if message.status is not MessageStatus.SCHEDULED:
                raise TwilioError(20009, f"Only scheduled messages can be canceled; this one is {message.status.value}")
            updated = await self._messages.set_status(conn, message, MessageStatus.CANCELED, self._clock.now())
            await self._callbacks.on_status(conn, updated)
        return updated

    async def delete(self, account: Account, sid: str) -> None:
        async with self._db.transaction() as conn:
            message = await self._messages.get(conn, sid, account_sids=[account.sid])
            if message is None or message.concealed:
                raise not_found()
            if not is_final(message.status) and message.status not in (MessageStatus.RECEIVED,
                                                                         MessageStatus.CANCELED):
                raise TwilioError(20009, "A message cannot be deleted while it is queued or being sent")
            media = await self._media.delete_for_message(conn, sid)
            await self._messages.delete(conn, sid)
        for item in media:
            if item.blob_key:
                await self._blobs.delete(item.blob_key)

    # --- media ------------------------------------------------------------------------------


    async def media_page(self, account: Account, message_sid: str, size: int, cursor: Cursor) -> Page[Media]:
        async with self._db.read() as conn:
            message = await self._messages.get(conn, message_sid, account_sids=[account.sid])
            if message is None or message.concealed:
                raise not_found()
            return await self._media.page_for(conn, message_sid, size, cursor)

    async def media_item(self, account_sid: str, message_sid: str, media_sid: str) -> Media:
        async with self._db.read() as conn:
            item = await self._media.get(conn, media_sid, account_sids=[account_sid])
        if item is None or item.message_sid != message_sid:
            raise not_found()
        return item

    async def blob(self, key: str) -> Blob | None:
        return await self._blobs.get(key)

    async def delete_media(self, account: Account, message_sid: str, media_sid: str) -> None:
        item = await self.media_item(account.sid, message_sid, media_sid)
        async with self._db.transaction() as conn:
            await self._media.delete(conn, media_sid)
        if item.blob_key:
            await self._blobs.delete(item.blob_key)
