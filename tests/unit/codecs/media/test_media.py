"""G.711 known values (and byte-identity with CPython's audioop where it exists), tones, WAV,
resampling, framing."""

from __future__ import annotations

import math
import struct
import warnings
from array import array

import pytest

from openline.codecs.media import (
    Framer,
    WavError,
    alaw2lin,
    beep,
    decode,
    dtmf_tone,
    dtmf_tones,
    encode,
    frames,
    lin2alaw,
    lin2ulaw,
    read_wav,
    resample,
    silence,
    tone,
    ulaw2lin,
    write_wav,
)
from openline.codecs.media.g711 import alaw_to_ulaw, ulaw_to_alaw


def _pcm(*samples: int) -> bytes:
    return array("h", samples).tobytes()


def test_g711_known_values() -> None:
    assert lin2ulaw(_pcm(0, 32767, -32768, -1)) == bytes([0xFF, 0x80, 0x00, 0x7E])
    assert lin2alaw(_pcm(0, 32767, -32768, -8)) == bytes([0xD5, 0xAA, 0x2A, 0x55])
    assert array("h", ulaw2lin(bytes([0xFF, 0x7F, 0x80, 0x00]))).tolist() == [0, 0, 32124, -32124]
    assert array("h", alaw2lin(bytes([0xD5, 0x55, 0xAA, 0x2A]))).tolist() == [8, -8, 32256, -32256]


def test_g711_decode_encode_is_identity_on_codes() -> None:
    codes = bytes(range(256))
    assert lin2alaw(alaw2lin(codes)) == codes
    ulaw = lin2ulaw(ulaw2lin(codes))
    # 0x7F and 0xFF both decode to 0 (the two zeros of mu-law) and encode back to 0xFF
    assert [i for i in range(256) if ulaw[i] != i] == [0x7F]
    assert ulaw_to_alaw(b"\xff") == b"\xd5" and alaw_to_ulaw(b"\xd5") == b"\xfe"


def test_g711_matches_audioop_for_every_sample() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import audioop  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            pytest.skip("audioop is gone from this Python (3.13+); the known-value tests still cover G.711")
    every = array("h", range(-32768, 32768)).tobytes()
    assert lin2ulaw(every) == audioop.lin2ulaw(every, 2)
    assert lin2alaw(every) == audioop.lin2alaw(every, 2)
    codes = bytes(range(256))
    assert ulaw2lin(codes) == audioop.ulaw2lin(codes, 2) and alaw2lin(codes) == audioop.alaw2lin(codes, 2)


def test_codec_names() -> None:
    assert encode(_pcm(0), "pcmu") == b"\xff" and encode(_pcm(0), "PCMA") == b"\xd5"
    assert decode(b"\xff", "PCMU") == _pcm(0) and decode(b"\xd5", "PCMA") == _pcm(8)
    with pytest.raises(ValueError):
        encode(b"\0\0", "opus")
    with pytest.raises(ValueError):
        lin2ulaw(b"\0")


def _power(pcm: bytes, freq: float, rate: int = 8000) -> float:
    """Goertzel power of ``freq`` relative to the signal energy."""
    x = array("h", pcm)
    coeff = 2 * math.cos(2 * math.pi * freq / rate)
    s1 = s2 = 0.0
    for v in x:
        s1, s2 = v + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    energy = sum(v * v for v in x) * len(x) / 2
    return power / energy if energy else 0.0


def test_dtmf_tones_have_their_two_frequencies() -> None:
    pcm = dtmf_tone("5", 100)
    assert len(pcm) == 1600
    assert _power(pcm, 770) > 0.3 and _power(pcm, 1336) > 0.3 and _power(pcm, 697) < 0.05 and _power(pcm, 1477) < 0.05
    assert max(array("h", pcm)) <= 32767 * 0.5 + 1
    assert len(dtmf_tones("1w2", tone_ms=100, gap_ms=50)) == 2 * (800 + 400 + 4000 + 800 + 400)
    with pytest.raises(ValueError):
        dtmf_tone("x")


