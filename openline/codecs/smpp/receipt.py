"""Delivery receipts: the TLV form and the de-facto text form (SMPP v3.4 Appendix B).

An SMSC reports a message's fate in a deliver_sm (or data_sm) whose esm_class message type is
"SMSC Delivery Receipt" (§5.2.12). v3.4 carries it two ways, often both at once:

* TLVs: receipted_message_id, message_state, network_error_code (§5.3.2.12, .35, .31);
* text in short_message, Appendix B's example format::

    id:IIIIIIIIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E Text: ...

Appendix B says the format is SMSC-vendor specific, and real SMSCs vary: ids in hex or decimal,
fields missing or reordered, lower case keys, ``submit_date`` spellings, 12-digit dates with
seconds, full-word states. Parsing is therefore by key, not position, and TLVs win over text
when both are present because they are typed and not vendor-formatted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum
from typing import Final

from openline.codecs.smpp.encoding import decode_text
from openline.codecs.smpp.errors import SmppParseError
from openline.codecs.smpp.pdus_message import DataSm, DeliverSm
from openline.codecs.smpp.status import CommandStatus
from openline.codecs.smpp.tlv import NetworkErrorCode, TlvTag, find_tlv, tlv_int, tlv_str

__all__ = [
    "DeliveryReceipt",
    "MessageState",
    "message_ids_match",
    "normalize_message_id",
    "parse_receipt_text",
    "receipt_from_pdu",
]

MAX_RECEIPT_TEXT: Final = 1024  # receipts are one short_message (254) or a modest payload


class MessageState(IntEnum):
    """message_state (§5.2.28); SKIPPED comes from SMPP v5.0 and is seen from newer SMSCs."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8
    SKIPPED = 9

    @property
    def is_final(self) -> bool:
        """Every state except ENROUTE is final (§5.2.28: ENROUTE is "in enroute state")."""
        return self is not MessageState.ENROUTE


# Appendix B Table B-2 "stat" values, plus full-word spellings SMSCs use instead.
_STAT: Final[dict[str, MessageState]] = {
    "ENROUTE": MessageState.ENROUTE,
    "DELIVRD": MessageState.DELIVERED,
    "DELIVERED": MessageState.DELIVERED,
    "EXPIRED": MessageState.EXPIRED,
    "DELETED": MessageState.DELETED,
    "UNDELIV": MessageState.UNDELIVERABLE,
    "UNDELIVERABLE": MessageState.UNDELIVERABLE,
    "UNDELIVERED": MessageState.UNDELIVERABLE,
    "FAILED": MessageState.UNDELIVERABLE,  # Kannel-style gateways relay this
    "ACCEPTD": MessageState.ACCEPTED,
    "ACCEPTED": MessageState.ACCEPTED,
    "UNKNOWN": MessageState.UNKNOWN,
    "REJECTD": MessageState.REJECTED,
    "REJECTED": MessageState.REJECTED,
    "SKIPPED": MessageState.SKIPPED,
}

# Keys in any case; "submit date" / "submit_date" / "submitdate". "text" is always last and takes
# the rest of the string, so an "id:" inside the original text cannot confuse the parse.
_KEY = re.compile(r"(?i)(?:^|(?<=\s))(id|sub|dlvrd|submit[ _]?date|done[ _]?date|stat|err|text)\s*:")


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    message_id: str
    state: MessageState | None = None
    stat: str | None = None  # the raw text "stat" value
    error: str | None = None  # the raw "err" value (network- or SMSC-specific)
    network_error: NetworkErrorCode | None = None
    submitted: int | None = None
    delivered: int | None = None
    submit_date: datetime | None = None
    done_date: datetime | None = None
    text: str | None = None


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _date_or_none(value: str | None) -> datetime | None:
    # YYMMDDhhmm (Appendix B) or YYMMDDhhmmss; years are 20YY. Times carry no zone (SMSC local).
    if value is None or not value.isdigit() or len(value) not in (10, 12):
        return None
    parts = [int(value[i : i + 2]) for i in range(0, len(value), 2)]
    try:
        return datetime(2000 + parts[0], parts[1], parts[2], parts[3], parts[4], parts[5] if len(parts) > 5 else 0)
    except ValueError:
        return None


