"""What chat platforms tell us: users' messages and the fate of ours, from signed webhooks.

Each platform's webhook is authenticated first (WhatsApp and Messenger: ``X-Hub-Signature-256``
with the app secret; Telegram: the secret token header; LINE: ``X-Line-Signature`` with the
channel secret); a request that fails the check changes nothing. Messages become inbound
Messages of the sender's account (its webhook, TwiML replies and Conversations routing follow
as for SMS); status reports move our messages to delivered, read or undelivered with Twilio's
codes. Platforms retry webhooks, so a message id already stored is not stored again.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from openline.codecs.chat import ChatMessage, ChatStatus, PayloadError, signatures
from openline.codecs.chat import line as line_codec
from openline.codecs.chat import messenger as messenger_codec
from openline.codecs.chat import telegram as telegram_codec
from openline.codecs.chat import whatsapp as whatsapp_codec
from openline.config import ChannelSettings
from openline.core.channels import Channel, telegram_bot_id, twilio_error
from openline.core.clock import Clock
from openline.core.errors import OpenlineError
from openline.core.lifecycle import MessageStatus
from openline.core.messaging import Message
from openline.services.carriers import ChatHttp, ChatLinkError
from openline.services.channels import ChannelDirectory
from openline.services.dispatch import Receipts
from openline.services.inbound import InboundMedia, InboundService
from openline.services.queue import RetryLater, Wakeup
from openline.storage import jobs
from openline.storage.blobs import BlobStore
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.repositories import IncomingPhoneNumberRepository
from openline.storage.repositories.messaging import MessageRepository

log = logging.getLogger("openline.channels")

CHANNEL_STATUS = "channel_status"
STATUS_RETRY = timedelta(seconds=2)
STATUS_PATIENCE = timedelta(minutes=5)  # a report whose message never shows up is dropped after this
NOT_YET_SENT = frozenset({MessageStatus.ACCEPTED, MessageStatus.QUEUED, MessageStatus.SENDING})
STATUSES = {"delivered": MessageStatus.DELIVERED, "read": MessageStatus.READ,
            "failed": MessageStatus.UNDELIVERED}  # "sent" is ours already: the platform accepted the send


def _linked(message: ChatMessage) -> list[InboundMedia]:
    """Messenger hands out media as URLs: they are kept as the media's source."""
    return [(item.ref, item.content_type or mimetypes.guess_type(item.ref.split("?", 1)[0])[0]
             or "application/octet-stream", None) for item in message.media]


