"""RTCP (RFC 3550 §6.4, §6.6): sender and receiver reports and BYE, in compound packets.

    packets = parse_compound(datagram)     # [SenderReport | ReceiverReport | Bye | RawRtcp, ...]
    datagram = build_compound([ReceiverReport(...), Bye(...)])

Other packet types (SDES, APP, RTPFB...) are kept as :class:`RawRtcp` so a compound packet
still round-trips; we build SR/RR/BYE only (plus an SDES CNAME via ``RawRtcp.sdes_cname``).

What a media leg sends (§6.1, §6.4):

    block = report_block(remote_ssrc, source_state, lsr=..., dlsr=...)   # A.3 loss, A.8 jitter
    datagram = build_report(ssrc, cname, sender=SenderInfo(...) or None, block=block, bye=False)
    delay = report_interval(rng.random(), initial=False)                # §6.2/§6.3.1, 2 members
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from openline.codecs.rtp.errors import RtpParseError
from openline.codecs.rtp.sequence import SourceState

__all__ = [
    "Bye",
    "RawRtcp",
    "ReceiverReport",
    "ReportBlock",
    "RtcpPacket",
    "SenderInfo",
    "SenderReport",
    "build_compound",
    "build_report",
    "lsr_of",
    "ntp_from_unix",
    "parse_compound",
    "report_block",
    "report_interval",
    "sdes_cname",
]

SR: Final = 200
RR: Final = 201
SDES: Final = 202
BYE: Final = 203
MAX_RTCP_PACKET: Final = 1500
_NTP_EPOCH_OFFSET: Final = 2208988800  # seconds from 1900-01-01 to 1970-01-01
RTCP_MIN_INTERVAL: Final = 5.0  # seconds, Tmin of §6.2
CNAME: Final = 1  # SDES item type (§6.5.1)


def ntp_from_unix(seconds: float) -> int:
    """64-bit NTP timestamp for a Unix time (§4)."""
    whole = int(seconds)
    frac = int((seconds - whole) * (1 << 32)) & 0xFFFFFFFF
    return ((whole + _NTP_EPOCH_OFFSET) & 0xFFFFFFFF) << 32 | frac


@dataclass(frozen=True, slots=True)
class ReportBlock:
    ssrc: int
    fraction_lost: int
    cumulative_lost: int  # signed 24-bit
    highest_seq: int  # extended highest sequence number received
    jitter: int
    lsr: int = 0  # middle 32 bits of the last SR's NTP timestamp
    dlsr: int = 0  # delay since that SR, in 1/65536 s

    @classmethod
    def parse(cls, data: bytes, offset: int) -> ReportBlock:
        ssrc, word, highest, jitter, lsr, dlsr = struct.unpack_from("!IIIIII", data, offset)
        lost = word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 1 << 24
        return cls(ssrc, word >> 24, lost, highest, jitter, lsr, dlsr)

    def __bytes__(self) -> bytes:
        lost = self.cumulative_lost & 0xFFFFFF
        return struct.pack(
            "!IIIIII",
            self.ssrc,
            (self.fraction_lost & 0xFF) << 24 | lost,
            self.highest_seq,
            self.jitter,
            self.lsr,
            self.dlsr,
        )


def _header(count: int, packet_type: int, body_len: int) -> bytes:
    return struct.pack("!BBH", 0x80 | count, packet_type, (body_len + 4) // 4 - 1)


@dataclass(frozen=True, slots=True)
class SenderReport:
    ssrc: int
    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: tuple[ReportBlock, ...] = ()

    def __bytes__(self) -> bytes:
        body = struct.pack(
            "!IQIII", self.ssrc, self.ntp_timestamp, self.rtp_timestamp, self.packet_count, self.octet_count
        ) + b"".join(bytes(r) for r in self.reports)
        return _header(len(self.reports), SR, len(body)) + body


@dataclass(frozen=True, slots=True)
class ReceiverReport:
    ssrc: int
    reports: tuple[ReportBlock, ...] = ()

    def __bytes__(self) -> bytes:
        body = struct.pack("!I", self.ssrc) + b"".join(bytes(r) for r in self.reports)
        return _header(len(self.reports), RR, len(body)) + body


@dataclass(frozen=True, slots=True)
class Bye:
    ssrcs: tuple[int, ...]
    reason: str | None = None

    def __bytes__(self) -> bytes:
        body = b"".join(struct.pack("!I", s) for s in self.ssrcs)
        if self.reason is not None:
            text = self.reason.encode("utf-8")[:255]
            body += bytes([len(text)]) + text
            body += b"\0" * (-len(body) % 4)
        return _header(len(self.ssrcs), BYE, len(body)) + body


@dataclass(frozen=True, slots=True)
class RawRtcp:
    packet_type: int
    count: int
    body: bytes

    def __bytes__(self) -> bytes:
        return _header(self.count, self.packet_type, len(self.body)) + self.body

    @classmethod
    def sdes_cname(cls, ssrc: int, cname: str) -> RawRtcp:
        text = cname.encode("utf-8")[:255]
        chunk = struct.pack("!I", ssrc) + bytes([1, len(text)]) + text + b"\0"
        chunk += b"\0" * (-len(chunk) % 4)
        return cls(SDES, 1, chunk)


RtcpPacket = SenderReport | ReceiverReport | Bye | RawRtcp


def _parse_one(packet_type: int, count: int, body: bytes) -> RtcpPacket:
    if packet_type == SR:
        if len(body) < 24 + 24 * count:
            raise RtpParseError("SR shorter than its report count")
        ssrc, ntp, rtp_ts, packets, octets = struct.unpack_from("!IQIII", body)
        reports = tuple(ReportBlock.parse(body, 24 + 24 * i) for i in range(count))
        return SenderReport(ssrc, ntp, rtp_ts, packets, octets, reports)
    if packet_type == RR:
        if len(body) < 4 + 24 * count:
            raise RtpParseError("RR shorter than its report count")
        (ssrc,) = struct.unpack_from("!I", body)
        return ReceiverReport(ssrc, tuple(ReportBlock.parse(body, 4 + 24 * i) for i in range(count)))
    if packet_type == BYE:
        if len(body) < 4 * count:
            raise RtpParseError("BYE shorter than its SSRC count")
        ssrcs = struct.unpack_from(f"!{count}I", body)
        reason = None
        rest = body[4 * count :]
        if rest:
            length = rest[0]
            if 1 + length > len(rest):
                raise RtpParseError("BYE reason runs past the packet")
            reason = rest[1 : 1 + length].decode("utf-8", errors="replace")
        return Bye(tuple(ssrcs), reason)
    return RawRtcp(packet_type, count, body)


def parse_compound(data: bytes) -> list[RtcpPacket]:
    """Parse a compound RTCP packet (§6.1); every part must be well-formed."""
    if len(data) > MAX_RTCP_PACKET:
        raise RtpParseError("RTCP packet larger than the MTU bound")
    if len(data) < 4:
        raise RtpParseError("RTCP packet shorter than its header")
    out: list[RtcpPacket] = []
    offset = 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise RtpParseError("trailing bytes after the last RTCP packet")
        b0, packet_type, words = struct.unpack_from("!BBH", data, offset)
        if b0 >> 6 != 2:
            raise RtpParseError("RTCP version is not 2")
        if not 192 <= packet_type <= 223:
            raise RtpParseError(f"not an RTCP packet type: {packet_type}")
        end = offset + 4 * (words + 1)
        if end > len(data):
            raise RtpParseError("RTCP length runs past the datagram")
        body = data[offset + 4 : end]
        if b0 & 0x20:
            if not body or body[-1] == 0 or body[-1] > len(body):
                raise RtpParseError("bad RTCP padding")
            body = body[: -body[-1]]
        out.append(_parse_one(packet_type, b0 & 0x1F, bytes(body)))
        offset = end
    if not isinstance(out[0], SenderReport | ReceiverReport):
        raise RtpParseError("a compound RTCP packet must start with SR or RR")  # §6.1
    return out


def build_compound(packets: list[RtcpPacket]) -> bytes:
    return b"".join(bytes(p) for p in packets)


def sdes_cname(packet: RtcpPacket) -> tuple[int, str] | None:
    """(SSRC, CNAME) of the first chunk of an SDES packet that carries a CNAME item (§6.5)."""
    if not isinstance(packet, RawRtcp) or packet.packet_type != SDES or packet.count < 1:
        return None
    body = packet.body
    if len(body) < 4:
        return None
    (ssrc,) = struct.unpack_from("!I", body)
    offset = 4
    while offset + 2 <= len(body) and body[offset] != 0:
        kind, length = body[offset], body[offset + 1]
        if offset + 2 + length > len(body):
            return None
        if kind == CNAME:
            return ssrc, body[offset + 2 : offset + 2 + length].decode("utf-8", errors="replace")
        offset += 2 + length
    return None


def lsr_of(ntp_timestamp: int) -> int:
    """The middle 32 bits of an SR's NTP timestamp: the LSR a report block echoes (§6.4.1)."""
    return (ntp_timestamp >> 16) & 0xFFFFFFFF


