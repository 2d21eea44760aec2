"""SIPp (Debian's sip-tester) against Openline's SIP user agent (transports/sip_service.py).

* SIPp as a carrier's UAC calls an Openline trunk number from an allowed source; the test
  IncomingCallHandler answers, plays a tone and reports the RFC 2833 digits SIPp sends.
* SIPp from a source no trunk allows is refused with 403.
* SIPp as a provider's UAS challenges the Dialer's INVITE with 401 (digest checked with SIPp's
  verifyauth), answers and echoes RTP: our tone comes back to the leg's audio sink.
* SIPp as a UAS reached by a ``sip:`` URI.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

import pytest

from openline.config import RouteSettings
from openline.core.call_legs import Answered, DialRequest, Ended, EndReason
from openline.core.sids import SidPrefix, new_sid
from tests.integration.test_sip_sipp_peer import _free_port, _sipp
from tests.support.sip_voice import TONE, LegWatch, ToneHandler, sip_service

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("sipp") is None, reason="sipp (Debian sip-tester) is not installed"),
]
SCENARIOS = Path(__file__).parents[1] / "peers" / "sipp"
NUMBER = "+14155550200"
needs_root = pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() != 0,
                                reason="SIPp's play_pcap_audio needs a raw socket (root)")


def carrier(proxy_port: int = 5070, **extra: object) -> dict[str, object]:
    return {"name": "carrier-a", "proxy": f"127.0.0.1:{proxy_port}", "inbound_from": ["127.0.0.1"],
            "numbers": [NUMBER], **extra}


def dial(target: str) -> DialRequest:
    return DialRequest(target=target, caller_id="+14155550200", account_sid=new_sid(SidPrefix.ACCOUNT),
                       call_sid="CA" + "1" * 32, timeout_seconds=20)


@needs_root
async def test_sipp_calls_a_trunk_number_and_sends_digits(tmp_path: Path) -> None:
    handler = ToneHandler(prompt=TONE * 4)
    async with sip_service(tmp_path, handler=handler, trunks=[carrier()]) as openline:
        rc, out = await _sipp(
            f"127.0.0.1:{openline.endpoint.port}", "-sf", str(SCENARIOS / "uac_pcap_dtmf.xml"), "-s", NUMBER,
            "-i", "127.0.0.1", "-p", str(_free_port()), "-mi", "127.0.0.1", "-mp", str(_free_port(even=True)),
            cwd=tmp_path)
        assert rc == 0, out
        call = handler.calls[0]
        assert (call.to, call.source) == (NUMBER, "carrier-a")
        watch = handler.watches[0]
        assert (await watch.wait_for(Ended)).reason is EndReason.HANGUP_REMOTE
        assert watch.digits == ["1", "#"]
        await watch.wait_heard(0.5, timeout=1, level=100)  # SIPp's PCMA pcap reached the audio sink
        leg = call.leg
        assert leg.stats.packets_sent >= 100  # type: ignore[attr-defined]  # our tone went out for 2 s+
        assert leg.media.codec == "PCMA"  # type: ignore[attr-defined]


async def test_sipp_from_a_disallowed_source_gets_403(tmp_path: Path) -> None:
    handler = ToneHandler()
    async with sip_service(tmp_path, handler=handler, trunks=[carrier()]) as openline:
        rc, out = await _sipp(
            f"127.0.0.1:{openline.endpoint.port}", "-sf", str(SCENARIOS / "uac_refused.xml"), "-s", NUMBER,
            "-i", "127.0.0.2", "-p", str(_free_port()), "-mi", "127.0.0.2", "-mp", str(_free_port(even=True)),
            cwd=tmp_path)
        assert rc == 0, out
        assert openline.counters["forbidden_source"] == 1 and not handler.calls


@pytest.mark.parametrize("through", ["trunk-with-digest", "sip-uri"])
async def test_dialer_calls_sipp_uas_and_hears_its_rtp_echo(tmp_path: Path, through: str) -> None:
    sipp_port, sipp_media = _free_port(), _free_port(even=True)
    scenario = "uas_auth_answer.xml" if through == "trunk-with-digest" else "uas_answer.xml"
    sipp = asyncio.create_task(_sipp("-sf", str(SCENARIOS / scenario), "-i", "127.0.0.1", "-p", str(sipp_port),
                                     "-mi", "127.0.0.1", "-mp", str(sipp_media), "-rtp_echo", cwd=tmp_path))
    trunk = carrier(sipp_port, username="trunkuser", password="trunkpass")
    routes = [RouteSettings(match="+1", carriers=["carrier-a"])]
    try:
        async with sip_service(tmp_path, routes=routes, trunks=[trunk]) as openline:
            await asyncio.sleep(0.3)  # SIPp binds its port
            target = "+14155550123" if through == "trunk-with-digest" else f"sip:bob@127.0.0.1:{sipp_port}"
            watch = LegWatch(openline.dialer.dial(dial(target)))
            await watch.wait_for(Answered)
            watch.leg.play(TONE, 1)
            await watch.wait_heard(0.6)  # SIPp echoed our tone back
            watch.leg.hangup()
            assert (await watch.wait_for(Ended)).reason is EndReason.HANGUP_LOCAL
            rc, out = await asyncio.wait_for(sipp, 20)
            assert rc == 0, out
    finally:
        if not sipp.done():
            sipp.cancel()
