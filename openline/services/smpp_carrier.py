"""SMPP carriers on the service side: submit a message's parts, and turn what the SMSC sends
back — delivery receipts (per part) and MO messages — into lifecycle steps and inbound messages.

Each accepted part is stored with its SMSC message id as soon as its submit_sm_resp arrives,
so a retry after a throttle or a crash sends only the parts that did not go out, with the same
concatenation reference. A receipt matches a part by (carrier, normalised id), falling back to
the same number written in the other base (hex/decimal); a receipt that matches nothing yet
(it came before the submit_sm_resp) is kept and applied when its part is stored. A message is
``delivered`` when every part is, ``undelivered`` as soon as one part fails.
"""

from __future__ import annotations

import logging
import zlib
from collections import deque
from datetime import timedelta
from typing import Final

from openline.codecs.segments import Segmentation
from openline.codecs.smpp import DataSm, DeliverSm, SmppParseError, SubmitSm
from openline.codecs.smpp.concat import ConcatMethod, build_parts, split_text
from openline.codecs.smpp.encoding import decode_text
from openline.codecs.smpp.pdus_message import ESM_CLASS_UDHI
from openline.codecs.smpp.receipt import DeliveryReceipt, MessageState, normalize_message_id, receipt_from_pdu
from openline.codecs.smpp.status import CommandStatus, describe_status, is_transient
from openline.codecs.smpp.udh import concat_from_sar, split_udh
from openline.config import SmppCarrierSettings
from openline.core.clock import Clock
from openline.core.lifecycle import MessageStatus
from openline.core.messaging import Message
from openline.core.numbering import parse_e164
from openline.services.carriers import Accepted, LinkDown, Rejected, SmppLink, SubmitResult, TryLater
from openline.services.dispatch import Receipts
from openline.services.inbound import InboundService
from openline.services.messaging import is_alpha_sender
from openline.services.queue import Wakeup
from openline.storage.database import Conn, Database
from openline.storage.repositories import IncomingPhoneNumberRepository
from openline.storage.repositories.carriers import CarrierRecords, InboundPart, MessagePart
from openline.storage.repositories.messaging import MessageRepository

log = logging.getLogger("openline.smpp")

METHODS: Final = {"udh": ConcatMethod.UDH8, "udh16": ConcatMethod.UDH16, "sar": ConcatMethod.SAR,
                  "message_payload": ConcatMethod.PAYLOAD}
DATA_CODINGS: Final[dict[str, int | None]] = {"gsm7": None, "gsm7-packed": None, "latin1": 0x03, "ascii": 0x01}
LATENCY_SAMPLES = 1000
INBOUND_PART_TTL = timedelta(minutes=10)  # how long the rest of a concatenated MO may take
TRANSIENT_DELAY = 1.0

# Permanent submit_sm refusals, as the Twilio code the message fails with.
SUBMIT_ERRORS: Final[dict[int, int]] = {
    CommandStatus.ESME_RINVDSTADR: 30005, CommandStatus.ESME_RINVDSTTON: 30005,
    CommandStatus.ESME_RINVDSTNPI: 30005, CommandStatus.ESME_RINVSRCADR: 21212,
    CommandStatus.ESME_RINVSRCTON: 21212, CommandStatus.ESME_RINVSRCNPI: 21212,
    CommandStatus.ESME_RINVMSGLEN: 30008, CommandStatus.ESME_RSUBMITFAIL: 30008,
}
# Receipt states (SMPP v3.4 §5.2.28 / Appendix B) as Twilio statuses and codes.
NEGATIVE: Final[dict[MessageState, int]] = {
    MessageState.UNDELIVERABLE: 30003, MessageState.EXPIRED: 30003, MessageState.REJECTED: 30007,
    MessageState.DELETED: 30008, MessageState.UNKNOWN: 30008, MessageState.SKIPPED: 30008,
}
# GSM MAP errors (3GPP TS 29.002) that SMSCs put in the receipt's "err", where they say more.
NETWORK_ERRORS: Final[dict[int, int]] = {1: 30005, 5: 30005, 11: 30006, 13: 30004, 27: 30003, 31: 30003, 34: 30008}


