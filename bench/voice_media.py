"""RTP legs on one media clock: how many can one process pace on time, and at what CPU cost.

Opens N legs in pairs on loopback (each pair sends G.711 to each other through real UDP
sockets), runs them on one MediaClock for SECONDS, then prints packets sent/received, the share
of packets sent more than 10 ms after their deadline (Openline's own pacing statistic) and the
process CPU per leg. This is the media half of the issue's concurrent-calls bench (no SIP, no
IVR).

    .venv/bin/python bench/voice_media.py 200 10
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import time

from openline.codecs.media import lin2ulaw, tone
from openline.transports.rtp import MediaClock, PortRange, RtpLeg


async def main(legs: int, seconds: float) -> None:
    clock = MediaClock()
    ports = PortRange(40000, 49999)
    prompt = lin2ulaw(tone((440.0,), 1000))
    all_legs: list[RtpLeg] = []
    for _ in range(legs // 2):
        a = RtpLeg(codec="PCMU", payload_type=0, remote=None, dtmf_payload_type=101)
        b = RtpLeg(codec="PCMU", payload_type=0, remote=None, dtmf_payload_type=101)
        pa, pb = await a.open("127.0.0.1", ports), await b.open("127.0.0.1", ports)
        a.remote, b.remote = ("127.0.0.1", pb), ("127.0.0.1", pa)
        a.source = lambda: None
        for leg in (a, b):
            leg.play(prompt * int(seconds + 1))
            clock.add(leg)
            all_legs.append(leg)
    cpu0, wall0 = time.process_time(), time.monotonic()
    clock.start()
    await asyncio.sleep(seconds)
    await clock.stop()
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    sent = sum(leg.stats.packets_sent for leg in all_legs)
    late = sum(leg.stats.packets_late for leg in all_legs)
    received = sum(leg.stats.packets_received for leg in all_legs)
    worst = max(leg.stats.max_lateness for leg in all_legs)
    for leg in all_legs:
        leg.close()
    print(f"legs                 {len(all_legs)}")
    print(f"wall                 {wall:.2f} s   clock ticks {clock.ticks} (expected {wall / 0.02:.0f}), skipped {clock.skipped_ticks}")
    print(f"packets sent         {sent}  ({sent / wall:.0f}/s)")
    print(f"packets received     {received}  ({received / max(1, sent):.3f} of sent)")
    print(f"sent >10 ms late     {late}  ({100 * late / max(1, sent):.2f} %)   worst lateness {worst * 1000:.1f} ms")
    print(f"process CPU          {cpu:.2f} s = {100 * cpu / wall:.1f} % of one core, {1000 * cpu / wall / len(all_legs):.2f} ms CPU per leg-second")
    print(f"peak RSS             {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB  (pid {os.getpid()})")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200, float(sys.argv[2]) if len(sys.argv) > 2 else 10.0))
