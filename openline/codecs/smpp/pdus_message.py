"""Message PDUs: submit_sm, submit_multi, deliver_sm, data_sm, query_sm, cancel_sm, replace_sm.

Field order and limits follow SMPP v3.4 §4.4-§4.10. Limits include the NULL terminator (§3.1).
``short_message`` is stored as raw octets; sm_length is derived from it on encode (§4.4.1), so the
two can never disagree. Text encoding and UDH live in encoding.py and udh.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from openline.codecs.smpp.errors import SmppParseError
from openline.codecs.smpp.pdu import SHORT_MESSAGE, CommandId, Pdu, body_field, cstr, register, u8
from openline.codecs.smpp.status import CommandStatus as S
from openline.codecs.smpp.tlv import TlvTag, find_tlv
from openline.codecs.smpp.wire import CStr, Reader, check_cstring, check_uint, encode_cstring

__all__ = [
    "ESM_CLASS_DELIVERY_RECEIPT",
    "ESM_CLASS_UDHI",
    "MAX_DATA_SM_ADDR",
    "MAX_DESTINATIONS",
    "MAX_MESSAGE_ID",
    "MAX_SERVICE_TYPE",
    "MAX_SM_ADDR",
    "MAX_TIME",
    "CancelSm",
    "CancelSmResp",
    "DataSm",
    "DataSmResp",
    "DeliverSm",
    "DeliverSmResp",
    "DistributionList",
    "QuerySm",
    "QuerySmResp",
    "ReplaceSm",
    "ReplaceSmResp",
    "SmeAddress",
    "SubmitMulti",
    "SubmitMultiResp",
    "SubmitSm",
    "SubmitSmResp",
    "UnsuccessfulSme",
]

MAX_SERVICE_TYPE: Final = 6  # §4.4.1 service_type "Var. max 6"
MAX_SM_ADDR: Final = 21  # §4.4.1 source_addr / destination_addr "Var. max 21"
MAX_DATA_SM_ADDR: Final = 65  # §4.7.1 data_sm addresses "Var. max 65"
MAX_TIME: Final = 17  # §7.1.1 absolute/relative time: 16 characters + NULL, or NULL alone
MAX_MESSAGE_ID: Final = 65  # §4.4.2 message_id "Var. max 65"
MAX_DL_NAME: Final = 21  # §4.5.1.1 dl_name
MAX_DESTINATIONS: Final = 254  # §4.5.1 number_of_dests: "maximum of 254 destination addresses"

# esm_class bits (§5.2.12): GSM features in bits 7-6, message type in bits 5-2.
ESM_CLASS_UDHI: Final = 0x40
ESM_CLASS_TYPE_MASK: Final = 0x3C
ESM_CLASS_DELIVERY_RECEIPT: Final = 0x04  # "xx0001xx SMSC Delivery Receipt"
ESM_CLASS_INTERMEDIATE: Final = 0x20  # "xx1000xx Intermediate Delivery Notification"

_DEST_FLAG_SME: Final = 1  # §5.2.25 dest_flag
_DEST_FLAG_DL: Final = 2


class _MessageMixin:
    """Helpers shared by the PDUs that carry a message (duck-typed on their fields)."""

    __slots__ = ()
    esm_class: int
    short_message: bytes
    tlvs: tuple[Any, ...]

    @property
    def udhi(self) -> bool:
        """short_message starts with a User Data Header (§5.2.12 bit 6)."""
        return bool(self.esm_class & ESM_CLASS_UDHI)

    @property
    def is_delivery_receipt(self) -> bool:
        return self.esm_class & ESM_CLASS_TYPE_MASK in (ESM_CLASS_DELIVERY_RECEIPT, ESM_CLASS_INTERMEDIATE)

    @property
    def payload(self) -> bytes:
        """message_payload TLV if present (§5.3.2.32: it replaces short_message), else short_message."""
        tlv = find_tlv(self.tlvs, TlvTag.MESSAGE_PAYLOAD)
        return self.short_message if tlv is None else tlv.value


@dataclass(frozen=True, slots=True, kw_only=True)
class _ShortMessagePdu(_MessageMixin, Pdu):
    """The common body of submit_sm (§4.4.1) and deliver_sm (§4.6.1)."""

    service_type: str = cstr(MAX_SERVICE_TYPE, S.ESME_RINVSERTYP)
    source_addr_ton: int = u8(0, S.ESME_RINVSRCTON)
    source_addr_npi: int = u8(0, S.ESME_RINVSRCNPI)
    source_addr: str = cstr(MAX_SM_ADDR, S.ESME_RINVSRCADR)
    dest_addr_ton: int = u8(0, S.ESME_RINVDSTTON)
    dest_addr_npi: int = u8(0, S.ESME_RINVDSTNPI)
    destination_addr: str = cstr(MAX_SM_ADDR, S.ESME_RINVDSTADR)
    esm_class: int = u8(0, S.ESME_RINVESMCLASS)
    protocol_id: int = u8()
    priority_flag: int = u8(0, S.ESME_RINVPRTFLG)
    schedule_delivery_time: str = cstr(MAX_TIME, S.ESME_RINVSCHED)
    validity_period: str = cstr(MAX_TIME, S.ESME_RINVEXPIRY)
    registered_delivery: int = u8(0, S.ESME_RINVREGDLVFLG)
    replace_if_present_flag: int = u8(0, S.ESME_RINVREPFLAG)
    data_coding: int = u8()
    sm_default_msg_id: int = u8(0, S.ESME_RINVDFTMSGID)
    short_message: bytes = body_field(SHORT_MESSAGE, bytes)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(_ShortMessagePdu):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(Pdu):
    """§4.4.2: the SMSC's message_id; body omitted when command_status is non-zero."""

    command_id: ClassVar[int] = CommandId.SUBMIT_SM_RESP
    optional_body: ClassVar[bool] = True
    message_id: str | None = cstr(MAX_MESSAGE_ID, S.ESME_RINVMSGID, optional=True)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(_ShortMessagePdu):
    command_id: ClassVar[int] = CommandId.DELIVER_SM


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(Pdu):
    """§4.6.2: message_id is unused and "set to NULL" (an empty C-Octet String)."""

    command_id: ClassVar[int] = CommandId.DELIVER_SM_RESP
    optional_body: ClassVar[bool] = True
    message_id: str | None = cstr(MAX_MESSAGE_ID, S.ESME_RINVMSGID, optional=True)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm(_MessageMixin, Pdu):
    """§4.7.1: no short_message; the payload travels in the message_payload TLV."""

    command_id: ClassVar[int] = CommandId.DATA_SM
    service_type: str = cstr(MAX_SERVICE_TYPE, S.ESME_RINVSERTYP)
    source_addr_ton: int = u8(0, S.ESME_RINVSRCTON)
    source_addr_npi: int = u8(0, S.ESME_RINVSRCNPI)
    source_addr: str = cstr(MAX_DATA_SM_ADDR, S.ESME_RINVSRCADR)
    dest_addr_ton: int = u8(0, S.ESME_RINVDSTTON)
    dest_addr_npi: int = u8(0, S.ESME_RINVDSTNPI)
    destination_addr: str = cstr(MAX_DATA_SM_ADDR, S.ESME_RINVDSTADR)
    esm_class: int = u8(0, S.ESME_RINVESMCLASS)
    registered_delivery: int = u8(0, S.ESME_RINVREGDLVFLG)
    data_coding: int = u8()

    @property
    def short_message(self) -> bytes:  # type: ignore[override]
        return b""


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class DataSmResp(Pdu):
    """§4.7.2: message_id then TLVs (delivery_failure_reason, network_error_code, ...)."""

    command_id: ClassVar[int] = CommandId.DATA_SM_RESP
    optional_body: ClassVar[bool] = True
    message_id: str | None = cstr(MAX_MESSAGE_ID, S.ESME_RINVMSGID, optional=True)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySm(Pdu):
    """§4.8.1."""

    command_id: ClassVar[int] = CommandId.QUERY_SM
    message_id: str = cstr(MAX_MESSAGE_ID, S.ESME_RINVMSGID)
    source_addr_ton: int = u8(0, S.ESME_RINVSRCTON)
    source_addr_npi: int = u8(0, S.ESME_RINVSRCNPI)
    source_addr: str = cstr(MAX_SM_ADDR, S.ESME_RINVSRCADR)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySmResp(Pdu):
    """§4.8.2: final_date is NULL until the message is final; message_state per §5.2.28."""

    command_id: ClassVar[int] = CommandId.QUERY_SM_RESP
    optional_body: ClassVar[bool] = True
    message_id: str | None = cstr(MAX_MESSAGE_ID, S.ESME_RINVMSGID, optional=True)
    final_date: str = cstr(MAX_TIME, S.ESME_RINVPARLEN)
    message_state: int = u8()
    error_code: int = u8()


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSm(Pdu):
    """§4.9.1."""

    command_id: ClassVar[int] = CommandId.CANCEL_SM
    service_type: str = cstr(MAX_SERVICE_TYPE, S.ESME_RINVSERTYP)
    message_id: str = cstr(MAX_MESSAGE_ID, S.ESME_RINVMSGID)
    source_addr_ton: int = u8(0, S.ESME_RINVSRCTON)
    source_addr_npi: int = u8(0, S.ESME_RINVSRCNPI)
    source_addr: str = cstr(MAX_SM_ADDR, S.ESME_RINVSRCADR)
    dest_addr_ton: int = u8(0, S.ESME_RINVDSTTON)
    dest_addr_npi: int = u8(0, S.ESME_RINVDSTNPI)
    destination_addr: str = cstr(MAX_SM_ADDR, S.ESME_RINVDSTADR)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class CancelSmResp(Pdu):
    command_id: ClassVar[int] = CommandId.CANCEL_SM_RESP


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceSm(Pdu):
    """§4.10.1."""

    command_id: ClassVar[int] = CommandId.REPLACE_SM
    message_id: str = cstr(MAX_MESSAGE_ID, S.ESME_RINVMSGID)
    source_addr_ton: int = u8(0, S.ESME_RINVSRCTON)
    source_addr_npi: int = u8(0, S.ESME_RINVSRCNPI)
    source_addr: str = cstr(MAX_SM_ADDR, S.ESME_RINVSRCADR)
    schedule_delivery_time: str = cstr(MAX_TIME, S.ESME_RINVSCHED)
    validity_period: str = cstr(MAX_TIME, S.ESME_RINVEXPIRY)
    registered_delivery: int = u8(0, S.ESME_RINVREGDLVFLG)
    sm_default_msg_id: int = u8(0, S.ESME_RINVDFTMSGID)
    short_message: bytes = body_field(SHORT_MESSAGE, bytes)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class ReplaceSmResp(Pdu):
    command_id: ClassVar[int] = CommandId.REPLACE_SM_RESP


