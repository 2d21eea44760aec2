"""One SMPP v3.4 connection of an ESME: an asyncio Protocol around the sans-IO codec Session.

Bytes in go to ``Session.receive_data`` and every resulting event is handled at once, in
``data_received`` (no task per PDU); PDUs out come from ``Session.send``. Time is the loop's
monotonic clock: a ticker feeds it to ``Session.timeouts`` (§7.2 response_timer) and
``Session.enquire_link_due`` (§7.2 enquire_link_timer). Nothing here parses or builds bytes.

A request's future gets its response, or :class:`LinkDown` on timeout or disconnect. Requests
that count against the window hold a slot from ``acquire_slot`` until the *session* stops counting
them (response, timeout, unreadable response, disconnect), never merely until the caller stops
waiting, so our window and the session's can never disagree.

Bad input costs one PDU: the session turns an unparsable PDU into a generic_nack (§4.3) and the
bind stays up; only lost framing (a command_length we cannot trust) closes the connection. The
SMSC's enquire_link is answered (§4.11); its unbind is answered and the connection closed (§4.2).
deliver_sm / data_sm go to ``on_deliver``, which answers them later (see SmppClient).

Outbind (§2.2.1, §4.1.7) is not supported: it arrives on a connection the *SMSC* opens to the
ESME, and Openline never listens for SMPP; one arriving on our own connection is logged and
ignored (it has no response PDU). alert_notification (§4.12) is logged and ignored likewise.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Final, Literal, cast

from openline.codecs.smpp import (
    AlertNotification,
    CommandId,
    DataSm,
    DeliverSm,
    EnquireLink,
    Outbind,
    Pdu,
    Role,
    Session,
    SmppSessionError,
    Unbind,
)
from openline.codecs.smpp.events import (
    ConnectionClosed,
    Event,
    MalformedPdu,
    NeedData,
    RejectedPdu,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    UnexpectedResponse,
)
from openline.config import SmppCarrierSettings
from openline.services.carriers import LinkDown

__all__ = ["BindKind", "LinkState", "LinkStats", "SmppConnection"]

log = logging.getLogger("openline.smpp")

INBOUND_WINDOW: Final = 100  # unanswered deliver_sm before the session answers ESME_RTHROTTLED
MAX_TIMEOUTS_IN_A_ROW: Final = 3  # response timeouts before the connection counts as dead
READ_CHUNK: Final = 64 * 1024  # fed to the session at a time; its buffer holds a PDU + 256 KiB
RATE_WINDOW: Final = 10  # seconds of history behind submits_per_s
LATENCY_SAMPLES: Final = 1024  # response latencies kept for the p50/p99 in metrics()

BindKind = Literal["trx", "tx", "rx"]
_PROBES: Final = frozenset({CommandId.ENQUIRE_LINK, CommandId.UNBIND})


class LinkState(enum.Enum):
    DISCONNECTED = "disconnected"
    CONNECTING = "connecting"
    BINDING = "binding"
    BOUND = "bound"
    UNBINDING = "unbinding"
    STOPPED = "stopped"


def _consume(fut: asyncio.Future[Pdu]) -> None:
    """Done-callback for requests nobody awaits (enquire_link): read the outcome so asyncio does
    not report an exception that was never retrieved."""
    if not fut.cancelled():
        fut.exception()


class LinkStats:
    """Counters for metrics(); every buffer in here has a fixed size."""

    def __init__(self) -> None:
        self.submits_total = 0
        self.responses_total = 0
        self.timeouts_total = 0
        self.errors_by_status: dict[str, int] = {}
        self.reconnects = 0
        self.last_error: str | None = None
        self.last_error_at: float | None = None
        self.delivers_total = 0
        self.receipts_total = 0
        self.mo_total = 0
        self.deliver_errors = 0
        self.malformed_total = 0
        self.unexpected_total = 0
        self.latencies: deque[float] = deque(maxlen=LATENCY_SAMPLES)
        self._per_second: deque[list[int]] = deque(maxlen=RATE_WINDOW + 1)  # [second, count]
        self._first: float | None = None

    def sent(self, now: float) -> None:
        self.submits_total += 1
        second = int(now)
        if self._per_second and self._per_second[-1][0] == second:
            self._per_second[-1][1] += 1
        else:
            self._per_second.append([second, 1])
        if self._first is None:
            self._first = now

    def rate(self, now: float) -> float:
        if self._first is None:
            return 0.0
        span = min(float(RATE_WINDOW), max(now - self._first, 1.0))
        count = sum(n for second, n in self._per_second if second >= int(now - span))
        return round(count / span, 2)

    def error(self, message: str) -> None:
        self.last_error, self.last_error_at = message, time.time()


class SmppConnection(asyncio.Protocol):
    """One TCP connection and its SMPP session; lives from connect to connection_lost."""

    def __init__(self, settings: SmppCarrierSettings, kind: BindKind, stats: LinkStats,
                 on_deliver: Callable[[SmppConnection, DeliverSm | DataSm], None]) -> None:
        self.settings = settings
        self.name = settings.name
        self.kind = kind
        self.stats = stats
        self._on_deliver = on_deliver
        self.label = f"{settings.name}/{kind}"
        self.loop = asyncio.get_running_loop()
        self.session = Session(
            Role.ESME,
            window=settings.window,
            inbound_window=INBOUND_WINDOW,
            response_timeout=settings.response_timeout,
            enquire_link_interval=settings.enquire_link_interval,
        )
        self.window = settings.window
        self.state = LinkState.CONNECTING
        self.bound_since: float | None = None
        self.transport: asyncio.Transport | None = None
        self.closed: asyncio.Future[str] = self.loop.create_future()
        self.close_reason = "connection lost"
        self.draining = False  # stop(): no new submits, in-flight ones may finish
        self.slots_used = 0
        self._slot_waiters: deque[asyncio.Future[None]] = deque()
        self._idle = asyncio.Event()  # set while no window slot is held
        self._idle.set()
        self._pending: dict[int, tuple[asyncio.Future[Pdu], bool]] = {}  # seq -> (future, holds a slot)
        self._writable = asyncio.Event()
        self._writable.set()
        self._ticker: asyncio.Task[None] | None = None
        self._timeouts_in_a_row = 0
        self._probe: asyncio.Future[Pdu] | None = None
        self._out: list[bytes] = []  # PDUs written in this loop iteration, sent together

    # --- asyncio.Protocol -------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream transport (TCP or TLS)
        self._ticker = self.loop.create_task(self._tick(), name=f"smpp-tick-{self.label}")

    def data_received(self, data: bytes) -> None:
        now = self.loop.time()
        for start in range(0, len(data), READ_CHUNK):
            try:
                self.session.receive_data(data[start : start + READ_CHUNK], now=now)
            except SmppSessionError as exc:  # buffer bound hit: only a transport bug gets here
                self.abort(f"receive buffer: {exc}")
                return
            if not self._drain():
                return

    def eof_received(self) -> bool:
        self.session.receive_data(b"")
        self._drain()
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and self.close_reason == "connection lost":
            self.close_reason = f"connection lost: {exc}"
        self.state = LinkState.DISCONNECTED
        self.draining = True
        if self._ticker is not None:
            self._ticker.cancel()
        failure = f"carrier {self.name}: {self.close_reason}"
        pending, self._pending = self._pending, {}
        for fut, _ in pending.values():
            if not fut.done():
                fut.set_exception(LinkDown(failure))
        self._fail_waiters(failure)
        self.slots_used = 0
        self._idle.set()
        self._writable.set()  # wake submits waiting on backpressure; they then see the link down
        if not self.closed.done():
            self.closed.set_result(self.close_reason)

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()

    # --- outbound ---------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    @property
    def accepting(self) -> bool:
        return self.state is LinkState.BOUND and not self.draining and self.is_open

    def request(self, pdu: Pdu, *, holds_slot: bool = False) -> asyncio.Future[Pdu]:
        """Send a request now; the future gets its response, or LinkDown (timeout, disconnect)."""
        if not self.is_open or (holds_slot and self.draining):
            raise LinkDown(f"carrier {self.name}: {self.close_reason if not self.is_open else 'stopping'}")
        try:
            pdu = self.session.stamp(pdu)
            data = self.session.send(pdu, now=self.loop.time())
        except SmppSessionError as exc:  # e.g. unbinding: the session refuses new work
            raise LinkDown(f"carrier {self.name}: {exc}") from exc
        fut: asyncio.Future[Pdu] = self.loop.create_future()
        self._pending[pdu.sequence_number] = (fut, holds_slot)
        self._write(data)
        return fut

    def respond(self, pdu: Pdu) -> bool:
        if not self.is_open:
            return False
        try:
            data = self.session.send(pdu, now=self.loop.time())
        except SmppSessionError as exc:
            log.warning("smpp %s: cannot send %s: %s", self.label, pdu.command_name, exc)
            return False
        self._write(data)
        return True

    def _write(self, data: bytes) -> None:
        # Coalesce: every PDU of this loop iteration leaves in one send() at its end. Under load
        # many submits and deliver_sm_resp are written per iteration, and a syscall each was the
        # largest cost of a submit on this side of the codec.
        if not self._out:
            self.loop.call_soon(self._flush)
        self._out.append(data)

    def _flush(self) -> None:
        if self._out and self.transport is not None and not self.transport.is_closing():
            self.transport.writelines(self._out)
        self._out.clear()

    async def writable(self) -> None:
        if not self._writable.is_set():
            await self._writable.wait()

    # --- the window -------------------------------------------------------------------------

    async def acquire_slot(self) -> None:
        if not self.accepting:
            raise LinkDown(f"carrier {self.name}: not bound")
        if self.slots_used < self.window and not self._slot_waiters:
            self._take_slot()
            return
        waiter: asyncio.Future[None] = self.loop.create_future()
        self._slot_waiters.append(waiter)
        try:
            await waiter  # release_slot hands its slot straight to us
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release_slot()  # handed over just as we were cancelled: pass it on
            else:
                with contextlib.suppress(ValueError):
                    self._slot_waiters.remove(waiter)
            raise

    def _take_slot(self) -> None:
        self.slots_used += 1
        self._idle.clear()

    def release_slot(self) -> None:
        while self._slot_waiters:
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.slots_used = max(0, self.slots_used - 1)
        if self.slots_used == 0:
            self._idle.set()

    def _fail_waiters(self, reason: str) -> None:
        waiters, self._slot_waiters = self._slot_waiters, deque()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(LinkDown(reason))

    def _finish(self, seq: int) -> asyncio.Future[Pdu] | None:
        """The request ``seq`` has left the session's window: free its slot, return its future."""
        entry = self._pending.pop(seq, None)
        if entry is None:
            return None
        fut, holds_slot = entry
        if holds_slot:
            self.release_slot()
        return fut

    # --- inbound ----------------------------------------------------------------------------

    def _drain(self) -> bool:
        """Handle every buffered event; False once the connection is going away."""
        while True:
            event = self.session.next_event()
            if isinstance(event, NeedData):
                return True
            self._on_event(event)
            if isinstance(event, ConnectionClosed) or not self.is_open:
                return False

    def _on_event(self, event: Event) -> None:
        stats = self.stats
        if isinstance(event, ResponseReceived):
            if event.request.command_id not in _PROBES:
                self._timeouts_in_a_row = 0  # an answered enquire_link proves the socket, not the SMSC
            fut = self._finish(event.pdu.sequence_number)
            if fut is not None and not fut.done():
                fut.set_result(event.pdu)
        elif isinstance(event, RequestReceived):
            self._on_request(event.pdu)
        elif isinstance(event, MalformedPdu):
            # §4.3: answer what we cannot parse with generic_nack; the bind survives unless the
            # framing itself is gone (the session says fatal), when we cannot find the next PDU.
            stats.malformed_total += 1
            stats.error(f"malformed PDU: {event.reason}")
            log.warning("smpp %s: malformed PDU (seq %d): %s%s", self.label, event.sequence_number,
                        event.reason, "; closing, framing lost" if event.fatal else "")
            if event.reply is not None:
                self.respond(event.reply)
            if event.request is not None:
                fut = self._finish(event.request.sequence_number)
                if fut is not None and not fut.done():
                    fut.set_exception(LinkDown(f"carrier {self.name}: unreadable "
                                               f"{event.request.command_name}_resp: {event.reason}"))
            if event.fatal:
                self.close(f"framing lost: {event.reason}")
        elif isinstance(event, RejectedPdu):
            log.warning("smpp %s: refused %s: %s", self.label, event.pdu.command_name, event.reason)
            if event.reply is not None:
                self.respond(event.reply)
        elif isinstance(event, UnexpectedResponse):
            stats.unexpected_total += 1  # typically a response that came after its timeout
            log.info("smpp %s: %s", self.label, event.reason)
        elif isinstance(event, ConnectionClosed):
            self.close("closed by the SMSC")

    def _on_request(self, pdu: Pdu) -> None:
        command = pdu.command_id
        if command == CommandId.ENQUIRE_LINK:
            self.respond(pdu.response())  # §4.11: either end may probe; always answer
        elif command == CommandId.UNBIND:
            log.warning("smpp %s: the SMSC unbound; reconnecting", self.label)
            self.stats.error("unbound by the SMSC")
            self.respond(pdu.response())  # §4.2: answer with unbind_resp, then the link is gone
            self.close("unbound by the SMSC")
        elif isinstance(pdu, DeliverSm | DataSm):
            self._on_deliver(self, pdu)
        elif isinstance(pdu, Outbind | AlertNotification):
            log.info("smpp %s: ignoring %s (not supported; see module docstring)", self.label, pdu.command_name)
        else:  # pragma: no cover - the session only lets SMSC-issued requests through
            log.warning("smpp %s: unexpected %s", self.label, pdu.command_name)

    # --- timers -----------------------------------------------------------------------------

    async def _tick(self) -> None:
        settings = self.settings
        period = min(settings.response_timeout, settings.enquire_link_interval) / 4
        period = min(1.0, max(0.01, period))
        while True:
            await asyncio.sleep(period)
            now = self.loop.time()
            for expired in self.session.timeouts(now):
                self._on_timeout(expired)
            if self.is_open and self.state is LinkState.BOUND and self.session.enquire_link_due(now):
                self._enquire_link()  # §7.2 enquire_link_timer: a quiet link gets probed

    def _enquire_link(self) -> None:
        if self._probe is not None and not self._probe.done():
            return
        with contextlib.suppress(LinkDown):
            self._probe = self.request(EnquireLink())
            self._probe.add_done_callback(_consume)

    def _on_timeout(self, expired: RequestTimedOut) -> None:
        request = expired.request
        fut = self._finish(request.sequence_number)
        timeout = self.settings.response_timeout
        reason = f"no {request.command_name}_resp within {timeout:g}s"
        if fut is not None and not fut.done():
            fut.set_exception(LinkDown(f"carrier {self.name}: {reason}"))
        if request.command_id == CommandId.ENQUIRE_LINK:
            self.stats.error(reason)
            log.warning("smpp %s: %s; dropping the connection", self.label, reason)
            self.abort(reason)
        elif request.command_id in (CommandId.SUBMIT_SM, CommandId.SUBMIT_MULTI, CommandId.DATA_SM):
            self.stats.timeouts_total += 1
            self.stats.error(reason)
            self._timeouts_in_a_row += 1
            log.warning("smpp %s: %s (seq %d)", self.label, reason, request.sequence_number)
            if self._timeouts_in_a_row >= MAX_TIMEOUTS_IN_A_ROW:
                self.abort(f"{self._timeouts_in_a_row} responses in a row timed out")
            else:
                self._enquire_link()  # suspect: is the SMSC still there at all?

    # --- closing ----------------------------------------------------------------------------

    def close(self, reason: str) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._flush()  # what we already said (an unbind_resp, a generic_nack) still goes out
            self.close_reason = reason
            self.transport.close()

    def abort(self, reason: str) -> None:
        if self.transport is not None:
            if not self.transport.is_closing():
                self.close_reason = reason
            self.transport.abort()
        elif not self.closed.done():  # never connected
            self.close_reason = reason
            self.connection_lost(None)

    async def shutdown(self, wait: float) -> None:
        """stop(): refuse new submits, let in-flight ones finish, unbind (§4.2), close."""
        self.draining = True
        self._fail_waiters(f"carrier {self.name}: stopping")
        if self.state is LinkState.BOUND and self.is_open:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._idle.wait()
            self.state = LinkState.UNBINDING
            try:
                unbind = self.request(Unbind())
                async with asyncio.timeout(wait):
                    await unbind
            except (LinkDown, TimeoutError) as exc:
                log.warning("smpp %s: unbind not acknowledged: %s", self.label, exc)
        if self.transport is None:
            self.abort("stopped")
            return
        self.close("stopped")
        try:
            async with asyncio.timeout(1.0):
                await asyncio.shield(self.closed)
        except TimeoutError:
            self.abort("stopped")
