"""RTP legs on real loopback sockets with the shared media clock: audio through G.711 and the
jitter buffer, RFC 4733 digits, latching, pacing statistics, bad packets."""

from __future__ import annotations

import array
import asyncio
import math
import socket

import pytest

from openline.codecs.media import dtmf_tone, lin2ulaw, ulaw2lin
from openline.codecs.rtp import (
    Bye,
    DtmfEvent,
    ReceiverReport,
    RtpPacket,
    SenderInfo,
    SenderReport,
    build_report,
    parse_compound,
    sdes_cname,
)
from openline.transports.rtp import MediaClock, PortRange, RtpLeg


def _corr(a: bytes, b: bytes) -> float:
    x, y = array.array("h", a), array.array("h", b)
    n = min(len(x), len(y))
    num = sum(x[i] * y[i] for i in range(n))
    den = math.sqrt(sum(v * v for v in x[:n]) * sum(v * v for v in y[:n]))
    return num / den if den else 0.0


async def _wait(predicate, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_audio_and_digits_between_two_legs_with_latching() -> None:
    clock = MediaClock()
    heard: list[bytes] = []
    a = RtpLeg(codec="PCMU", payload_type=0, remote=None, dtmf_payload_type=101)
    b = RtpLeg(codec="PCMU", payload_type=0, remote=None, dtmf_payload_type=101, on_audio=heard.append)
    ports = PortRange(31000, 31999)
    pa = await a.open("127.0.0.1", ports)
    pb = await b.open("127.0.0.1", ports)
    assert pa % 2 == 0 and pb % 2 == 0 and pa != pb
    a.remote = ("127.0.0.1", pb)
    b.remote = ("127.0.0.1", 9)  # a wrong SDP address (NAT): b must latch onto a's real source
    prompt = dtmf_tone("5", 400) + bytes(1600)
    a.play(lin2ulaw(prompt))
    a.send_digits("9")  # digits go first; the prompt waits for them
    clock.add(a)
    clock.add(b)
    clock.start()
    try:
        await _wait(lambda: b.digits == ["9"] and not a.playing and len(heard) > 30)
        await _wait(lambda: a.stats.packets_received > 5)  # b latched and answers to a's source
        assert b.latched and b.remote == ("127.0.0.1", pa)
        # once latched, a stranger's packets are ignored (no hijack of the stream)
        stranger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ignored = b.stats.ignored
        stranger.sendto(bytes(RtpPacket(0, 1, 0, 99, b"\xff" * 160)), ("127.0.0.1", pb))
        stranger.close()
        await _wait(lambda: b.stats.ignored == ignored + 1)
        assert b.remote == ("127.0.0.1", pa)
        b.negotiate(codec="PCMU", payload_type=0, dtmf_payload_type=101, remote=("127.0.0.1", 9))
        assert not b.latched  # a new offer/answer learns the source again
        await _wait(lambda: b.latched and b.remote == ("127.0.0.1", pa))
        pcm = ulaw2lin(b"".join(heard))
        tone = ulaw2lin(lin2ulaw(dtmf_tone("5", 400)))
        assert pcm.find(tone) >= 0  # the whole prompt arrived bit-exact, after the digit
        assert _corr(pcm[pcm.find(tone) :][: len(tone)], dtmf_tone("5", 400)) > 0.99
        # lateness is measured, not asserted here (the machine is shared): see bench/voice_media.py
        assert a.stats.packets_late <= a.stats.packets_sent and a.stats.max_lateness >= 0
        assert a.stats.packets_sent > 30 and clock.ticks > 30
    finally:
        await clock.stop()
        a.close()
        b.close()


async def test_bad_and_foreign_packets_are_counted() -> None:
    leg = RtpLeg(codec="PCMA", payload_type=8, remote=("127.0.0.1", 9), dtmf_payload_type=96, latching=False)
    port = await leg.open("127.0.0.1")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.sendto(b"\x00\x01junk", ("127.0.0.1", port))
        sock.sendto(bytes(RtpPacket(97, 1, 0, 5, b"\0\0\0\0")), ("127.0.0.1", port))  # SIPp PT 97 noise
        sock.sendto(bytes.fromhex("81c90007") + bytes(28), ("127.0.0.1", port))  # RR with one block
        for i, end in enumerate([False, False, True, True, True]):
            event = DtmfEvent(11, end, 10, 160 * (i + 1))
            sock.sendto(bytes(RtpPacket(96, 100 + i, 8000, 7, bytes(event), i == 0)), ("127.0.0.1", port))
        await _wait(lambda: leg.stats.digits_received == 1 and leg.stats.rtcp_received == 1)
        assert leg.stats.malformed == 1 and leg.stats.ignored == 1 and leg.digits == ["#"]
        assert leg.remote == ("127.0.0.1", 9)  # latching disabled
    finally:
        sock.close()
        leg.close()


async def test_clock_paces_on_absolute_deadlines() -> None:
    clock = MediaClock()
    legs = []
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    try:
        for _ in range(20):
            leg = RtpLeg(codec="PCMU", payload_type=0, remote=sink.getsockname())
            await leg.open("127.0.0.1")
            clock.add(leg)
            legs.append(leg)
        loop = asyncio.get_running_loop()
        start = loop.time()
        clock.start()
        await asyncio.sleep(1.0)
        await clock.stop()
        elapsed = loop.time() - start
        # one deadline per 20 ms on the absolute grid: every deadline is either ticked or, after a
        # stall of the process, counted as skipped - none is lost or added, so nothing drifts
        assert abs(clock.ticks + clock.skipped_ticks - elapsed / 0.02) <= 7
        assert all(abs(leg.stats.packets_sent - clock.ticks) <= 1 for leg in legs)
    finally:
        for leg in legs:
            leg.close()
        sink.close()


def test_port_range() -> None:
    ports = PortRange(20001, 20007)
    assert ports.candidates() == [20002, 20004, 20006]
    ports.advance(20006)
    assert ports.candidates()[0] == 20002
    assert PortRange(20000, 20006).candidates() == [20000, 20002, 20004]  # 20006's RTCP would be outside
    with pytest.raises(ValueError):
        PortRange(10, 5)


async def test_clock_skips_deadlines_after_a_stall_instead_of_bursting() -> None:
    import time

    class Staller:
        def __init__(self) -> None:
            self.calls: list[float] = []
            self.skipped: list[int] = []

        def tick(self, deadline: float, now: float) -> None:
            self.calls.append(deadline)
            if len(self.calls) == 3:
                time.sleep(0.3)  # the whole process stalls for 15 frames

        def skip(self, frames: int) -> None:
            self.skipped.append(frames)

    clock = MediaClock()
    staller = Staller()
    clock.add(staller)
    clock.start()
    await asyncio.sleep(0.6)
    await clock.stop()
    assert clock.skipped_ticks >= 10 and sum(staller.skipped) == clock.skipped_ticks  # legs were told
    gaps = [round((b - a) / 0.02) for a, b in zip(staller.calls, staller.calls[1:], strict=False)]
    assert max(gaps) >= 10 and all(g >= 1 for g in gaps)  # deadlines stay on the 20 ms grid
    assert all(abs((d - staller.calls[0]) / 0.02 - round((d - staller.calls[0]) / 0.02)) < 1e-6 for d in staller.calls)


async def test_an_idle_clock_sleeps_until_a_leg_is_added() -> None:
    class Counter:
        def __init__(self) -> None:
            self.ticks = 0

        def tick(self, deadline: float, now: float) -> None:
            self.ticks += 1

        def skip(self, frames: int) -> None:
            pass

    clock = MediaClock()
    clock.start()
    await asyncio.sleep(0.1)
    assert clock.ticks == 0  # no legs: no wake-ups every 5 ms in a process without calls
    leg = Counter()
    clock.add(leg)
    await asyncio.sleep(0.2)
    assert leg.ticks >= 5
    clock.remove(leg)
    await asyncio.sleep(0.05)
    idle = clock.ticks
    await asyncio.sleep(0.1)
    assert clock.ticks == idle  # idle again
    await clock.stop()


def _even_pair() -> tuple[socket.socket, socket.socket]:
    """A peer's RTP socket on an even port and its RTCP socket on the next one."""
    for _ in range(50):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind(("127.0.0.1", 0))
        port = rtp.getsockname()[1]
        if port % 2 == 0:
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtcp.bind(("127.0.0.1", port + 1))
            except OSError:
                rtcp.close()
            else:
                return rtp, rtcp
        rtp.close()
    raise AssertionError("no free even/odd port pair")


async def _recv(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(loop.sock_recv(sock, 2048), timeout)


async def test_rtcp_reports_go_to_rtp_port_plus_one_and_bye_on_close() -> None:
    """SR + report block about the peer's stream + SDES CNAME, from local port + 1 to the peer's
    RTP port + 1 at the configured interval, then a BYE when the leg closes."""
    clock = MediaClock()
    peer_rtp, peer_rtcp = _even_pair()
    leg = RtpLeg(codec="PCMU", payload_type=0, remote=peer_rtp.getsockname(), rtcp_interval=0.2)
    port = await leg.open("127.0.0.1", PortRange(32000, 32999))
    try:
        for seq in range(10):  # the peer's stream, so the report carries a block about it
            peer_rtp.sendto(bytes(RtpPacket(0, 500 + seq, 160 * seq, 0x5EED, b"\xff" * 160)), ("127.0.0.1", port))
        await _wait(lambda: leg.stats.packets_received == 10)
        clock.add(leg)
        clock.start()
        started = asyncio.get_running_loop().time()
        data = await _recv(peer_rtcp)
        first_after = asyncio.get_running_loop().time() - started
        assert first_after < 0.5  # initial interval: Tmin/2 randomised, here 0.05-0.15 s
        sr, sdes = parse_compound(data)
        assert isinstance(sr, SenderReport) and sr.ssrc == leg.sender.ssrc and sr.packet_count > 0
        assert sr.octet_count == 160 * sr.packet_count
        assert [b.ssrc for b in sr.reports] == [0x5EED] and sr.reports[0].highest_seq == 509
        assert sr.reports[0].cumulative_lost == 0 and sr.reports[0].lsr == 0
        assert sdes_cname(sdes) == (leg.sender.ssrc, leg.cname)
        # a peer's SR is remembered: the next block echoes its LSR with the delay since
        peer_sr = build_report(0x5EED, "peer", sender=SenderInfo(0x0000_1234_5678_0000, 0, 10, 1600))
        peer_rtcp.sendto(peer_sr, ("127.0.0.1", port + 1))  # from its RTCP port to ours
        await _wait(lambda: leg.stats.rtcp_received == 1)
        while True:
            report = parse_compound(await _recv(peer_rtcp))[0]
            assert isinstance(report, SenderReport)
            if report.reports[0].lsr:
                break
        assert report.reports[0].lsr == 0x1234_5678 and 0 < report.reports[0].dlsr < 65536
        await clock.stop()
        sent = leg.stats.rtcp_sent
        leg.close()
        *_, bye = parse_compound(await _recv(peer_rtcp))
        assert bye == Bye((leg.sender.ssrc,)) and leg.stats.rtcp_sent == sent + 1
    finally:
        await clock.stop()
        leg.close()
        peer_rtp.close()
        peer_rtcp.close()


async def test_rtcp_follows_a_rtcp_and_a_silent_leg_sends_rr() -> None:
    clock = MediaClock()
    sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sink.bind(("127.0.0.1", 0))
    leg = RtpLeg(codec="PCMU", payload_type=0, remote=("127.0.0.1", 9), send_silence=False, rtcp_interval=0.2)
    await leg.open("127.0.0.1", PortRange(32000, 32999))
    leg.negotiate(codec="PCMU", payload_type=0, dtmf_payload_type=None, remote=("127.0.0.1", 9),
                  rtcp_remote=sink.getsockname())  # SDP a=rtcp: reports go there, not to port 10
    try:
        clock.add(leg)
        clock.start()
        rr, _ = parse_compound(await _recv(sink))
        assert rr == ReceiverReport(leg.sender.ssrc)  # sent nothing, received nothing: RR, no block
        await clock.stop()
        leg.close()  # never sent RTP but sent RTCP: still a BYE (§6.3.7)
        assert isinstance(parse_compound(await _recv(sink))[-1], Bye)
    finally:
        await clock.stop()
        leg.close()
        sink.close()


async def test_the_port_range_keeps_each_rtp_ports_neighbour_for_rtcp() -> None:
    """An even port whose odd neighbour is taken is skipped: RTP and RTCP come as a pair (§11)."""
    rtp, blocker = _even_pair()  # blocker holds P+1
    low = rtp.getsockname()[1]
    rtp.close()  # P itself is free now, its neighbour is not
    leg = RtpLeg(codec="PCMU", payload_type=0, remote=None)
    try:
        port = await leg.open("127.0.0.1", PortRange(low, low + 40))
        assert port % 2 == 0 and port > low
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        with pytest.raises(OSError):
            probe.bind(("127.0.0.1", port + 1))  # bound by the leg's RTCP socket
        probe.close()
    finally:
        leg.close()
        blocker.close()