class WebhookRejected(OpenlineError):
    """The webhook request is not authentic or not for a configured channel: answer ``status``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _secret(value: object) -> str | None:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else None


class ChannelWebhooks:
    def __init__(self, db: Database, clock: Clock, wakeup: Wakeup, settings: ChannelSettings,
                 directory: ChannelDirectory,
                 inbound: InboundService, receipts: Receipts, messages: MessageRepository,
                 numbers: IncomingPhoneNumberRepository, http: ChatHttp, blobs: BlobStore, media_limit: int) -> None:
        self._db = db
        self._clock = clock
        self._http = http
        self._blobs = blobs
        self._media_limit = media_limit
        self._wakeup = wakeup
        self._settings = settings
        self._directory = directory
        self._inbound = inbound
        self._receipts = receipts
        self._messages = messages
        self._numbers = numbers

    # --- subscription challenges (Meta) ---------------------------------------------------------

    def challenge(self, channel: Channel, mode: str | None, token: str | None, challenge: str | None) -> str:
        configured = {Channel.WHATSAPP: self._settings.whatsapp.verify_token,
                      Channel.MESSENGER: self._settings.messenger.verify_token}.get(channel)
        verify_token = _secret(configured)
        if verify_token is None:
            raise WebhookRejected(404, f"channels.{channel.value}.verify_token is not configured")
        if not signatures.check_hub_challenge(verify_token, mode, token) or challenge is None:
            raise WebhookRejected(403, "hub.mode or hub.verify_token does not match")
        return challenge

    # --- notifications ------------------------------------------------------------------------

    @staticmethod
    def _check(ok: bool, header: str | None, name: str) -> None:
        if header is None:
            raise WebhookRejected(401, f"{name} is missing")
        if not ok:
            raise WebhookRejected(403, f"{name} does not match")

    async def whatsapp(self, body: bytes, signature: str | None) -> None:
        secret = _secret(self._settings.whatsapp.app_secret)
        if secret is None:
            raise WebhookRejected(404, "channels.whatsapp.app_secret is not configured")
        self._check(signatures.check_hub_signature(secret, body, signature), signature, "X-Hub-Signature-256")
        try:
            messages, statuses = whatsapp_codec.parse_webhook(body)
        except PayloadError as exc:
            raise WebhookRejected(400, str(exc)) from None
        media = {m.message_id: await self._download(Channel.WHATSAPP, m) for m in messages}
        async with self._db.transaction() as conn:
            for message in messages:
                number = await self._numbers.by_number(conn, message.recipient)
                if number is None:
                    log.warning("WhatsApp message to %s, which no account owns: dropped", message.recipient)
                    continue
                await self._receive(conn, Channel.WHATSAPP, f"whatsapp:+{message.sender.lstrip('+')}",
                                    f"whatsapp:{number.phone_number}", number.account_sid, message,
                                    media[message.message_id])
            for _, status in statuses:
                await self._status(conn, Channel.WHATSAPP, status)
        self._wakeup.notify()

    async def messenger(self, body: bytes, signature: str | None) -> None:
        s = self._settings.messenger
        secret = _secret(s.app_secret)
        if secret is None or s.page_id is None:
            raise WebhookRejected(404, "channels.messenger is not configured")
        self._check(signatures.check_hub_signature(secret, body, signature), signature, "X-Hub-Signature-256")
        try:
            messages, statuses = messenger_codec.parse_webhook(body)
        except PayloadError as exc:
            raise WebhookRejected(400, str(exc)) from None
        page = f"messenger:{s.page_id}"
        async with self._db.transaction() as conn:
            for message in messages:
                if message.recipient == s.page_id:
                    await self._to_sender(conn, Channel.MESSENGER, f"messenger:{message.sender}", page, message,
                                          _linked(message))
            for status in statuses:
                await self._status(conn, Channel.MESSENGER, status, sender=page)
        self._wakeup.notify()

    async def telegram(self, body: bytes, secret_header: str | None) -> None:
        s = self._settings.telegram
        secret = _secret(s.secret_token)
        bot = telegram_bot_id(_secret(s.bot_token) or "")
        if secret is None or bot is None:
            raise WebhookRejected(404, "channels.telegram is not configured")
        self._check(signatures.check_telegram_secret(secret, secret_header), secret_header,
                    "X-Telegram-Bot-Api-Secret-Token")
        try:
            message = telegram_codec.parse_update(body, bot)
        except PayloadError as exc:
            raise WebhookRejected(400, str(exc)) from None
        if message is None:
            return
        media = await self._download(Channel.TELEGRAM, message)
        async with self._db.transaction() as conn:
            await self._to_sender(conn, Channel.TELEGRAM, f"telegram:{message.sender}", f"telegram:{bot}", message,
                                  media)
        self._wakeup.notify()

    async def line(self, body: bytes, signature: str | None) -> None:
        s = self._settings.line
        secret = _secret(s.channel_secret)
        if secret is None or s.bot_user_id is None:
            raise WebhookRejected(404, "channels.line is not configured")
        self._check(signatures.check_line_signature(secret, body, signature), signature, "X-Line-Signature")
        try:
            destination, messages = line_codec.parse_webhook(body)
        except PayloadError as exc:
            raise WebhookRejected(400, str(exc)) from None
        if destination != s.bot_user_id:
            raise WebhookRejected(403, f"destination {destination} is not channels.line.bot_user_id")
        media = {m.message_id: await self._download(Channel.LINE, m) for m in messages}
        async with self._db.transaction() as conn:
            for message in messages:
                await self._to_sender(conn, Channel.LINE, f"line:{message.sender}", f"line:{destination}", message,
                                      media[message.message_id])
        self._wakeup.notify()

    # --- shared -------------------------------------------------------------------------------

    async def _download(self, channel: Channel, message: ChatMessage) -> list[InboundMedia]:
        """Received media into the blob store, before the message is stored (a platform's media ids
        need its token to read, so an app could not fetch them). One that fails is left out."""
        found: list[InboundMedia] = []
        for item in message.media:
            try:
                status, content_type, data = await self._fetch_media(channel, item.ref)
            except (ChatLinkError, PayloadError) as exc:
                log.warning("%s media %s of %s not fetched: %s", channel.value, item.ref, message.message_id, exc)
                continue
            if status != 200:
                log.warning("%s media %s answered HTTP %s", channel.value, item.ref, status)
                continue
            kind = item.content_type or content_type or "application/octet-stream"
            key = f"media/{channel.value}/{hashlib.sha256(item.ref.encode()).hexdigest()}"
            await self._blobs.put(key, data, kind)
            found.append(("", kind, key))
        return found

    async def _fetch_media(self, channel: Channel, ref: str) -> tuple[int, str | None, bytes]:
        s = self._settings
        if channel is Channel.WHATSAPP:
            token = _secret(s.whatsapp.access_token) or ""
            status, body = await self._http.send(s.whatsapp.api_base_url,
                                                 whatsapp_codec.media_url_request(s.whatsapp.api_version, ref, token))
            url, _ = whatsapp_codec.parse_media_url(status, body)
            return await self._http.download(url, {"Authorization": f"Bearer {token}"}, self._media_limit)
        if channel is Channel.TELEGRAM:
            token = _secret(s.telegram.bot_token) or ""
            status, body = await self._http.send(s.telegram.api_base_url, telegram_codec.get_file(token, ref))
            path = telegram_codec.file_path(status, body)
            return await self._http.download(f"{s.telegram.api_base_url}/file/bot{token}/{path}", {},
                                             self._media_limit)
        token = _secret(s.line.channel_access_token) or ""
        return await self._http.download(f"{s.line.data_api_base_url}{line_codec.content_path(ref)}",
                                         {"Authorization": f"Bearer {token}"}, self._media_limit)

    async def _to_sender(self, conn: Conn, channel: Channel, from_addr: str, to_addr: str,
                         message: ChatMessage, media: Sequence[InboundMedia]) -> None:
        sender = self._directory.sender(to_addr)
        owner = self._directory.owner(sender) if sender else None
        if owner is None:
            log.warning("%s message to %s, which no account owns: dropped", channel.value, to_addr)
            return
        await self._receive(conn, channel, from_addr, to_addr, owner, message, media)

    async def _receive(self, conn: Conn, channel: Channel, from_addr: str, to_addr: str, account_sid: str,
                       message: ChatMessage, media: Sequence[InboundMedia]) -> None:
        if await self._messages.inbound_by_carrier_id(conn, channel.value, message.message_id) is not None:
            return  # a retried webhook
        await self._inbound.receive_chat(conn, from_addr, to_addr, account_sid, message.text, media,
                                         carrier=channel.value, profile_name=message.profile_name,
                                         carrier_message_id=message.message_id, reply_token=message.reply_token)

    async def _status(self, conn: Conn, channel: Channel, report: ChatStatus, sender: str | None = None) -> None:
        status = STATUSES.get(report.status)
        if status is None:
            return
        if report.message_id is not None:
            found = await self._messages.by_carrier_id(conn, channel.value, report.message_id)
            if found is None or found.status in NOT_YET_SENT:
                # The platform may report before the dispatcher recorded its answer: try again shortly.
                now = self._clock.now()
                await jobs.enqueue(conn, CHANNEL_STATUS, {
                    "channel": channel.value, "message_id": report.message_id, "status": report.status,
                    "recipient": report.recipient, "error_code": report.error_code,
                    "error_title": report.error_title, "received": now.isoformat()},
                    now + STATUS_RETRY, now, max_attempts=5)
                return
            targets = [found]
        elif report.watermark_ms is not None and sender is not None:
            until = datetime.fromtimestamp(report.watermark_ms / 1000, UTC)
            targets = await self._messages.unread_until(conn, sender, f"{channel.value}:{report.recipient}", until)
        else:
            targets = []
        await self._apply(conn, channel, report, targets)

    async def _apply(self, conn: Conn, channel: Channel, report: ChatStatus, targets: Sequence[Message]) -> None:
        status = STATUSES[report.status]
        code = twilio_error(channel, report.error_code, report.error_title or "") \
            if status is MessageStatus.UNDELIVERED else None
        for message in targets:
            if message.status not in (MessageStatus.SENT, MessageStatus.DELIVERED):
                continue  # not recorded as sent yet, or already final: the report changes nothing
            if status is MessageStatus.DELIVERED and message.status is not MessageStatus.SENT:
                continue
            await self._receipts.apply(conn, message, status, code, report.error_title)

    async def retry_status(self, job: Job) -> None:
        """A status report that came before its message was recorded as sent (job ``channel_status``)."""
        p = job.payload
        report = ChatStatus(p["status"], p["recipient"], p["message_id"], p.get("error_code"), p.get("error_title"))
        channel = Channel(p["channel"])
        async with self._db.transaction() as conn:
            found = await self._messages.by_carrier_id(conn, channel.value, report.message_id or "")
            if found is not None and found.status not in NOT_YET_SENT:
                await self._apply(conn, channel, report, [found])
            elif self._clock.now() - datetime.fromisoformat(p["received"]) < STATUS_PATIENCE:
                raise RetryLater(STATUS_RETRY.total_seconds(), f"{report.message_id} is not recorded as sent yet")
            await jobs.complete(conn, job.id)
        self._wakeup.notify()

