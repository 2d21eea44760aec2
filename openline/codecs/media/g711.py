"""G.711 mu-law and A-law (ITU-T G.711), pure Python with precomputed tables.

PCM is 16-bit signed little-endian mono ("s16le"), as ``wave`` reads and writes it. The
encoders follow the classic segment search of G.711's reference (mu-law on the 14-bit value,
A-law on the 13-bit value, i.e. the sample truncated, as CPython's former ``audioop`` did), so
``lin2ulaw`` here equals ``audioop.lin2ulaw(pcm, 2)`` byte for byte. Encoding indexes a 64 K
table with each sample read as unsigned 16-bit; decoding maps each byte through 256 entries.
"""

from __future__ import annotations

import sys
from array import array
from functools import cache
from typing import Final

__all__ = [
    "ALAW_SILENCE",
    "ULAW_SILENCE",
    "alaw2lin",
    "alaw_to_ulaw",
    "decode",
    "encode",
    "lin2alaw",
    "lin2ulaw",
    "ulaw2lin",
    "ulaw_to_alaw",
]

ULAW_SILENCE: Final = 0xFF
ALAW_SILENCE: Final = 0xD5
_SEG_UEND: Final = (0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF)
_SEG_AEND: Final = (0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF)
_BIG_ENDIAN: Final = sys.byteorder == "big"


def _segment(value: int, ends: tuple[int, ...]) -> int:
    for i, end in enumerate(ends):
        if value <= end:
            return i
    return len(ends)


def _ulaw_encode_sample(sample: int) -> int:
    pcm = sample >> 2  # 14-bit
    if pcm < 0:
        pcm, mask = -pcm, 0x7F
    else:
        mask = 0xFF
    pcm = min(pcm, 8159) + 33  # clip, then add the bias (0x84 >> 2)
    seg = _segment(pcm, _SEG_UEND)
    if seg >= 8:
        return 0x7F ^ mask
    return ((seg << 4) | ((pcm >> (seg + 1)) & 0xF)) ^ mask


def _alaw_encode_sample(sample: int) -> int:
    pcm = sample >> 3  # 13-bit
    if pcm >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        pcm = -pcm - 1
    seg = _segment(pcm, _SEG_AEND)
    if seg >= 8:
        return 0x7F ^ mask
    aval = seg << 4
    aval |= ((pcm >> 1) if seg < 2 else (pcm >> seg)) & 0xF
    return aval ^ mask


def _ulaw_decode_byte(value: int) -> int:
    u = ~value & 0xFF
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return 0x84 - t if u & 0x80 else t - 0x84


def _alaw_decode_byte(value: int) -> int:
    a = value ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


@cache
def _encode_table(law: str) -> bytes:
    fn = _ulaw_encode_sample if law == "ulaw" else _alaw_encode_sample
    # index = the sample read as unsigned 16-bit
    return bytes(fn(i - 65536 if i >= 32768 else i) for i in range(65536))


@cache
def _decode_table(law: str) -> tuple[bytes, ...]:
    fn = _ulaw_decode_byte if law == "ulaw" else _alaw_decode_byte
    return tuple(fn(i).to_bytes(2, "little", signed=True) for i in range(256))


def _encode(pcm: bytes, law: str) -> bytes:
    if len(pcm) % 2:
        raise ValueError("16-bit PCM must have an even number of bytes")
    samples = array("H", pcm)
    if _BIG_ENDIAN:  # pragma: no cover - PCM is little-endian on the wire and in WAV files
        samples.byteswap()
    return bytes(map(_encode_table(law).__getitem__, samples))


def _decode(data: bytes, law: str) -> bytes:
    return b"".join(map(_decode_table(law).__getitem__, data))


def lin2ulaw(pcm: bytes) -> bytes:
    return _encode(pcm, "ulaw")


def lin2alaw(pcm: bytes) -> bytes:
    return _encode(pcm, "alaw")


def ulaw2lin(data: bytes) -> bytes:
    return _decode(data, "ulaw")


def alaw2lin(data: bytes) -> bytes:
    return _decode(data, "alaw")


@cache
def _transcode_table(src: str, dst: str) -> bytes:
    table = bytes(
        _encode_table(dst)[int.from_bytes(_decode_table(src)[i], "little", signed=True) & 0xFFFF] for i in range(256)
    )
    return table


def ulaw_to_alaw(data: bytes) -> bytes:
    return data.translate(_transcode_table("ulaw", "alaw"))


def alaw_to_ulaw(data: bytes) -> bytes:
    return data.translate(_transcode_table("alaw", "ulaw"))


def encode(pcm: bytes, codec: str) -> bytes:
    """Encode s16le PCM for an SDP codec name ("PCMU" or "PCMA")."""
    if codec.upper() == "PCMU":
        return lin2ulaw(pcm)
    if codec.upper() == "PCMA":
        return lin2alaw(pcm)
    raise ValueError(f"unsupported codec {codec!r}")


def decode(data: bytes, codec: str) -> bytes:
    if codec.upper() == "PCMU":
        return ulaw2lin(data)
    if codec.upper() == "PCMA":
        return alaw2lin(data)
    raise ValueError(f"unsupported codec {codec!r}")


def silence_byte(codec: str) -> int:
    return ULAW_SILENCE if codec.upper() == "PCMU" else ALAW_SILENCE
