"""A scriptable SMSC on loopback for tests: real asyncio TCP, the codec's Session in SMSC role.

    async with FakeSmsc(system_id="openline", password="secret") as smsc:   # 127.0.0.1, free port
        settings = smsc.carrier_settings(name="acme")                      # SmppCarrierSettings for it
        ...
        (record,) = await smsc.wait_for_submits(1)
        await smsc.send_receipt(record, "DELIVRD")                         # text receipt
        await smsc.send_mo("+14155550100", "+14155550199", "hello")       # MO deliver_sm

What it does by default: accepts bind_transmitter/receiver/transceiver with the right
system_id/password (else ESME_RINVSYSID / ESME_RINVPASWD), answers submit_sm with fresh message
ids (decimal, or hex with ``message_ids="hex"``), answers enquire_link and unbind, and records
everything with its arrival time (``loop.time()``). Delivery receipts are off unless ``receipt=``
names a stat ("DELIVRD", "UNDELIV", ...); they honour registered_delivery (§5.2.17) and can be
text (Appendix B), TLVs (receipted_message_id + message_state, §5.3.2.12/.35) or both, after
``receipt_delay`` seconds or *before* the submit_sm_resp (``receipt_before_response=True``).

Deliveries (receipts and MOs) go to the newest receiver/transceiver bind of the system_id; with
none bound they wait in an outbox, as a real SMSC's store-and-forward would, and are redelivered
when the connection drops before the answer or the ESME answers with a transient status.

Fault knobs: ``throttle(n)`` (ESME_RTHROTTLED or any status for the next n submits),
``reject_destination(addr, status)``, ``response_delay``, ``hold()``/``release(n)`` (keep
submit_sm_resp back, e.g. to fill the window), ``answering = False`` (silence: nothing
is answered, not even enquire_link), ``bind_status`` (refuse binds), ``await drop()`` (abort every
connection now), ``await send_malformed(kind)``, ``await send_unbind()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ssl
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from openline.codecs.smpp import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CommandId,
    CommandStatus,
    DataSm,
    DeliverSm,
    EnquireLink,
    GenericNack,
    Pdu,
    Role,
    Session,
    SmppSessionError,
    SubmitSm,
    Tlv,
    TlvTag,
    Unbind,
    is_transient,
)
from openline.codecs.smpp.concat import ConcatMethod, build_parts, split_text
from openline.codecs.smpp.encoding import decode_text, encode_text
from openline.codecs.smpp.events import (
    ConnectionClosed,
    MalformedPdu,
    NeedData,
    RejectedPdu,
    RequestReceived,
    ResponseReceived,
    UnexpectedResponse,
)
from openline.codecs.smpp.pdus_message import ESM_CLASS_DELIVERY_RECEIPT, ESM_CLASS_UDHI
from openline.codecs.smpp.udh import split_udh
from openline.config import SmppCarrierSettings

BindKind = Literal["trx", "tx", "rx"]
ReceiptForm = Literal["text", "tlv", "both"]
_KINDS: dict[int, BindKind] = {
    CommandId.BIND_TRANSCEIVER: "trx",
    CommandId.BIND_TRANSMITTER: "tx",
    CommandId.BIND_RECEIVER: "rx",
}
# Appendix B stat -> message_state (§5.2.28)
STATES: dict[str, int] = {"ENROUTE": 1, "DELIVRD": 2, "EXPIRED": 3, "DELETED": 4, "UNDELIV": 5, "ACCEPTD": 6,
                          "UNKNOWN": 7, "REJECTD": 8}
_RAW_SEQ_BASE = 0x7F000000  # sequence numbers for raw (malformed) PDUs, far from the session's


def receipt_text(message_id: str, stat: str = "DELIVRD", *, err: str = "000", text: str = "",
                 submitted: dt.datetime | None = None, done: dt.datetime | None = None) -> str:
    """SMPP v3.4 Appendix B receipt text."""
    submitted = submitted or dt.datetime.now(dt.UTC)
    done = done or dt.datetime.now(dt.UTC)
    delivered = "001" if stat == "DELIVRD" else "000"
    return (f"id:{message_id} sub:001 dlvrd:{delivered} submit date:{submitted:%y%m%d%H%M} "
            f"done date:{done:%y%m%d%H%M} stat:{stat} err:{err} Text:{text[:20]}")


@dataclass
class BindRecord:
    kind: BindKind
    system_id: str
    password: str
    system_type: str
    status: int
    at: float


@dataclass
class SubmitRecord:
    """One submit_sm as it arrived; ``status``/``message_id`` once answered (None until then,
    and forever if the SMSC was told not to answer)."""

    pdu: SubmitSm
    at: float
    system_id: str
    status: int | None = None
    message_id: str | None = None

    @property
    def destination(self) -> str:
        return self.pdu.destination_addr

    @property
    def user_data(self) -> bytes:
        """short_message or message_payload without its UDH."""
        payload = self.pdu.payload
        return split_udh(payload)[1] if self.pdu.esm_class & ESM_CLASS_UDHI else payload

    @property
    def text(self) -> str:
        return decode_text(self.pdu.data_coding, self.user_data, strict=False)


@dataclass
class DeliverRecord:
    """A deliver_sm/data_sm the SMSC sent; every attempt's answer lands in ``statuses``."""

    pdu: DeliverSm | DataSm
    system_id: str
    sent_at: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    done: bool = False  # answered 0 or permanently, or out of attempts

    @property
    def status(self) -> int | None:
        return self.statuses[-1] if self.statuses else None


