"""RFC 4733 telephone-events: the payload, a sender plan and a receiver that dedupes.

Payload (§2.3): event (8 bits), E (end) bit, R (reserved) bit, volume (6 bits, -dBm0), duration
(16 bits, timestamp units since the event's start). All packets of one event share the RTP
timestamp of its start; the first carries the marker bit (§2.5.1.1); the final packet, E set,
is sent three times (§2.5.1.4) with the same duration.

Receiving (§2.5.2): an event is identified by (SSRC, timestamp). The first packet seen starts
it even if the real first packets were lost (the "lost start" case: marker may be missing and
the duration already large, or E already set). Redundant end packets are ignored. An event that
never got its end ends when a newer event or the ``expire`` horizon passes. The R bit is ignored
(SIPp leaves it uninitialised).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from openline.codecs.rtp.errors import RtpParseError
from openline.codecs.rtp.packet import RtpPacket
from openline.codecs.rtp.sequence import ts_diff

__all__ = [
    "DIGITS",
    "DtmfDetector",
    "DtmfEnded",
    "DtmfEvent",
    "DtmfSender",
    "DtmfStarted",
    "digit_code",
]

DIGITS: Final = "0123456789*#ABCD"
END_REDUNDANCY: Final = 3
MAX_EVENT_DURATION: Final = 0xFFFF  # 8.19 s at 8 kHz; longer events need segments (§2.5.1.3)


def digit_code(digit: str) -> int:
    code = DIGITS.find(digit.upper())
    if code < 0 or len(digit) != 1:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return code


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    event: int
    end: bool
    volume: int
    duration: int

    @classmethod
    def parse(cls, payload: bytes) -> DtmfEvent:
        if len(payload) < 4:
            raise RtpParseError("telephone-event payload shorter than 4 bytes")
        event, flags, duration = struct.unpack_from("!BBH", payload)
        return cls(event=event, end=bool(flags & 0x80), volume=flags & 0x3F, duration=duration)

    def __bytes__(self) -> bytes:
        return struct.pack("!BBH", self.event, (0x80 if self.end else 0) | (self.volume & 0x3F), self.duration)

    @property
    def digit(self) -> str | None:
        return DIGITS[self.event] if self.event < len(DIGITS) else None


class DtmfSender:
    """Plans the packets for one digit: one per packetisation interval while the tone lasts,
    then the end packet three times. Each item is (marker, payload); the RTP layer sends them
    at consecutive ticks with the event's start timestamp."""

    def __init__(self, *, clock_rate: int = 8000, interval_ms: int = 20, volume: int = 10) -> None:
        self.clock_rate = clock_rate
        self.interval_ms = interval_ms
        self.volume = volume

    def plan(self, digit: str, duration_ms: int = 100) -> list[tuple[bool, bytes]]:
        code = digit_code(digit)
        step = self.clock_rate * self.interval_ms // 1000
        total = min(self.clock_rate * duration_ms // 1000, MAX_EVENT_DURATION)
        total = max(step, total - total % step)
        out: list[tuple[bool, bytes]] = []
        duration = step
        while duration < total:
            out.append((not out, bytes(DtmfEvent(code, False, self.volume, duration))))
            duration += step
        end = bytes(DtmfEvent(code, True, self.volume, total))
        out += [(not out and i == 0, end) for i in range(END_REDUNDANCY)]
        return out


@dataclass(frozen=True, slots=True)
class DtmfStarted:
    digit: str
    ssrc: int
    timestamp: int


@dataclass(frozen=True, slots=True)
class DtmfEnded:
    digit: str
    ssrc: int
    timestamp: int
    duration: int  # timestamp units
    end_seen: bool = True  # False when the end was inferred (all end packets lost)


class DtmfDetector:
    def __init__(self, payload_type: int) -> None:
        self.payload_type = payload_type
        self._current: tuple[int, int, str, int] | None = None  # (ssrc, ts, digit, duration)
        self._ended: set[tuple[int, int]] = set()
        self.malformed = 0

    def _finish(self, end_seen: bool) -> list[DtmfStarted | DtmfEnded]:
        if self._current is None:
            return []
        ssrc, ts, digit, duration = self._current
        self._current = None
        self._remember(ssrc, ts)
        return [DtmfEnded(digit, ssrc, ts, duration, end_seen)]

    def _remember(self, ssrc: int, ts: int) -> None:
        self._ended.add((ssrc, ts))
        if len(self._ended) > 64:  # only the last few events can still have redundant packets
            self._ended = {k for k in self._ended if k[0] == ssrc and abs(ts_diff(k[1], ts)) < 8000 * 10}

    def receive(self, packet: RtpPacket) -> list[DtmfStarted | DtmfEnded]:
        if packet.payload_type != self.payload_type:
            return []
        try:
            event = DtmfEvent.parse(packet.payload)
        except RtpParseError:
            self.malformed += 1
            return []
        digit = event.digit
        key = (packet.ssrc, packet.timestamp)
        if digit is None or key in self._ended:
            return []  # unknown event code, or a redundant/late packet of a finished event
        out: list[DtmfStarted | DtmfEnded] = []
        current = self._current
        if current is not None and (current[0], current[1]) != key:
            if current[0] == packet.ssrc and ts_diff(packet.timestamp, current[1]) < 0:
                return []  # a late packet of an older event
            out += self._finish(end_seen=False)
            current = None
        if current is None:
            out.append(DtmfStarted(digit, packet.ssrc, packet.timestamp))
            self._current = (packet.ssrc, packet.timestamp, digit, event.duration)
        else:
            self._current = (current[0], current[1], current[2], max(current[3], event.duration))
        if event.end:
            out += self._finish(end_seen=True)
        return out

    def expire(self, ssrc: int, timestamp: int, horizon: int = 8000) -> list[DtmfStarted | DtmfEnded]:
        """End an event whose end packets were all lost once media of the same source has moved
        ``horizon`` units past its last known end (call with each audio packet's timestamp)."""
        current = self._current
        if current is None or current[0] != ssrc:
            return []
        if ts_diff(timestamp, current[1] + current[3]) > horizon:
            return self._finish(end_seen=False)
        return []
