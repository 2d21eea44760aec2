"""A small adaptive jitter buffer for G.711 (one byte per sample), in timestamp units.

    buf = JitterBuffer(silence=0xFF)              # 0xFF is mu-law silence, 0xD5 A-law
    buf.push(packet, arrival=now)                 # arrival in seconds, any monotonic clock
    frame = buf.pop(160)                          # every 20 ms: 160 bytes, or None while filling

Working in samples rather than packets lets 20 ms and 30 ms senders (SIPp's g711a.pcap) play
out through the same 20 ms clock. The target delay follows the RFC 3550 A.8 jitter estimate
(target = one frame + 3 x jitter, clamped to [min_delay, max_delay]); the buffer waits for that
much audio before starting, skips ahead when it holds far more than the target (after a burst),
and re-buffers after it runs dry. Holes from lost packets play as silence. A new SSRC resets it.
"""

from __future__ import annotations

from typing import Final

from openline.codecs.rtp.packet import RtpPacket
from openline.codecs.rtp.sequence import ts_diff, unwrap

__all__ = ["JitterBuffer"]

MAX_BUFFERED_PACKETS: Final = 256
OVER_TARGET_POPS: Final = 10  # 200 ms above the target before the buffer sheds latency


class JitterBuffer:
    def __init__(
        self,
        *,
        silence: int = 0xFF,
        clock_rate: int = 8000,
        frame_samples: int = 160,
        min_delay: float = 0.02,
        max_delay: float = 0.2,
    ) -> None:
        self.silence = silence
        self.clock_rate = clock_rate
        self.frame_samples = frame_samples
        self.min_delay = min_delay
        self.max_delay = max_delay
        self._packets: dict[int, bytes] = {}  # extended timestamp -> payload
        self._ssrc: int | None = None
        self._last_ext: int | None = None
        self._play: int | None = None  # extended timestamp of the next sample to play
        self._transit: float | None = None
        self._over_target = 0
        self._end = 0  # extended timestamp just past the newest buffered sample
        self.jitter = 0.0  # seconds (A.8 estimate)
        self.late = 0
        self.duplicates = 0
        self.underruns = 0
        self.skipped_samples = 0
        self.resets = 0

    def reset(self) -> None:
        self._packets.clear()
        self._ssrc = None
        self._last_ext = None
        self._play = None
        self._transit = None
        self._end = 0
        self.resets += 1

    @property
    def target_samples(self) -> int:
        delay = self.frame_samples / self.clock_rate + 3 * self.jitter
        delay = max(self.min_delay, min(self.max_delay, delay))
        return int(delay * self.clock_rate)

    @property
    def buffered_samples(self) -> int:
        if not self._packets:
            return 0
        start = self._play if self._play is not None else min(self._packets)
        return max(0, self._end - start)

    def push(self, packet: RtpPacket, arrival: float) -> None:
        if self._ssrc is not None and packet.ssrc != self._ssrc:
            self.reset()
        if self._ssrc is None:
            self._ssrc = packet.ssrc
        ext = packet.timestamp if self._last_ext is None else unwrap(packet.timestamp, self._last_ext)
        if self._last_ext is None or ext > self._last_ext:
            self._last_ext = ext
        transit = arrival - ext / self.clock_rate
        if self._transit is not None:
            self.jitter += (abs(transit - self._transit) - self.jitter) / 16.0
        self._transit = transit
        if self._play is not None and ext + len(packet.payload) <= self._play:
            self.late += 1
            return
        if ext in self._packets:
            self.duplicates += 1
            return
        self._packets[ext] = packet.payload
        self._end = max(self._end, ext + len(packet.payload))
        if len(self._packets) > MAX_BUFFERED_PACKETS:
            del self._packets[min(self._packets)]

    def pop(self, samples: int | None = None) -> bytes | None:
        n = samples or self.frame_samples
        if self._play is None:
            if not self._packets or self.buffered_samples < self.target_samples:
                return None
            self._play = min(self._packets)
        # when the depth stays well above the target (a burst after a stall), drop the surplus so
        # latency does not stay high; a short excursion is left alone
        excess = self.buffered_samples - self.target_samples - 2 * self.frame_samples
        self._over_target = self._over_target + 1 if excess > 0 else 0
        if self._over_target >= OVER_TARGET_POPS:
            self._play += excess
            self.skipped_samples += excess
            self._over_target = 0
        start, end = self._play, self._play + n
        payload = self._packets.get(start)
        if payload is not None and len(payload) == n:
            # the common case: the next packet is exactly the next frame
            del self._packets[start]
            self._play = end
            return payload
        out = bytearray([self.silence]) * n
        have_any = False
        for ts in sorted(self._packets):
            payload = self._packets[ts]
            p_end = ts + len(payload)
            if p_end <= start:
                del self._packets[ts]
                continue
            if ts >= end:
                break
            lo, hi = max(ts, start), min(p_end, end)
            out[lo - start : hi - start] = payload[lo - ts : hi - ts]
            have_any = True
            if p_end <= end:
                del self._packets[ts]
        self._play = end
        if not have_any and not self._packets:
            # ran dry: wait for the target depth again rather than playing holes forever
            self.underruns += 1
            self._play = None
            return None
        return bytes(out)

    def playout_position(self) -> int | None:
        return None if self._play is None else self._play & 0xFFFFFFFF

    def lag(self, timestamp: int) -> int:
        """Samples between ``timestamp`` and the playout point (positive: it is in the future)."""
        if self._play is None:
            return 0
        return ts_diff(timestamp, self._play & 0xFFFFFFFF)
