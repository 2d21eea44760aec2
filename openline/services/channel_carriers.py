"""Chat-platform adapters as carriers of the message pipeline: WhatsApp, Messenger, Telegram, LINE.

Each builds its platform's request with ``codecs.chat`` and hands it to the :class:`ChatHttp`
transport, outside any transaction (the dispatcher's contract). The platform's message id
becomes the message's ``carrier_message_id``, which later status reports (WhatsApp,
Messenger) are matched by. A platform that cannot be reached, or throttles, is retried; a
refusal fails the message with the Twilio code ``core.channels.twilio_error`` gives.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import timedelta

from openline.codecs.chat import ChatRequest, SendResult
from openline.codecs.chat import line as line_codec
from openline.codecs.chat import messenger as messenger_codec
from openline.codecs.chat import telegram as telegram_codec
from openline.codecs.chat import whatsapp as whatsapp_codec
from openline.codecs.segments import Segmentation
from openline.config import LineSettings, MessengerSettings, TelegramSettings, WhatsAppSettings
from openline.core.channels import Channel, parse_address, twilio_error
from openline.core.clock import Clock
from openline.core.errors import TwilioError
from openline.core.messaging import Media, Message
from openline.services.carriers import Accepted, ChatHttp, ChatLinkError, Rejected, SubmitResult, TryLater
from openline.services.content import ContentService
from openline.storage.database import Conn, Database
from openline.storage.repositories.messaging import MediaRepository, MessageRepository

LINK_RETRY_SECONDS = 5.0
# LINE accepts a reply token only for a short while after the event (and once): within this
# margin a reply is tried, and a refused token still falls back to a push.
LINE_REPLY_WINDOW = timedelta(seconds=50)


def _secret(value: object) -> str:
    getter = getattr(value, "get_secret_value", None)
    return str(getter()) if getter else ""


class _ChatCarrier:
    channel: Channel
    name: str
    available = True

    def __init__(self, db: Database, http: ChatHttp, media: MediaRepository, base_url: str) -> None:
        self._db = db
        self._http = http
        self._media = media
        self._base_url = base_url

    async def _media_of(self, message: Message) -> list[Media]:
        if not message.num_media:
            return []
        async with self._db.read() as conn:
            return [m for m in await self._media.for_message(conn, message.sid) if m.source_url]

    async def _send_all(self, requests: Sequence[ChatRequest],
                        parse: Callable[[int, bytes], SendResult]) -> SubmitResult:
        """Send the requests in order; the first one's id names the message. Stops at the first error."""
        first: str | None = None
        for request in requests:
            try:
                status, body = await self._http.send(self._base_url, request)
            except ChatLinkError as exc:
                if first is not None:  # part of it went out: the rest would duplicate on retry
                    return Accepted(first)
                return TryLater(LINK_RETRY_SECONDS, f"{self.name}: {exc}")
            result = parse(status, body)
            if not result.ok:
                if first is not None:
                    return Accepted(first)
                if result.retry_after is not None:
                    return TryLater(result.retry_after, f"{self.name} throttled: {result.description}")
                if status >= 500:
                    return TryLater(LINK_RETRY_SECONDS, f"{self.name} answered HTTP {status}")
                code = twilio_error(self.channel, result.error_code, result.description)
                return Rejected(code, f"{self.name} refused the message ({result.error_code}): {result.description}")
            first = first or result.message_id
        return Accepted(first or "")

    async def after_sent(self, conn: Conn, message: Message) -> None:
        """Platforms report delivery themselves (webhooks); nothing to schedule."""


class WhatsAppCarrier(_ChatCarrier):
    channel = Channel.WHATSAPP
    name = Channel.WHATSAPP.value

    def __init__(self, settings: WhatsAppSettings, db: Database, http: ChatHttp, media: MediaRepository,
                 contents: ContentService) -> None:
        super().__init__(db, http, media, settings.api_base_url)
        self._settings = settings
        self._contents = contents

    async def submit(self, message: Message, segmentation: Segmentation) -> SubmitResult:
        s = self._settings
        sender, to = parse_address(message.from_addr or ""), parse_address(message.to_addr)
        number_id = s.numbers.get(sender.id) if sender else None
        if number_id is None or to is None:
            return Rejected(63007, f"{message.from_addr} is not in channels.whatsapp.numbers")
        token = _secret(s.access_token)
        if message.content_sid:
            async with self._db.read() as conn:
                try:
                    rendered = await self._contents.rendered(conn, message.account_sid, message.content_sid,
                                                             message.content_variables)
                except TwilioError:
                    rendered = None
            if rendered is not None and rendered.template:
                return await self._send_all([whatsapp_codec.template_request(
                    s.api_version, number_id, token, to.id, rendered.template, rendered.language,
                    rendered.parameters)], whatsapp_codec.parse_send_response)
        media = await self._media_of(message)
        requests = [whatsapp_codec.media_request(s.api_version, number_id, token, to.id, item.content_type,
                                                 item.source_url or "", message.body if index == 0 else None)
                    for index, item in enumerate(media)]
        if not requests or (message.body and whatsapp_codec.media_kind(media[0].content_type)
                            not in whatsapp_codec.CAPTIONED):
            requests.insert(0, whatsapp_codec.text_request(s.api_version, number_id, token, to.id, message.body))
        return await self._send_all(requests, whatsapp_codec.parse_send_response)


