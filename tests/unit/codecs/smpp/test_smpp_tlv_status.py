"""TLVs (§5.3) and the command_status catalogue (§5.1.3)."""

from __future__ import annotations

import pytest

from openline.codecs.smpp import CommandStatus, SmppParseError, Tlv, TlvTag
from openline.codecs.smpp.status import describe_status, is_transient
from openline.codecs.smpp.tlv import NetworkErrorCode, encode_tlvs, find_tlv, parse_tlvs, tlv_bytes, tlv_int, tlv_str


def test_tlv_wire_form() -> None:
    tlv = Tlv.of_int(TlvTag.SAR_MSG_REF_NUM, 0x1234)
    assert bytes(tlv) == bytes.fromhex("020C 0002 1234")
    assert tlv.name == "sar_msg_ref_num" and Tlv(0x1401).name == "tlv_0x1401"


@pytest.mark.parametrize(
    ("tag", "size"),
    [
        (TlvTag.SAR_MSG_REF_NUM, 2),
        (TlvTag.SAR_TOTAL_SEGMENTS, 1),
        (TlvTag.SAR_SEGMENT_SEQNUM, 1),
        (TlvTag.MESSAGE_STATE, 1),
        (TlvTag.USER_MESSAGE_REFERENCE, 2),
        (TlvTag.SOURCE_PORT, 2),
        (TlvTag.DESTINATION_PORT, 2),
        (TlvTag.SC_INTERFACE_VERSION, 1),
        (TlvTag.MORE_MESSAGES_TO_SEND, 1),
        (TlvTag.PAYLOAD_TYPE, 1),
        (TlvTag.MS_AVAILABILITY_STATUS, 1),
        (TlvTag.DELIVERY_FAILURE_REASON, 1),
        (TlvTag.DPF_RESULT, 1),
        (TlvTag.QOS_TIME_TO_LIVE, 4),
    ],
)
def test_fixed_size_tags(tag: TlvTag, size: int) -> None:
    tlv = Tlv.of_int(tag, 1)
    assert len(tlv.value) == size
    assert parse_tlvs(bytes(tlv)) == (tlv,)
    bad = tag.to_bytes(2, "big") + (size + 1).to_bytes(2, "big") + b"\x00" * (size + 1)
    with pytest.raises(SmppParseError) as info:
        parse_tlvs(bad)
    assert info.value.command_status == CommandStatus.ESME_RINVPARLEN


def test_string_tlvs() -> None:
    tlv = Tlv.of_str(TlvTag.RECEIPTED_MESSAGE_ID, "5E1A")
    assert tlv.value == b"5E1A\x00" and tlv.as_str() == "5E1A"
    assert Tlv(TlvTag.RECEIPTED_MESSAGE_ID, b"5E1A").as_str() == "5E1A"  # missing NULL tolerated
    with pytest.raises(ValueError):
        Tlv.of_str(TlvTag.RECEIPTED_MESSAGE_ID, "x" * 65)
    too_long = bytes(Tlv(TlvTag.ADDITIONAL_STATUS_INFO_TEXT, b"x" * 257))
    with pytest.raises(SmppParseError):
        parse_tlvs(too_long)


def test_network_error_code() -> None:
    code = NetworkErrorCode(3, 0x0022)
    assert code.to_tlv().value == b"\x03\x00\x22"
    assert NetworkErrorCode.from_tlv(code.to_tlv()) == code
    with pytest.raises(SmppParseError):
        NetworkErrorCode.from_tlv(Tlv(TlvTag.NETWORK_ERROR_CODE, b"\x03"))


def test_stream_errors() -> None:
    for bad in (b"\x02", b"\x02\x0c\x00", b"\x04\x24\x00\x05abc"):
        with pytest.raises(SmppParseError) as info:
            parse_tlvs(bad)
        assert info.value.command_status == CommandStatus.ESME_RINVOPTPARSTREAM


def test_lookup_helpers_and_order() -> None:
    tlvs = parse_tlvs(
        encode_tlvs(
            [
                Tlv(0x1400, b"v"),
                Tlv.of_int(TlvTag.MESSAGE_STATE, 2),
                Tlv.of_str(TlvTag.RECEIPTED_MESSAGE_ID, "id"),
                Tlv.of_int(TlvTag.MESSAGE_STATE, 5),
            ]
        )
    )
    assert [t.tag for t in tlvs] == [0x1400, 0x0427, 0x001E, 0x0427]
    assert tlv_int(tlvs, TlvTag.MESSAGE_STATE) == 2  # the first one wins
    assert tlv_str(tlvs, TlvTag.RECEIPTED_MESSAGE_ID) == "id"
    assert tlv_bytes(tlvs, 0x1400) == b"v"
    assert find_tlv(tlvs, TlvTag.DPF_RESULT) is None and tlv_int(tlvs, 1) is None and tlv_str(tlvs, 1) is None


def test_tlv_construction_bounds() -> None:
    with pytest.raises(ValueError):
        Tlv(0x10000)
    with pytest.raises(ValueError):
        Tlv(TlvTag.MESSAGE_PAYLOAD, b"x" * 0x10000)
    with pytest.raises(ValueError):
        Tlv.of_int(TlvTag.SAR_TOTAL_SEGMENTS, 256)
    with pytest.raises(ValueError):
        Tlv.of_int(TlvTag.MESSAGE_PAYLOAD, 1)
    assert Tlv.of_int(0x1400, 7, size=4).value == b"\x00\x00\x00\x07"


def test_status_catalogue_values() -> None:
    assert CommandStatus.ESME_ROK == 0
    assert CommandStatus.ESME_RINVMSGLEN == 0x01
    assert CommandStatus.ESME_RINVCMDLEN == 0x02
    assert CommandStatus.ESME_RINVCMDID == 0x03
    assert CommandStatus.ESME_RMSGQFUL == 0x14
    assert CommandStatus.ESME_RTHROTTLED == 0x58
    assert CommandStatus.ESME_RINVOPTPARSTREAM == 0xC0
    assert CommandStatus.ESME_RUNKNOWNERR == 0xFF
    assert len(CommandStatus) == 48
    assert all(member.description for member in CommandStatus)
    assert CommandStatus(0x58) is CommandStatus.ESME_RTHROTTLED


def test_transient_split() -> None:
    for code in (0x58, 0x14, 0x08, 0x64, 0x04):
        assert is_transient(code)
    for code in (0x00, 0x0A, 0x0B, 0x45, 0x65, 0xFF, 0x0401):
        assert not is_transient(code)


def test_describe_status() -> None:
    assert describe_status(0x58).startswith("ESME_RTHROTTLED (0x00000058): Throttling")
    assert "vendor" in describe_status(0x0400)
    assert "extension" in describe_status(0x0100)
    assert "reserved" in describe_status(0x09)


def test_parse_error_carries_status() -> None:
    exc = SmppParseError("x", CommandStatus.ESME_RINVCMDID)
    assert isinstance(exc, ValueError) and exc.command_status == 3
    rebuilt = exc.__reduce__()
    assert rebuilt[0](*rebuilt[1]).command_status == 3
