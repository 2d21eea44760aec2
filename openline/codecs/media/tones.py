"""Tone generation as s16le PCM: DTMF dual tones (ITU-T Q.23), the record beep, silence."""

from __future__ import annotations

import math
from array import array
from typing import Final

__all__ = ["DTMF_FREQUENCIES", "beep", "dtmf_tone", "dtmf_tones", "silence", "tone"]

# Q.23 / Q.24: rows 697/770/852/941 Hz, columns 1209/1336/1477/1633 Hz
DTMF_FREQUENCIES: Final = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}  # fmt: skip


def silence(duration_ms: int, rate: int = 8000) -> bytes:
    return bytes(2 * (rate * duration_ms // 1000))


def tone(frequencies: tuple[float, ...], duration_ms: int, *, amplitude: float = 0.3, rate: int = 8000) -> bytes:
    """Sum of sines at equal level; ``amplitude`` is the peak of the sum (1.0 = full scale).
    A 5 ms raised-cosine ramp at each end avoids clicks."""
    n = rate * duration_ms // 1000
    ramp = min(n // 2, rate * 5 // 1000)
    level = 32767 * amplitude / max(1, len(frequencies))
    steps = [2 * math.pi * f / rate for f in frequencies]
    out = array("h", bytes(2 * n))
    for i in range(n):
        value = sum(math.sin(step * i) for step in steps) * level
        if i < ramp:
            value *= 0.5 - 0.5 * math.cos(math.pi * i / ramp)
        elif i >= n - ramp:
            value *= 0.5 - 0.5 * math.cos(math.pi * (n - 1 - i) / ramp)
        out[i] = round(value)
    return out.tobytes()


def dtmf_tone(digit: str, duration_ms: int = 100, *, rate: int = 8000) -> bytes:
    try:
        low, high = DTMF_FREQUENCIES[digit.upper()]
    except KeyError:
        raise ValueError(f"not a DTMF digit: {digit!r}") from None
    return tone((low, high), duration_ms, amplitude=0.5, rate=rate)


def dtmf_tones(digits: str, *, tone_ms: int = 100, gap_ms: int = 60, rate: int = 8000) -> bytes:
    """In-band digits (for peers without telephone-event); ``w`` is a 0.5 s pause."""
    parts: list[bytes] = []
    for digit in digits:
        parts.append(
            silence(500, rate) if digit in "wW" else dtmf_tone(digit, tone_ms, rate=rate) + silence(gap_ms, rate)
        )
    return b"".join(parts)


def beep(duration_ms: int = 500, frequency: float = 1000.0, *, rate: int = 8000) -> bytes:
    """The beep <Record playBeep> plays before recording."""
    return tone((frequency,), duration_ms, amplitude=0.4, rate=rate)