def test_beep_silence_tone() -> None:
    b = beep(250)
    assert len(b) == 4000 and _power(b, 1000) > 0.8
    assert silence(20) == bytes(320)
    assert tone((440.0,), 0) == b""


def test_wav_round_trip_and_formats() -> None:
    pcm = dtmf_tone("1", 50)
    audio = read_wav(write_wav(pcm, 8000))
    assert audio.pcm == pcm and audio.rate == 8000 and audio.duration == pytest.approx(0.05)
    # stereo 16-bit -> mono mix
    import io
    import wave

    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(_pcm(100, 300, -100, -300))
    assert array("h", read_wav(buf.getvalue()).pcm).tolist() == [200, -200]
    # 8-bit unsigned
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(1)
        w.setframerate(8000)
        w.writeframes(bytes([128, 255, 0]))
    assert array("h", read_wav(buf.getvalue()).pcm).tolist() == [0, 127 << 8, -128 << 8]


def _g711_wav(tag: int, payload: bytes) -> bytes:
    fmt = struct.pack("<HHIIHH", tag, 1, 8000, 8000, 1, 8) + b"\0\0"
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(payload)) + payload
    return b"RIFF" + struct.pack("<I", len(body)) + body


def test_g711_wav_files() -> None:
    assert read_wav(_g711_wav(7, b"\xff\x80")).pcm == ulaw2lin(b"\xff\x80")
    assert read_wav(_g711_wav(6, b"\xd5")).pcm == alaw2lin(b"\xd5")
    with pytest.raises(WavError):
        read_wav(_g711_wav(85, b"\x00"))  # MP3-in-WAV
    for bad in (b"", b"RIFF\x00\x00\x00\x00WAVE", b"not a wav at all, definitely not", write_wav(b"\0\0" * 10)[:30]):
        with pytest.raises(WavError):
            read_wav(bad)


@pytest.mark.parametrize("rate", [16000, 22050, 44100, 48000])
def test_resample_to_8k_keeps_in_band_tone_and_removes_aliases(rate: int) -> None:
    n = rate // 5  # 200 ms
    inband = array("h", (int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(n))).tobytes()
    out = resample(inband, rate, 8000)
    assert abs(len(out) // 2 - 1600) <= 1
    body = out[400:-400]
    assert _power(body, 440) > 0.8
    rms_in = math.sqrt(sum(v * v for v in array("h", inband)) / n)
    rms_out = math.sqrt(sum(v * v for v in array("h", body)) / (len(body) // 2))
    assert rms_out == pytest.approx(rms_in, rel=0.05)
    # 5 kHz cannot be represented at 8 kHz: it must be filtered, not folded to 3 kHz
    above = array("h", (int(8000 * math.sin(2 * math.pi * 5000 * i / rate)) for i in range(n))).tobytes()
    folded = array("h", resample(above, rate, 8000)[400:-400])
    assert math.sqrt(sum(v * v for v in folded) / len(folded)) < 0.05 * rms_in


def test_resample_identity_and_upsampling() -> None:
    pcm = dtmf_tone("1", 20)
    assert resample(pcm, 8000, 8000) is pcm
    up = resample(pcm, 8000, 16000)
    assert len(up) == 2 * len(pcm)
    with pytest.raises(ValueError):
        resample(pcm, 0, 8000)


def test_framer() -> None:
    f = Framer(160, pad=0xFF)
    assert f.push(b"\x01" * 100) == [] and f.pending == 100
    out = f.push(b"\x02" * 300)
    assert [len(x) for x in out] == [160, 160] and out[0][:100] == b"\x01" * 100
    tail = f.flush()
    assert tail == b"\x02" * 80 + b"\xff" * 80 and f.flush() is None
    assert [len(x) for x in frames(b"\0" * 330)] == [160, 160, 160]
    with pytest.raises(ValueError):
        Framer(0)
