"""PDU classes: registry, construction-time bounds, optional bodies, responses, TLV preservation."""

from __future__ import annotations

import dataclasses

import pytest

from openline.codecs.smpp import (
    PDU_CLASSES,
    AlertNotification,
    BindTransmitter,
    BindTransmitterResp,
    CommandId,
    CommandStatus,
    DataSm,
    DeliverSm,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    QuerySmResp,
    SmppParseError,
    SubmitMulti,
    SubmitMultiResp,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    TlvTag,
    parse_pdu,
)
from openline.codecs.smpp.pdu import MAX_PDU_LENGTH, Header, parse_header
from openline.codecs.smpp.pdus_message import DistributionList, SmeAddress, UnsuccessfulSme


def test_every_command_id_has_a_registered_class() -> None:
    assert set(PDU_CLASSES) == {int(c) for c in CommandId}
    for command_id, cls in PDU_CLASSES.items():
        assert cls.command_id == command_id
        assert dataclasses.is_dataclass(cls)
        assert hasattr(cls, "__slots__")


@pytest.mark.parametrize("cls", list(PDU_CLASSES.values()), ids=lambda c: c.__name__)
def test_default_instance_round_trips(cls: type) -> None:
    pdu = cls(sequence_number=3)
    assert parse_pdu(bytes(pdu)) == pdu


def test_pdus_are_frozen() -> None:
    pdu = EnquireLink(sequence_number=1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        pdu.sequence_number = 2  # type: ignore[misc]


def test_header_fields() -> None:
    data = bytes(SubmitSm(sequence_number=0x01020304, short_message=b"abc"))
    assert parse_header(data) == Header(len(data), 0x00000004, 0, 0x01020304)
    with pytest.raises(SmppParseError):
        parse_header(data[:15])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"system_id": "x" * 16}, "system_id"),  # 15 + NULL max (§4.1.1)
        ({"password": "x" * 9}, "password"),
        ({"system_type": "x" * 13}, "system_type"),
        ({"address_range": "x" * 41}, "address_range"),
        ({"addr_ton": 256}, "addr_ton"),
        ({"system_id": "a\x00b"}, "NUL"),
        ({"system_id": "Ω"}, "ISO-8859-1"),
        ({"sequence_number": 1 << 32}, "sequence_number"),
    ],
)
def test_construction_enforces_spec_limits(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BindTransmitter(**kwargs)  # type: ignore[arg-type]


def test_limits_at_the_boundary_are_accepted() -> None:
    pdu = BindTransmitter(system_id="x" * 15, password="y" * 8, system_type="z" * 12, address_range="9" * 40)
    assert parse_pdu(bytes(pdu)) == pdu
    sm = SubmitSm(source_addr="1" * 20, destination_addr="2" * 20, short_message=b"m" * 254)
    assert parse_pdu(bytes(sm)) == sm


def test_wrong_types_are_rejected() -> None:
    with pytest.raises(TypeError):
        SubmitSm(short_message="text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SubmitSm(source_addr=5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SubmitSm(tlvs=[Tlv(1, b"")])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SubmitSm(short_message=b"x" * 255)


def test_data_sm_has_long_addresses() -> None:
    long_addr = "1" * 64  # §4.7.1: Var. max 65
    pdu = DataSm(source_addr=long_addr, destination_addr=long_addr)
    assert parse_pdu(bytes(pdu)) == pdu
    with pytest.raises(ValueError):
        SubmitSm(source_addr=long_addr)
    assert AlertNotification(esme_addr=long_addr).esme_addr == long_addr


def test_response_builder_matches_sequence_and_command() -> None:
    sm = SubmitSm(sequence_number=9)
    ok = sm.response(message_id="abc")
    assert ok == SubmitSmResp(sequence_number=9, message_id="abc")
    err = sm.response(CommandStatus.ESME_RTHROTTLED)
    assert err == SubmitSmResp(sequence_number=9, command_status=0x58, message_id=None)
    assert bytes(err) == bytes.fromhex("00000010 80000004 00000058 00000009")
    assert EnquireLink(sequence_number=2).response() == EnquireLinkResp(sequence_number=2)
    with pytest.raises(ValueError):
        ok.response()
    with pytest.raises(ValueError):
        Outbind().response()


def test_optional_body_round_trips_both_ways() -> None:
    without = BindTransmitterResp(sequence_number=1, command_status=0x0E, system_id=None)
    assert bytes(without) == bytes.fromhex("00000010 80000002 0000000E 00000001")
    assert parse_pdu(bytes(without)) == without and without.body_omitted
    with_body = BindTransmitterResp(sequence_number=1, command_status=0x0E, system_id="")
    assert parse_pdu(bytes(with_body)) == with_body and not with_body.body_omitted
    # An omitted body cannot carry anything else.
    with pytest.raises(ValueError):
        QuerySmResp(message_id=None, message_state=2)
    with pytest.raises(ValueError):
        SubmitSmResp(message_id=None, tlvs=(Tlv(TlvTag.SC_INTERFACE_VERSION, b"\x34"),))


def test_unknown_tlvs_are_preserved_in_order() -> None:
    tlvs = (Tlv(0x1401, b"\x01"), Tlv(TlvTag.USER_MESSAGE_REFERENCE, b"\x00\x07"), Tlv(0x3FFF, b""))
    pdu = DeliverSm(sequence_number=5, short_message=b"x", tlvs=tlvs)
    back = parse_pdu(bytes(pdu))
    assert back.tlvs == tlvs


def test_message_helpers() -> None:
    udh = SubmitSm(esm_class=0x40, short_message=b"\x05\x00\x03\x01\x02\x01hi")
    assert udh.udhi and not udh.is_delivery_receipt
    receipt = DeliverSm(esm_class=0x04, short_message=b"id:1 stat:DELIVRD")
    assert receipt.is_delivery_receipt and receipt.payload == b"id:1 stat:DELIVRD"
    payload = SubmitSm(tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, b"long"),))
    assert payload.payload == b"long"
    assert DataSm().short_message == b""


