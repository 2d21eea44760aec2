"""Sample-rate conversion of s16le mono PCM (prompts to 8 kHz), pure Python.

A polyphase windowed-sinc filter for the rational ratio out/in (reduced by their gcd): the
cutoff sits at the lower Nyquist frequency, so downsampling 22.05/16/44.1/48 kHz prompts to
8 kHz does not alias. It runs once per prompt (results are cached by the caller), about a
second of CPU per minute of 22 kHz audio here; per-packet work never resamples.
"""

from __future__ import annotations

import math
from array import array
from functools import cache
from math import gcd
from typing import Final

__all__ = ["resample"]

HALF_TAPS: Final = 12  # taps each side of the centre, at the lower of the two rates


@cache
def _filters(up: int, down: int) -> tuple[tuple[float, ...], ...]:
    """One FIR per output phase; tap k of phase p weights input sample base - HALF_TAPS + 1 + k."""
    cutoff = min(1.0, up / down)  # relative to the input Nyquist
    half = math.ceil(HALF_TAPS / cutoff)
    phases: list[tuple[float, ...]] = []
    for phase in range(up):
        frac = phase / up  # position of the output between input samples base and base+1
        taps: list[float] = []
        for k in range(-half + 1, half + 1):
            x = k - frac
            window = 0.5 + 0.5 * math.cos(math.pi * x / half) if abs(x) < half else 0.0
            sinc = 1.0 if x == 0 else math.sin(math.pi * cutoff * x) / (math.pi * cutoff * x)
            taps.append(cutoff * sinc * window)
        phases.append(tuple(taps))
    return tuple(phases)


def resample(pcm: bytes, from_rate: int, to_rate: int = 8000) -> bytes:
    if from_rate <= 0 or to_rate <= 0:
        raise ValueError("rates must be positive")
    if from_rate == to_rate or not pcm:
        return pcm
    g = gcd(from_rate, to_rate)
    up, down = to_rate // g, from_rate // g
    filters = _filters(up, down)
    half = (len(filters[0])) // 2
    src = array("h", pcm[: len(pcm) - len(pcm) % 2])
    padded = [0] * half + list(src) + [0] * (half + 1)
    n_out = len(src) * up // down
    out = array("h", bytes(2 * n_out))
    for n in range(n_out):
        pos = n * down
        base, phase = divmod(pos, up)
        taps = filters[phase]
        start = base + 1  # padded index of input sample base - half + 1
        acc = sum(map(float.__mul__, taps, padded[start : start + len(taps)]))
        out[n] = max(-32768, min(32767, round(acc)))
    return out.tobytes()
