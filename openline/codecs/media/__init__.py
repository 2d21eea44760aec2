"""Media helpers for voice, pure Python: G.711, tones, WAV, resampling, 20 ms framing.

PCM everywhere is 16-bit signed little-endian mono ("s16le").
"""

from openline.codecs.media.framer import Framer, frames
from openline.codecs.media.g711 import alaw2lin, decode, encode, lin2alaw, lin2ulaw, silence_byte, ulaw2lin
from openline.codecs.media.resample import resample
from openline.codecs.media.tones import beep, dtmf_tone, dtmf_tones, silence, tone
from openline.codecs.media.wav import Audio, WavError, read_wav, write_wav

__all__ = [
    "Audio",
    "Framer",
    "WavError",
    "alaw2lin",
    "beep",
    "decode",
    "dtmf_tone",
    "dtmf_tones",
    "encode",
    "frames",
    "lin2alaw",
    "lin2ulaw",
    "read_wav",
    "resample",
    "silence",
    "silence_byte",
    "tone",
    "ulaw2lin",
    "write_wav",
]
