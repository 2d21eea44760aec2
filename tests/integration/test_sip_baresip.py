"""baresip (Debian) as a SIP user's softphone: it REGISTERs as alice with digest authentication,
and a call the SIP Dialer places to alice's number (+14155550300) rings it. baresip auto-answers;
audio flows both ways: baresip records our tone (its decoded WAV must not be silence) and plays
its own WAV, which the leg's audio sink must hear.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import signal
import socket
import wave
from pathlib import Path

import pytest

from openline.codecs.media import tone, write_wav
from openline.core.call_legs import Answered, DialRequest, Ended, EndReason
from tests.support.sip_voice import TONE, LegWatch, rms, sip_service

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("baresip") is None, reason="baresip is not installed; scripts/test installs it"),
]

ALICE = {"username": "alice", "password": "secret", "number": "+14155550300"}


def baresip_port() -> int:
    """A SIP port for baresip outside the ephemeral range, with the next port free too: baresip
    also opens its TLS transport on port + 1, and a random ephemeral port's neighbour may be taken."""
    while True:
        port = random.randrange(15000, 19998)
        try:
            with contextlib.ExitStack() as stack:
                for candidate in (port, port + 1):
                    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
                        sock = stack.enter_context(socket.socket(socket.AF_INET, kind))
                        sock.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port


def baresip_config(folder: Path, *, registrar_port: int, sip_port: int, rtp_low: int, source: Path,
                   records: Path, password: str = "secret") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    records.mkdir(parents=True, exist_ok=True)
    (folder / "config").write_text("\n".join([
        "poll_method epoll",
        f"sip_listen 127.0.0.1:{sip_port}",
        "net_interface 127.0.0.1",  # else baresip puts the eth0 address into SDP
        "call_local_timeout 120",
        "audio_player alsa,null",
        "audio_alert alsa,null",
        f"audio_source aufile,{source}",
        "audio_buffer 20-160",
        f"rtp_ports {rtp_low}-{rtp_low + 99}",
        "rtcp_mux no",
        "jitter_buffer_delay 5-10",
        "module_path /usr/lib/baresip/modules",
        "module g711.so",
        "module aufile.so",
        "module alsa.so",
        "module sndfile.so",
        "module_tmp uuid.so",
        "module_tmp account.so",
        "module_app menu.so",
        f"snd_path {records}",
        "",
    ]))
    (folder / "accounts").write_text(
        f"<sip:alice@127.0.0.1:{registrar_port}>;auth_pass={password};answermode=auto;regint=600;"
        "audio_codecs=PCMU,PCMA\n")


async def test_baresip_registers_as_alice_and_answers_a_dialed_call(tmp_path: Path) -> None:
    source = tmp_path / "baresip-says.wav"
    source.write_bytes(write_wav(tone((660.0,), 15000, amplitude=0.5)))  # long: baresip hangs up at its end
    records = tmp_path / "records"
    async with sip_service(tmp_path, users=[ALICE]) as openline:
        baresip_config(tmp_path / "baresip", registrar_port=openline.endpoint.port, sip_port=baresip_port(),
                       rtp_low=10000, source=source, records=records)
        log = (tmp_path / "baresip.log").open("wb")
        proc = await asyncio.create_subprocess_exec("baresip", "-4", "-f", str(tmp_path / "baresip"),
                                                    stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            for _ in range(100):
                if await openline.registrar._registrations.bindings("alice"):
                    break
                await asyncio.sleep(0.1)
            assert await openline.registrar._registrations.bindings("alice"), (tmp_path / "baresip.log").read_text()
            assert openline.registrar.counters["registered"] == 1

            watch = LegWatch(openline.dialer.dial(DialRequest(
                target="+14155550300", caller_id="+14155550200", account_sid="AC" + "0" * 32,
                call_sid="CA" + "2" * 32, timeout_seconds=15)))
            await watch.wait_for(Answered)
            watch.leg.play(TONE * 3, 1)
            await watch.wait_heard(1.0)  # baresip's 660 Hz WAV reached our audio sink
            await asyncio.sleep(2.5)
            watch.leg.hangup()
            assert (await watch.wait_for(Ended)).reason is EndReason.HANGUP_LOCAL
            await asyncio.sleep(0.5)
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()
            log.close()
    decoded = sorted(records.glob("*-dec.wav"))
    assert decoded, (tmp_path / "baresip.log").read_text()[-2000:]
    with wave.open(str(decoded[-1])) as w:
        pcm = w.readframes(w.getnframes())
    loud = [i for i in range(0, len(pcm) - 319, 320) if rms(pcm[i:i + 320]) > 1000]
    assert len(loud) * 0.02 >= 1.5, f"baresip heard {len(loud) * 0.02:.2f} s of our tone"
