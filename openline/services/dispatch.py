"""The dispatcher: takes queued messages to a carrier, and applies what carriers report back.

Job ``dispatch`` (one per outbound message) walks a message from accepted/scheduled/queued to
``sent`` (or ``failed``): pick a sender for messaging-service messages, check validity and
pacing, fetch media, submit, then record ``sending`` and ``sent`` (with their times) and
complete the job in one commit. A crash after the submit and before that commit re-submits the
message: a carrier sees at most what was in flight at the crash twice, never a message lost.
(Recording ``sending`` before the submit would cost a commit per message and change nothing a
crash can see: the message would still be re-submitted.)
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from datetime import datetime
from decimal import Decimal

import httpx

from openline.codecs.segments import segment
from openline.config import MessagingSettings
from openline.core.channels import Channel, channel_of, within_session
from openline.core.clock import Clock
from openline.core.entities import AccountStatus, NumberType
from openline.core.errors import TwilioError, lookup
from openline.core.lifecycle import MessageStatus, check_transition, is_final
from openline.core.messaging import Message, SenderKind
from openline.core.numbering import parse_e164
from openline.services.callbacks import StatusCallbacks
from openline.services.carriers import Accepted, Rejected, TryLater
from openline.services.channels import ChannelDirectory
from openline.services.content import ContentService
from openline.services.messaging import NANP_PREFIX, opt_out_scope, price_for
from openline.services.queue import RetryLater
from openline.services.routing import Router
from openline.services.throughput import Throughput
from openline.storage import jobs
from openline.storage.blobs import BlobStore
from openline.storage.database import Conn, Database
from openline.storage.jobs import Job
from openline.storage.repositories import AccountRepository, IncomingPhoneNumberRepository
from openline.storage.repositories.messaging import (
    MediaRepository,
    MessageRepository,
    MessagingServiceRepository,
    OptOutRepository,
    ServiceSenderRepository,
    StickySenderRepository,
)

log = logging.getLogger("openline.dispatch")
S = MessageStatus


class Dispatcher:
    def __init__(
        self, db: Database, clock: Clock, settings: MessagingSettings, router: Router, blobs: BlobStore,
        messages: MessageRepository, media: MediaRepository, numbers: IncomingPhoneNumberRepository,
        services: MessagingServiceRepository, senders: ServiceSenderRepository, sticky: StickySenderRepository,
        opt_outs: OptOutRepository, callbacks: StatusCallbacks, throughput: Throughput, http: httpx.AsyncClient,
        accounts: AccountRepository, contents: ContentService, channels: ChannelDirectory,
    ) -> None:
        self._db = db
        self._channels = channels
        self._contents = contents
        self._accounts = accounts
        self._clock = clock
        self._settings = settings
        self._router = router
        self._blobs = blobs
        self._messages = messages
        self._media = media
        self._numbers = numbers
        self._services = services
        self._senders = senders
        self._sticky = sticky
        self._opt_outs = opt_outs
        self._callbacks = callbacks
        self._throughput = throughput
        self._http = http

    async def _step(self, conn: Conn, message: Message, status: MessageStatus,
                    changes: dict[str, object] | None = None, detail: str | None = None) -> Message:
        check_transition(message.status, status)
        updated = await self._messages.set_status(conn, message, status, self._clock.now(), changes, detail)
        await self._callbacks.on_status(conn, updated)
        return updated

    async def _steps(self, conn: Conn, message: Message,
                     steps: list[tuple[MessageStatus, dict[str, object]]]) -> Message:
        """Several steps in one go (sending and sent after one submit): one row update, a timeline
        line and a status callback per step, in order."""
        previous = message.status
        for status, _ in steps:
            check_transition(previous, status)
            previous = status
        states = await self._messages.set_statuses(conn, message, steps, self._clock.now())
        for state in states:
            await self._callbacks.on_status(conn, state)
        return states[-1]

    async def _fail(self, message: Message, job: Job, code: int, reason: str) -> None:
        async with self._db.transaction() as conn:
            current = await self._messages.get(conn, message.sid)
            if current is not None and not is_final(current.status):
                await self._step(conn, current, S.FAILED, {"error_code": code, "error_message": reason}, reason)
            await jobs.complete(conn, job.id)

    async def dispatch(self, job: Job) -> None:
        async with self._db.read() as conn:
            message = await self._messages.get(conn, job.payload["sid"])
            account_status = await self._accounts.status_of(conn, message.account_sid) if message else None
        # SENT: handed over already (by a worker whose lease ran out while it worked): never twice.
        if message is None or is_final(message.status) or message.status in (S.CANCELED, S.SENT):
            async with self._db.transaction() as conn:
                await jobs.complete(conn, job.id)
            return
        now = self._clock.now()
        if message.status in (S.SCHEDULED, S.ACCEPTED):
            message = await self._release(message, job, now)
            if message is None:
                return
        if account_status is not AccountStatus.ACTIVE:
            await self._fail(message, job, 30002, "The account was suspended before the message was sent")
            return
        if message.status is S.SENDING:
            log.info("re-submitting %s after an interrupted send", message.sid)
        elif message.expires_at is not None and now > message.expires_at:
            await self._fail(message, job, 30001, "The message expired in the queue (ValidityPeriod)")
            return
        if channel_of(message.to_addr) is Channel.WHATSAPP and not await self._in_session(message, now):
            await self._fail(message, job, 63016, "Failed to send freeform message because you are outside the "
                                                  "allowed window: send a WhatsApp template (ContentSid) instead")
            return
        sender = message.from_addr or ""
        number = await self._number_kind(sender)
        pace = await self._throughput.reserve(sender, number, now, message.sid)
        if not pace.taken:
            raise RetryLater(pace.delay, f"{sender} is paced")
        if pace.delay > 0:  # our slot is a moment away (at most the pacing horizon)
            await asyncio.sleep(pace.delay)
        if message.max_price is not None:
            price = Decimal(price_for(self._settings, message.to_addr, message.num_segments))
            if -price > Decimal(message.max_price):
                await self._fail(message, job, 30010, "The message price exceeds MaxPrice")
                return
        if message.num_media and not await self._fetch_media(message, job):
            return
        candidates = self._router.candidates(message.to_addr, message.from_addr)
        if message.carrier:
            # Resuming: the carrier that already has parts of the message goes first.
            resumed_on = message.carrier
            candidates.sort(key=lambda c: c.name != resumed_on)
        if not candidates:
            await self._fail(message, job, 21612, "No route reaches this destination")
            return
        segmentation = segment(message.body)
        waits: list[float] = []
        for carrier in candidates:
            if not carrier.available:
                waits.append(1.0)
                continue
            result = await carrier.submit(message, segmentation)
            if isinstance(result, TryLater):
                waits.append(result.delay)
                if result.partial:
                    async with self._db.transaction() as conn:  # the rest must go the same way
                        await self._messages.change(conn, message.sid, {"carrier": carrier.name})
                    raise RetryLater(result.delay, f"{carrier.name}: {result.reason}")
                continue
            if isinstance(result, Rejected):
                async with self._db.transaction() as conn:
                    if message.status is S.QUEUED:  # the carrier saw it: it was sending, then failed
                        message = await self._step(conn, message, S.SENDING, {"carrier": carrier.name})
                    await self._step(conn, message, S.FAILED, {"error_code": result.error_code,
                                                               "error_message": result.reason}, result.reason)
                    await jobs.complete(conn, job.id)
                return
            assert isinstance(result, Accepted)
            async with self._db.transaction() as conn:
                steps: list[tuple[MessageStatus, dict[str, object]]] = []
                if message.status is S.QUEUED:
                    steps.append((S.SENDING, {"carrier": carrier.name}))
                steps.append((S.SENT, {
                    "carrier": carrier.name, "carrier_message_id": result.carrier_message_id,
                    "date_sent": self._clock.now(),
                    "price": price_for(self._settings, message.to_addr, message.num_segments)}))
                sent = await self._steps(conn, message, steps)
                await carrier.after_sent(conn, sent)
                await jobs.complete(conn, job.id)
            return
        # Every carrier is down or busy: wait in the queue (validity still applies) and retry.
        if message.status is S.SENDING:  # left by an older version mid-send
            async with self._db.transaction() as conn:
                await self._step(conn, message, S.QUEUED, detail="every route is down or busy")
        raise RetryLater(min(waits) if waits else 1.0, "every route is down or busy")

    async def _in_session(self, message: Message, now: datetime) -> bool:
        """WhatsApp's 24-hour rule: templates always go; free-form only within 24 h of the user's last message."""
        async with self._db.read() as conn:
            if message.content_sid:
                try:
                    rendered = await self._contents.rendered(conn, message.account_sid, message.content_sid,
                                                             message.content_variables)
                except TwilioError:
                    rendered = None  # the content was deleted since: it goes as the text it rendered to
                if rendered is not None and rendered.template:
                    return True
            last = await self._messages.last_inbound(conn, message.to_addr, message.from_addr or "")
        return within_session(last, now)

    async def _number_kind(self, sender: str) -> NumberType | None:
        parsed = parse_e164(sender) if sender.startswith("+") else None
        return parsed.number_type if parsed else None

    async def _release(self, message: Message, job: Job, now: datetime) -> Message | None:
        """Scheduled time reached or service message: choose the sender and queue the message."""
        async with self._db.transaction() as conn:
            current = await self._messages.get(conn, message.sid)
            if current is None or current.status not in (S.SCHEDULED, S.ACCEPTED):
                return current
            message = current
            if message.status is S.SCHEDULED:
                message = await self._step(conn, message, S.ACCEPTED if message.from_addr is None else S.QUEUED)
                if message.status is S.QUEUED:
                    return message
            sender = await self._choose_sender(conn, message)
            if sender is None:
                reason = "The messaging service has no sender that can reach this number"
                message = await self._step(conn, message, S.FAILED, {"error_code": 21703, "error_message": reason})
                await jobs.complete(conn, job.id)
                return None
            scope = opt_out_scope(message.messaging_service_sid, sender)
            if scope and await self._opt_outs.is_opted_out(conn, scope, message.to_addr):
                reason = "The recipient has opted out of this messaging service"
                await self._step(conn, message, S.FAILED, {"error_code": 21610, "error_message": reason})
                await jobs.complete(conn, job.id)
                return None
            return await self._step(conn, message, S.QUEUED, {"from_addr": sender})

    async def _choose_sender(self, conn: Conn, message: Message) -> str | None:
        service_sid = message.messaging_service_sid
        if service_sid is None:
            return None
        service = await self._services.get(conn, service_sid)
        senders = await self._senders.for_service(conn, service_sid)
        phones = [s.address for s in senders if s.kind is SenderKind.PHONE]
        alphas = [s.address for s in senders if s.kind is SenderKind.ALPHA]
        if channel_of(message.to_addr) is Channel.WHATSAPP:
            # The service's numbers are its WhatsApp senders (those with a phone-number ID when live).
            configured = self._channels.configured(Channel.WHATSAPP)
            phones = [f"whatsapp:{p}" for p in phones
                      if not configured or self._channels.whatsapp_number_id(p) is not None]
            alphas = []
        if service is not None and service.sticky_sender:
            sticky = await self._sticky.get(conn, service_sid, message.to_addr)
            if sticky in phones or sticky in alphas:
                return sticky
        to = parse_e164(message.to_addr.removeprefix("whatsapp:"))
        choice: str | None = None
        if alphas and not message.to_addr.startswith(NANP_PREFIX):
            choice = alphas[0]  # alphanumeric IDs are preferred where the destination accepts them
        elif phones:
            same_country = [p for p in phones if to and (parse_e164(p.removeprefix("whatsapp:")) or to).iso_country
                            == to.iso_country]
            same_area = [p for p in same_country
                         if p.removeprefix("whatsapp:")[:5] == message.to_addr.removeprefix("whatsapp:")[:5]] \
                if service is None or service.area_code_geomatch else []
            pool = same_area or same_country or phones
            # Spread recipients over the pool deterministically, so a recipient keeps one sender.
            choice = pool[zlib.crc32(message.to_addr.encode()) % len(pool)]
        if choice and service is not None and service.sticky_sender:
            await self._sticky.put(conn, service_sid, message.to_addr, choice)
        return choice

    async def _fetch_media(self, message: Message, job: Job) -> bool:
        """Copy each MediaUrl into the blob store, as Twilio keeps its own copy. False if it failed."""
        async with self._db.read() as conn:
            items = await self._media.for_message(conn, message.sid)
        for item in items:
            if item.blob_key or not item.source_url:
                continue
            try:
                data, content_type = await fetch_media(self._http, item.source_url, self._settings.media_max_bytes)
            except MediaFetchError as exc:
                await self._fail(message, job, exc.code, str(exc))
                return False
            key = f"media/{message.account_sid}/{item.sid}"
            await self._blobs.put(key, data, content_type or item.content_type)
            async with self._db.transaction() as conn:
                await self._media.update(conn, item.sid, {"blob_key": key, "size": len(data),
                                                          "content_type": content_type or item.content_type,
                                                          "date_updated": self._clock.now()})
        return True

class Receipts:
    """Applies what carriers report (delivery receipts), inside the caller's transaction."""

    def __init__(self, clock: Clock, messages: MessageRepository, callbacks: StatusCallbacks) -> None:
        self._clock = clock
        self._messages = messages
        self._callbacks = callbacks

    async def apply(self, conn: Conn, message: Message, status: MessageStatus,
                    error_code: int | None = None, detail: str | None = None) -> Message:
        if message.status is status or (is_final(message.status) and not (
                status is S.READ and message.status is S.DELIVERED)):
            return message  # a duplicate or late report: the first final word stands
        if status is S.READ and message.status in (S.SENT, S.PARTIALLY_DELIVERED):
            # Read without a delivered report first (chat platforms batch them): delivered is implied.
            message = await self._messages.set_status(conn, message, S.DELIVERED, self._clock.now())
            await self._callbacks.on_status(conn, message)
        changes: dict[str, object] = {}
        if error_code is not None:
            spec = lookup(error_code)
            changes = {"error_code": error_code, "error_message": spec.title if spec else f"Error {error_code}"}
        check_transition(message.status, status)
        updated = await self._messages.set_status(conn, message, status, self._clock.now(), changes, detail)
        await self._callbacks.on_status(conn, updated)
        return updated


class MediaFetchError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


async def fetch_media(http: httpx.AsyncClient, url: str, limit: int) -> tuple[bytes, str | None]:
    try:
        async with http.stream("GET", url, follow_redirects=True) as response:
            if response.status_code >= 400:
                raise MediaFetchError(11200, f"Fetching media {url} answered HTTP {response.status_code}")
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > limit:
                    raise MediaFetchError(30019, f"Media {url} is larger than {limit} bytes")
            content_type = response.headers.get("content-type")
            return bytes(data), content_type.split(";")[0].strip() if content_type else None
    except httpx.HTTPError as exc:
        raise MediaFetchError(11200, f"Fetching media {url} failed: {exc!r}") from None