def parse_receipt_text(text: str) -> DeliveryReceipt:
    """Parse Appendix B text; raises ``SmppParseError`` (ESME_RX_P_APPN) when there is no id."""
    text = text[:MAX_RECEIPT_TEXT]
    fields: dict[str, str] = {}
    matches = list(_KEY.finditer(text))
    for i, match in enumerate(matches):
        key = re.sub(r"[ _]", "", match.group(1).lower())
        if key in fields:
            continue
        if key == "text":
            fields[key] = text[match.end() :]
            break
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        fields[key] = text[match.end() : end].strip()
    message_id = fields.get("id", "").split()[0] if fields.get("id", "").split() else ""
    if not message_id:
        raise SmppParseError("delivery receipt text has no id", CommandStatus.ESME_RX_P_APPN)
    stat = fields.get("stat")
    return DeliveryReceipt(
        message_id=message_id,
        state=_STAT.get(stat.upper()) if stat else None,
        stat=stat or None,
        error=fields.get("err") or None,
        submitted=_int_or_none(fields.get("sub")),
        delivered=_int_or_none(fields.get("dlvrd")),
        submit_date=_date_or_none(fields.get("submitdate")),
        done_date=_date_or_none(fields.get("donedate")),
        text=fields.get("text"),
    )


def receipt_from_pdu(pdu: DeliverSm | DataSm, *, packed: bool = False) -> DeliveryReceipt | None:
    """The receipt a deliver_sm / data_sm carries, or None if it is an ordinary message.

    Raises ``SmppParseError`` for a PDU flagged as a receipt with neither a receipted_message_id
    TLV nor a parsable text id.
    """
    tlvs = pdu.tlvs
    tlv_id = tlv_str(tlvs, TlvTag.RECEIPTED_MESSAGE_ID)
    if not pdu.is_delivery_receipt and tlv_id is None:
        return None
    raw_state = tlv_int(tlvs, TlvTag.MESSAGE_STATE)
    state: MessageState | None = None
    if raw_state is not None and raw_state in MessageState._value2member_map_:
        state = MessageState(raw_state)
    net_tlv = find_tlv(tlvs, TlvTag.NETWORK_ERROR_CODE)
    network_error = None if net_tlv is None else NetworkErrorCode.from_tlv(net_tlv)
    payload = pdu.payload
    text_receipt: DeliveryReceipt | None = None
    if payload:
        body = decode_text(pdu.data_coding, payload, packed=packed, strict=False)
        try:
            text_receipt = parse_receipt_text(body)
        except SmppParseError:
            if tlv_id is None:
                raise
    if text_receipt is None:
        if tlv_id is None:
            raise SmppParseError("receipt without id", CommandStatus.ESME_RX_P_APPN)
        return DeliveryReceipt(message_id=tlv_id, state=state, network_error=network_error)
    return DeliveryReceipt(
        message_id=tlv_id if tlv_id else text_receipt.message_id,
        state=state if state is not None else text_receipt.state,
        stat=text_receipt.stat,
        error=text_receipt.error,
        network_error=network_error,
        submitted=text_receipt.submitted,
        delivered=text_receipt.delivered,
        submit_date=text_receipt.submit_date,
        done_date=text_receipt.done_date,
        text=text_receipt.text,
    )


_HEX: Final = frozenset("0123456789abcdefABCDEF")


def normalize_message_id(message_id: str) -> str:
    """Case- and zero-padding-insensitive form: receipts often pad ids to 10 digits."""
    return message_id.strip().lower().lstrip("0") or "0"


def message_ids_match(submit_id: str, receipt_id: str, *, cross_base: bool = False) -> bool:
    """Does a receipt id refer to a submit_sm_resp message_id?

    Always ignores case and leading zeros. ``cross_base=True`` (a per-carrier setting) also
    accepts the same number written in hex on one side and decimal on the other, an SMPP 3.3
    habit some SMSCs keep (hex in submit_sm_resp, decimal in the receipt, or vice versa). It is
    off by default because "16" and "10" would then match.
    """
    a, b = normalize_message_id(submit_id), normalize_message_id(receipt_id)
    if a == b:
        return True
    if not cross_base or not (set(a) <= _HEX and set(b) <= _HEX):
        return False
    return (a.isdigit() and int(a, 10) == int(b, 16)) or (b.isdigit() and int(b, 10) == int(a, 16))