class MessengerCarrier(_ChatCarrier):
    channel = Channel.MESSENGER
    name = Channel.MESSENGER.value

    def __init__(self, settings: MessengerSettings, db: Database, http: ChatHttp, media: MediaRepository) -> None:
        super().__init__(db, http, media, settings.api_base_url)
        self._settings = settings

    async def submit(self, message: Message, segmentation: Segmentation) -> SubmitResult:
        s = self._settings
        to = parse_address(message.to_addr)
        if to is None or message.from_addr != f"messenger:{s.page_id}":
            return Rejected(63007, f"{message.from_addr} is not the configured Messenger page")
        token = _secret(s.page_access_token)
        requests = [messenger_codec.text_request(s.api_version, token, to.id, message.body)] if message.body else []
        requests += [messenger_codec.attachment_request(s.api_version, token, to.id, item.content_type,
                                                        item.source_url or "")
                     for item in await self._media_of(message)]
        return await self._send_all(requests, messenger_codec.parse_send_response)


class TelegramCarrier(_ChatCarrier):
    channel = Channel.TELEGRAM
    name = Channel.TELEGRAM.value

    def __init__(self, settings: TelegramSettings, db: Database, http: ChatHttp, media: MediaRepository) -> None:
        super().__init__(db, http, media, settings.api_base_url)
        self._settings = settings

    async def submit(self, message: Message, segmentation: Segmentation) -> SubmitResult:
        to = parse_address(message.to_addr)
        if to is None:
            return Rejected(21211, f"{message.to_addr} is not a Telegram chat")
        token = _secret(self._settings.bot_token)
        media = await self._media_of(message)
        requests = [telegram_codec.send_media(token, to.id, item.content_type, item.source_url or "",
                                              message.body if index == 0 else None)
                    for index, item in enumerate(media)]
        if not requests:
            requests = [telegram_codec.send_message(token, to.id, message.body)]
        return await self._send_all(requests, telegram_codec.parse_send_response)


class LineCarrier(_ChatCarrier):
    """Replies with the user's fresh reply token when there is one (free of LINE's push quota),
    pushes otherwise, and pushes when LINE refuses the token (expired meanwhile)."""

    channel = Channel.LINE
    name = Channel.LINE.value

    def __init__(self, settings: LineSettings, db: Database, http: ChatHttp, media: MediaRepository,
                 messages: MessageRepository, clock: Clock) -> None:
        super().__init__(db, http, media, settings.api_base_url)
        self._settings = settings
        self._messages = messages
        self._clock = clock

    async def _reply_token(self, message: Message) -> str | None:
        since = self._clock.now() - LINE_REPLY_WINDOW
        async with self._db.transaction() as conn:
            found = await self._messages.fresh_reply_token(conn, message.to_addr, message.from_addr or "", since)
            if found is None or not await self._messages.claim_reply_token(conn, *found):
                return None
        return found[1]

    async def submit(self, message: Message, segmentation: Segmentation) -> SubmitResult:
        to = parse_address(message.to_addr)
        if to is None:
            return Rejected(21211, f"{message.to_addr} is not a LINE user, group or room")
        parts = [line_codec.text_message(message.body)] if message.body else []
        parts += [line_codec.media_message(item.content_type, item.source_url or "")
                  for item in await self._media_of(message)]
        token = _secret(self._settings.channel_access_token)
        reply_token = await self._reply_token(message)
        if reply_token is not None:
            replied = await self._send_all([line_codec.reply_request(token, reply_token, parts)],
                                           lambda status, body: line_codec.parse_send_response(status, body,
                                                                                               message.sid))
            if not isinstance(replied, Rejected):
                return replied
        # The retry key is derived from the message, so a push re-sent after a crash is sent once.
        retry_key = str(uuid.uuid5(uuid.NAMESPACE_URL, f"openline:{message.sid}"))
        return await self._send_all(
            [line_codec.push_request(_secret(self._settings.channel_access_token), to.id, parts, retry_key)],
            lambda status, body: line_codec.parse_send_response(status, body, message.sid))