def test_submit_multi_and_resp_round_trip() -> None:
    multi = SubmitMulti(
        sequence_number=4,
        source_addr="Openline",
        destinations=(SmeAddress(1, 1, "15551230001"), DistributionList("staff")),
        short_message=b"hi",
    )
    assert parse_pdu(bytes(multi)) == multi
    resp = SubmitMultiResp(sequence_number=4, message_id="77", unsuccessful=(UnsuccessfulSme(1, 1, "1555", 0x0B),))
    assert parse_pdu(bytes(resp)) == resp
    with pytest.raises(TypeError):
        SubmitMulti(destinations=("15551230001",))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SubmitMulti(destinations=(SmeAddress(address="1" * 21),))
    with pytest.raises(ValueError):
        SubmitMulti(destinations=tuple(SmeAddress() for _ in range(255)))


def test_encode_refuses_to_exceed_max_pdu_length() -> None:
    big = Tlv(TlvTag.MESSAGE_PAYLOAD, b"x" * 0xFFFF)
    assert len(bytes(SubmitSm(tlvs=(big,)))) < MAX_PDU_LENGTH
    with pytest.raises(ValueError):
        bytes(SubmitSm(tlvs=(big, big)))


def test_parse_pdu_requires_exactly_one_pdu() -> None:
    data = bytes(EnquireLink(sequence_number=1))
    for bad in (data + b"\x00", data[:-1], b"", data[:3]):
        with pytest.raises(SmppParseError) as info:
            parse_pdu(bad)
        assert info.value.command_status == CommandStatus.ESME_RINVCMDLEN


def test_generic_nack_is_a_response() -> None:
    nack = GenericNack(sequence_number=1, command_status=3)
    assert nack.is_response and nack.command_name == "generic_nack"
