"""Events that ``Session.next_event()`` and the timer queries hand to the transport."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from openline.codecs.smpp.pdu import RESPONSE_BIT, Pdu
from openline.codecs.smpp.pdus_session import GenericNack

__all__ = [
    "NEED_DATA",
    "ConnectionClosed",
    "Event",
    "MalformedPdu",
    "NeedData",
    "RejectedPdu",
    "RequestReceived",
    "RequestTimedOut",
    "ResponseReceived",
    "UnexpectedResponse",
]


class NeedData:
    """Sentinel: feed more bytes with ``receive_data`` (h11's NEED_DATA)."""

    _instance: NeedData | None = None

    def __new__(cls) -> NeedData:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A valid request from the peer, allowed in this state. Answer it (``pdu.response(...)``)
    unless it is outbind or alert_notification, which have no response."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """The peer answered one of our requests (or generic_nack'ed it)."""

    pdu: Pdu
    request: Pdu
    sent_at: float


@dataclass(frozen=True, slots=True)
class MalformedPdu:
    """Bytes that are not a valid PDU. Send ``reply`` (if any); the session continues unless
    ``fatal``, in which case framing is lost: send the reply, then close the connection.

    ``command_id`` is None when the header itself was unreadable. ``request`` is our outstanding
    request when the malformed PDU was the response to it (that request is then finished).
    """

    command_status: int
    sequence_number: int
    command_id: int | None
    reason: str
    fatal: bool = False
    request: Pdu | None = None

    @property
    def reply(self) -> GenericNack | None:
        # §4.3: generic_nack answers a PDU we cannot process. A broken *response* gets no answer:
        # the peer is not waiting for one, and nacking a nack could loop forever.
        if self.command_id is not None and self.command_id & RESPONSE_BIT:
            return None
        return GenericNack(sequence_number=self.sequence_number, command_status=self.command_status)


@dataclass(frozen=True, slots=True)
class RejectedPdu:
    """A well-formed request not allowed now (wrong state or role, or inbound window full).
    Send ``reply`` - the matching response carrying ``command_status`` - if it is not None."""

    pdu: Pdu
    command_status: int
    reason: str
    reply: Pdu | None


@dataclass(frozen=True, slots=True)
class UnexpectedResponse:
    """A response matching none of our outstanding requests (late after a timeout, or bogus).
    Responses are never answered; count and log it."""

    pdu: Pdu
    reason: str


@dataclass(frozen=True, slots=True)
class ConnectionClosed:
    """The peer closed the connection (``receive_data(b"")``); ``unread`` octets were a partial PDU."""

    unread: int = 0


@dataclass(frozen=True, slots=True)
class RequestTimedOut:
    """No response arrived within the response timeout; the request left the window."""

    request: Pdu
    sent_at: float


Event = RequestReceived | ResponseReceived | MalformedPdu | RejectedPdu | UnexpectedResponse | ConnectionClosed
