"""What chat platforms tell us: users' messages and the fate of ours, from signed webhooks.

Each platform's webhook is authenticated first (WhatsApp and Messenger: ``X-Hub-Signature-256``
with the app secret; Telegram: the secret token header; LINE: ``X-Line-Signature`` with the
channel secret); a request that fails the check changes nothing. Messages become inbound
Messages of the sender's account (its webhook, TwiML replies and Conversations routing follow
as for SMS); status reports move our messages to delivered, read or undelivered with Twilio's
codes. Platforms retry webhooks, so a message id already stored is not stored again.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Sequence
from datetime import UTC, datetime

from openline.codecs.chat import ChatMessage, ChatStatus, PayloadError, signatures
from openline.codecs.chat import line as line_codec
from openline.codecs.chat import messenger as messenger_codec
from openline.codecs.chat import telegram as telegram_codec
from openline.codecs.chat import whatsapp as whatsapp_codec
from openline.config import ChannelSettings
from openline.core.channels import Channel, telegram_bot_id, twilio_error
from openline.core.errors import OpenlineError
from openline.core.lifecycle import MessageStatus
from openline.services.channels import ChannelDirectory
from openline.services.dispatch import Receipts
from openline.services.inbound import InboundMedia, InboundService
from openline.services.queue import Wakeup
from openline.storage.database import Conn, Database
from openline.storage.repositories import IncomingPhoneNumberRepository
from openline.storage.repositories.messaging import MessageRepository

log = logging.getLogger("openline.channels")

STATUSES = {"delivered": MessageStatus.DELIVERED, "read": MessageStatus.READ,
            "failed": MessageStatus.UNDELIVERED}  # "sent" is ours already: the platform accepted the send


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
    def __init__(self, db: Database, wakeup: Wakeup, settings: ChannelSettings, directory: ChannelDirectory,
                 inbound: InboundService, receipts: Receipts, messages: MessageRepository,
                 numbers: IncomingPhoneNumberRepository) -> None:
        self._db = db
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
        async with self._db.transaction() as conn:
            for message in messages:
                number = await self._numbers.by_number(conn, message.recipient)
                if number is None:
                    log.warning("WhatsApp message to %s, which no account owns: dropped", message.recipient)
                    continue
                await self._receive(conn, Channel.WHATSAPP, f"whatsapp:+{message.sender.lstrip('+')}",
                                    f"whatsapp:{number.phone_number}", number.account_sid, message)
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
                    await self._to_sender(conn, Channel.MESSENGER, f"messenger:{message.sender}", page, message)
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
        async with self._db.transaction() as conn:
            await self._to_sender(conn, Channel.TELEGRAM, f"telegram:{message.sender}", f"telegram:{bot}", message)
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
        async with self._db.transaction() as conn:
            for message in messages:
                await self._to_sender(conn, Channel.LINE, f"line:{message.sender}", f"line:{destination}", message)
        self._wakeup.notify()

    # --- shared -------------------------------------------------------------------------------

    async def _to_sender(self, conn: Conn, channel: Channel, from_addr: str, to_addr: str,
                         message: ChatMessage) -> None:
        sender = self._directory.sender(to_addr)
        owner = self._directory.owner(sender) if sender else None
        if owner is None:
            log.warning("%s message to %s, which no account owns: dropped", channel.value, to_addr)
            return
        await self._receive(conn, channel, from_addr, to_addr, owner, message)

    async def _receive(self, conn: Conn, channel: Channel, from_addr: str, to_addr: str, account_sid: str,
                       message: ChatMessage) -> None:
        if await self._messages.inbound_by_carrier_id(conn, channel.value, message.message_id) is not None:
            return  # a retried webhook
        media: Sequence[InboundMedia] = [
            (item.ref, item.content_type or mimetypes.guess_type(item.ref.split("?", 1)[0])[0]
             or "application/octet-stream", None)
            for item in message.media if item.ref.startswith(("http://", "https://"))]
        await self._inbound.receive_chat(conn, from_addr, to_addr, account_sid, message.text, media,
                                         carrier=channel.value, profile_name=message.profile_name,
                                         carrier_message_id=message.message_id, reply_token=message.reply_token)

    async def _status(self, conn: Conn, channel: Channel, report: ChatStatus, sender: str | None = None) -> None:
        status = STATUSES.get(report.status)
        if status is None:
            return
        if report.message_id is not None:
            found = await self._messages.by_carrier_id(conn, channel.value, report.message_id)
            targets = [found] if found is not None else []
        elif report.watermark_ms is not None and sender is not None:
            until = datetime.fromtimestamp(report.watermark_ms / 1000, UTC)
            targets = await self._messages.unread_until(conn, sender, f"{channel.value}:{report.recipient}", until)
        else:
            targets = []
        code = twilio_error(channel, report.error_code, report.error_title or "") \
            if status is MessageStatus.UNDELIVERED else None
        for message in targets:
            if message.status not in (MessageStatus.SENT, MessageStatus.DELIVERED):
                continue  # not recorded as sent yet, or already final: the report changes nothing
            if status is MessageStatus.DELIVERED and message.status is not MessageStatus.SENT:
                continue
            await self._receipts.apply(conn, message, status, code, report.error_title)
