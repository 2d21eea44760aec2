"""Concurrent SIP calls into one Openline SIP user agent, driven by SIPp.

SIPp (Debian's sip-tester) places CALLS calls at RATE per second to an Openline trunk number;
each call streams µ-law audio at Openline for HOLD seconds (SIPp's rtp_stream) and, when run as
root, sends RFC 2833 digits half-way (play_dtmf). In this process a SipService answers every call
with a test handler that plays a prompt in a loop (1 s chunks, the next queued when the last has
gone out, as an IVR does) and counts the digits it receives. Printed: the peak number of calls
held at once, Openline's own pacing statistic over every leg (RTP packets sent more than 10 ms
after their deadline, target < 1%), the worst lateness, digits received, SIPp's verdict and the
CPU used by this process and by SIPp.

    .venv/bin/python bench/sip_calls.py 200 20 40 [-v]     (-v: late share second by second)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from openline.codecs.media import lin2ulaw, tone
from openline.config import SipSettings
from openline.core.call_legs import DigitReceived, IncomingCall, LegEvent, PlaybackFinished
from openline.core.clock import SystemClock
from openline.services.sip_registrations import Registrations
from openline.storage import dialect as dialects
from openline.storage import migrate
from openline.storage.database import Database
from openline.storage.dialect import SqliteOptions
from openline.storage.repositories.sip import SipRegistrationRepository
from openline.transports.sip_calls import SipCallLeg
from openline.transports.sip_service import SipService

SCENARIO = Path(__file__).parents[1] / "tests" / "peers" / "sipp" / "uac_stream.xml"
NUMBER = "+14155550200"
PROMPT = tone((440.0, 480.0), 1000, amplitude=0.4)


class LoopingIvr:
    """Answers, plays PROMPT over and over, counts digits."""

    def __init__(self) -> None:
        self.legs: list[SipCallLeg] = []
        self.digits = 0

    def incoming(self, call: IncomingCall) -> None:
        leg = call.leg
        assert isinstance(leg, SipCallLeg)
        self.legs.append(leg)

        def on_event(event: LegEvent) -> None:
            if isinstance(event, PlaybackFinished) and not leg.ended:
                leg.play(PROMPT, event.token + 1)
            elif isinstance(event, DigitReceived):
                self.digits += 1

        leg.listen(on_event)
        leg.answer()
        leg.play(PROMPT, 1)


def scenario(folder: Path, hold_ms: int, digits: bool) -> Path:
    stream = folder / "caller.ulaw"
    stream.write_bytes(lin2ulaw(tone((620.0,), 2000, amplitude=0.3)))
    text = SCENARIO.read_text().replace("@STREAM@,1,0", f"{stream},-1,0")
    middle = f'<pause milliseconds="{hold_ms // 2}"/>'
    if digits:  # SIPp's play_dtmf always sends PT 96: offer that as telephone-event
        text = text.replace("RTP/AVP 0 101", "RTP/AVP 0 96")
        text = text.replace("rtpmap:101 telephone-event", "rtpmap:96 telephone-event")
        middle += '\n  <nop><action><exec play_dtmf="12#,100"/></action></nop>'
    text = text.replace('<pause milliseconds="2000"/>', middle + f'\n  <pause milliseconds="{hold_ms // 2}"/>')
    path = folder / "uac_hold.xml"
    path.write_text(text)
    return path


async def main(calls: int, hold: float, rate: float) -> None:
    folder = Path(tempfile.mkdtemp(prefix="openline-sip-bench-"))
    url = f"sqlite:///{folder / 'bench.db'}"
    engine = dialects.create_sync(dialects.resolve(url), SqliteOptions())
    migrate.upgrade(engine)
    engine.dispose()
    db = Database.open(url)
    ivr = LoopingIvr()
    settings = SipSettings(listen="127.0.0.1:15060", rtp_ports="40000-49999",
                           trunks=[{"name": "bench", "proxy": "127.0.0.1:15070", "inbound_from": ["127.0.0.1"],
                                    "numbers": [NUMBER]}])  # type: ignore[list-item]
    service = SipService(settings, [], Registrations(db, SipRegistrationRepository(), SystemClock()),
                         b"bench-digest-secret-0123456789", incoming=ivr)
    await service.start()
    digits = os.geteuid() == 0  # play_dtmf needs a raw socket
    path = scenario(folder, int(hold * 1000), digits)
    cpu0, wall0 = time.process_time(), time.monotonic()
    sipp = await asyncio.create_subprocess_exec(
        "sipp", "127.0.0.1:15060", "-sf", str(path), "-s", NUMBER, "-i", "127.0.0.1", "-p", "15070",
        "-mi", "127.0.0.1", "-mp", "16000", "-r", str(rate), "-l", str(calls), "-m", str(calls), "-nostdin",
        "-timeout", f"{int(hold * 3 + 60)}s", "-timeout_error", "-trace_err",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL, cwd=folder)
    peak = 0
    timeline: list[tuple[float, int, int, int]] = []  # (t, calls up, sent so far, late so far)
    while sipp.returncode is None:
        up = sum(1 for leg in service.legs if leg.answered)
        peak = max(peak, up)
        timeline.append((time.monotonic() - wall0, up, sum(leg.stats.packets_sent for leg in ivr.legs),
                         sum(leg.stats.packets_late for leg in ivr.legs)))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sipp.wait(), 0.25)
    wall = time.monotonic() - wall0
    cpu = time.process_time() - cpu0
    sent = sum(leg.stats.packets_sent for leg in ivr.legs)
    late = sum(leg.stats.packets_late for leg in ivr.legs)
    received = sum(leg.stats.packets_received for leg in ivr.legs)
    worst = max((leg.stats.max_lateness for leg in ivr.legs), default=0.0)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"calls answered          {len(ivr.legs)} of {calls} (SIPp exit code {sipp.returncode}, 0 = all OK)")
    print(f"peak concurrent calls   {peak}")
    print(f"RTP packets sent        {sent}  received {received}")
    print(f"sent > 10 ms late       {late} ({100 * late / max(1, sent):.3f} %), worst {worst * 1000:.1f} ms")
    print(f"media clock             {service.media_clock.ticks} ticks, {service.media_clock.skipped_ticks} skipped")
    print(f"digits received         {ivr.digits}" + ("" if digits else " (play_dtmf needs root: not sent)"))
    print(f"wall                    {wall:.1f} s")
    if "-v" in sys.argv:
        print("t(s) calls  late% in the last second")
        for (_, _, s0, l0), (t1, up, s1, l1) in zip(timeline[::4], timeline[4::4], strict=False):
            print(f"{t1:5.1f} {up:5d}  {100 * (l1 - l0) / max(1, s1 - s0):6.2f}")
    print(f"CPU, Openline           {cpu:.1f} s ({100 * cpu / wall:.0f}% of one core)")
    print(f"CPU, SIPp               {children.ru_utime + children.ru_stime:.1f} s")
    await service.close()
    await db.close()


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "-v"]
    asyncio.run(main(int(args[0]) if args else 200, float(args[1]) if len(args) > 1 else 20.0,
                     float(args[2]) if len(args) > 2 else 40.0))
