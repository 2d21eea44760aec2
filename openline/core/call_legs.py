"""Ports between the voice service and whatever carries a call's media.

A *leg* is one party of a call as the voice service sees it: something that rings, answers,
hears audio, sends digits and hangs up. A SIP dialog with an RTP stream (transports) is a leg;
so is a simulated sandbox handset (services). The voice service -- call lifecycle, the TwiML
interpreter, recordings, bridging -- only ever talks to this interface, which is why it lives
in core: services may not import transports, and transports must not know about TwiML.

Audio crosses the port as signed 16-bit little-endian mono PCM at 8 kHz ("linear16"), 20 ms
(320-byte) frames. The leg converts to and from its wire codec (G.711 today), so prompts,
recordings and bridges are codec-agnostic and a bridge between a PCMU and a PCMA leg needs no
special case.

Everything a leg reports arrives as a :data:`LegEvent` through the listener the owner sets with
``listen``; events for one leg are delivered in order, on the event loop, never re-entrantly
from inside a method call on the same leg.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Protocol

__all__ = [
    "FRAME_BYTES",
    "SAMPLE_RATE",
    "Answered",
    "AudioSink",
    "CallLeg",
    "DialRequest",
    "Dialer",
    "DigitReceived",
    "EndReason",
    "Ended",
    "FrameClock",
    "FrameTicking",
    "IncomingCall",
    "IncomingCallHandler",
    "LegEvent",
    "PlaybackFinished",
    "RejectReason",
    "Ringing",
]

SAMPLE_RATE: Final = 8000
FRAME_BYTES: Final = 320  # 20 ms of 8 kHz linear16


class EndReason(enum.Enum):
    """Why a leg ended; the voice service maps these to Twilio call statuses in one place."""

    HANGUP_REMOTE = "hangup-remote"  # the far end hung up after answering
    HANGUP_LOCAL = "hangup-local"  # we hung up (``hangup``)
    BUSY = "busy"  # 486/600 or a busy handset
    NO_ANSWER = "no-answer"  # ring timeout, or 480/408 from the far end
    REJECTED = "rejected"  # 603 and other final refusals before answer
    CANCELED = "canceled"  # we or the caller gave up before answer
    FAILED = "failed"  # unreachable, 4xx/5xx other than the above, media failure


class RejectReason(enum.Enum):
    BUSY = "busy"  # TwiML <Reject reason="busy">: SIP 486
    REJECTED = "rejected"  # <Reject> default: SIP 603


@dataclass(frozen=True, slots=True)
class Ringing:
    pass


@dataclass(frozen=True, slots=True)
class Answered:
    pass


@dataclass(frozen=True, slots=True)
class DigitReceived:
    digit: str  # one of 0-9 * # A-D


@dataclass(frozen=True, slots=True)
class PlaybackFinished:
    """Everything queued with ``play`` up to and including ``token`` has been sent."""

    token: int


@dataclass(frozen=True, slots=True)
class Ended:
    reason: EndReason
    sip_status: int | None = None  # the final SIP status where there was one, for logs and errors


LegEvent = Ringing | Answered | DigitReceived | PlaybackFinished | Ended
AudioSink = Callable[[bytes], None]  # receives 20 ms linear16 frames heard from the far end


class CallLeg(Protocol):
    """One party of a call. Methods never block; outcomes arrive as events."""

    @property
    def leg_id(self) -> str: ...

    def listen(self, listener: Callable[[LegEvent], None]) -> None:
        """Set the one consumer of this leg's events (replacing any previous one)."""

    def play(self, pcm: bytes, token: int) -> None:
        """Queue linear16 audio to send; ``PlaybackFinished(token)`` follows once it has gone out."""

    def stop_playback(self) -> None:
        """Drop queued audio (barge-in); no ``PlaybackFinished`` is reported for what was dropped."""

    def send_digits(self, digits: str) -> None:
        """Send DTMF (RFC 4733 on RTP legs); ``w`` waits 0.5 s, as in Twilio's ``SendDigits``."""

    def set_audio_sink(self, sink: AudioSink | None) -> None:
        """Receive what the far end sends (for recording and bridging); ``None`` stops it."""

    def answer(self) -> None:
        """Answer an incoming leg (SIP 200 with SDP); ``Answered`` follows. No-op on outbound legs."""

    def reject(self, reason: RejectReason) -> None:
        """Refuse an incoming leg before it is answered; ``Ended`` follows."""

    def hangup(self) -> None:
        """End the leg at any stage (CANCEL before answer, BYE after); ``Ended`` follows."""


class FrameTicking(Protocol):
    """Something paced every 20 ms: an RTP leg, a simulated handset."""

    def tick(self, deadline: float, now: float) -> None:
        """One period: ``deadline`` is when it was due, ``now`` when it runs (loop time)."""

    def skip(self, frames: int) -> None:
        """``frames`` periods were dropped after a stall (no tick for them)."""


class FrameClock(Protocol):
    """The one pacing task of a process: every leg that sends media ticks on it, so one
    wake-up serves hundreds of legs instead of one timer per leg."""

    def add(self, leg: FrameTicking) -> None: ...

    def remove(self, leg: FrameTicking) -> None: ...


@dataclass(frozen=True, slots=True)
class DialRequest:
    """An outbound leg to place. ``target`` is an E.164 number or a ``sip:`` URI."""

    target: str
    caller_id: str
    account_sid: str
    call_sid: str
    timeout_seconds: int = 60


class Dialer(Protocol):
    """Places outbound legs; the returned leg has not rung yet, ``Ringing``/``Answered``/``Ended`` follow.

    Raises ``LookupError`` when nothing can reach ``target`` (no route, trunk or registered user).
    """

    def dial(self, request: DialRequest) -> CallLeg: ...


@dataclass(frozen=True, slots=True)
class IncomingCall:
    """An incoming leg as offered to the voice service, before anyone answers it."""

    leg: CallLeg
    to: str  # E.164 number (or the SIP URI's user part when it is not a number)
    from_: str  # E.164 number, or the caller's SIP URI when it carries no number
    source: str  # where it came from, for logs: trunk name, ``user:<name>`` or ``sandbox``
    # A digest-authenticated SIP user placed it (``from_`` is the user's number): a call to a
    # number that is not ours is then handled by the TwiML of the user's own number.
    registered_user: bool = False


class IncomingCallHandler(Protocol):
    """Implemented by the voice service; whoever accepts incoming calls (SIP, sandbox) calls it."""

    def incoming(self, call: IncomingCall) -> None: ...
