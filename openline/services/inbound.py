"""Inbound messages: store them, honour opt-out keywords, call the webhook, run the TwiML reply.

The webhook goes to the number's SmsUrl (or its SMS application's, or its messaging service's
inbound URL unless the service defers to the number). As on Twilio, a failed request — no
connection, timeout, non-2xx, a content type that is not TwiML, TwiML that does not parse —
goes to the fallback URL at once, and each failure is stored as an alert.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from openline.codecs.segments import segment
from openline.codecs.twiml import MessageVerb, MessagingResponse, RedirectVerb, TwimlError, parse_messaging_twiml
from openline.core.channels import Channel, channel_of, check_pair, is_chat, parse_address
from openline.core.clock import Clock
from openline.core.entities import Account, AccountStatus, IncomingPhoneNumber
from openline.core.errors import TwilioError
from openline.core.lifecycle import Direction, MessageStatus
from openline.core.messaging import Media, Message, MessagingService
from openline.core.numbering import parse_e164
from openline.core.sids import SidPrefix, new_sid
from openline.core.webhooks import WebhookResult
from openline.services.alerts import AlertService
from openline.services.channels import ChannelDirectory
from openline.services.messaging import MessagingService as Sender
from openline.services.messaging import SendRequest, guess_content_type, opt_out_scope
from openline.services.queue import Wakeup
from openline.services.urls import PublicUrl
from openline.services.webhooks import WebhookCall, WebhookCaller, new_idempotency_token
from openline.storage import jobs
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.repositories import AccountRepository, ApplicationRepository, IncomingPhoneNumberRepository
from openline.storage.repositories.messaging import (
    MediaRepository,
    MessageRepository,
    MessagingServiceRepository,
    OptOutRepository,
    ServiceSenderRepository,
)

INBOUND_WEBHOOK = "inbound_webhook"
API_VERSION = "2010-04-01"
MAX_REDIRECTS = 10

# Twilio's default opt-out keywords and replies (Advanced Opt-Out can change the replies).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
STOP_REPLY = ("You have successfully been unsubscribed. You will not receive any more messages from this number. "
              "Reply START to resubscribe.")
START_REPLY = "You have successfully been re-subscribed to messages from this number. Reply STOP to unsubscribe."
HELP_REPLY = "Reply STOP to unsubscribe. Msg&Data Rates May Apply."
TWIML_TYPES = ("text/xml", "application/xml", "text/html")

InboundMedia = tuple[str, str, str | None]  # (source URL, content type, blob key if already stored)


class InboundRouter(Protocol):
    """Takes an inbound message elsewhere (a conversation) instead of the number's webhook."""

    async def route_inbound(self, conn: Conn, message: Message, account_sid: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Target:
    url: str | None
    method: str
    fallback_url: str | None
    fallback_method: str


class InboundService:
    def __init__(
        self, db: Database, clock: Clock, wakeup: Wakeup, urls: PublicUrl, accounts: AccountRepository,
        messages: MessageRepository, media: MediaRepository, numbers: IncomingPhoneNumberRepository,
        applications: ApplicationRepository, services: MessagingServiceRepository,
        senders: ServiceSenderRepository, opt_outs: OptOutRepository, sender: Sender, caller: WebhookCaller,
        alerts: AlertService, channels: ChannelDirectory, router: InboundRouter | None = None,
    ) -> None:
        self._db = db
        self._channels = channels
        self._router = router
        self._clock = clock
        self._wakeup = wakeup
        self._urls = urls
        self._accounts = accounts
        self._messages = messages
        self._media = media
        self._numbers = numbers
        self._apps = applications
        self._services = services
        self._senders = senders
        self._opt_outs = opt_outs
        self._sender = sender
        self._caller = caller
        self._alerts = alerts

    # --- arrival ---------------------------------------------------------------------------

    async def inject(self, account_sids: Sequence[str], from_addr: str | None, to: str | None, body: str,
                     media_urls: Sequence[str], profile_name: str | None = None) -> Message:
        """A simulated handset sends a message to an Openline number of the caller's accounts."""
        if not from_addr:
            raise TwilioError(21603, "'From' (the handset's address) is required")
        if not to:
            raise TwilioError(21604, "'To' (an Openline number) is required")
        if is_chat(from_addr) or is_chat(to):
            return await self._inject_chat(account_sids, from_addr, to, body, media_urls, profile_name)
        sender = parse_e164(from_addr)
        if sender is None:
            raise TwilioError(21212, f"'From' {from_addr} is not a valid phone number")
        target = parse_e164(to)
        if not body and not media_urls:
            raise TwilioError(21602, "Give Body or at least one MediaUrl")
        async with self._db.transaction() as conn:
            number = await self._numbers.by_number(conn, target.e164) if target else None
            if number is None or number.account_sid not in account_sids:
                raise TwilioError(21606, f"'To' {to} is not a phone number of this account on this Openline")
            message = await self.receive(conn, sender.e164, number, body,
                                         [(url, guess_content_type(url), None) for url in media_urls])
        self._wakeup.notify()
        return message

    async def _inject_chat(self, account_sids: Sequence[str], from_addr: str, to: str, body: str,
                           media_urls: Sequence[str], profile_name: str | None) -> Message:
        """A simulated chat user writes to a channel sender (``whatsapp:+…``, ``telegram:…``…)."""
        user, sender = parse_address(from_addr), parse_address(to)
        if user is None:
            raise TwilioError(21212, f"'From' {from_addr} is not a valid phone number or channel address")
        if sender is None:
            raise TwilioError(21211, f"'To' {to} is not a valid phone number or channel address")
        check_pair(sender, user)
        if not body and not media_urls:
            raise TwilioError(21602, "Give Body or at least one MediaUrl")
        media = [(url, guess_content_type(url), None) for url in media_urls]
        async with self._db.transaction() as conn:
            if sender.channel is Channel.WHATSAPP:
                number = await self._numbers.by_number(conn, sender.id)
                if number is None or number.account_sid not in account_sids:
                    raise TwilioError(21606, f"'To' {to}: {sender.id} is not a phone number of this account")
                account_sid = number.account_sid
            else:
                known = self._channels.sender(str(sender))
                owner = self._channels.owner(known) if known else None
                if owner is not None and owner in account_sids:
                    account_sid = owner
                elif self._channels.configured(sender.channel):
                    raise TwilioError(63007, f"'To' {to} is not a configured {sender.channel.value} sender of this "
                                             "account")
                else:
                    account_sid = account_sids[0]  # the sandbox: the caller's own account owns the sender
            message = await self.receive_chat(conn, str(user), str(sender), account_sid, body, media,
                                              profile_name=(profile_name or "")[:255] or None)
        self._wakeup.notify()
        return message

    async def receive(self, conn: Conn, from_addr: str, number: IncomingPhoneNumber, body: str,
                      media: Sequence[InboundMedia], carrier: str = "sandbox") -> Message:
        """Store an inbound message for the number's account and queue its webhook (caller's transaction)."""
        return await self._receive(conn, from_addr, number.phone_number, number.account_sid, body, media, carrier)

    async def receive_chat(self, conn: Conn, from_addr: str, to_addr: str, account_sid: str, body: str,
                           media: Sequence[InboundMedia], carrier: str = "sandbox", profile_name: str | None = None,
                           carrier_message_id: str | None = None, reply_token: str | None = None) -> Message:
        """A chat user's message to a channel sender (caller's transaction); no opt-out keywords."""
        return await self._receive(conn, from_addr, to_addr, account_sid, body, media, carrier, profile_name,
                                   carrier_message_id, reply_token)

    async def _receive(self, conn: Conn, from_addr: str, to_addr: str, account_sid: str, body: str,
                       media: Sequence[InboundMedia], carrier: str, profile_name: str | None = None,
                       carrier_message_id: str | None = None, reply_token: str | None = None) -> Message:
        now = self._clock.now()
        service_sid = None if is_chat(to_addr) else await self._senders.service_of_number(conn, to_addr)
        sid = new_sid(SidPrefix.MMS if media else SidPrefix.MESSAGE)
        segmentation = segment(body)
        message = Message(
            sid=sid, account_sid=account_sid, messaging_service_sid=service_sid,
            direction=Direction.INBOUND, from_addr=from_addr, to_addr=to_addr, body=body,
            status=MessageStatus.RECEIVING, error_code=None, error_message=None,
            num_segments=segmentation.num_segments, num_media=len(media), encoding=segmentation.encoding.value,
            price=None, price_unit="USD", date_sent=now, send_at=None, expires_at=None, status_callback=None,
            status_callback_method="POST", application_sid=None, max_price=None, carrier=carrier,
            carrier_message_id=carrier_message_id, in_reply_to=None, date_created=now, date_updated=now,
            profile_name=profile_name, reply_token=reply_token)
        await self._messages.insert(conn, message)
        await self._messages.record_event(conn, message, now)
        for source_url, content_type, blob_key in media:
            await self._media.insert(conn, Media(new_sid(SidPrefix.MEDIA), sid, account_sid, content_type,
                                                 source_url or None, blob_key, None, now, now))
        message = await self._messages.set_status(conn, message, MessageStatus.RECEIVED, now)
        if not is_chat(to_addr):
            number = await self._numbers.by_number(conn, to_addr)
            if number is not None:
                await self._opt_out_keywords(conn, message, number, service_sid)
        if self._router is not None and await self._router.route_inbound(conn, message, account_sid):
            return message  # joins a conversation; the number's SmsUrl is not called, as on Twilio
        await jobs.enqueue(conn, INBOUND_WEBHOOK, {"sid": sid}, now, now, max_attempts=5)
        return message

    async def _opt_out_keywords(self, conn: Conn, message: Message, number: IncomingPhoneNumber,
                                service_sid: str | None) -> None:
        word = message.body.strip().upper()
        if word not in STOP_WORDS | START_WORDS | HELP_WORDS:
            return
        service = await self._services.get(conn, service_sid) if service_sid else None
        if service is not None and not service.opt_out_enabled:
            return
        scope = opt_out_scope(service_sid, number.phone_number)
        assert scope is not None
        if word in STOP_WORDS:
            await self._opt_outs.opt_out(conn, scope, message.from_addr or "", number.account_sid, self._clock.now())
            reply = (service.stop_reply if service else None) or STOP_REPLY
        elif word in START_WORDS:
            await self._opt_outs.opt_in(conn, scope, message.from_addr or "")
            reply = (service.start_reply if service else None) or START_REPLY
        else:
            reply = (service.help_reply if service else None) or HELP_REPLY
        account = await self._accounts.get(conn, number.account_sid)
        if account is None or account.status is not AccountStatus.ACTIVE:
            return
        await self._sender.accept(conn, account, SendRequest(
            to=message.from_addr, from_=number.phone_number, body=reply, direction=Direction.OUTBOUND_REPLY,
            in_reply_to=message.sid, skip_opt_out_check=True))

    # --- the webhook -----------------------------------------------------------------------

    async def _target_for(self, conn: Conn, message: Message, service: MessagingService | None) -> Target | None:
        """Where an inbound message's webhook goes: its number's SmsUrl, or its chat sender's webhook_url."""
        channel = channel_of(message.to_addr)
        if channel in (Channel.SMS, Channel.WHATSAPP):
            address = parse_address(message.to_addr)
            number = await self._numbers.by_number(conn, address.id) if address else None
            return await self._target(conn, number, service) if number else None
        sender = self._channels.sender(message.to_addr)
        if sender is None or not sender.webhook_url:
            return None
        return Target(sender.webhook_url, sender.webhook_method, None, "POST")

    async def _target(self, conn: Conn, number: IncomingPhoneNumber,
                      service: MessagingService | None) -> Target:
        if service is not None and not service.use_inbound_webhook_on_number and service.inbound_request_url:
            return Target(service.inbound_request_url, service.inbound_method, service.fallback_url,
                          service.fallback_method)
        if number.sms_application_sid:
            app = await self._apps.get(conn, number.sms_application_sid)
            if app is not None:
                return Target(app.sms_url, app.sms_method, app.sms_fallback_url, app.sms_fallback_method)
        return Target(number.sms_url, number.sms_method, number.sms_fallback_url, number.sms_fallback_method)

    def _params(self, message: Message, media: Sequence[Media]) -> list[tuple[str, str]]:
        params = [
            ("ToCountry", _country(message.to_addr)), ("ToState", ""), ("ToCity", ""), ("ToZip", ""),
            ("SmsMessageSid", message.sid), ("NumMedia", str(len(media))), ("SmsSid", message.sid),
            ("SmsStatus", "received"), ("Body", message.body), ("FromCountry", _country(message.from_addr or "")),
            ("FromState", ""), ("FromCity", ""), ("FromZip", ""), ("To", message.to_addr),
            ("NumSegments", str(message.num_segments)), ("MessageSid", message.sid),
            ("AccountSid", message.account_sid), ("From", message.from_addr or ""), ("ApiVersion", API_VERSION),
        ]
        if message.messaging_service_sid:
            params.append(("MessagingServiceSid", message.messaging_service_sid))
        if channel_of(message.from_addr or "") is Channel.WHATSAPP:
            # Twilio's WhatsApp additions: the user's WhatsApp ID (their number's digits) and name.
            kind = media[0].content_type.split("/", 1)[0] if media else "text"
            params += [("ProfileName", message.profile_name or ""),
                       ("WaId", (message.from_addr or "").removeprefix("whatsapp:+")),
                       ("MessageType", kind if kind in ("text", "image", "video", "audio") else "document")]
        for index, item in enumerate(media):
            params += [(f"MediaUrl{index}", self._urls.media_for_app(message.account_sid, message.sid, item.sid)),
                       (f"MediaContentType{index}", item.content_type)]
        return params

    async def deliver_webhook(self, job: Job) -> None:
        async with self._db.read() as conn:
            message = await self._messages.get(conn, job.payload["sid"])
            service = await self._services.get(conn, message.messaging_service_sid) \
                if message and message.messaging_service_sid else None
            target = await self._target_for(conn, message, service) if message else None
            media = await self._media.for_message(conn, message.sid) if message else []
            account = await self._accounts.get(conn, message.account_sid) if message else None
        if message is None or target is None or account is None or not target.url:
            async with self._db.transaction() as conn:
                await jobs.complete(conn, job.id)
            return
        params = tuple(self._params(message, media))
        run = _Run(self, message, account, service, params, job.payload.get("token") or new_idempotency_token())
        twiml = await run.fetch(target.url, target.method, target.fallback_url, target.fallback_method, "inbound")
        redirects = 0
        while twiml is not None:
            redirect = next((v for v in twiml.verbs if isinstance(v, RedirectVerb)), None)
            run.replies += [v for v in twiml.verbs if isinstance(v, MessageVerb)]
            if redirect is None:
                break
            redirects += 1
            if redirects > MAX_REDIRECTS:
                run.failures.append((None, 11215, f"More than {MAX_REDIRECTS} <Redirect> verbs in a row", None))
                break
            twiml = await run.fetch(redirect.url, redirect.method, None, "POST", "redirect")
        async with self._db.transaction() as conn:
            for call, result in run.calls:
                await self._caller.record(conn, call, result)
            for call_or_none, code, text, body in run.failures:
                await self._alerts.record(
                    conn, message.account_sid, code, text,
                    request_url=call_or_none.url if call_or_none else None,
                    request_method=call_or_none.method if call_or_none else None,
                    request_params=params, response_body=body, resource_sid=message.sid,
                    service_sid=message.messaging_service_sid)
            for verb in run.replies:
                await self._reply(conn, account, message, verb)
            await jobs.complete(conn, job.id)
        self._wakeup.notify()

    async def _reply(self, conn: Conn, account: Account, inbound: Message, verb: MessageVerb) -> None:
        request = SendRequest(
            to=verb.to or inbound.from_addr, from_=verb.from_ or inbound.to_addr, body=verb.body,
            media_urls=verb.media, status_callback=verb.status_callback or verb.action,
            messaging_service_sid=inbound.messaging_service_sid if verb.from_ is None else None,
            direction=Direction.OUTBOUND_REPLY, in_reply_to=inbound.sid)
        try:
            async with conn.begin_nested():
                await self._sender.accept(conn, account, request)
        except TwilioError as error:
            code = 14101 if error.code in (21211, 21604) else error.code
            await self._alerts.record(conn, account.sid, code, f"<Message> reply not sent: {error.message}",
                                      resource_sid=inbound.sid, service_sid=inbound.messaging_service_sid)


class _Run:
    """One inbound webhook exchange: the calls made, the failures seen, the replies to send."""

    def __init__(self, service: InboundService, message: Message, account: Account,
                 messaging_service: MessagingService | None, params: tuple[tuple[str, str], ...], token: str) -> None:
        self.service = service
        self.message = message
        self.params = params
        self.token = token
        self.calls: list[tuple[WebhookCall, WebhookResult]] = []
        self.failures: list[tuple[WebhookCall | None, int, str, str | None]] = []
        self.replies: list[MessageVerb] = []

    async def _one(self, url: str, method: str, purpose: str) -> MessagingResponse | _Failed | None:
        call = WebhookCall(self.message.account_sid, self.message.sid, purpose, url, method, self.params, self.token)
        result = await self.service._caller.send(call)
        self.calls.append((call, result))
        body_text = result.body.decode("utf-8", "replace") if result.body else None
        if not result.ok:
            self.failures.append((call, result.error_code or 11200,
                                  f"{purpose} webhook {url} failed: {result.error_message or result.status_code}",
                                  body_text))
            return _FAILED
        if not result.body.strip():
            return None
        content_type = (result.content_type or "").split(";")[0].strip().lower()
        if content_type not in TWIML_TYPES:
            self.failures.append((call, 12300, f"{url} answered Content-Type {content_type or 'none'}, not TwiML",
                                  body_text))
            return _FAILED
        try:
            return parse_messaging_twiml(result.body)
        except TwimlError as error:
            self.failures.append((call, error.twilio_code, f"TwiML from {url} is invalid: {error}", body_text))
            return _FAILED

    async def fetch(self, url: str, method: str, fallback_url: str | None, fallback_method: str,
                    purpose: str) -> MessagingResponse | None:
        outcome = await self._one(url, method, purpose)
        if isinstance(outcome, _Failed) and fallback_url:
            outcome = await self._one(fallback_url, fallback_method, "fallback")
        return None if isinstance(outcome, _Failed) else outcome


class _Failed:
    pass


_FAILED = _Failed()


def _country(address: str) -> str:
    parsed = parse_e164(address) if address.startswith("+") else None
    return parsed.iso_country if parsed else ""
