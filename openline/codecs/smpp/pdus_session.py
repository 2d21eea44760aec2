"""Session-management PDUs: bind*, outbind, unbind, enquire_link, generic_nack, alert_notification.

Field order and limits follow SMPP v3.4 §4.1-§4.3, §4.11-§4.12; each C-Octet String limit
includes its NULL terminator (§3.1) and its parse error carries the status §5.1.3 names for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from openline.codecs.smpp.pdu import CommandId, Pdu, cstr, register, u8
from openline.codecs.smpp.status import CommandStatus as S

__all__ = [
    "INTERFACE_VERSION_34",
    "MAX_ADDRESS_RANGE",
    "MAX_PASSWORD",
    "MAX_SYSTEM_ID",
    "MAX_SYSTEM_TYPE",
    "AlertNotification",
    "BindReceiver",
    "BindReceiverResp",
    "BindTransceiver",
    "BindTransceiverResp",
    "BindTransmitter",
    "BindTransmitterResp",
    "EnquireLink",
    "EnquireLinkResp",
    "GenericNack",
    "Outbind",
    "Unbind",
    "UnbindResp",
]

# bind_transmitter field table (§4.1.1); bind_receiver/transceiver and outbind reuse it.
MAX_SYSTEM_ID: Final = 16
MAX_PASSWORD: Final = 9
MAX_SYSTEM_TYPE: Final = 13
MAX_ADDRESS_RANGE: Final = 41
# alert_notification addresses (§4.12.1) are the long (65-octet) kind, like data_sm's.
MAX_ALERT_ADDR: Final = 65
INTERFACE_VERSION_34: Final = 0x34  # §5.2.4: "SMPP version 3.4"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Bind(Pdu):
    system_id: str = cstr(MAX_SYSTEM_ID, S.ESME_RINVSYSID)
    password: str = cstr(MAX_PASSWORD, S.ESME_RINVPASWD)
    system_type: str = cstr(MAX_SYSTEM_TYPE, S.ESME_RINVSYSTYP)
    interface_version: int = u8(INTERFACE_VERSION_34)
    addr_ton: int = u8()
    addr_npi: int = u8()
    address_range: str = cstr(MAX_ADDRESS_RANGE, S.ESME_RINVPARLEN)


@dataclass(frozen=True, slots=True, kw_only=True)
class _BindResp(Pdu):
    """§4.1.2: system_id, then the sc_interface_version TLV; body omitted on error."""

    optional_body: ClassVar[bool] = True
    system_id: str | None = cstr(MAX_SYSTEM_ID, S.ESME_RINVSYSID, optional=True)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitter(_Bind):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitterResp(_BindResp):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER_RESP


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiver(_Bind):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiverResp(_BindResp):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER_RESP


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiver(_Bind):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(_BindResp):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER_RESP


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Outbind(Pdu):
    """§4.1.7: the SMSC asks the ESME to bind_receiver; there is no outbind_resp."""

    command_id: ClassVar[int] = CommandId.OUTBIND
    system_id: str = cstr(MAX_SYSTEM_ID, S.ESME_RINVSYSID)
    password: str = cstr(MAX_PASSWORD, S.ESME_RINVPASWD)


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(Pdu):
    command_id: ClassVar[int] = CommandId.UNBIND


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(Pdu):
    command_id: ClassVar[int] = CommandId.UNBIND_RESP


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(Pdu):
    """§4.3: answer to a PDU whose header is invalid; header only, status says why."""

    command_id: ClassVar[int] = CommandId.GENERIC_NACK


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(Pdu):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(Pdu):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK_RESP


@register
@dataclass(frozen=True, slots=True, kw_only=True)
class AlertNotification(Pdu):
    """§4.12.1: the SMSC tells the ESME a mobile became available; it has no response."""

    command_id: ClassVar[int] = CommandId.ALERT_NOTIFICATION
    source_addr_ton: int = u8()
    source_addr_npi: int = u8()
    source_addr: str = cstr(MAX_ALERT_ADDR, S.ESME_RINVSRCADR)
    esme_addr_ton: int = u8()
    esme_addr_npi: int = u8()
    esme_addr: str = cstr(MAX_ALERT_ADDR, S.ESME_RINVDSTADR)
