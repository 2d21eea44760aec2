"""WAV read/write for prompts and recordings.

PCM WAV goes through the stdlib ``wave`` module; G.711 WAV (format tags 6 A-law and 7 mu-law, what
``sox -e u-law`` writes) is not supported by ``wave`` and is read from its RIFF chunks here.
Everything is returned as s16le mono PCM plus its sample rate; stereo is mixed down, 8-bit and
24/32-bit PCM are converted.
"""

from __future__ import annotations

import io
import struct
import wave
from array import array
from dataclasses import dataclass
from typing import Final

from openline.codecs.media.g711 import alaw2lin, ulaw2lin

__all__ = ["MAX_WAV_BYTES", "Audio", "WavError", "read_wav", "write_wav"]

MAX_WAV_BYTES: Final = 64 * 1024 * 1024  # a 1-hour 8 kHz 16-bit recording is 57.6 MB


class WavError(ValueError):
    """Bytes that are not a WAV file we can read."""


@dataclass(frozen=True, slots=True)
class Audio:
    pcm: bytes  # s16le mono
    rate: int

    @property
    def duration(self) -> float:
        return len(self.pcm) / 2 / self.rate if self.rate else 0.0


def _to_s16(frames: bytes, width: int) -> bytes:
    if width == 2:
        return frames
    if width == 1:  # unsigned 8-bit
        return array("h", ((b - 128) << 8 for b in frames)).tobytes()
    if width in (3, 4):
        return b"".join(frames[i + width - 2 : i + width] for i in range(0, len(frames), width))
    raise WavError(f"unsupported sample width {width}")


def _mix_down(pcm: bytes, channels: int) -> bytes:
    if channels == 1:
        return pcm
    samples = array("h", pcm)
    mixed = array("h", (sum(samples[i : i + channels]) // channels for i in range(0, len(samples), channels)))
    return mixed.tobytes()


def _read_g711(data: bytes) -> Audio:
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise WavError("not a RIFF/WAVE file")
    offset, fmt, payload = 12, None, None
    while offset + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, offset)
        body = data[offset + 8 : offset + 8 + size]
        if chunk_id == b"fmt ":
            if len(body) < 16:
                raise WavError("short fmt chunk")
            fmt = struct.unpack_from("<HHIIHH", body)
        elif chunk_id == b"data":
            payload = body
        offset += 8 + size + (size & 1)
    if fmt is None or payload is None:
        raise WavError("WAV without fmt or data chunk")
    tag, channels, rate, _, _, bits = fmt
    if tag not in (6, 7) or bits != 8 or channels < 1 or rate <= 0:
        raise WavError(f"unsupported WAV format tag {tag}")
    pcm = alaw2lin(payload) if tag == 6 else ulaw2lin(payload)
    return Audio(_mix_down(pcm, channels), rate)


def read_wav(data: bytes) -> Audio:
    if len(data) > MAX_WAV_BYTES:
        raise WavError("WAV file too large")
    try:
        with wave.open(io.BytesIO(data), "rb") as w:
            width, channels, rate = w.getsampwidth(), w.getnchannels(), w.getframerate()
            frames = w.readframes(w.getnframes())
    except wave.Error as exc:
        if "unknown format: 6" in str(exc) or "unknown format: 7" in str(exc):
            return _read_g711(data)
        raise WavError(str(exc)) from exc
    except (EOFError, struct.error) as exc:
        raise WavError(f"truncated WAV: {exc}") from exc
    if channels < 1 or rate <= 0:
        raise WavError("WAV without channels or rate")
    pcm = _to_s16(frames, width)
    pcm = pcm[: len(pcm) - len(pcm) % (2 * channels)]
    return Audio(_mix_down(pcm, channels), rate)


def write_wav(pcm: bytes, rate: int = 8000) -> bytes:
    """s16le mono PCM as a WAV file."""
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm)
    return out.getvalue()
