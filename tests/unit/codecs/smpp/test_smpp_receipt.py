"""Delivery receipts: Appendix B text (and real-world variants) and the TLV form."""

from __future__ import annotations

from datetime import datetime

import pytest

from openline.codecs.smpp import DeliverSm, SmppParseError, Tlv, TlvTag
from openline.codecs.smpp.receipt import (
    DeliveryReceipt,
    MessageState,
    message_ids_match,
    normalize_message_id,
    parse_receipt_text,
    receipt_from_pdu,
)
from openline.codecs.smpp.tlv import NetworkErrorCode


def test_appendix_b_format() -> None:
    r = parse_receipt_text(
        "id:0123456789 sub:001 dlvrd:001 submit date:2401311200 done date:2401311201 "
        "stat:DELIVRD err:000 Text:Hello world"
    )
    assert r == DeliveryReceipt(
        message_id="0123456789",
        state=MessageState.DELIVERED,
        stat="DELIVRD",
        error="000",
        submitted=1,
        delivered=1,
        submit_date=datetime(2024, 1, 31, 12, 0),
        done_date=datetime(2024, 1, 31, 12, 1),
        text="Hello world",
    )


@pytest.mark.parametrize(
    ("text", "message_id", "state"),
    [
        (
            "id:5E1A2B3C sub:001 dlvrd:000 submit date:240131120000 done date:240131120105 stat:UNDELIV err:034",
            "5E1A2B3C",
            MessageState.UNDELIVERABLE,
        ),
        (
            "ID:42 SUB:001 DLVRD:001 SUBMIT DATE:2401311200 DONE DATE:2401311201 STAT:delivrd ERR:0",
            "42",
            MessageState.DELIVERED,
        ),
        ("id:42 submit_date:2401311200 done_date:2401311201 stat:EXPIRED", "42", MessageState.EXPIRED),
        ("id:42 stat:REJECTD", "42", MessageState.REJECTED),
        ("id:42 stat:ACCEPTD err:000", "42", MessageState.ACCEPTED),
        ("id:42 stat:DELETED", "42", MessageState.DELETED),
        ("id:42 stat:UNKNOWN", "42", MessageState.UNKNOWN),
        ("id:42 stat:ENROUTE", "42", MessageState.ENROUTE),
        ("id:42 stat:SKIPPED", "42", MessageState.SKIPPED),
        ("id:42 stat:DELIVERED", "42", MessageState.DELIVERED),
        ("id:42 stat:FAILED", "42", MessageState.UNDELIVERABLE),
        ("id:42 stat:WEIRD", "42", None),
        ("id:42", "42", None),
    ],
)
def test_real_world_variants(text: str, message_id: str, state: MessageState | None) -> None:
    r = parse_receipt_text(text)
    assert r.message_id == message_id and r.state is state


def test_seconds_and_bad_dates() -> None:
    r = parse_receipt_text("id:1 submit date:240131120005 done date:2413311200 stat:DELIVRD")
    assert r.submit_date == datetime(2024, 1, 31, 12, 0, 5)
    assert r.done_date is None  # month 13


def test_text_field_is_last_and_may_contain_keys() -> None:
    r = parse_receipt_text("id:7 stat:DELIVRD err:000 text:id:999 stat:REJECTD")
    assert r.message_id == "7" and r.state is MessageState.DELIVERED and r.text == "id:999 stat:REJECTD"


def test_missing_id_is_a_parse_error() -> None:
    with pytest.raises(SmppParseError):
        parse_receipt_text("sub:001 dlvrd:001 stat:DELIVRD")
    with pytest.raises(SmppParseError):
        parse_receipt_text("id: stat:DELIVRD")


def test_states_final() -> None:
    assert not MessageState.ENROUTE.is_final
    assert all(s.is_final for s in MessageState if s is not MessageState.ENROUTE)
    assert [int(s) for s in MessageState] == list(range(1, 10))


def test_receipt_from_tlvs_only() -> None:
    pdu = DeliverSm(
        esm_class=0x04,
        tlvs=(
            Tlv.of_str(TlvTag.RECEIPTED_MESSAGE_ID, "abc"),
            Tlv.of_int(TlvTag.MESSAGE_STATE, 5),
            NetworkErrorCode(3, 34).to_tlv(),
        ),
    )
    assert receipt_from_pdu(pdu) == DeliveryReceipt(
        "abc", state=MessageState.UNDELIVERABLE, network_error=NetworkErrorCode(3, 34)
    )


def test_tlvs_win_over_text() -> None:
    pdu = DeliverSm(
        esm_class=0x04,
        short_message=b"id:0000000abc sub:001 dlvrd:001 submit date:2401311200 done date:2401311201 stat:UNDELIV err:001",
        tlvs=(Tlv.of_str(TlvTag.RECEIPTED_MESSAGE_ID, "abc"), Tlv.of_int(TlvTag.MESSAGE_STATE, 2)),
    )
    r = receipt_from_pdu(pdu)
    assert r is not None and r.message_id == "abc" and r.state is MessageState.DELIVERED
    assert r.stat == "UNDELIV" and r.submitted == 1 and r.done_date == datetime(2024, 1, 31, 12, 1)


def test_text_only_receipt_and_ordinary_messages() -> None:
    assert receipt_from_pdu(DeliverSm(short_message=b"hi there")) is None
    r = receipt_from_pdu(DeliverSm(esm_class=0x04, short_message=b"id:9 stat:EXPIRED"))
    assert r is not None and r.state is MessageState.EXPIRED
    with pytest.raises(SmppParseError):
        receipt_from_pdu(DeliverSm(esm_class=0x04, short_message=b"garbage"))
    with pytest.raises(SmppParseError):
        receipt_from_pdu(DeliverSm(esm_class=0x04))
    odd = DeliverSm(esm_class=0x04, short_message=b"garbage", tlvs=(Tlv.of_str(TlvTag.RECEIPTED_MESSAGE_ID, "x"),))
    assert receipt_from_pdu(odd) == DeliveryReceipt("x")
    unknown_state = DeliverSm(tlvs=(Tlv.of_str(TlvTag.RECEIPTED_MESSAGE_ID, "x"), Tlv.of_int(TlvTag.MESSAGE_STATE, 77)))
    assert receipt_from_pdu(unknown_state) == DeliveryReceipt("x")


def test_message_id_matching() -> None:
    assert normalize_message_id(" 000ABC ") == "abc" and normalize_message_id("000") == "0"
    assert message_ids_match("ABC", "0000000abc")
    assert not message_ids_match("16", "10")
    assert message_ids_match("10", "16", cross_base=True)  # hex 0x10 == decimal 16
    assert message_ids_match("255", "ff", cross_base=True)
    assert not message_ids_match("xyz", "12", cross_base=True)
