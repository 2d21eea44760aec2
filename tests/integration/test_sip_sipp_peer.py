"""SIPp (Debian's sip-tester) against Openline's SIP/RTP transports, on loopback.

SIPp places calls to the test-only UAS built from ``openline.transports`` (tests/support/sip_uas.py)
and answers a call our endpoint places. The scenarios are in tests/peers/sipp/. Passing means a
real, independently written SIP stack completed INVITE/ACK/BYE with us over UDP and TCP and that
media and RFC 2833/4733 digits went through.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from pathlib import Path

import pytest

from openline.codecs.media import dtmf_tone, lin2ulaw, tone
from openline.codecs.sip import (
    Dialog,
    NameAddr,
    SessionDescription,
    SipUri,
    build_offer,
    make_request,
    new_token,
    process_answer,
)
from openline.transports.rtp import MediaClock, RtpLeg
from openline.transports.sip import Address
from tests.support.sip_uas import TestUas, Uac

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("sipp") is None, reason="sipp (Debian sip-tester) is not installed; scripts/test installs it"
    ),
]
SCENARIOS = Path(__file__).parents[1] / "peers" / "sipp"


def _free_port(kind: int = socket.SOCK_DGRAM, even: bool = False) -> int:
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if not even or (port % 2 == 0 and port < 65000):
            return port


async def _sipp(*args: str, cwd: Path, timeout: float = 30.0) -> tuple[int, str]:
    # cwd: SIPp writes its error log (-trace_err) into the working directory
    proc = await asyncio.create_subprocess_exec(
        "sipp",
        *args,
        "-nostdin",
        "-m",
        "1",
        "-trace_err",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    return proc.returncode or 0, out.decode(errors="replace")[-3000:]


@pytest.mark.parametrize("transport", ["u1", "t1"])
async def test_sipp_calls_our_uas_and_streams_pcmu(tmp_path: Path, transport: str) -> None:
    clock = MediaClock()
    clock.start()
    uas = TestUas(clock=clock)
    await uas.start()
    stream = tone((440.0,), 3000)
    ulaw = lin2ulaw(stream)
    (tmp_path / "tone.ulaw").write_bytes(ulaw)
    scenario = tmp_path / "uac_stream.xml"
    scenario.write_text((SCENARIOS / "uac_stream.xml").read_text().replace("@STREAM@", str(tmp_path / "tone.ulaw")))
    try:
        rc, out = await _sipp(
            f"127.0.0.1:{uas.endpoint.port}",
            "-sf",
            str(scenario),
            "-s",
            "+14155550200",
            "-i",
            "127.0.0.1",
            "-p",
            str(_free_port(socket.SOCK_STREAM if transport == "t1" else socket.SOCK_DGRAM)),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(_free_port(even=True)),
            "-t",
            transport,
            cwd=tmp_path,
        )
        assert rc == 0, out
        call = next(iter(uas.calls.values()))
        assert call.acked.is_set() and call.ended.is_set()
        assert call.media.codec == "PCMU" and call.media.dtmf_payload_type == 101
        assert str(call.invite.request_uri).startswith("sip:+14155550200@")
        assert call.invite.request_uri.e164 == "+14155550200"  # type: ignore[union-attr]
        assert call.leg.stats.packets_received >= 80  # 2 s of 20 ms packets
        heard = b"".join(call.heard)
        assert heard.find(ulaw[8000:12000]) >= 0  # half a second of the stream, bit-exact
        assert call.leg.stats.packets_sent >= 80
    finally:
        await uas.close()
        await clock.stop()


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() != 0, reason="SIPp's play_pcap_audio needs a raw socket (root)"
)
async def test_sipp_pcma_30ms_pcap_and_rfc2833_digits(tmp_path: Path) -> None:
    clock = MediaClock()
    clock.start()
    uas = TestUas(clock=clock)
    await uas.start()
    try:
        rc, out = await _sipp(
            f"127.0.0.1:{uas.endpoint.port}",
            "-sf",
            str(SCENARIOS / "uac_pcap_dtmf.xml"),
            "-s",
            "1000",
            "-i",
            "127.0.0.1",
            "-p",
            str(_free_port()),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(_free_port(even=True)),
            cwd=tmp_path,
        )
        assert rc == 0, out
        call = next(iter(uas.calls.values()))
        assert call.media.codec == "PCMA" and call.media.payload_type == 8 and call.media.dtmf_payload_type == 101
        assert call.leg.digits == ["1", "#"]
        assert call.leg.stats.packets_received >= 50  # 30 ms packets for 2 s, plus the events
        assert sum(len(f) for f in call.heard) >= 8000  # at least a second of audio played out
    finally:
        await uas.close()
        await clock.stop()


async def test_our_uac_calls_sipp_uas_with_rtp_echo(tmp_path: Path) -> None:
    clock = MediaClock()
    clock.start()
    uac = TestUas(clock=clock)  # its endpoint is our UAC here
    await uac.start()
    sipp_port, sipp_media = _free_port(), _free_port(even=True)
    sipp = asyncio.create_task(
        _sipp(
            "-sf",
            str(SCENARIOS / "uas_answer.xml"),
            "-i",
            "127.0.0.1",
            "-p",
            str(sipp_port),
            "-mi",
            "127.0.0.1",
            "-mp",
            str(sipp_media),
            "-rtp_echo",
            cwd=tmp_path,
        )
    )
    leg = RtpLeg(codec="PCMU", payload_type=0, remote=None, dtmf_payload_type=101)
    heard: list[bytes] = []
    leg.on_audio = heard.append
    try:
        port = await leg.open("127.0.0.1")
        offer = build_offer(address="127.0.0.1", port=port, session_id=1, codecs=("PCMU",))
        target = SipUri(host="127.0.0.1", port=sipp_port, user="+14155550300")
        endpoint = uac.endpoint
        invite = make_request(
            "INVITE",
            target,
            from_=NameAddr(uri=SipUri(host="127.0.0.1", user="openline")).with_tag(new_token()),
            to=NameAddr(uri=target),
            call_id=new_token(),
            cseq=1,
            via=endpoint.via(),
            contact=endpoint.contact("openline"),
            body=bytes(offer),
        )
        dest = Address("127.0.0.1", sipp_port, "UDP")
        for _ in range(50):  # wait for sipp to listen
            responses, failure = await Uac(endpoint).request(invite, dest, timeout=40)
            if failure is None:
                break
            invite.headers.replace_top("Via", str(endpoint.via()))
        assert [r.status for r in responses][-1] == 200
        ok = responses[-1]
        media = process_answer(offer, SessionDescription.parse(ok.body))
        dialog = Dialog.from_uac(invite, ok)
        endpoint.send_stateless(dialog.create_ack(1, via=endpoint.via()), dest)
        leg.negotiate(
            codec=media.codec,
            payload_type=media.payload_type,
            dtmf_payload_type=media.dtmf_payload_type,
            remote=(media.remote_address, media.remote_port),
        )
        prompt = lin2ulaw(dtmf_tone("7", 600))
        leg.play(prompt)
        clock.add(leg)
        for _ in range(100):
            if b"".join(heard).find(prompt[800:4000]) >= 0:
                break
            await asyncio.sleep(0.02)
        assert b"".join(heard).find(prompt[800:4000]) >= 0  # SIPp echoed our prompt bit-exact
        responses, failure = await Uac(endpoint).request(dialog.create_request("BYE", via=endpoint.via()), dest)
        assert failure is None and responses[-1].status == 200
        rc, out = await sipp
        assert rc == 0, out
    finally:
        clock.remove(leg)
        leg.close()
        if not sipp.done():
            sipp.cancel()
        await uac.close()
        await clock.stop()
