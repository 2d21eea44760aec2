"""User Data Header (3GPP TS 23.040 §9.2.3.24) and the concatenation information it carries.

A UDH is UDHL (one octet: length of what follows) then Information Elements, each IEI (1 octet),
IEDL (1 octet) and IEDL octets of data. In SMPP its presence is flagged by esm_class bit 6, UDHI
(SMPP v3.4 §5.2.12), and it sits at the start of short_message (or message_payload).

Concatenation (§9.2.3.24.1 / §9.2.3.24.8): IEI 0x00 carries an 8-bit reference, IEI 0x08 a
16-bit one, each followed by total-parts and this-part (1-based). The alternative in SMPP itself
is the sar_* TLVs (§5.3.2.22-24), which carry the same three numbers outside the payload.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from openline.codecs.smpp.errors import SmppParseError
from openline.codecs.smpp.status import CommandStatus
from openline.codecs.smpp.tlv import Tlv, TlvTag, tlv_int

__all__ = [
    "IEI_CONCAT_8",
    "IEI_CONCAT_16",
    "Concat",
    "InformationElement",
    "UserDataHeader",
    "concat_from_sar",
    "sar_tlvs",
    "split_udh",
]

IEI_CONCAT_8: Final = 0x00  # §9.2.3.24.1
IEI_CONCAT_16: Final = 0x08  # §9.2.3.24.8
IEI_PORT_8: Final = 0x04  # §9.2.3.24.3 application port addressing, 8-bit
IEI_PORT_16: Final = 0x05  # §9.2.3.24.4 application port addressing, 16-bit
MAX_UDHL: Final = 139  # the UDH lives inside 140 octets of TP-User-Data, UDHL itself takes one


@dataclass(frozen=True, slots=True)
class InformationElement:
    iei: int
    data: bytes

    def __bytes__(self) -> bytes:
        return bytes([self.iei, len(self.data)]) + self.data


@dataclass(frozen=True, slots=True)
class Concat:
    """One part of a concatenated message: shared reference, part count, this part (1-based)."""

    ref: int
    total: int
    seq: int
    ref_bits: Literal[8, 16] = 8

    def __post_init__(self) -> None:
        if not 0 <= self.ref < 1 << self.ref_bits:
            raise ValueError(f"reference {self.ref} does not fit {self.ref_bits} bits")
        if not 1 <= self.total <= 255 or not 1 <= self.seq <= self.total:
            raise ValueError(f"part {self.seq} of {self.total} is not a valid concatenation")

    def to_ie(self) -> InformationElement:
        if self.ref_bits == 8:
            return InformationElement(IEI_CONCAT_8, bytes([self.ref, self.total, self.seq]))
        return InformationElement(IEI_CONCAT_16, self.ref.to_bytes(2, "big") + bytes([self.total, self.seq]))

    @classmethod
    def from_ie(cls, ie: InformationElement) -> Concat | None:
        """The concatenation an IE describes, or None when the receiver must ignore it.

        §9.2.3.24.1: a zero part count, or a part number of zero or above the count, means
        "the receiving entity shall ignore the whole Information Element"; so does a wrong IEDL.
        """
        if ie.iei == IEI_CONCAT_8 and len(ie.data) == 3:
            ref, total, seq = ie.data
            bits: Literal[8, 16] = 8
        elif ie.iei == IEI_CONCAT_16 and len(ie.data) == 4:
            ref, total, seq = int.from_bytes(ie.data[:2], "big"), ie.data[2], ie.data[3]
            bits = 16
        else:
            return None
        if total == 0 or seq == 0 or seq > total:
            return None
        return cls(ref, total, seq, bits)


@dataclass(frozen=True, slots=True)
class UserDataHeader:
    elements: tuple[InformationElement, ...] = ()

    def __bytes__(self) -> bytes:
        body = b"".join(bytes(ie) for ie in self.elements)
        if len(body) > MAX_UDHL:
            raise ValueError(f"UDH of {len(body)} octets does not fit TP-User-Data")
        return bytes([len(body)]) + body

    @property
    def concat(self) -> Concat | None:
        for ie in self.elements:
            found = Concat.from_ie(ie)
            if found is not None:
                return found
        return None

    @classmethod
    def for_concat(cls, concat: Concat, extra: Iterable[InformationElement] = ()) -> UserDataHeader:
        return cls((concat.to_ie(), *extra))


def split_udh(data: bytes) -> tuple[UserDataHeader, bytes]:
    """Split a payload whose UDHI is set into (header, user data after the header).

    A UDHL or IEDL that runs past the payload is ESME_RINVMSGLEN: the message octets do not
    hold what the header claims.
    """
    if not data:
        raise SmppParseError("UDHI set but the message is empty", CommandStatus.ESME_RINVMSGLEN)
    udhl = data[0]
    if 1 + udhl > len(data):
        raise SmppParseError(f"UDHL {udhl} exceeds the {len(data)}-octet message", CommandStatus.ESME_RINVMSGLEN)
    elements: list[InformationElement] = []
    pos, end = 1, 1 + udhl
    while pos < end:
        if pos + 2 > end:
            raise SmppParseError("UDH ends inside an IE header", CommandStatus.ESME_RINVMSGLEN)
        iei, iedl = data[pos], data[pos + 1]
        if pos + 2 + iedl > end:
            raise SmppParseError(f"IE 0x{iei:02X} overruns the UDH", CommandStatus.ESME_RINVMSGLEN)
        elements.append(InformationElement(iei, data[pos + 2 : pos + 2 + iedl]))
        pos += 2 + iedl
    return UserDataHeader(tuple(elements)), data[end:]


def concat_from_sar(tlvs: Iterable[Tlv]) -> Concat | None:
    """Concatenation from sar_msg_ref_num / sar_total_segments / sar_segment_seqnum (§5.3.2.22-24)."""
    items = tuple(tlvs)
    ref = tlv_int(items, TlvTag.SAR_MSG_REF_NUM)
    total = tlv_int(items, TlvTag.SAR_TOTAL_SEGMENTS)
    seq = tlv_int(items, TlvTag.SAR_SEGMENT_SEQNUM)
    if ref is None or total is None or seq is None or total == 0 or not 1 <= seq <= total:
        return None
    return Concat(ref, total, seq, 16)


def sar_tlvs(concat: Concat) -> tuple[Tlv, Tlv, Tlv]:
    return (
        Tlv.of_int(TlvTag.SAR_MSG_REF_NUM, concat.ref),
        Tlv.of_int(TlvTag.SAR_TOTAL_SEGMENTS, concat.total),
        Tlv.of_int(TlvTag.SAR_SEGMENT_SEQNUM, concat.seq),
    )