def report_block(ssrc: int, state: SourceState, *, lsr: int = 0, dlsr: float = 0.0) -> ReportBlock:
    """The report block about one received source (§6.4.1, A.3). Takes the interval's fraction
    lost, so call it once per report. ``dlsr`` is in seconds since that SR arrived."""
    return ReportBlock(
        ssrc=ssrc & 0xFFFFFFFF,
        fraction_lost=state.interval_fraction_lost(),
        cumulative_lost=state.lost,
        highest_seq=state.extended_max & 0xFFFFFFFF,
        jitter=int(state.jitter) & 0xFFFFFFFF,
        lsr=lsr,
        dlsr=int(dlsr * 65536) & 0xFFFFFFFF if lsr else 0,  # §6.4.1: zero when no SR was received
    )


@dataclass(frozen=True, slots=True)
class SenderInfo:
    """The sender-info section of an SR: what was sent, stamped with wallclock and RTP time."""

    ntp_timestamp: int
    rtp_timestamp: int
    packet_count: int
    octet_count: int


def build_report(ssrc: int, cname: str, *, sender: SenderInfo | None, block: ReportBlock | None = None,
                 bye: bool = False, reason: str | None = None) -> bytes:
    """A compound RTCP packet (§6.1): SR when we sent media since the last report (else RR),
    with the report block about the received source if there is one, then SDES CNAME, then BYE
    when the leg is leaving (§6.6: BYE goes last in a compound packet)."""
    reports = (block,) if block is not None else ()
    first: RtcpPacket = (
        SenderReport(ssrc, sender.ntp_timestamp, sender.rtp_timestamp & 0xFFFFFFFF,
                     sender.packet_count & 0xFFFFFFFF, sender.octet_count & 0xFFFFFFFF, reports)
        if sender is not None else ReceiverReport(ssrc, reports)
    )
    packets: list[RtcpPacket] = [first, RawRtcp.sdes_cname(ssrc, cname)]
    if bye:
        packets.append(Bye((ssrc,), reason))
    return build_compound(packets)


def report_interval(random_factor: float, *, initial: bool = False, minimum: float = RTCP_MIN_INTERVAL) -> float:
    """Seconds until the next report of a two-party session (§6.2, §6.3.1, A.7).

    With two members the bandwidth-derived interval (5% of 64 kbit/s shared by 2 members of
    ~100-byte packets: about 0.5 s) is below Tmin, so the deterministic interval is Tmin (halved
    for the first report), randomised by a factor uniform on [0.5, 1.5) from ``random_factor``
    in [0, 1). No e-3/2 compensation: that corrects timer reconsideration, which a fixed
    two-member session never triggers.
    """
    deterministic = minimum / 2 if initial else minimum
    return deterministic * (0.5 + random_factor)