def id_keys(receipt_id: str) -> list[str]:
    """The keys a receipt id may match, exact first, then the same number in the other base."""
    key = normalize_message_id(receipt_id)
    keys = [key]
    if key.isdigit():
        keys.append(normalize_message_id(format(int(key), "x")))
    if all(c in "0123456789abcdef" for c in key):
        keys.append(normalize_message_id(str(int(key, 16))))
    return list(dict.fromkeys(keys))


def address_of(ton: int, address: str) -> str:
    """A PDU address in Openline's form: E.164 with '+' for numbers, as-is for alphanumerics."""
    if ton == 5 or not address.lstrip("+").isdigit():
        return address
    return address if address.startswith("+") else "+" + address


class SmppCarrier:
    """One configured SMPP carrier, as the dispatcher sees it."""

    def __init__(self, settings: SmppCarrierSettings, link: SmppLink, db: Database, clock: Clock,
                 records: CarrierRecords, receipts: Receipts, messages: MessageRepository) -> None:
        self.settings = settings
        self.name = settings.name
        self._link = link
        self._db = db
        self._clock = clock
        self._records = records
        self._receipts = receipts
        self._messages = messages
        # Parts accepted by the SMSC, waiting for the commit that records the message as sent.
        self._pending: dict[str, list[MessagePart]] = {}

    @property
    def available(self) -> bool:
        return self._link.bound

    def _template(self, message: Message) -> SubmitSm:
        s = self.settings
        sender = message.from_addr or ""
        alpha = is_alpha_sender(sender) and not sender.startswith("+")
        return SubmitSm(
            source_addr_ton=s.alpha_ton if alpha else s.source_ton,
            source_addr_npi=s.alpha_npi if alpha else s.source_npi,
            source_addr=sender if alpha else sender.lstrip("+"),
            dest_addr_ton=s.dest_ton, dest_addr_npi=s.dest_npi, destination_addr=message.to_addr.lstrip("+"),
            registered_delivery=1 if s.request_dlr else 0)

    def _parts(self, message: Message) -> list[SubmitSm]:
        method = METHODS[self.settings.long_message_mode]
        preferred = DATA_CODINGS[self.settings.data_coding]
        try:
            data_coding, payloads = split_text(message.body, method, preferred)
        except (ValueError, UnicodeEncodeError):  # not representable in the preferred coding
            data_coding, payloads = split_text(message.body, method, None)
        # The reference is derived from the message, so a retry of the missing parts reuses it.
        ref = zlib.crc32(message.sid.encode()) % (256 if method is ConcatMethod.UDH8 else 65536)
        fields = build_parts(payloads, method, data_coding, ref, packed=self.settings.data_coding == "gsm7-packed")
        template = self._template(message)
        return [part.apply(template) for part in fields]

    async def submit(self, message: Message, segmentation: Segmentation) -> SubmitResult:
        pdus = self._parts(message)
        done: set[int] = set()
        if message.carrier == self.name:  # a retry: some parts may have gone out already
            async with self._db.read() as conn:
                done = {p.part_index for p in await self._records.parts_of(conn, message.sid)
                        if p.carrier == self.name}
        accepted: list[MessagePart] = []
        now = self._clock.now()
        for index, pdu in enumerate(pdus):
            if index in done:
                continue
            try:
                resp = await self._link.submit(pdu)
            except LinkDown as exc:
                return await self._later(accepted, bool(done), f"{self.name}: {exc}")
            status = resp.command_status
            if status != CommandStatus.ESME_ROK:
                name = describe_status(status)
                if is_transient(status):
                    return await self._later(accepted, bool(done), f"{self.name} answered {name}")
                return Rejected(SUBMIT_ERRORS.get(status, 30008), f"{self.name} refused the message: {name}")
            carrier_id = resp.message_id or ""
            accepted.append(MessagePart(message.sid, index, len(pdus), self.name, carrier_id,
                                        normalize_message_id(carrier_id), "submitted", None, now, None))
        # Stored with the ``sent`` step, in the dispatcher's commit (after_sent).
        self._pending[message.sid] = accepted
        first = next((p.carrier_message_id for p in accepted if p.part_index == 0), None)
        if first is None:
            async with self._db.read() as conn:
                stored = await self._records.parts_of(conn, message.sid)
            first = stored[0].carrier_message_id if stored else ""
        return Accepted(first)

    async def _later(self, accepted: list[MessagePart], partial: bool, reason: str) -> TryLater:
        """Busy or down: keep the parts that did go out, so the retry sends only the others."""
        if accepted:
            async with self._db.transaction() as conn:
                await self._store_parts(conn, accepted)
        return TryLater(TRANSIENT_DELAY, reason, partial=partial or bool(accepted))

    async def _store_parts(self, conn: Conn, parts: list[MessagePart]) -> bool:
        """Record the parts; True if receipts that came early (before this commit) applied to them."""
        now = self._clock.now()
        early_receipts = False
        for part in parts:
            await self._records.add_part(conn, part)
            # A receipt may have come before the part was recorded: apply it now.
            for early in await self._records.take_unmatched(conn, self.name, id_keys(part.carrier_message_id)):
                state = MessageState[early.state]
                await self._records.set_part_state(conn, part, _part_state(state), _error_of(state, early.error),
                                                   now)
                early_receipts = True
        return early_receipts

    async def after_sent(self, conn: Conn, message: Message) -> None:
        if await self._store_parts(conn, self._pending.pop(message.sid, [])):
            await settle(conn, message, self._records, self._receipts)