# --- submit_multi (§4.5) -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SmeAddress:
    """dest_flag 1: one SME address (§4.5.1.1)."""

    ton: int = 0
    npi: int = 0
    address: str = ""


@dataclass(frozen=True, slots=True)
class DistributionList:
    """dest_flag 2: a distribution list name known to the SMSC (§4.5.1.2)."""

    name: str = ""


@dataclass(frozen=True, slots=True)
class UnsuccessfulSme:
    """One unsuccess_sme entry of submit_multi_resp (§4.5.2.1): address + 4-octet status."""

    ton: int = 0
    npi: int = 0
    address: str = ""
    error_status_code: int = 0


class _DestAddresses:
    """number_of_dests (1 octet) then dest_flag-tagged address entries."""

    __slots__ = ()

    def read(self, reader: Reader, name: str) -> tuple[SmeAddress | DistributionList, ...]:
        count = reader.u8("number_of_dests")
        if count > MAX_DESTINATIONS:
            raise SmppParseError(f"number_of_dests {count} > {MAX_DESTINATIONS}", S.ESME_RINVNUMDESTS)
        out: list[SmeAddress | DistributionList] = []
        for _ in range(count):
            flag = reader.u8("dest_flag")
            if flag == _DEST_FLAG_SME:
                ton = reader.u8("dest_addr_ton", S.ESME_RINVDSTTON)
                npi = reader.u8("dest_addr_npi", S.ESME_RINVDSTNPI)
                addr = reader.cstring("destination_addr", CStr(MAX_SM_ADDR, S.ESME_RINVDSTADR))
                out.append(SmeAddress(ton, npi, addr))
            elif flag == _DEST_FLAG_DL:
                out.append(DistributionList(reader.cstring("dl_name", CStr(MAX_DL_NAME, S.ESME_RINVDLNAME))))
            else:
                raise SmppParseError(f"dest_flag {flag} is neither 1 nor 2", S.ESME_RINVDESTFLAG)
        return tuple(out)

    def write(self, value: tuple[SmeAddress | DistributionList, ...]) -> bytes:
        parts = [bytes([len(value)])]
        for dest in value:
            if isinstance(dest, SmeAddress):
                parts.append(bytes([_DEST_FLAG_SME, dest.ton, dest.npi]) + encode_cstring(dest.address))
            else:
                parts.append(bytes([_DEST_FLAG_DL]) + encode_cstring(dest.name))
        return b"".join(parts)

    def check(self, value: object, name: str) -> None:
        if not isinstance(value, tuple):
            raise TypeError(f"{name} must be a tuple")
        if len(value) > MAX_DESTINATIONS:
            raise ValueError(f"{name}: at most {MAX_DESTINATIONS} destinations (§4.5.1)")
        for dest in value:
            if isinstance(dest, SmeAddress):
                check_uint(dest.ton, "dest_addr_ton", 1)
                check_uint(dest.npi, "dest_addr_npi", 1)
                check_cstring(dest.address, "destination_addr", MAX_SM_ADDR)
            elif isinstance(dest, DistributionList):
                check_cstring(dest.name, "dl_name", MAX_DL_NAME)
            else:
                raise TypeError(f"{name} entries must be SmeAddress or DistributionList")


