"""RFC 4733 send/detect (redundant ends, lost starts, SIPp quirks), the sender and the jitter buffer."""

from __future__ import annotations

import pytest

from openline.codecs.rtp import (
    DtmfDetector,
    DtmfEnded,
    DtmfEvent,
    DtmfSender,
    DtmfStarted,
    JitterBuffer,
    RtpPacket,
    RtpParseError,
    RtpSender,
)


def test_event_payload_vectors() -> None:
    # RFC 4733 §2.3 layout: digit 1, volume 10, duration 400 -> 01 0a 01 90; the end packet has E set
    assert bytes(DtmfEvent(1, False, 10, 400)) == bytes.fromhex("010a0190")
    assert bytes(DtmfEvent(1, True, 10, 1600)) == bytes.fromhex("018a0640")
    ev = DtmfEvent.parse(bytes.fromhex("0bca0320"))  # '#', E and R set (SIPp leaves R random), vol 10
    assert ev.digit == "#" and ev.end and ev.volume == 10 and ev.duration == 800
    with pytest.raises(RtpParseError):
        DtmfEvent.parse(b"\x01\x0a")


def test_sender_plan_marker_durations_and_end_redundancy() -> None:
    plan = DtmfSender().plan("5", duration_ms=100)
    events = [(m, DtmfEvent.parse(p)) for m, p in plan]
    assert [m for m, _ in events] == [True, False, False, False, False, False, False]
    assert [e.duration for _, e in events] == [160, 320, 480, 640, 800, 800, 800]
    assert [e.end for _, e in events] == [False] * 4 + [True] * 3
    assert all(e.event == 5 for _, e in events)
    short = DtmfSender().plan("*", duration_ms=10)
    assert [DtmfEvent.parse(p).duration for _, p in short] == [160] * 3 and short[0][0] is True
    with pytest.raises(ValueError):
        DtmfSender().plan("x")


def _packets(digit: int, ts: int, durations: list[int], ends: int = 3, ssrc: int = 9, pt: int = 101) -> list[RtpPacket]:
    out = [RtpPacket(pt, i, ts, ssrc, bytes(DtmfEvent(digit, False, 10, d)), i == 0) for i, d in enumerate(durations)]
    out += [RtpPacket(pt, 100 + i, ts, ssrc, bytes(DtmfEvent(digit, True, 10, durations[-1] + 160))) for i in range(ends)]
    return out


def _detect(packets: list[RtpPacket], pt: int = 101) -> list[object]:
    det = DtmfDetector(pt)
    out: list[object] = []
    for p in packets:
        out += det.receive(p)
    return out


def test_detector_dedupes_redundant_ends() -> None:
    events = _detect(_packets(1, 1000, [160, 320, 480]) + _packets(11, 3000, [160, 320]))
    assert events == [
        DtmfStarted("1", 9, 1000), DtmfEnded("1", 9, 1000, 640, True),
        DtmfStarted("#", 9, 3000), DtmfEnded("#", 9, 3000, 480, True),
    ]


def test_detector_lost_start_and_lost_end() -> None:
    lost_start = _packets(7, 5000, [160, 320, 480])[2:]  # the marker packet and one more lost
    assert _detect(lost_start) == [DtmfStarted("7", 9, 5000), DtmfEnded("7", 9, 5000, 640, True)]
    only_end = _packets(4, 5000, [160], ends=1)[1:]
    assert _detect(only_end) == [DtmfStarted("4", 9, 5000), DtmfEnded("4", 9, 5000, 320, True)]
    # all end packets lost: the next event ends the first one
    first = _packets(2, 1000, [160, 320], ends=0)
    second = _packets(3, 4000, [160])
    events = _detect(first + second)
    assert events[:3] == [DtmfStarted("2", 9, 1000), DtmfEnded("2", 9, 1000, 320, False), DtmfStarted("3", 9, 4000)]
    det = DtmfDetector(101)
    for p in first:
        det.receive(p)
    assert det.expire(9, 1000 + 320 + 100) == []
    assert det.expire(9, 1000 + 320 + 9000) == [DtmfEnded("2", 9, 1000, 320, False)]


