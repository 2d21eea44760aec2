"""Optional parameters: Tag-Length-Value fields (SMPP v3.4 §3.2.4, §5.3).

A TLV is ``tag`` (2 octets) ``length`` (2 octets, value only) ``value``. PDUs keep their TLVs as
an ordered tuple of raw ``Tlv(tag, value)`` so that unknown and vendor tags (0x1400-0x3FFF,
§5.3.1) survive a parse/encode round trip unchanged; typed access goes through the helpers here.

On parse, tags whose size the v3.4 tables fix (§5.3.2) are length-checked and answered with
ESME_RINVPARLEN; a stream that ends mid-TLV is ESME_RINVOPTPARSTREAM (§5.1.3). Tags whose size
the spec leaves open, or whose tables are known to differ between issues, are kept as raw octets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from openline.codecs.smpp.errors import SmppParseError
from openline.codecs.smpp.status import CommandStatus
from openline.codecs.smpp.wire import Reader

__all__ = [
    "MAX_ADDITIONAL_STATUS_INFO_TEXT",
    "MAX_RECEIPTED_MESSAGE_ID",
    "NetworkErrorCode",
    "Tlv",
    "TlvTag",
    "encode_tlvs",
    "find_tlv",
    "parse_tlvs",
    "tlv_bytes",
    "tlv_int",
    "tlv_str",
]

# §5.3.2.12 and §5.3.2.11: C-Octet String limits, NULL included.
MAX_RECEIPTED_MESSAGE_ID: Final = 65
MAX_ADDITIONAL_STATUS_INFO_TEXT: Final = 256
MAX_TLV_VALUE: Final = 0xFFFF  # the length field is 2 octets (§3.2.4.1)


class TlvTag(IntEnum):
    """Optional parameter tags, SMPP v3.4 Table 5-18 (§5.3.2)."""

    DEST_ADDR_SUBUNIT = 0x0005
    DEST_NETWORK_TYPE = 0x0006
    DEST_BEARER_TYPE = 0x0007
    DEST_TELEMATICS_ID = 0x0008
    SOURCE_ADDR_SUBUNIT = 0x000D
    SOURCE_NETWORK_TYPE = 0x000E
    SOURCE_BEARER_TYPE = 0x000F
    SOURCE_TELEMATICS_ID = 0x0010
    QOS_TIME_TO_LIVE = 0x0017
    PAYLOAD_TYPE = 0x0019
    ADDITIONAL_STATUS_INFO_TEXT = 0x001D
    RECEIPTED_MESSAGE_ID = 0x001E
    MS_MSG_WAIT_FACILITIES = 0x0030
    PRIVACY_INDICATOR = 0x0201
    SOURCE_SUBADDRESS = 0x0202
    DEST_SUBADDRESS = 0x0203
    USER_MESSAGE_REFERENCE = 0x0204
    USER_RESPONSE_CODE = 0x0205
    SOURCE_PORT = 0x020A
    DESTINATION_PORT = 0x020B
    SAR_MSG_REF_NUM = 0x020C
    LANGUAGE_INDICATOR = 0x020D
    SAR_TOTAL_SEGMENTS = 0x020E
    SAR_SEGMENT_SEQNUM = 0x020F
    SC_INTERFACE_VERSION = 0x0210
    CALLBACK_NUM_PRES_IND = 0x0302
    CALLBACK_NUM_ATAG = 0x0303
    NUMBER_OF_MESSAGES = 0x0304
    CALLBACK_NUM = 0x0381
    DPF_RESULT = 0x0420
    SET_DPF = 0x0421
    MS_AVAILABILITY_STATUS = 0x0422
    NETWORK_ERROR_CODE = 0x0423
    MESSAGE_PAYLOAD = 0x0424
    DELIVERY_FAILURE_REASON = 0x0425
    MORE_MESSAGES_TO_SEND = 0x0426
    MESSAGE_STATE = 0x0427
    USSD_SERVICE_OP = 0x0501
    DISPLAY_TIME = 0x1201
    SMS_SIGNAL = 0x1203
    MS_VALIDITY = 0x1204
    ALERT_ON_MESSAGE_DELIVERY = 0x130C
    ITS_REPLY_TYPE = 0x1380
    ITS_SESSION_INFO = 0x1383


# Fixed value sizes from the §5.3.2.x tables, for the tags whose size we check on parse and use
# for Tlv.of_int. Integers are big-endian like every SMPP integer (§3.1).
_FIXED_SIZE: Final[dict[int, int]] = {
    TlvTag.DEST_ADDR_SUBUNIT: 1,
    TlvTag.DEST_NETWORK_TYPE: 1,
    TlvTag.DEST_BEARER_TYPE: 1,
    TlvTag.SOURCE_ADDR_SUBUNIT: 1,
    TlvTag.SOURCE_NETWORK_TYPE: 1,
    TlvTag.SOURCE_BEARER_TYPE: 1,
    TlvTag.QOS_TIME_TO_LIVE: 4,
    TlvTag.PAYLOAD_TYPE: 1,
    TlvTag.MS_MSG_WAIT_FACILITIES: 1,
    TlvTag.PRIVACY_INDICATOR: 1,
    TlvTag.USER_MESSAGE_REFERENCE: 2,
    TlvTag.USER_RESPONSE_CODE: 1,
    TlvTag.SOURCE_PORT: 2,
    TlvTag.DESTINATION_PORT: 2,
    TlvTag.SAR_MSG_REF_NUM: 2,
    TlvTag.LANGUAGE_INDICATOR: 1,
    TlvTag.SAR_TOTAL_SEGMENTS: 1,
    TlvTag.SAR_SEGMENT_SEQNUM: 1,
    TlvTag.SC_INTERFACE_VERSION: 1,
    TlvTag.CALLBACK_NUM_PRES_IND: 1,
    TlvTag.NUMBER_OF_MESSAGES: 1,
    TlvTag.DPF_RESULT: 1,
    TlvTag.SET_DPF: 1,
    TlvTag.MS_AVAILABILITY_STATUS: 1,
    TlvTag.NETWORK_ERROR_CODE: 3,  # network type (1) + error code (2), §5.3.2.31
    TlvTag.DELIVERY_FAILURE_REASON: 1,
    TlvTag.MORE_MESSAGES_TO_SEND: 1,
    TlvTag.MESSAGE_STATE: 1,
    TlvTag.DISPLAY_TIME: 1,
    TlvTag.SMS_SIGNAL: 2,
    TlvTag.MS_VALIDITY: 1,
    TlvTag.ALERT_ON_MESSAGE_DELIVERY: 0,  # presence is the value (§5.3.2.41)
    TlvTag.ITS_REPLY_TYPE: 1,
    TlvTag.ITS_SESSION_INFO: 2,
}

# C-Octet String TLVs: maximum value length, NULL included.
_CSTRING_MAX: Final[dict[int, int]] = {
    TlvTag.RECEIPTED_MESSAGE_ID: MAX_RECEIPTED_MESSAGE_ID,
    TlvTag.ADDITIONAL_STATUS_INFO_TEXT: MAX_ADDITIONAL_STATUS_INFO_TEXT,
}


@dataclass(frozen=True, slots=True)
class Tlv:
    """One optional parameter exactly as on the wire (value without tag and length)."""

    tag: int
    value: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.tag <= 0xFFFF:
            raise ValueError(f"TLV tag 0x{self.tag:X} does not fit 2 octets")
        if len(self.value) > MAX_TLV_VALUE:
            raise ValueError(f"TLV 0x{self.tag:04X} value is {len(self.value)} octets (max 65535)")

    def __bytes__(self) -> bytes:
        return self.tag.to_bytes(2, "big") + len(self.value).to_bytes(2, "big") + self.value

    @property
    def name(self) -> str:
        try:
            return TlvTag(self.tag).name.lower()
        except ValueError:
            return f"tlv_0x{self.tag:04x}"

    def as_int(self) -> int:
        return int.from_bytes(self.value, "big")

    def as_str(self) -> str:
        """A C-Octet String value; a missing NULL terminator is tolerated (seen in the wild)."""
        raw = self.value[:-1] if self.value.endswith(b"\x00") else self.value
        return raw.decode("latin-1")

    @classmethod
    def of_int(cls, tag: int, value: int, size: int | None = None) -> Tlv:
        width = _FIXED_SIZE.get(tag) if size is None else size
        if width is None:
            raise ValueError(f"TLV 0x{tag:04X} has no fixed integer size; pass size=")
        if not 0 <= value < 1 << (8 * width):
            raise ValueError(f"TLV 0x{tag:04X} value {value} does not fit {width} octet(s)")
        return cls(tag, value.to_bytes(width, "big"))

    @classmethod
    def of_str(cls, tag: int, value: str) -> Tlv:
        encoded = value.encode("latin-1") + b"\x00"
        limit = _CSTRING_MAX.get(tag)
        if limit is not None and len(encoded) > limit:
            raise ValueError(f"TLV 0x{tag:04X} is limited to {limit - 1} characters")
        return cls(tag, encoded)


@dataclass(frozen=True, slots=True)
class NetworkErrorCode:
    """network_error_code value (§5.3.2.31): network type then a 2-octet error code."""

    network_type: int  # 1 ANSI-136, 2 IS-95, 3 GSM, 7 SMPP error, 8 MC specific, ...
    error_code: int

    @classmethod
    def from_tlv(cls, tlv: Tlv) -> NetworkErrorCode:
        if len(tlv.value) != 3:
            raise SmppParseError("network_error_code must be 3 octets", CommandStatus.ESME_RINVPARLEN)
        return cls(tlv.value[0], int.from_bytes(tlv.value[1:], "big"))

    def to_tlv(self) -> Tlv:
        return Tlv(TlvTag.NETWORK_ERROR_CODE, bytes([self.network_type]) + self.error_code.to_bytes(2, "big"))


def parse_tlvs(data: bytes) -> tuple[Tlv, ...]:
    """Parse the optional-parameter part of a PDU body; order and duplicates are preserved."""
    reader = Reader(data)
    out: list[Tlv] = []
    stream = CommandStatus.ESME_RINVOPTPARSTREAM
    while reader.remaining:
        tag = reader.u16("TLV tag", stream)
        length = reader.u16("TLV length", stream)
        value = reader.octets(length, f"TLV 0x{tag:04X} value", stream)
        fixed = _FIXED_SIZE.get(tag)
        if fixed is not None and length != fixed:
            raise SmppParseError(
                f"TLV 0x{tag:04X} must be {fixed} octet(s), got {length}", CommandStatus.ESME_RINVPARLEN
            )
        limit = _CSTRING_MAX.get(tag)
        if limit is not None and length > limit:
            raise SmppParseError(f"TLV 0x{tag:04X} exceeds {limit} octets", CommandStatus.ESME_RINVPARLEN)
        out.append(Tlv(tag, value))
    return tuple(out)


def encode_tlvs(tlvs: Iterable[Tlv]) -> bytes:
    return b"".join(bytes(t) for t in tlvs)


def find_tlv(tlvs: Iterable[Tlv], tag: int) -> Tlv | None:
    """The first TLV with ``tag`` (§3.2.4 does not allow repeats; we keep the first if sent)."""
    for tlv in tlvs:
        if tlv.tag == tag:
            return tlv
    return None


def tlv_int(tlvs: Iterable[Tlv], tag: int) -> int | None:
    tlv = find_tlv(tlvs, tag)
    return None if tlv is None else tlv.as_int()


def tlv_str(tlvs: Iterable[Tlv], tag: int) -> str | None:
    tlv = find_tlv(tlvs, tag)
    return None if tlv is None else tlv.as_str()


def tlv_bytes(tlvs: Iterable[Tlv], tag: int) -> bytes | None:
    tlv = find_tlv(tlvs, tag)
    return None if tlv is None else tlv.value