class _UnsuccessSmes:
    """no_unsuccess (1 octet) then unsuccess_sme entries (§4.5.2)."""

    __slots__ = ()

    def read(self, reader: Reader, name: str) -> tuple[UnsuccessfulSme, ...]:
        count = reader.u8("no_unsuccess")
        out: list[UnsuccessfulSme] = []
        for _ in range(count):
            ton = reader.u8("dest_addr_ton")
            npi = reader.u8("dest_addr_npi")
            addr = reader.cstring("destination_addr", CStr(MAX_SM_ADDR, S.ESME_RINVDSTADR))
            out.append(UnsuccessfulSme(ton, npi, addr, reader.u32("error_status_code")))
        return tuple(out)

    def write(self, value: tuple[UnsuccessfulSme, ...]) -> bytes:
        parts = [bytes([len(value)])]
        for sme in value:
            parts.append(
                bytes([sme.ton, sme.npi]) + encode_cstring(sme.address) + sme.error_status_code.to_bytes(4, "big")
            )
        return b"".join(parts)

    def check(self, value: object, name: str) -> None:
        if not isinstance(value, tuple) or not all(isinstance(v, UnsuccessfulSme) for v in value):
            raise TypeError(f"{name} must be a tuple of UnsuccessfulSme")
        if len(value) > MAX_DESTINATIONS:
            raise ValueError(f"{name}: at most {MAX_DESTINATIONS} entries")
        for sme in value:
            check_uint(sme.ton, "dest_addr_ton", 1)
            check_uint(sme.npi, "dest_addr_npi", 1)
            check_cstring(sme.address, "destination_addr", MAX_SM_ADDR)
            check_uint(sme.error_status_code, "error_status_code", 4)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitMulti(_MessageMixin, Pdu):
    """§4.5.1: submit_sm with a list of destinations instead of one."""

    command_id: ClassVar[int] = CommandId.SUBMIT_MULTI
    service_type: str = cstr(MAX_SERVICE_TYPE, S.ESME_RINVSERTYP)
    source_addr_ton: int = u8(0, S.ESME_RINVSRCTON)
    source_addr_npi: int = u8(0, S.ESME_RINVSRCNPI)
    source_addr: str = cstr(MAX_SM_ADDR, S.ESME_RINVSRCADR)
    destinations: tuple[SmeAddress | DistributionList, ...] = body_field(_DestAddresses(), tuple)
    esm_class: int = u8(0, S.ESME_RINVESMCLASS)
    protocol_id: int = u8()
    priority_flag: int = u8(0, S.ESME_RINVPRTFLG)
    schedule_delivery_time: str = cstr(MAX_TIME, S.ESME_RINVSCHED)
    validity_period: str = cstr(MAX_TIME, S.ESME_RINVEXPIRY)
    registered_delivery: int = u8(0, S.ESME_RINVREGDLVFLG)
    replace_if_present_flag: int = u8(0, S.ESME_RINVREPFLAG)
    data_coding: int = u8()
    sm_default_msg_id: int = u8(0, S.ESME_RINVDFTMSGID)
    short_message: bytes = body_field(SHORT_MESSAGE, bytes)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitMultiResp(Pdu):
    """§4.5.2: message_id plus the destinations that failed, each with its own status."""

    command_id: ClassVar[int] = CommandId.SUBMIT_MULTI_RESP
    optional_body: ClassVar[bool] = True
    message_id: str | None = cstr(MAX_MESSAGE_ID, S.ESME_RINVMSGID, optional=True)
    unsuccessful: tuple[UnsuccessfulSme, ...] = body_field(_UnsuccessSmes(), tuple)
