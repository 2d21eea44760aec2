"""The voice service's media helpers: <Say> rendering with its disk cache, MP3/WAV decoding and
encoding, the recording tape and the routing dialer."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import lameenc
import pytest

from openline.codecs.media.wav import write_wav
from openline.core.call_legs import CallLeg, DialRequest
from openline.services.audio_files import AudioError, decode_to_pcm, encode_mp3
from openline.services.dialers import RoutingDialer
from openline.services.speech import Speech, SpeechError, espeak_voice
from openline.services.voice_recording import Tape, is_voiced


def tone(seconds: float, rate: int = 8000, amplitude: int = 8000) -> bytes:
    return b"".join(struct.pack("<h", int(amplitude * math.sin(2 * math.pi * 440 * i / rate)))
                    for i in range(int(seconds * rate)))


def peak(pcm: bytes) -> int:
    return max(abs(v) for (v,) in struct.iter_unpack("<h", pcm)) if pcm else 0


def test_espeak_voice_mapping() -> None:
    assert espeak_voice(None, None) == "en-us+m3"
    assert espeak_voice("alice", "en-GB") == "en-gb+f3"
    assert espeak_voice("Polly.Joanna", "fr-FR") == "fr+f3"
    assert espeak_voice("man", "zh-CN") == "cmn+m3"


async def test_say_is_rendered_once_then_served_from_the_cache(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    speech = Speech(tmp_path / "tts")
    first = await speech.render("Hello there", None, "en-US")
    assert len(first) > 8000 and peak(first) > 1000  # over half a second of speech at 8 kHz
    assert len(list((tmp_path / "tts").glob("*.pcm"))) == 1
    # The engine is gone, yet the same prompt still plays: it comes from the cache.
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    cached = Speech(tmp_path / "tts")
    assert await cached.render("Hello there", None, "en-US") == first
    with pytest.raises(SpeechError):
        await cached.render("Something new", None, "en-US")


async def test_wav_and_mp3_decode_to_8khz_and_mp3_encodes() -> None:
    wav16k = write_wav(tone(1.0, 16000), 16000)
    pcm = await decode_to_pcm(wav16k, "audio/wav")
    assert abs(len(pcm) - 16000) <= 4 and peak(pcm) > 6000  # one second at 8 kHz
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(64)
    encoder.set_in_sample_rate(16000)
    encoder.set_channels(1)
    mp3 = bytes(encoder.encode(tone(1.0, 16000)) + encoder.flush())
    decoded = await decode_to_pcm(mp3, "audio/mpeg")
    assert 15000 <= len(decoded) <= 20000 and peak(decoded) > 5000
    ours = await encode_mp3(tone(2.0))
    assert ours[:1] == b"\xff" or ours[:3] == b"ID3"
    assert 14000 <= len(await decode_to_pcm(ours, None)) // 2 <= 20000
    with pytest.raises(AudioError):
        await decode_to_pcm(b"not audio at all", "text/plain")


def test_tape_places_audio_by_time_mixes_and_trims() -> None:
    tape = Tape(started=100.0)
    tape.add("played", 100.0, tone(0.5))  # a prompt queued at the start...
    tape.cut("played", 100.25)  # ...cut after a quarter second (barge-in)
    tape.add("heard", 101.0, tone(0.02, amplitude=3000), detect_voice=True)
    tape.add("heard", 101.0, tone(0.02, amplitude=3000), detect_voice=True)  # a late frame goes after the first
    mixed = tape.render(102.0)
    assert len(mixed) == 2 * 16000
    assert peak(mixed[: 2 * 2000]) > 6000 and peak(mixed[2 * 2000: 2 * 8000]) == 0
    assert peak(mixed[2 * 8000: 2 * 8320]) > 2000 and peak(mixed[2 * 8400:]) == 0
    trimmed = tape.render(102.0, trim=True)
    assert len(trimmed) == 2 * 320  # just the two voiced frames
    assert not is_voiced(bytes(320)) and is_voiced(tone(0.02))
    assert Tape(0.0).render(1.0, trim=True) == b""


class _Refuses:
    def dial(self, request: DialRequest) -> CallLeg:
        raise LookupError(f"no trunk for {request.target}")


class _Takes:
    def __init__(self) -> None:
        self.dialed: list[str] = []

    def dial(self, request: DialRequest) -> CallLeg:
        self.dialed.append(request.target)
        return object()  # type: ignore[return-value]


def test_routing_dialer_asks_in_order_and_falls_back() -> None:
    request = DialRequest("+15551230000", "+15550001111", "AC" + "0" * 32, "CA" + "0" * 32)
    takes = _Takes()
    assert RoutingDialer([_Refuses(), takes]).dial(request) is not None and takes.dialed == ["+15551230000"]
    with pytest.raises(LookupError, match="no trunk"):
        RoutingDialer([_Refuses()]).dial(request)
    with pytest.raises(LookupError):
        RoutingDialer([]).dial(request)