def test_detector_ignores_other_pts_late_packets_and_handles_ssrc_change() -> None:
    noise = [RtpPacket(97, i, 0, 5, b"\x00\x00\x00\x00") for i in range(20)]  # SIPp's PT 97 "noop" packets
    a = _packets(1, 2000, [160, 320], ssrc=1, pt=96)
    b = _packets(2, 2000, [160, 320], ssrc=2, pt=96)  # same timestamp, new SSRC: a new event
    late = [RtpPacket(96, 1, 2000, 1, bytes(DtmfEvent(1, False, 10, 160)))]
    events = _detect(noise + a + b + late, pt=96)
    assert [type(e).__name__ for e in events] == ["DtmfStarted", "DtmfEnded", "DtmfStarted", "DtmfEnded"]
    assert [e.digit for e in events] == ["1", "1", "2", "2"]  # type: ignore[attr-defined]
    det = DtmfDetector(101)
    assert det.receive(RtpPacket(101, 1, 1, 1, b"\x01")) == [] and det.malformed == 1
    assert det.receive(RtpPacket(101, 1, 1, 1, bytes(DtmfEvent(16, False, 10, 160)))) == []  # flash: not a digit


def test_rtp_sender_interleaves_digits_on_the_media_clock() -> None:
    s = RtpSender(ssrc=42, payload_type=0, dtmf_payload_type=101, initial_seq=65534, initial_ts=0xFFFFFF00)
    audio = b"\xff" * 160
    first = s.next_packet(audio)
    assert first is not None and first.marker and first.sequence == 65534 and first.timestamp == 0xFFFFFF00
    second = s.next_packet(audio)
    assert second is not None and not second.marker and second.sequence == 65535
    s.queue_digits("1")
    dtmf = [s.next_packet(audio) for _ in range(7)]
    assert all(p is not None and p.payload_type == 101 for p in dtmf)
    assert {p.timestamp for p in dtmf if p} == {(0xFFFFFF00 + 320) & 0xFFFFFFFF}
    assert [p.sequence for p in dtmf if p] == [0, 1, 2, 3, 4, 5, 6] and dtmf[0].marker  # type: ignore[union-attr]
    assert s.next_packet(audio) is None  # inter-digit gap: nothing sent, the clock moves on
    for _ in range(2):
        s.next_packet(audio)
    back = s.next_packet(audio)
    assert back is not None and back.payload_type == 0 and back.marker
    assert back.timestamp == (0xFFFFFF00 + 160 * 12) & 0xFFFFFFFF
    with pytest.raises(ValueError):
        RtpSender(ssrc=1, payload_type=0, initial_seq=0, initial_ts=0).queue_digits("1")


def test_rtp_sender_w_pauses() -> None:
    s = RtpSender(ssrc=1, payload_type=0, dtmf_payload_type=101, initial_seq=0, initial_ts=0)
    s.queue_digits("w1")
    sent = [s.next_packet(None) for _ in range(40)]
    assert all(p is None for p in sent[:25]) and sent[25] is not None and sent[25].marker


def _audio(seq: int, ts: int, n: int = 160, ssrc: int = 1, fill: int | None = None) -> RtpPacket:
    return RtpPacket(0, seq & 0xFFFF, ts & 0xFFFFFFFF, ssrc, bytes([fill if fill is not None else seq & 0x7F]) * n)


def test_jitter_buffer_reorders_and_fills_holes() -> None:
    jb = JitterBuffer(min_delay=0.04)
    assert jb.pop() is None
    for seq in (0, 2, 1, 4):  # 3 lost, 2 and 1 swapped
        jb.push(_audio(seq, seq * 160), arrival=seq * 0.02)
    frames = [jb.pop() for _ in range(5)]
    assert [f[0] if f else None for f in frames[:3]] == [0, 1, 2]
    assert frames[3] == b"\xff" * 160 and frames[4] is not None and frames[4][0] == 4
    jb.push(_audio(1, 160), arrival=0.2)
    assert jb.late == 1


