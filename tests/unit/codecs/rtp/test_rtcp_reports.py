"""The compound reports a media leg sends (RFC 3550 §6.1, §6.4, §6.5, §6.6): known bytes laid out
as in the RFC's figures, build -> parse round trips, report blocks from A.1/A.3 source state and
the two-party report interval (§6.2, §6.3.1)."""

from __future__ import annotations

import struct

import pytest

from openline.codecs.rtp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    SenderInfo,
    SenderReport,
    SourceState,
    build_report,
    lsr_of,
    parse_compound,
    report_block,
    report_interval,
    sdes_cname,
)
from openline.codecs.rtp.rtcp import RawRtcp, ntp_from_unix

SSRC, PEER = 0x11223344, 0xAABBCCDD
INFO = SenderInfo(ntp_timestamp=0x8300000080000000, rtp_timestamp=0x01020304, packet_count=250,
                  octet_count=40_000)
BLOCK = ReportBlock(ssrc=PEER, fraction_lost=64, cumulative_lost=-2, highest_seq=0x0001_0005, jitter=12,
                    lsr=0x00008000, dlsr=0x00018000)

# §6.4.1 SR (RC=1): header, sender info, one report block; §6.5 SDES CNAME "ab" (item 1, length 2,
# null terminator, padded to a word); §6.6 BYE with our SSRC. Every word written out by hand.
SR_SDES_BYE = bytes.fromhex(
    "81c8000c" "11223344"                      # V=2 P=0 RC=1, PT=200, length 12 words, SSRC
    "83000000" "80000000" "01020304"           # NTP seconds, NTP fraction (.5), RTP timestamp
    "000000fa" "00009c40"                      # sender's packet count 250, octet count 40000
    "aabbccdd" "40fffffe" "00010005"           # SSRC_1, fraction 64/256 + cumulative -2, ext. highest seq
    "0000000c" "00008000" "00018000"           # jitter, LSR, DLSR (1.5 s in 1/65536 s)
    "81ca0003" "11223344" "01026162" "00000000"  # SDES SC=1: chunk SSRC, CNAME "ab", end + padding
    "81cb0001" "11223344"                      # BYE SC=1
)
# §6.4.2 RR with no report block (nothing received yet), then SDES CNAME "ab"
RR_SDES = bytes.fromhex("80c90001" "11223344" "81ca0003" "11223344" "01026162" "00000000")


def test_sr_with_block_sdes_and_bye_known_bytes() -> None:
    data = build_report(SSRC, "ab", sender=INFO, block=BLOCK, bye=True)
    assert data == SR_SDES_BYE
    sr, sdes, bye = parse_compound(data)
    assert sr == SenderReport(SSRC, INFO.ntp_timestamp, INFO.rtp_timestamp, 250, 40_000, (BLOCK,))
    assert sdes_cname(sdes) == (SSRC, "ab")
    assert bye == Bye((SSRC,))


def test_rr_without_block_known_bytes() -> None:
    data = build_report(SSRC, "ab", sender=None)
    assert data == RR_SDES
    rr, sdes = parse_compound(data)
    assert rr == ReceiverReport(SSRC) and sdes_cname(sdes) == (SSRC, "ab")


@pytest.mark.parametrize("cname", ["", "x", "abc", "abcd", "0123456789abcdef01234567", "é@host"])
@pytest.mark.parametrize("sending", [True, False])
def test_build_parse_round_trip(cname: str, sending: bool) -> None:
    data = build_report(SSRC, cname, sender=INFO if sending else None, block=BLOCK, bye=not sending,
                        reason="hangup" if not sending else None)
    assert len(data) % 4 == 0  # every part is word-aligned (§6.4)
    packets = parse_compound(data)
    assert isinstance(packets[0], SenderReport if sending else ReceiverReport)
    assert packets[0].reports == (BLOCK,)
    assert sdes_cname(packets[1]) == (SSRC, cname)
    if not sending:
        assert packets[2] == Bye((SSRC,), "hangup")
    assert b"".join(bytes(p) for p in packets) == data


def test_report_block_from_source_state_loss_and_interval_fraction() -> None:
    state = SourceState()
    seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 3, 4]  # a wrap, and seq 2 lost
    for seq in seqs:
        state.update_seq(seq)
    state.jitter = 7.9
    block = report_block(PEER, state, lsr=lsr_of(0x83000000_80000000), dlsr=0.25)
    # probation swallows the first packet (A.1: MIN_SEQUENTIAL), so base is 65531
    assert block.ssrc == PEER and block.highest_seq == 0x0001_0004
    assert block.cumulative_lost == 1 and block.jitter == 7
    assert block.fraction_lost == (1 << 8) // 10  # 1 lost of 10 expected in this interval
    assert block.lsr == 0x00008000 and block.dlsr == 16384  # 0.25 s in 1/65536 s
    again = report_block(PEER, state)
    assert again.fraction_lost == 0 and again.dlsr == 0  # nothing new; no SR seen: DLSR 0
    assert ReportBlock.parse(bytes(block), 0) == block


def test_lsr_is_the_middle_of_the_ntp_timestamp() -> None:
    ntp = ntp_from_unix(1_700_000_000.5)
    assert lsr_of(ntp) == (ntp >> 16) & 0xFFFFFFFF
    assert lsr_of(0x0123456789ABCDEF) == 0x456789AB


def test_two_party_interval_is_tmin_randomised() -> None:
    assert report_interval(0.0) == 2.5 and report_interval(0.5) == 5.0
    assert report_interval(0.999999) == pytest.approx(7.5, abs=1e-4)
    assert report_interval(0.5, initial=True) == 2.5  # the first report comes at Tmin/2 (§6.2)
    assert report_interval(0.0, initial=True) == 1.25
    assert report_interval(0.5, minimum=0.2) == pytest.approx(0.2)


def test_sdes_cname_ignores_other_packets() -> None:
    assert sdes_cname(ReceiverReport(SSRC)) is None
    assert sdes_cname(RawRtcp(202, 1, struct.pack("!I", SSRC) + bytes([2, 1]) + b"n" + b"\0")) is None  # NAME only
