"""Sans-IO SMPP v3.4 codec: PDUs, TLVs, session state machine, encodings, UDH, receipts.

Modules: ``pdu`` (header, registry, parse_pdu), ``pdus_session`` / ``pdus_message`` (the PDUs),
``tlv``, ``status``, ``encoding``, ``udh``, ``concat`` (outbound long messages), ``reassembly``
(inbound long messages), ``receipt``, ``states`` (transition table), ``session``, ``events``.
"""

from openline.codecs.smpp.errors import SmppParseError, SmppSessionError, WindowFullError
from openline.codecs.smpp.events import NEED_DATA
from openline.codecs.smpp.pdu import MAX_PDU_LENGTH, PDU_CLASSES, CommandId, Pdu, parse_pdu
from openline.codecs.smpp.pdus_message import (
    CancelSm,
    CancelSmResp,
    DataSm,
    DataSmResp,
    DeliverSm,
    DeliverSmResp,
    QuerySm,
    QuerySmResp,
    ReplaceSm,
    ReplaceSmResp,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
)
from openline.codecs.smpp.pdus_session import (
    AlertNotification,
    BindReceiver,
    BindReceiverResp,
    BindTransceiver,
    BindTransceiverResp,
    BindTransmitter,
    BindTransmitterResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Unbind,
    UnbindResp,
)
from openline.codecs.smpp.session import Session
from openline.codecs.smpp.states import Role, SessionState
from openline.codecs.smpp.status import CommandStatus, is_transient
from openline.codecs.smpp.tlv import Tlv, TlvTag

__all__ = [
    "MAX_PDU_LENGTH",
    "NEED_DATA",
    "PDU_CLASSES",
    "AlertNotification",
    "BindReceiver",
    "BindReceiverResp",
    "BindTransceiver",
    "BindTransceiverResp",
    "BindTransmitter",
    "BindTransmitterResp",
    "CancelSm",
    "CancelSmResp",
    "CommandId",
    "CommandStatus",
    "DataSm",
    "DataSmResp",
    "DeliverSm",
    "DeliverSmResp",
    "EnquireLink",
    "EnquireLinkResp",
    "GenericNack",
    "Outbind",
    "Pdu",
    "QuerySm",
    "QuerySmResp",
    "ReplaceSm",
    "ReplaceSmResp",
    "Role",
    "Session",
    "SessionState",
    "SmppParseError",
    "SmppSessionError",
    "SubmitMulti",
    "SubmitMultiResp",
    "SubmitSm",
    "SubmitSmResp",
    "Tlv",
    "TlvTag",
    "Unbind",
    "UnbindResp",
    "WindowFullError",
    "is_transient",
    "parse_pdu",
]
