"""A call's recording, built from audio that arrives in real time from two directions.

Frames are placed by when they happened (seconds since the tape started), not appended, so
that silence stays silence and what the caller heard lines up with what the caller said when
both are mixed (``Record=true`` on a call). Each direction keeps its own cursor, so a burst of
late frames lands after the previous ones instead of on top of them.
"""

from __future__ import annotations

from array import array

SAMPLE_BYTES = 2
RATE = 8000
VOICE_LEVEL = 500  # peak sample above which a 20 ms frame counts as speech (about -36 dBFS)
MAX_TAPE_SECONDS = 4 * 3600  # Twilio's longest recording


def is_voiced(frame: bytes) -> bool:
    samples = array("h", frame[: len(frame) - len(frame) % 2])
    return bool(samples) and max(max(samples), -min(samples)) > VOICE_LEVEL


class Tape:
    def __init__(self, started: float) -> None:
        self.started = started
        self._segments: list[tuple[int, bytes, str]] = []  # (sample offset, pcm, source)
        self._cursors: dict[str, int] = {}
        self.voiced_from: int | None = None  # first and last sample offsets that held speech
        self.voiced_to: int | None = None

    def _offset(self, at: float) -> int:
        return max(0, int((at - self.started) * RATE))

    def add(self, source: str, at: float, pcm: bytes, *, detect_voice: bool = False) -> None:
        offset = max(self._offset(at), self._cursors.get(source, 0))
        if offset > MAX_TAPE_SECONDS * RATE:
            return
        self._segments.append((offset, pcm, source))
        self._cursors[source] = offset + len(pcm) // SAMPLE_BYTES
        if detect_voice and is_voiced(pcm):
            self.voiced_from = offset if self.voiced_from is None else self.voiced_from
            self.voiced_to = offset + len(pcm) // SAMPLE_BYTES

    def cut(self, source: str, at: float) -> None:
        """Stop ``source`` at ``at``: audio queued to play after that moment was never heard."""
        limit = self._offset(at)
        kept: list[tuple[int, bytes, str]] = []
        for offset, pcm, origin in self._segments:
            if origin == source and offset + len(pcm) // SAMPLE_BYTES > limit:
                if offset >= limit:
                    continue
                pcm = pcm[: (limit - offset) * SAMPLE_BYTES]
            kept.append((offset, pcm, origin))
        self._segments = kept
        self._cursors[source] = limit

    def render(self, ended: float, *, trim: bool = False) -> bytes:
        """Mixed 8 kHz linear16 from the start to ``ended`` (or only its speech, with ``trim``)."""
        length = min(self._offset(ended), MAX_TAPE_SECONDS * RATE)
        mix = array("i", bytes(4 * length))
        for offset, pcm, _ in self._segments:
            samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
            end = min(length, offset + len(samples))
            for i in range(offset, end):
                mix[i] += samples[i - offset]
        out = array("h", (max(-32768, min(32767, v)) for v in mix))
        if trim:
            if self.voiced_from is None or self.voiced_to is None:
                return b""
            out = out[self.voiced_from:min(length, self.voiced_to)]
        return out.tobytes()
