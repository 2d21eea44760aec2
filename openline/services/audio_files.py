"""Audio files in and out of calls: WAV and MP3 to 8 kHz linear16 for <Play>, MP3 for recordings.

WAV is ours (``codecs.media.wav``). MP3 goes through two maintained wheels: ``miniaudio``
(dr_mp3) decodes, ``lameenc`` (LAME) encodes. Both run in a thread: a long file would
otherwise hold the event loop, which paces every call's media.
"""

from __future__ import annotations

import asyncio

import lameenc
import miniaudio

from openline.codecs.media.resample import resample
from openline.codecs.media.wav import WavError, read_wav

MP3_BITRATE_KBPS = 32  # 8 kHz mono speech: Twilio's recordings are 32 kbps MP3 too
_MP3_SYNC = (b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xe3", b"\xff\xfa")


class AudioError(ValueError):
    pass


def looks_like_mp3(data: bytes, content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() in ("audio/mpeg", "audio/mp3") \
        or data.startswith(_MP3_SYNC)


def _decode(data: bytes, content_type: str | None) -> bytes:
    if looks_like_mp3(data, content_type) and not data.startswith(b"RIFF"):
        try:
            decoded = miniaudio.decode(data, output_format=miniaudio.SampleFormat.SIGNED16, nchannels=1,
                                       sample_rate=8000)
        except miniaudio.DecodeError as exc:
            raise AudioError(f"not a playable MP3: {exc}") from None
        return bytes(decoded.samples.tobytes())
    try:
        audio = read_wav(data)
    except WavError as exc:
        raise AudioError(f"not a playable WAV: {exc}") from None
    return audio.pcm if audio.rate == 8000 else resample(audio.pcm, audio.rate, 8000)


async def decode_to_pcm(data: bytes, content_type: str | None) -> bytes:
    """8 kHz linear16 of a WAV or MP3 file; ``AudioError`` for anything else."""
    return await asyncio.to_thread(_decode, data, content_type)


def _encode_mp3(pcm: bytes) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(MP3_BITRATE_KBPS)
    encoder.set_in_sample_rate(8000)
    encoder.set_channels(1)
    encoder.set_quality(5)
    return bytes(encoder.encode(pcm) + encoder.flush())


async def encode_mp3(pcm: bytes) -> bytes:
    return await asyncio.to_thread(_encode_mp3, pcm)
