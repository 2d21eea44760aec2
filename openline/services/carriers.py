"""What the pipeline needs from a carrier: hand a message over, and say what happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from openline.codecs.segments import Segmentation
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


SubmitResult = Accepted | Rejected | TryLater


class Carrier(Protocol):
    name: str
    # True when submit() has no side effect outside this process (the sandbox): the dispatcher
    # may then record sending and sent in one commit, since a re-submit after a crash is harmless.
    in_process: bool

    async def submit(self, message: Message, segmentation: Segmentation) -> SubmitResult:
        """Hand the message to the carrier. Called outside any database transaction."""
        ...

    async def after_sent(self, conn: Conn, message: Message) -> None:
        """Inside the transaction that records ``sent``: schedule anything the carrier owes us."""
        ...