def _part_state(state: MessageState) -> str:
    if state is MessageState.DELIVERED:
        return "delivered"
    if state in NEGATIVE:
        return "undelivered"
    return state.name.lower()  # enroute, accepted: not final for us


def _error_of(state: MessageState, err: str | None) -> int | None:
    if state not in NEGATIVE:
        return None
    if err and err.isdigit() and int(err) in NETWORK_ERRORS:
        return NETWORK_ERRORS[int(err)]
    return NEGATIVE[state]


async def settle(conn: Conn, message: Message, records: CarrierRecords, receipts: Receipts) -> None:
    """Give the message the status its parts add up to, once they say enough."""
    if message.status is not MessageStatus.SENT:
        return
    parts = await records.parts_of(conn, message.sid)
    if not parts:
        return
    failed = [p for p in parts if p.state == "undelivered"]
    if failed:
        await receipts.apply(conn, message, MessageStatus.UNDELIVERED, failed[0].error_code or 30008,
                             f"part {failed[0].part_index + 1} of {len(parts)} undelivered")
    elif len(parts) == parts[0].part_count and all(p.state == "delivered" for p in parts):
        await receipts.apply(conn, message, MessageStatus.DELIVERED)


class SmppInbound:
    """Receipts and MO messages from every SMPP carrier (the transport's SmppEvents)."""

    def __init__(self, db: Database, clock: Clock, wakeup: Wakeup, records: CarrierRecords, receipts: Receipts,
                 messages: MessageRepository, numbers: IncomingPhoneNumberRepository, inbound: InboundService,
                 packed: dict[str, bool]) -> None:
        self._db = db
        self._clock = clock
        self._wakeup = wakeup
        self._records = records
        self._receipts = receipts
        self._messages = messages
        self._numbers = numbers
        self._inbound = inbound
        self._packed = packed
        self._latency: dict[str, deque[float]] = {}  # seconds from submit to receipt, recent ones

    def receipt_latency(self, carrier: str) -> dict[str, float | None]:
        """p50/p99 seconds from submit_sm to its delivery receipt, over the recent receipts."""
        samples = sorted(self._latency.get(carrier, ()))
        if not samples:
            return {"p50": None, "p99": None, "samples": 0}
        return {"p50": round(samples[len(samples) // 2], 3),
                "p99": round(samples[min(len(samples) - 1, int(len(samples) * 0.99))], 3),
                "samples": len(samples)}

    async def on_deliver(self, carrier: str, pdu: DeliverSm | DataSm) -> int:
        try:
            receipt = receipt_from_pdu(pdu, packed=self._packed.get(carrier, False))
        except SmppParseError as exc:
            log.warning("%s: unreadable receipt: %s", carrier, exc)
            return int(exc.command_status)
        try:
            if receipt is not None:
                async with self._db.transaction() as conn:
                    await self._receipt(conn, carrier, receipt, repr(pdu))
            else:
                async with self._db.transaction() as conn:
                    await self._mo(conn, carrier, pdu)
                    await self._sweep(conn)
        except SmppParseError as exc:
            log.warning("%s: unreadable MO message: %s", carrier, exc)
            return int(exc.command_status)
        except Exception:
            log.exception("%s: could not store a deliver_sm; asking the SMSC to retry", carrier)
            return int(CommandStatus.ESME_RX_T_APPN)
        self._wakeup.notify()
        return int(CommandStatus.ESME_ROK)

    async def _receipt(self, conn: Conn, carrier: str, receipt: DeliveryReceipt, raw: str) -> None:
        state = receipt.state or MessageState.UNKNOWN
        keys = id_keys(receipt.message_id)
        part = await self._records.part_by_keys(conn, carrier, keys)
        now = self._clock.now()
        if part is None:
            log.info("%s: receipt for unknown id %s kept until its submit shows up", carrier, receipt.message_id)
            await self._records.keep_unmatched(conn, carrier, keys[0], receipt.message_id, state.name,
                                               receipt.error, raw[:2000], now)
            return
        await self._records.set_part_state(conn, part, _part_state(state), _error_of(state, receipt.error), now)
        self._latency.setdefault(carrier, deque(maxlen=LATENCY_SAMPLES)).append(
            (now - part.submitted_at).total_seconds())
        message = await self._messages.get(conn, part.message_sid)
        if message is not None:
            await settle(conn, message, self._records, self._receipts)

    async def _mo(self, conn: Conn, carrier: str, pdu: DeliverSm | DataSm) -> None:
        payload = pdu.payload
        concat = None
        if pdu.esm_class & ESM_CLASS_UDHI:
            header, payload = split_udh(payload)
            concat = header.concat
        if concat is None:
            concat = concat_from_sar(pdu.tlvs)
        text = decode_text(pdu.data_coding, payload, packed=self._packed.get(carrier, False), strict=False)
        sender = address_of(pdu.source_addr_ton, pdu.source_addr)
        to = address_of(pdu.dest_addr_ton, pdu.destination_addr)
        if concat is None or concat.total == 1:
            await self._deliver(conn, carrier, sender, to, text)
            return
        key = f"{sender}|{to}|{concat.ref}|{concat.total}"
        now = self._clock.now()
        await self._records.add_inbound_part(conn, carrier, key, InboundPart(concat.seq - 1, concat.total, sender,
                                                                             to, text, now))
        group = await self._records.inbound_group(conn, carrier, key)
        if len(group) == concat.total:
            await self._records.drop_inbound_group(conn, carrier, key)
            await self._deliver(conn, carrier, sender, to, "".join(p.text for p in group))

    async def _sweep(self, conn: Conn) -> None:
        """Concatenated MO messages whose missing parts never came: deliver what arrived."""
        for carrier, key in await self._records.stale_inbound_groups(conn, self._clock.now() - INBOUND_PART_TTL):
            group = await self._records.inbound_group(conn, carrier, key)
            await self._records.drop_inbound_group(conn, carrier, key)
            if group:
                log.warning("%s: concatenated message %s incomplete (%d of %d parts) after %s; delivering it",
                            carrier, key, len(group), group[0].part_count, INBOUND_PART_TTL)
                await self._deliver(conn, carrier, group[0].from_addr, group[0].to_addr,
                                    "".join(p.text for p in group))

    async def _deliver(self, conn: Conn, carrier: str, sender: str, to: str, text: str) -> None:
        parsed = parse_e164(to)
        number = await self._numbers.by_number(conn, parsed.e164 if parsed else to)
        if number is None:
            log.warning("%s: MO message to %s, which no account owns; dropped", carrier, to)
            return
        await self._inbound.receive(conn, sender, number, text, [], carrier=carrier)