class SmscConnection:
    """One ESME connection, server side."""

    def __init__(self, smsc: FakeSmsc, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.smsc = smsc
        self.reader = reader
        self.writer = writer
        # Our requests (deliver_sm) never hit the window in tests; their timeouts are unused.
        self.session = Session(Role.SMSC, window=10_000, inbound_window=100_000, enquire_link_interval=None)
        self.kind: BindKind | None = None
        self.system_id = ""
        self.pending: dict[int, asyncio.Future[Pdu]] = {}
        self.closed = asyncio.Event()
        self._raw_seq = _RAW_SEQ_BASE

    @property
    def bound(self) -> bool:
        return self.kind is not None and self.session.is_bound

    @property
    def receives(self) -> bool:
        return self.bound and self.kind in ("rx", "trx")

    def write(self, pdu: Pdu) -> None:
        if self.writer.is_closing():
            return
        try:
            self.writer.write(self.session.send(pdu, now=0.0))
        except SmppSessionError:
            return  # e.g. answering after an unbind; a real SMSC would drop it too
        self.smsc.sent.append((pdu.command_name, pdu.sequence_number))

    def write_raw(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def request(self, pdu: Pdu) -> asyncio.Future[Pdu]:
        pdu = self.session.stamp(pdu)
        fut: asyncio.Future[Pdu] = asyncio.get_running_loop().create_future()
        self.writer.write(self.session.send(pdu, now=0.0))
        self.pending[pdu.sequence_number] = fut
        self.smsc.sent.append((pdu.command_name, pdu.sequence_number))
        return fut

    def next_raw_seq(self) -> int:
        self._raw_seq += 1
        return self._raw_seq

    def abort(self) -> None:
        self.writer.transport.abort()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                data = await self.reader.read(65536)
                self.session.receive_data(data, now=loop.time())
                if not self._drain(loop.time()) or not data:
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            self.writer.close()
            self.closed.set()
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("ESME connection closed"))
            self.smsc._on_close(self)

    def _drain(self, now: float) -> bool:
        while True:
            event = self.session.next_event()
            if isinstance(event, NeedData):
                return True
            self.smsc.events.append(event)
            if isinstance(event, RequestReceived):
                self.smsc._on_request(self, event.pdu, now)
            elif isinstance(event, ResponseReceived):
                fut = self.pending.pop(event.pdu.sequence_number, None)
                if fut is not None and not fut.done():
                    fut.set_result(event.pdu)
            elif isinstance(event, UnexpectedResponse):
                if isinstance(event.pdu, GenericNack):
                    self.smsc.nacks.append(event.pdu)  # the ESME's answer to a raw malformed PDU
            elif isinstance(event, MalformedPdu):
                self.smsc.malformed.append(event)
                if event.reply is not None:
                    self.write(event.reply)
                if event.fatal:
                    return False
            elif isinstance(event, RejectedPdu):
                if event.reply is not None and self.smsc.answering:
                    self.write(event.reply)
            elif isinstance(event, ConnectionClosed):
                return False
            self.smsc._notify()


class FakeSmsc:
    def __init__(
        self,
        *,
        system_id: str = "openline",
        password: str = "secret",
        host: str = "127.0.0.1",
        port: int = 0,
        message_ids: Literal["decimal", "hex"] = "decimal",
        first_message_id: int = 1_000_000,
        receipt: str | None = None,
        receipt_form: ReceiptForm = "text",
        receipt_delay: float = 0.0,
        receipt_before_response: bool = False,
        receipt_ids: Literal["same", "decimal", "hex"] = "same",
        response_delay: float = 0.0,
        redeliver_delay: float = 0.2,
        max_deliver_attempts: int = 3,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.system_id = system_id
        self.password = password
        self.host = host
        self.port = port
        self.message_ids = message_ids
        self.receipt = receipt
        self.receipt_form: ReceiptForm = receipt_form
        self.receipt_delay = receipt_delay
        self.receipt_before_response = receipt_before_response
        self.receipt_ids = receipt_ids
        self.response_delay = response_delay
        self.redeliver_delay = redeliver_delay
        self.max_deliver_attempts = max_deliver_attempts
        self.ssl_context = ssl_context
        # fault knobs
        self.answering = True
        self.holding = False  # queue submit_sm_resp until release(); enquire_link is still answered
        self._held: deque[tuple[SmscConnection, SubmitRecord, int]] = deque()
        self.bind_status: int | None = None  # answer every bind with this status
        self._throttle: deque[int] = deque()
        self._reject: dict[str, int] = {}
        # records
        self.binds: list[BindRecord] = []
        self.submits: list[SubmitRecord] = []
        self.by_message_id: dict[str, SubmitRecord] = {}
        self.delivers: list[DeliverRecord] = []
        self.enquire_links: list[float] = []
        self.unbinds: list[float] = []
        self.nacks: list[GenericNack] = []
        self.malformed: list[MalformedPdu] = []
        self.events: list[object] = []  # every session event, in arrival order
        self.sent: list[tuple[str, int]] = []  # (command_name, sequence_number) of every PDU written
        self.connections: list[SmscConnection] = []
        self.connections_total = 0
        self._next_id = first_message_id
        self._outbox: deque[DeliverRecord] = deque()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._changed = asyncio.Event()

    # --- lifecycle --------------------------------------------------------------------------

    async def start(self) -> FakeSmsc:
        """Listen (again: a restart keeps the port, so clients can reconnect to it)."""
        self._server = await asyncio.start_server(self._accept, self.host, self.port, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and drop every connection (an SMSC going down)."""
        if self._server is not None:
            self._server.close()
            self._server = None
        await self.drop()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def __aenter__(self) -> FakeSmsc:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def carrier_settings(self, **overrides: Any) -> SmppCarrierSettings:
        """Settings for an SmppClient pointed at this SMSC, with test-friendly timers."""
        values: dict[str, Any] = {
            "name": "fake-smsc", "host": self.host, "port": self.port, "system_id": self.system_id,
            "password": self.password, "reconnect_min": 0.05, "reconnect_max": 0.5,
            "response_timeout": 2.0, "enquire_link_interval": 30.0,
        }
        values.update(overrides)
        return SmppCarrierSettings(**values)

    # --- knobs ------------------------------------------------------------------------------

    def throttle(self, count: int, status: int = CommandStatus.ESME_RTHROTTLED) -> None:
        """Answer the next ``count`` submit_sm with ``status`` (e.g. ESME_RMSGQFUL)."""
        self._throttle.extend([int(status)] * count)

    def reject_destination(self, destination: str, status: int = CommandStatus.ESME_RINVDSTADR) -> None:
        self._reject[destination] = int(status)

    def hold(self) -> None:
        """Keep submit_sm_resp back (the window fills up) until ``release``."""
        self.holding = True

    def release(self, count: int | None = None) -> int:
        """Answer ``count`` held submits (all by default) in arrival order; stop holding when all
        are released. Returns how many were answered."""
        answered = 0
        while self._held and (count is None or answered < count):
            conn, record, status = self._held.popleft()
            self._answer(conn, record, status)
            answered += 1
        if count is None:
            self.holding = False
        return answered

    async def drop(self) -> None:
        """Abort every connection now (RST, nothing flushed): in-flight submits get no answer."""
        for conn in list(self.connections):
            conn.abort()
        for conn in list(self.connections):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(conn.closed.wait(), 2.0)

    async def send_malformed(self, kind: Literal["body", "command_id", "length"] = "body",
                             *, system_id: str | None = None) -> int:
        """Write a broken PDU to the newest bind; returns its sequence_number.

        body: a deliver_sm whose body stops mid-field (the ESME should generic_nack, §4.3);
        command_id: an unknown command_id (generic_nack ESME_RINVCMDID);
        length: command_length 8 < 16, framing is lost (the ESME nacks and closes).
        """
        conn = self._newest(system_id, receiver=False)
        seq = conn.next_raw_seq()
        if kind == "body":
            body = b"\x00\x01\x01+1555"  # service_type "", TONs, then source_addr never ends
            data = (16 + len(body)).to_bytes(4, "big") + (CommandId.DELIVER_SM).to_bytes(4, "big") \
                + bytes(4) + seq.to_bytes(4, "big") + body
        elif kind == "command_id":
            data = (16).to_bytes(4, "big") + (0x00000999).to_bytes(4, "big") + bytes(4) + seq.to_bytes(4, "big")
        else:
            data = (8).to_bytes(4, "big") + CommandId.ENQUIRE_LINK.to_bytes(4, "big") + bytes(4) \
                + seq.to_bytes(4, "big")
        conn.write_raw(data)
        return seq

    async def send_enquire_link(self, *, system_id: str | None = None, timeout: float = 5.0) -> Pdu:
        conn = self._newest(system_id, receiver=False)
        return await asyncio.wait_for(conn.request(EnquireLink()), timeout)

    async def send_unbind(self, *, timeout: float = 5.0) -> None:
        """SMSC-initiated unbind (§4.2) on every bound connection; close each after its unbind_resp."""
        for conn in [c for c in self.connections if c.bound]:
            with contextlib.suppress(TimeoutError, ConnectionError):
                await asyncio.wait_for(conn.request(Unbind()), timeout)
            conn.writer.close()

    # --- deliveries -------------------------------------------------------------------------

    async def send_deliver(self, pdu: DeliverSm | DataSm, *, system_id: str | None = None,
                           wait: bool = True, timeout: float = 5.0) -> DeliverRecord:
        """Deliver ``pdu`` (queued while no receiver is bound); with ``wait``, until its first answer."""
        record = DeliverRecord(pdu, system_id or self.system_id)
        self.delivers.append(record)
        self._outbox.append(record)
        self._flush()
        if wait:
            await self.wait_until(lambda: bool(record.statuses), timeout)
        return record

    async def send_receipt(self, submit: SubmitRecord | str, stat: str = "DELIVRD", *, err: str = "000",
                           form: ReceiptForm | None = None, wait: bool = True, timeout: float = 5.0) -> DeliverRecord:
        """A delivery receipt for a submit (or a bare message id) as deliver_sm."""
        return await self.send_deliver(self.receipt_pdu(submit, stat, err=err, form=form), wait=wait,
                                       timeout=timeout)

    def receipt_pdu(self, submit: SubmitRecord | str, stat: str = "DELIVRD", *, err: str = "000",
                    form: ReceiptForm | None = None) -> DeliverSm:
        form = form or self.receipt_form
        record = submit if isinstance(submit, SubmitRecord) else self.by_message_id.get(submit)
        message_id = submit if isinstance(submit, str) else (submit.message_id or "")
        message_id = self._receipt_id(message_id)
        tlvs: tuple[Tlv, ...] = ()
        short_message = b""
        if form in ("text", "both"):
            original = record.text if record is not None else ""
            ascii_text = original.encode("ascii", "replace").decode("ascii")
            short_message = encode_text(receipt_text(message_id, stat, err=err, text=ascii_text), 0).payload
        if form in ("tlv", "both"):
            tlvs = (Tlv.of_str(TlvTag.RECEIPTED_MESSAGE_ID, message_id),
                    Tlv.of_int(TlvTag.MESSAGE_STATE, STATES.get(stat, 7)))
        src = record.pdu if record is not None else None
        return DeliverSm(
            source_addr_ton=src.dest_addr_ton if src else 1, source_addr_npi=src.dest_addr_npi if src else 1,
            source_addr=src.destination_addr if src else "",
            dest_addr_ton=src.source_addr_ton if src else 1, dest_addr_npi=src.source_addr_npi if src else 1,
            destination_addr=src.source_addr if src else "",
            esm_class=ESM_CLASS_DELIVERY_RECEIPT, short_message=short_message, tlvs=tlvs,
        )

    async def send_mo(self, source: str, destination: str, text: str, *, data_coding: int | None = None,
                      concat: Literal["udh8", "udh16", "sar", "payload"] = "udh8", ref: int = 0x42,
                      order: Sequence[int] | None = None, ton: int = 1, npi: int = 1,
                      wait: bool = True, timeout: float = 5.0) -> list[DeliverRecord]:
        """An MO message as deliver_sm: one PDU, or concatenated parts (UDH 8/16-bit, SAR TLVs or
        message_payload). ``order`` sends the parts in another order (1-based part numbers)."""
        method = ConcatMethod(concat)
        coding, payloads = split_text(text, method, data_coding)
        parts = build_parts(payloads, method, coding, ref)
        template = DeliverSm(source_addr_ton=ton, source_addr_npi=npi, source_addr=source.lstrip("+"),
                             dest_addr_ton=ton, dest_addr_npi=npi, destination_addr=destination.lstrip("+"))
        pdus = [part.apply(template) for part in parts]
        chosen = [pdus[i - 1] for i in order] if order is not None else pdus
        records = [await self.send_deliver(pdu, wait=False) for pdu in chosen]
        if wait:
            await self.wait_until(lambda: all(r.statuses for r in records), timeout)
        return records

    # --- waiting ----------------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Until ``predicate()`` holds (checked on every recorded change); TimeoutError after ``timeout``."""
        async with asyncio.timeout(timeout):
            while not predicate():
                await self._changed.wait()

    async def wait_for_submits(self, count: int, timeout: float = 5.0) -> list[SubmitRecord]:
        await self.wait_until(lambda: len(self.submits) >= count, timeout)
        return self.submits[:count]

    async def wait_bound(self, count: int = 1, timeout: float = 5.0) -> list[SmscConnection]:
        await self.wait_until(lambda: len(self.bound_connections) >= count, timeout)
        return self.bound_connections

    @property
    def bound_connections(self) -> list[SmscConnection]:
        return [c for c in self.connections if c.bound]

    # --- internals --------------------------------------------------------------------------

    def _notify(self) -> None:
        """Wake every ``wait_until``: they re-check their predicate."""
        self._changed.set()
        self._changed = asyncio.Event()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = SmscConnection(self, reader, writer)
        self.connections.append(conn)
        self.connections_total += 1
        self._notify()
        await conn.run()

    def _on_close(self, conn: SmscConnection) -> None:
        if conn in self.connections:
            self.connections.remove(conn)
        self._notify()

    def _newest(self, system_id: str | None, *, receiver: bool) -> SmscConnection:
        for conn in reversed(self.connections):
            if conn.bound and (system_id is None or conn.system_id == system_id) and (conn.receives or not receiver):
                return conn
        raise RuntimeError("no ESME is bound" + (" as a receiver" if receiver else ""))

    def _new_message_id(self) -> str:
        self._next_id += 1
        return f"{self._next_id:X}" if self.message_ids == "hex" else str(self._next_id)

    def _receipt_id(self, message_id: str) -> str:
        if self.receipt_ids == "same" or not message_id:
            return message_id
        number = int(message_id, 16) if self.message_ids == "hex" else int(message_id)
        return f"{number:X}" if self.receipt_ids == "hex" else str(number)

    def _on_request(self, conn: SmscConnection, pdu: Pdu, now: float) -> None:
        command = pdu.command_id
        if command in _KINDS:
            self._on_bind(conn, pdu, now)
        elif isinstance(pdu, SubmitSm):
            self._on_submit(conn, pdu, now)
        elif command == CommandId.ENQUIRE_LINK:
            self.enquire_links.append(now)
            if self.answering:
                conn.write(pdu.response())
        elif command == CommandId.UNBIND:
            self.unbinds.append(now)
            if self.answering:
                conn.write(pdu.response())
                conn.writer.close()
        elif self.answering:  # query_sm, cancel_sm, data_sm...: not supported here
            conn.write(pdu.response(CommandStatus.ESME_RINVCMDID))

    def _on_bind(self, conn: SmscConnection, pdu: Pdu, now: float) -> None:
        assert isinstance(pdu, BindTransceiver | BindTransmitter | BindReceiver)
        kind = _KINDS[pdu.command_id]
        if self.bind_status is not None:
            status = self.bind_status
        elif pdu.system_id != self.system_id:
            status = CommandStatus.ESME_RINVSYSID
        elif pdu.password != self.password:
            status = CommandStatus.ESME_RINVPASWD
        else:
            status = CommandStatus.ESME_ROK
        self.binds.append(BindRecord(kind, pdu.system_id, pdu.password, pdu.system_type, int(status), now))
        if not self.answering:
            return
        conn.write(pdu.response(status) if status else pdu.response(system_id="FakeSMSC"))
        if not status:
            conn.kind, conn.system_id = kind, pdu.system_id
            self._flush()

    def _on_submit(self, conn: SmscConnection, pdu: SubmitSm, now: float) -> None:
        record = SubmitRecord(pdu, now, conn.system_id)
        self.submits.append(record)
        if not self.answering:
            return
        if self._throttle:
            status = self._throttle.popleft()
        else:
            status = self._reject.get(pdu.destination_addr, CommandStatus.ESME_ROK)
        if self.holding:
            self._held.append((conn, record, int(status)))
        elif self.response_delay > 0:
            self._spawn(self._answer_later(conn, record, int(status)))
        else:
            self._answer(conn, record, int(status))

    async def _answer_later(self, conn: SmscConnection, record: SubmitRecord, status: int) -> None:
        await asyncio.sleep(self.response_delay)
        if self.answering:
            self._answer(conn, record, status)

    def _answer(self, conn: SmscConnection, record: SubmitRecord, status: int) -> None:
        record.status = status
        if status:
            conn.write(record.pdu.response(status))
            return
        record.message_id = self._new_message_id()
        self.by_message_id[record.message_id] = record
        stat = self.receipt
        wanted = record.pdu.registered_delivery & 0x03  # §5.2.17: 1 = any outcome, 2 = failure only
        send_receipt = stat is not None and (wanted == 1 or (wanted == 2 and stat != "DELIVRD"))
        if send_receipt and self.receipt_before_response:
            assert stat is not None
            self.delivers.append(receipt := DeliverRecord(self.receipt_pdu(record, stat), conn.system_id))
            self._outbox.append(receipt)
            self._flush()
        conn.write(record.pdu.response(message_id=record.message_id))
        if send_receipt and not self.receipt_before_response:
            assert stat is not None
            self._spawn(self._receipt_later(record, stat))

    async def _receipt_later(self, record: SubmitRecord, stat: str) -> None:
        if self.receipt_delay:
            await asyncio.sleep(self.receipt_delay)
        await self.send_receipt(record, stat, wait=False)

    def _flush(self) -> None:
        """Send queued deliveries to a receiver bind of their system_id, if there is one."""
        keep: deque[DeliverRecord] = deque()
        while self._outbox:
            record = self._outbox.popleft()
            try:
                conn = self._newest(record.system_id, receiver=True)
            except RuntimeError:
                keep.append(record)
                continue
            try:
                fut = conn.request(record.pdu)
            except SmppSessionError:  # e.g. unbinding: keep it for the next bind
                keep.append(record)
                continue
            record.sent_at.append(asyncio.get_running_loop().time())
            self._spawn(self._await_answer(conn, record, fut))
        self._outbox = keep

    async def _await_answer(self, conn: SmscConnection, record: DeliverRecord, fut: asyncio.Future[Pdu]) -> None:
        try:
            resp = await fut
        except ConnectionError:
            status = None  # the connection died first: deliver again on the next bind
        else:
            status = resp.command_status
            record.statuses.append(status)
            self._notify()
        final = status == 0 or (status is not None and not is_transient(status))
        if final or len(record.sent_at) >= self.max_deliver_attempts:
            record.done = True
        else:
            await asyncio.sleep(self.redeliver_delay if status is not None else 0)
            self._outbox.append(record)
            self._flush()
        self._notify()


def self_signed_context() -> tuple[ssl.SSLContext, bytes]:
    """A server SSLContext with a fresh self-signed certificate for 127.0.0.1; returns (context,
    certificate PEM) so a test can trust it explicitly."""
    import tempfile
    from pathlib import Path

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "openline-test-smsc")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert_file, key_file = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
        cert_file.write_bytes(cert_pem)
        key_file.write_bytes(key_pem)
        context.load_cert_chain(cert_file, key_file)
    return context, cert_pem
