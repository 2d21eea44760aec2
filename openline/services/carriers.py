"""What the pipeline needs from a carrier: hand a message over, and say what happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from openline.codecs.chat import ChatRequest
from openline.codecs.segments import Segmentation
from openline.codecs.smpp import DataSm, DeliverSm, SubmitSm, SubmitSmResp
from openline.core.messaging import Message
from openline.storage.database import Conn


@dataclass(frozen=True, slots=True)
class Accepted:
    carrier_message_id: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """The carrier refused the message for good: it ends ``failed`` with this code."""

    error_code: int
    reason: str


@dataclass(frozen=True, slots=True)
class TryLater:
    """The carrier is busy (throttled, queue full, disconnected): the message waits and retries."""

    delay: float
    reason: str
    # Some parts of the message already went out through this carrier: retry here, never
    # fail over (another carrier would deliver the parts twice and cannot join them).
    partial: bool = False


SubmitResult = Accepted | Rejected | TryLater


class Carrier(Protocol):
    name: str

    @property
    def available(self) -> bool:
        """False while the carrier cannot take messages (link down): routing fails over."""
        ...

    async def submit(self, message: Message, segmentation: Segmentation) -> SubmitResult:
        """Hand the message to the carrier. Called outside any database transaction."""
        ...

    async def after_sent(self, conn: Conn, message: Message) -> None:
        """Inside the transaction that records ``sent``: schedule anything the carrier owes us."""
        ...


class ChatLinkError(Exception):
    """A chat platform could not be reached (connection refused, timeout): the send is retried."""


class ChatHttp(Protocol):
    """The transport that carries chat-platform API requests (``openline.transports.chat_http``)."""

    async def send(self, base_url: str, request: ChatRequest) -> tuple[int, bytes]:
        """Send the request below ``base_url``; the HTTP status and body. Raises :class:`ChatLinkError`."""
        ...

    async def download(self, url: str, headers: dict[str, str], limit: int) -> tuple[int, str | None, bytes]:
        """GET a platform's media file: status, content type, bytes. Raises :class:`ChatLinkError`
        (also when it is larger than ``limit``)."""
        ...


class LinkDown(Exception):
    """The carrier link cannot take a submit now (not bound, or the connection dropped while the
    submit was in flight). The submit's fate is unknown or it never left: the caller retries."""


class SmppLink(Protocol):
    """The transport side of one SMPP carrier (``openline.transports.smpp.SmppClient``)."""

    name: str

    @property
    def bound(self) -> bool:
        """True when a submit can go out now (bound as transmitter or transceiver)."""
        ...

    async def submit(self, pdu: SubmitSm) -> SubmitSmResp:
        """Send one submit_sm when the window and throughput allow; wait for its response.

        Returns the submit_sm_resp whatever its command_status (the caller maps statuses).
        Raises :class:`LinkDown` when not bound, on disconnect with the PDU in flight, or when
        the response does not come within the response timeout.
        """
        ...

    def metrics(self) -> dict[str, object]:
        """State, window in use, submits/s, errors by status, receipt latency."""
        ...


class SmppEvents(Protocol):
    """What a carrier link reports upward (implemented in services, called by the transport)."""

    async def on_deliver(self, carrier: str, pdu: DeliverSm | DataSm) -> int:
        """A deliver_sm or data_sm from the SMSC: a receipt or an MO message.

        Returns the command_status to answer with: 0 once the event is durably stored (the
        transport acks only then), or a transient error (ESME_RX_T_APPN) so the SMSC retries.
        """
        ...


class BindOwnership(Protocol):
    """Who may bind a carrier: one process of a cluster at a time, another taking over on failure."""

    async def acquire(self, carrier: str) -> None:
        """Return once this process owns the carrier's binds (waits while another does)."""
        ...

    async def held(self, carrier: str) -> bool:
        """Whether this process still owns them (False: drop the binds now)."""
        ...

    async def release(self, carrier: str) -> None:
        """Give them up (graceful stop), so that another process binds at once."""
        ...
