"""RTP/RTCP byte vectors, wraparound arithmetic and RFC 3550 A.1 source state."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openline.codecs.rtp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtpPacket,
    RtpParseError,
    SenderReport,
    SourceState,
    build_compound,
    looks_like_rtcp,
    parse_compound,
    seq_diff,
    ts_diff,
    unwrap,
)
from openline.codecs.rtp.rtcp import RawRtcp, ntp_from_unix

# V=2, M=1, PT=0, seq=0x1234, ts=0xdeadbeef, ssrc=0x01020304, 4 payload bytes
PCMU_MARKED = bytes.fromhex("80801234deadbeef01020304") + b"\xff\xfe\xfd\xfc"


def test_rtp_vector() -> None:
    p = RtpPacket.parse(PCMU_MARKED)
    assert (p.payload_type, p.marker, p.sequence, p.timestamp, p.ssrc) == (0, True, 0x1234, 0xDEADBEEF, 0x01020304)
    assert p.payload == b"\xff\xfe\xfd\xfc" and bytes(p) == PCMU_MARKED


def test_rtp_csrc_extension_padding() -> None:
    data = (
        bytes.fromhex("b2080001000000a0cafebabe")  # V=2 P=1 X=1 CC=2, PT 8
        + struct.pack("!II", 11, 22)
        + struct.pack("!HH", 0xBEDE, 1) + b"\x10\xaa\x00\x00"
        + b"payload" + b"\x00\x00\x03"
    )
    p = RtpPacket.parse(data)
    assert p.csrcs == (11, 22) and p.extension == (0xBEDE, b"\x10\xaa\x00\x00") and p.payload == b"payload"
    assert RtpPacket.parse(bytes(p)) == p  # padding is not re-added


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x80\x00\x00",
        bytes.fromhex("40000001000000000000000a"),  # version 1
        bytes.fromhex("8f000001000000000000000a"),  # 15 CSRCs, none present
        bytes.fromhex("90000001000000000000000a") + b"\xbe\xde\x00\x05",  # extension past the end
        bytes.fromhex("a0000001000000000000000a") + b"ab\x00",  # padding count 0
        bytes.fromhex("a0000001000000000000000a") + b"ab\x09",  # padding past the header
        bytes.fromhex("80000001000000000000000a") + bytes(1500),
    ],
)
def test_rtp_malformed(data: bytes) -> None:
    with pytest.raises(RtpParseError):
        RtpPacket.parse(data)


@given(st.binary(max_size=200))
def test_rtp_random_bytes(data: bytes) -> None:
    try:
        p = RtpPacket.parse(data)
    except RtpParseError:
        return
    assert RtpPacket.parse(bytes(p)).payload == p.payload


@given(
    st.integers(0, 127), st.integers(0, 0xFFFF), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
    st.binary(max_size=300), st.booleans(), st.lists(st.integers(0, 2**32 - 1), max_size=15),
)
def test_rtp_round_trip(pt: int, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool, csrcs: list[int]) -> None:
    p = RtpPacket(pt, seq, ts, ssrc, payload, marker, tuple(csrcs))
    assert RtpPacket.parse(bytes(p)) == p


def test_wraparound_arithmetic() -> None:
    assert seq_diff(0, 65535) == 1 and seq_diff(65535, 0) == -1 and seq_diff(100, 50) == 50
    assert ts_diff(10, 0xFFFFFFF0) == 26 and ts_diff(0xFFFFFFF0, 10) == -26
    assert unwrap(5, 0xFFFFFFF0) == 0x100000005
    assert unwrap(0xFFFFFFF0, 0x100000005) == 0xFFFFFFF0
    assert unwrap(1000, 500) == 1000


def test_source_state_probation_wrap_and_loss() -> None:
    s = SourceState()
    assert s.update_seq(65530) is False  # probation (MIN_SEQUENTIAL = 2)
    assert s.update_seq(65531) is True
    for seq in [65532, 65533, 65535, 0, 1, 3]:  # 65534 and 2 lost, wraps once
        assert s.update_seq(seq)
    assert s.cycles == 65536 and s.extended_max == 65536 + 3
    assert s.expected == 9 and s.received == 7 and s.lost == 2
    assert s.interval_fraction_lost() == (2 << 8) // 9
    assert s.interval_fraction_lost() == 0


def test_source_state_restart_after_big_jump() -> None:
    s = SourceState()
    s.update_seq(10)
    s.update_seq(11)
    assert s.update_seq(30000) is False  # a single wild packet is dropped
    assert s.update_seq(30001) is True  # ...two in a row are a restarted sender
    assert s.base_seq == 30001


def test_jitter_estimate() -> None:
    s = SourceState()
    for i in range(50):
        s.update_jitter(arrival_units=i * 160 + (40 if i % 2 else 0), timestamp=i * 160)
    assert 20 < s.jitter < 40


def test_rtcp_sr_rr_bye_compound() -> None:
    block = ReportBlock(ssrc=0xAABBCCDD, fraction_lost=25, cumulative_lost=-3, highest_seq=70000, jitter=12, lsr=5, dlsr=6)
    sr = SenderReport(1, ntp_from_unix(0.5), 160, 10, 1600, (block,))
    data = build_compound([sr, RawRtcp.sdes_cname(1, "openline@127.0.0.1"), Bye((1,), "hangup")])
    parsed = parse_compound(data)
    assert parsed[0] == sr and parsed[2] == Bye((1,), "hangup")
    assert isinstance(parsed[1], RawRtcp) and parsed[1].packet_type == 202
    assert build_compound(parsed) == data
    assert sr.ntp_timestamp >> 32 == 2208988800 and sr.ntp_timestamp & 0xFFFFFFFF == 1 << 31
    rr = ReceiverReport(7, (block,))
    assert parse_compound(bytes(rr)) == [rr]
    assert looks_like_rtcp(bytes(rr)) and not looks_like_rtcp(PCMU_MARKED)
    # SR header: V=2 RC=1 PT=200 length=12 words
    assert bytes(sr)[:4] == bytes.fromhex("81c8000c")


@pytest.mark.parametrize(
    "data",
    [
        b"",
        bytes.fromhex("81c9"),
        bytes.fromhex("41c90001") + bytes(4),  # version 1
        bytes.fromhex("81c90001") + bytes(4),  # RR claims one block, has none
        bytes.fromhex("80c90009") + bytes(4),  # length past the datagram
        bytes.fromhex("80cb0001") + bytes(4),  # starts with BYE
        bytes.fromhex("80640001") + bytes(4),  # PT 100 is not RTCP
        bytes.fromhex("80c9000100000001") + b"\x80",  # trailing garbage
        bytes.fromhex("a0c9000100000000"),  # padding count 0
    ],
)
def test_rtcp_malformed(data: bytes) -> None:
    with pytest.raises(RtpParseError):
        parse_compound(data)


@given(st.binary(max_size=300))
def test_rtcp_random_bytes(data: bytes) -> None:
    with contextlib.suppress(RtpParseError):
        parse_compound(data)
