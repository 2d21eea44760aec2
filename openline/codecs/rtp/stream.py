"""The sending side of one RTP stream: SSRC, sequence and timestamp bookkeeping (RFC 3550 §5.1)
with RFC 4733 digits interleaved, sans-IO.

    stream = RtpSender(ssrc=..., payload_type=0, dtmf_payload_type=101, initial_seq=..., initial_ts=...)
    stream.queue_digits("12#")
    packet = stream.next_packet(frame)      # every 20 ms: audio, or the next DTMF packet

The timestamp advances by one frame per call whatever is sent, so audio after a digit continues
on the media clock (§2.5.1.2 of RFC 4733: the event timestamp is its start). The marker bit is
set on the first audio packet of a talkspurt (RFC 3551 §4.1) and the first packet of an event.
"""

from __future__ import annotations

from collections import deque

from openline.codecs.rtp.dtmf import DtmfSender
from openline.codecs.rtp.packet import RtpPacket

__all__ = ["RtpSender"]


class RtpSender:
    def __init__(
        self,
        *,
        ssrc: int,
        payload_type: int,
        initial_seq: int,
        initial_ts: int,
        dtmf_payload_type: int | None = None,
        frame_samples: int = 160,
        clock_rate: int = 8000,
    ) -> None:
        self.ssrc = ssrc & 0xFFFFFFFF
        self.payload_type = payload_type
        self.dtmf_payload_type = dtmf_payload_type
        self.frame_samples = frame_samples
        self.seq = initial_seq & 0xFFFF
        self.ts = initial_ts & 0xFFFFFFFF
        self._dtmf = DtmfSender(clock_rate=clock_rate, interval_ms=1000 * frame_samples // clock_rate)
        self._queue: deque[tuple[bool, bytes] | None] = deque()  # None separates digits
        self._event_ts: int | None = None
        self._talkspurt = True
        self.packets_sent = 0
        self.octets_sent = 0

    def queue_digits(self, digits: str, duration_ms: int = 100, gap_ms: int = 60) -> None:
        """Queue RFC 4733 events; ``w`` waits 0.5 s (Twilio SendDigits semantics)."""
        if self.dtmf_payload_type is None:
            raise ValueError("the peer did not negotiate telephone-event")
        gap_frames = max(1, gap_ms * 8 // self.frame_samples)
        for digit in digits:
            if digit in "wW":
                self._queue.extend([None] * (500 * 8 // self.frame_samples))
                continue
            self._queue.extend(self._dtmf.plan(digit, duration_ms))
            self._queue.extend([None] * gap_frames)

    @property
    def sending_dtmf(self) -> bool:
        return bool(self._queue)

    def skip(self, frames: int) -> None:
        """Frames that were never sent (the sender stalled): the media clock moves on regardless.

        RFC 3550 §5.1: the timestamp reflects the sampling instant, so after a gap it jumps with the
        time that passed while the sequence number does not; the marker starts the new talkspurt.
        A receiver's jitter buffer then sees a gap, not audio arriving late forever after.
        """
        if frames > 0:
            self.ts = (self.ts + frames * self.frame_samples) & 0xFFFFFFFF
            self._talkspurt = True

    def next_packet(self, audio: bytes | None) -> RtpPacket | None:
        """The packet for this tick (None: nothing to send, e.g. silence suppressed)."""
        packet: RtpPacket | None = None
        if self._queue:
            item = self._queue.popleft()
            if item is None:
                self._event_ts = None  # a gap (or a 'w' pause) between events: send nothing
            else:
                marker, payload = item
                if self._event_ts is None:
                    self._event_ts = self.ts
                packet = RtpPacket(self.dtmf_payload_type or 0, self.seq, self._event_ts, self.ssrc, payload, marker)
                if payload[1] & 0x80 and (not self._queue or self._queue[0] is None or self._queue[0][1] != payload):
                    self._event_ts = None  # last redundant end packet: the next event starts fresh
            self._talkspurt = True
        elif audio is not None:
            packet = RtpPacket(self.payload_type, self.seq, self.ts, self.ssrc, audio, self._talkspurt)
            self._talkspurt = False
        else:
            self._talkspurt = True
        if packet is not None:
            self.seq = (self.seq + 1) & 0xFFFF
            self.packets_sent += 1
            self.octets_sent += len(packet.payload)
        self.ts = (self.ts + self.frame_samples) & 0xFFFFFFFF
        return packet
