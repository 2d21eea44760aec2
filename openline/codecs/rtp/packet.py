"""RTP packets (RFC 3550 §5.1): parse and build.

    packet = RtpPacket.parse(datagram)      # RtpParseError on anything malformed
    bytes(packet)

Padding is removed on parse (the padding count is validated) and never added on build; a
header extension (§5.3.1) is kept as (profile, data) so it round-trips.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Final

from openline.codecs.rtp.errors import RtpParseError

__all__ = ["MAX_RTP_PACKET", "RTP_HEADER_SIZE", "RtpPacket", "looks_like_rtcp"]

RTP_HEADER_SIZE: Final = 12
MAX_RTP_PACKET: Final = 1500  # one Ethernet MTU; G.711 20 ms is 172 bytes, nothing legitimate is bigger
_HEADER: Final = struct.Struct("!BBHII")


def looks_like_rtcp(data: bytes) -> bool:
    """RFC 5761 §4: with RTP and RTCP on one port, RTCP packet types 200-204 sit where the
    marker bit and payload type are; they cannot clash with audio payload types 0-95 + M."""
    return len(data) >= 2 and data[0] >> 6 == 2 and 192 <= data[1] <= 223


@dataclass(frozen=True, slots=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrcs: tuple[int, ...] = ()
    extension: tuple[int, bytes] | None = None

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        n = len(data)
        if n < RTP_HEADER_SIZE:
            raise RtpParseError("RTP packet shorter than its fixed header")
        if n > MAX_RTP_PACKET:
            raise RtpParseError("RTP packet larger than the MTU bound")
        b0, b1, seq, ts, ssrc = _HEADER.unpack_from(data)
        if b0 >> 6 != 2:
            raise RtpParseError("RTP version is not 2")
        cc = b0 & 0x0F
        offset = RTP_HEADER_SIZE + 4 * cc
        if offset > n:
            raise RtpParseError("CSRC list runs past the packet")
        csrcs = struct.unpack_from(f"!{cc}I", data, RTP_HEADER_SIZE) if cc else ()
        extension: tuple[int, bytes] | None = None
        if b0 & 0x10:
            if offset + 4 > n:
                raise RtpParseError("header extension runs past the packet")
            profile, words = struct.unpack_from("!HH", data, offset)
            end = offset + 4 + 4 * words
            if end > n:
                raise RtpParseError("header extension runs past the packet")
            extension = (profile, bytes(data[offset + 4 : end]))
            offset = end
        end = n
        if b0 & 0x20:
            pad = data[-1]
            if pad == 0 or offset + pad > n:
                raise RtpParseError("bad RTP padding count")
            end = n - pad
        return cls(
            payload_type=b1 & 0x7F,
            sequence=seq,
            timestamp=ts,
            ssrc=ssrc,
            payload=bytes(data[offset:end]),
            marker=bool(b1 & 0x80),
            csrcs=tuple(csrcs),
            extension=extension,
        )

    def __bytes__(self) -> bytes:
        if not 0 <= self.payload_type <= 127 or len(self.csrcs) > 15:
            raise ValueError("payload type must be 0-127 and at most 15 CSRCs")
        b0 = 0x80 | len(self.csrcs) | (0x10 if self.extension is not None else 0)
        b1 = self.payload_type | (0x80 if self.marker else 0)
        out = _HEADER.pack(b0, b1, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc & 0xFFFFFFFF)
        if self.csrcs:
            out += struct.pack(f"!{len(self.csrcs)}I", *self.csrcs)
        if self.extension is not None:
            profile, data = self.extension
            if len(data) % 4:
                raise ValueError("header extension data must be a multiple of 4 bytes")
            out += struct.pack("!HH", profile, len(data) // 4) + data
        return out + self.payload
