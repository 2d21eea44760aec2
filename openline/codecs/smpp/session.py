"""A sans-IO SMPP session for either end (ESME or SMSC), in the style of h11's Connection.

    session = Session(Role.ESME)
    transport.write(session.send(BindTransceiver(system_id="acme", password="pw"), now=clock()))
    session.receive_data(chunk, now=clock())          # bytes from the socket, b"" at EOF
    while (event := session.next_event()) is not NEED_DATA:
        ...                                           # RequestReceived, ResponseReceived, ...
    for expired in session.timeouts(clock()): ...     # overdue responses
    if session.enquire_link_due(clock()): transport.write(session.send(EnquireLink(), now=...))

Framing: every PDU starts with its own command_length (§3.2). A bad *body* costs one PDU: the
session hands out a MalformedPdu whose ``reply`` is the generic_nack to send (§4.3), drops exactly
command_length octets and carries on, still bound. A command_length below 16 or above the bound
means we no longer know where the next PDU starts, so framing is lost for good: the MalformedPdu
is ``fatal`` (answer the generic_nack, then close - §4.3 gives no way to resynchronise), the
session goes CLOSED and ignores further input.

Time is always an argument; nothing here reads a clock or sleeps.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Final

from openline.codecs.smpp.errors import SmppParseError, SmppSessionError, WindowFullError
from openline.codecs.smpp.events import (
    NEED_DATA,
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
from openline.codecs.smpp.pdu import (
    HEADER_LENGTH,
    MAX_PDU_LENGTH,
    RESPONSE_BIT,
    CommandId,
    Pdu,
    parse_header,
    parse_pdu,
)
from openline.codecs.smpp.states import (
    BOUND,
    NEEDS_SUCCESS,
    NO_RESPONSE,
    RULES,
    TRANSITIONS,
    WINDOW_EXEMPT,
    Role,
    SessionState,
)
from openline.codecs.smpp.status import CommandStatus

__all__ = [
    "DEFAULT_ENQUIRE_LINK_INTERVAL",
    "DEFAULT_INBOUND_WINDOW",
    "DEFAULT_RESPONSE_TIMEOUT",
    "DEFAULT_WINDOW",
    "MAX_SEQUENCE_NUMBER",
    "Session",
]

MAX_SEQUENCE_NUMBER: Final = 0x7FFFFFFF  # §5.1.4: sequence_number runs 0x00000001-0x7FFFFFFF
DEFAULT_WINDOW: Final = 10  # unanswered requests we allow ourselves (carriers commonly grant 10)
DEFAULT_INBOUND_WINDOW: Final = 100  # unanswered peer requests before we answer ESME_RTHROTTLED
DEFAULT_RESPONSE_TIMEOUT: Final = 30.0  # §7.2 response_timer: "SMSC/ESME ... configurable"
DEFAULT_ENQUIRE_LINK_INTERVAL: Final = 30.0  # §7.2 enquire_link_timer
# The receive buffer must hold one maximal PDU plus a socket read; the transport drains
# next_event() before reading again, so anything beyond this is a transport bug.
DEFAULT_MAX_BUFFER: Final = MAX_PDU_LENGTH + 256 * 1024


@dataclass(frozen=True, slots=True)
class _Pending:
    request: Pdu
    sent_at: float


class Session:
    def __init__(
        self,
        role: Role,
        *,
        window: int = DEFAULT_WINDOW,
        inbound_window: int = DEFAULT_INBOUND_WINDOW,
        response_timeout: float = DEFAULT_RESPONSE_TIMEOUT,
        enquire_link_interval: float | None = DEFAULT_ENQUIRE_LINK_INTERVAL,
        max_pdu_length: int = MAX_PDU_LENGTH,
        max_buffer: int = DEFAULT_MAX_BUFFER,
    ) -> None:
        if window < 1 or inbound_window < 1 or not HEADER_LENGTH <= max_pdu_length <= MAX_PDU_LENGTH:
            raise ValueError("window sizes must be >= 1 and max_pdu_length within 16..MAX_PDU_LENGTH")
        self.our_role = role
        self.their_role = role.peer
        self.state = SessionState.OPEN
        self.window = window
        self.inbound_window = inbound_window
        self.response_timeout = response_timeout
        self.enquire_link_interval = enquire_link_interval
        self.max_pdu_length = max_pdu_length
        self.max_buffer = max(max_buffer, max_pdu_length)
        self._buffer = bytearray()
        self._eof = False
        self._framing_lost = False
        self._next_seq = 1
        self._outstanding: dict[int, _Pending] = {}
        self._inbound: dict[int, int] = {}  # sequence_number -> command_id awaiting our response
        self._last_rx: float | None = None
        self._last_tx: float | None = None
        self.malformed_count = 0

    # --- introspection ---------------------------------------------------------------------

    @property
    def outstanding(self) -> int:
        """Our requests still waiting for a response (all of them, window-exempt included)."""
        return len(self._outstanding)

    @property
    def window_available(self) -> int:
        used = sum(1 for p in self._outstanding.values() if p.request.command_id not in WINDOW_EXEMPT)
        return max(0, self.window - used)

    @property
    def is_bound(self) -> bool:
        return self.state in BOUND

    # --- outbound ---------------------------------------------------------------------------

    def stamp(self, pdu: Pdu) -> Pdu:
        """``pdu`` with a fresh sequence_number if it has none (0); call before ``send`` when the
        caller needs to know the number (to correlate its own records)."""
        if pdu.is_response or pdu.sequence_number:
            return pdu
        for _ in range(len(self._outstanding) + 1):
            seq = self._next_seq
            self._next_seq = 1 if seq >= MAX_SEQUENCE_NUMBER else seq + 1
            if seq not in self._outstanding:
                return replace(pdu, sequence_number=seq)
        raise SmppSessionError("no free sequence number")  # pragma: no cover - needs 2**31 pending

    def send(self, pdu: Pdu, *, now: float) -> bytes:
        """Serialise ``pdu`` after checking it is allowed for our role in the current state.

        Raises ``SmppSessionError`` for an illegal PDU and ``WindowFullError`` when the window is
        full (wait for responses or ``timeouts``). The session state only changes on success.
        """
        command = CommandId(pdu.command_id)
        if not self._is_rejection(pdu):
            rule = RULES.get((command, self.our_role))
            if rule is None:
                raise SmppSessionError(f"{pdu.command_name} is never sent by the {self.our_role.value}")
            if self.state not in rule.states:
                raise SmppSessionError(f"{pdu.command_name} not allowed in state {self.state.name}")
        if pdu.is_response:
            data = self._send_response(pdu, command)
        else:
            data = self._send_request(self.stamp(pdu), command, now)
        self._last_tx = now
        return data

    def _is_rejection(self, pdu: Pdu) -> bool:
        # An error response to a request we never accepted - the reply of a RejectedPdu or a
        # MalformedPdu - is allowed in every state and role: refusing a PDU *because* it came in
        # the wrong state must itself be possible in that state (§2.3 gives ESME_RINVBNDSTS).
        return pdu.is_response and pdu.command_status != 0 and pdu.sequence_number not in self._inbound

    def _send_request(self, pdu: Pdu, command: CommandId, now: float) -> bytes:
        if pdu.sequence_number in self._outstanding:
            raise SmppSessionError(f"sequence_number {pdu.sequence_number} is already outstanding")
        if command not in WINDOW_EXEMPT and command not in NO_RESPONSE and self.window_available == 0:
            raise WindowFullError(f"window of {self.window} outstanding requests is full")
        data = bytes(pdu)
        if command not in NO_RESPONSE:
            self._outstanding[pdu.sequence_number] = _Pending(pdu, now)
        self._transition(command)
        return data

    def _send_response(self, pdu: Pdu, command: CommandId) -> bytes:
        pending = self._inbound.get(pdu.sequence_number)
        answers = pending is not None and (pending | RESPONSE_BIT == command or command == CommandId.GENERIC_NACK)
        if not answers and pdu.command_status == CommandStatus.ESME_ROK and command != CommandId.GENERIC_NACK:
            # A *successful* response must answer a request we accepted; error replies (to
            # rejected or malformed PDUs) need not, since those requests were never tracked.
            raise SmppSessionError(f"{pdu.command_name} seq {pdu.sequence_number} answers no received request")
        data = bytes(pdu)
        if answers:
            del self._inbound[pdu.sequence_number]
            if command not in NEEDS_SUCCESS or pdu.command_status == CommandStatus.ESME_ROK:
                self._transition(command)
        return data

    def _transition(self, command: CommandId) -> None:
        self.state = TRANSITIONS.get((self.state, command), self.state)

    # --- inbound ----------------------------------------------------------------------------

    def receive_data(self, data: bytes, *, now: float | None = None) -> None:
        """Buffer bytes from the peer; ``b""`` means the peer closed. ``now`` feeds the idle timer."""
        if not data:
            self._eof = True
            return
        if self._framing_lost:
            return  # nothing after a framing error can be trusted; the transport is closing
        if self._eof:
            raise SmppSessionError("receive_data after end of stream")
        if len(self._buffer) + len(data) > self.max_buffer:
            raise SmppSessionError("receive buffer full: drain next_event() before reading more")
        self._buffer += data
        if now is not None:
            self._last_rx = now

    def next_event(self) -> Event | NeedData:
        """The next event from buffered bytes, or ``NEED_DATA``. Never raises on peer input."""
        if self._framing_lost:
            return ConnectionClosed(unread=0) if self._eof else NEED_DATA
        buf = self._buffer
        if len(buf) < 4:
            return self._starved()
        length = int.from_bytes(buf[:4], "big")
        if length < HEADER_LENGTH:
            return self._lose_framing(0, None, f"command_length {length} < {HEADER_LENGTH}")
        if length > self.max_pdu_length:
            if len(buf) < HEADER_LENGTH:
                return self._starved()
            header = parse_header(bytes(buf[:HEADER_LENGTH]))
            return self._lose_framing(header.sequence_number, header.command_id, f"command_length {length} too large")
        if len(buf) < length:
            return self._starved()
        frame = bytes(buf[:length])
        del buf[:length]
        try:
            pdu = parse_pdu(frame)
        except SmppParseError as exc:
            return self._malformed(frame, exc)
        return self._on_pdu(pdu)

    def _starved(self) -> ConnectionClosed | NeedData:
        if self._eof:
            self.state = SessionState.CLOSED
            return ConnectionClosed(unread=len(self._buffer))
        return NEED_DATA

    def _lose_framing(self, seq: int, command_id: int | None, reason: str) -> MalformedPdu:
        self.malformed_count += 1
        self._framing_lost = True
        self._buffer.clear()
        self.state = SessionState.CLOSED
        return MalformedPdu(CommandStatus.ESME_RINVCMDLEN, seq, command_id, reason, fatal=True)

    def _malformed(self, frame: bytes, exc: SmppParseError) -> MalformedPdu:
        self.malformed_count += 1
        header = parse_header(frame)  # the frame is >= 16 octets: next_event checked the length
        request = None
        if header.command_id & RESPONSE_BIT:
            pending = self._outstanding.get(header.sequence_number)
            if pending is not None and pending.request.command_id | RESPONSE_BIT == header.command_id:
                request = self._outstanding.pop(header.sequence_number).request
        return MalformedPdu(exc.command_status, header.sequence_number, header.command_id, str(exc), request=request)

    def _on_pdu(self, pdu: Pdu) -> Event:
        if pdu.is_response:
            return self._on_response(pdu)
        command = CommandId(pdu.command_id)
        rule = RULES.get((command, self.their_role))
        status = CommandStatus.ESME_ROK
        if rule is None:
            status, reason = (
                CommandStatus.ESME_RINVCMDID,
                f"{pdu.command_name} is never sent by the {self.their_role.value}",
            )
        elif self.state not in rule.states:
            bind = command in (
                CommandId.BIND_TRANSMITTER,
                CommandId.BIND_RECEIVER,
                CommandId.BIND_TRANSCEIVER,
            )
            status = CommandStatus.ESME_RALYBND if bind and self.state in BOUND else CommandStatus.ESME_RINVBNDSTS
            reason = f"{pdu.command_name} not allowed in state {self.state.name}"
        elif command not in NO_RESPONSE and len(self._inbound) >= self.inbound_window:
            status, reason = CommandStatus.ESME_RTHROTTLED, f"inbound window of {self.inbound_window} is full"
        if status != CommandStatus.ESME_ROK:
            reply = None if command in NO_RESPONSE else pdu.response(status)
            return RejectedPdu(pdu, status, reason, reply)
        if command not in NO_RESPONSE:
            self._inbound[pdu.sequence_number] = command
        self._transition(command)
        return RequestReceived(pdu)

    def _on_response(self, pdu: Pdu) -> Event:
        pending = self._outstanding.get(pdu.sequence_number)
        if pending is None:
            return UnexpectedResponse(pdu, f"no outstanding request with sequence_number {pdu.sequence_number}")
        is_nack = pdu.command_id == CommandId.GENERIC_NACK
        if not is_nack and pending.request.command_id | RESPONSE_BIT != pdu.command_id:
            return UnexpectedResponse(pdu, f"{pdu.command_name} does not answer {pending.request.command_name}")
        del self._outstanding[pdu.sequence_number]
        command = CommandId(pdu.command_id)
        if not is_nack and (command not in NEEDS_SUCCESS or pdu.command_status == CommandStatus.ESME_ROK):
            self._transition(command)
        return ResponseReceived(pdu, pending.request, pending.sent_at)

    # --- timers -----------------------------------------------------------------------------

    def timeouts(self, now: float) -> list[RequestTimedOut]:
        """Requests whose response is overdue; they leave the window (a late answer will then be
        an UnexpectedResponse). §7.2: the response_timer expiring means the request failed."""
        expired = [s for s, p in self._outstanding.items() if now - p.sent_at >= self.response_timeout]
        return [RequestTimedOut(p.request, p.sent_at) for p in (self._outstanding.pop(s) for s in expired)]

    def enquire_link_due(self, now: float) -> bool:
        """True when bound, idle for ``enquire_link_interval`` and no enquire_link is in flight
        (§7.2 enquire_link_timer: probe a quiet link so a dead peer is noticed)."""
        if self.enquire_link_interval is None or self.state not in BOUND:
            return False
        if any(p.request.command_id == CommandId.ENQUIRE_LINK for p in self._outstanding.values()):
            return False
        marks = [t for t in (self._last_rx, self._last_tx) if t is not None]
        return bool(marks) and now - max(marks) >= self.enquire_link_interval