def test_jitter_buffer_30ms_packets_through_20ms_clock_and_wrap() -> None:
    jb = JitterBuffer(min_delay=0.06)
    base = 0xFFFFFF00
    packets = [_audio(i, base + 240 * i, n=240, fill=i) for i in range(20)]
    out = b""
    for tick in range(40):  # a 20 ms playout clock; a 30 ms packet arrives every 30 ms
        now = tick * 0.02
        while packets and (packets[0].sequence * 0.03) <= now:
            jb.push(packets.pop(0), arrival=now)
        frame = jb.pop()
        if frame:
            out += frame
    expected = b"".join(bytes([i]) * 240 for i in range(20))
    assert len(out) >= 4000 and out == expected[: len(out)] and jb.skipped_samples == 0


def test_jitter_buffer_ssrc_change_underrun_and_burst_skip() -> None:
    jb = JitterBuffer(min_delay=0.02, max_delay=0.1)
    jb.push(_audio(0, 0), arrival=0.0)
    assert jb.pop() is not None
    assert jb.pop() is None and jb.underruns == 1
    jb.push(_audio(0, 0, ssrc=2), arrival=1.0)
    assert jb.resets == 1
    burst = JitterBuffer(min_delay=0.02, max_delay=0.04)
    for i in range(20):  # 400 ms arrive at once after a network stall
        burst.push(_audio(i, i * 160, fill=i), arrival=5.0)
    first = burst.pop()
    assert first is not None and first[0] == 0 and burst.skipped_samples == 0
    played = [burst.pop() for _ in range(10)]
    assert all(played) and burst.skipped_samples > 0 and burst.buffered_samples <= 160 * 6
    jb2 = JitterBuffer()
    jb2.push(_audio(0, 0), arrival=0.0)
    jb2.push(_audio(0, 0), arrival=0.0)
    assert jb2.duplicates == 1


def test_jitter_target_adapts() -> None:
    jb = JitterBuffer(min_delay=0.02, max_delay=0.2)
    for i in range(100):
        jb.push(_audio(i, i * 160), arrival=i * 0.02 + (0.03 if i % 2 else 0.0))
    assert jb.target_samples > 400


def test_sipp_capture_vector() -> None:
    """A real peer's digit (tests/vectors/rtp/sipp_dtmf_2833_1.hex): first packet duration 0,
    three identical end packets sharing one sequence number."""
    from pathlib import Path

    path = Path(__file__).parents[3] / "vectors" / "rtp" / "sipp_dtmf_2833_1.hex"
    raw = [bytes.fromhex(line) for line in path.read_text().splitlines() if line and not line.startswith("#")]
    packets = [RtpPacket.parse(data) for data in raw]
    assert [bytes(p) for p in packets] == raw
    assert packets[0].marker and {p.timestamp for p in packets} == {13280}
    assert _detect(packets) == [DtmfStarted("1", 0x0E05384E, 13280), DtmfEnded("1", 0x0E05384E, 13280, 2240, True)]
    # fed byte-identical twice (a retransmitting network), still one digit
    assert len(_detect(packets + packets)) == 2


def test_sender_skip_moves_the_timestamp_not_the_sequence() -> None:
    s = RtpSender(ssrc=7, payload_type=0, initial_seq=10, initial_ts=0xFFFFFF60)
    audio = b"\xff" * 160
    assert s.next_packet(audio) is not None and s.next_packet(audio) is not None
    s.skip(3)  # a stall: three frames never went out
    after = s.next_packet(audio)
    assert after is not None and after.sequence == 12 and after.marker
    assert after.timestamp == (0xFFFFFF60 + 5 * 160) & 0xFFFFFFFF
    s.skip(0)
    assert s.next_packet(audio).timestamp == (0xFFFFFF60 + 6 * 160) & 0xFFFFFFFF  # type: ignore[union-attr]
