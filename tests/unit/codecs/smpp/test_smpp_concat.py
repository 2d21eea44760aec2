"""UDH (TS 23.040 §9.2.3.24), outbound concatenation and the inbound reassembler."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openline.codecs import gsm0338
from openline.codecs.smpp import SmppParseError, SubmitSm, Tlv, TlvTag, parse_pdu
from openline.codecs.smpp.concat import ConcatMethod, build_parts, segment_limit, split_payload, split_text
from openline.codecs.smpp.encoding import decode_text, unpack_gsm
from openline.codecs.smpp.reassembly import ConcatKey, DropReason, Reassembler
from openline.codecs.smpp.udh import (
    Concat,
    InformationElement,
    UserDataHeader,
    concat_from_sar,
    sar_tlvs,
    split_udh,
)


def test_udh8_wire_form() -> None:
    udh = UserDataHeader.for_concat(Concat(0xCC, 3, 2))
    assert bytes(udh).hex() == "050003cc0302"
    parsed, rest = split_udh(bytes(udh) + b"text")
    assert parsed == udh and rest == b"text" and parsed.concat == Concat(0xCC, 3, 2)


def test_udh16_wire_form() -> None:
    udh = UserDataHeader.for_concat(Concat(0x1234, 3, 1, 16))
    assert bytes(udh).hex() == "06080412340301"
    assert split_udh(bytes(udh))[0].concat == Concat(0x1234, 3, 1, 16)


def test_udh_with_other_elements_first() -> None:
    port = InformationElement(0x05, bytes.fromhex("0b840000"))  # 16-bit application ports
    udh = UserDataHeader.for_concat(Concat(1, 2, 2), extra=[port])
    header, _ = split_udh(bytes(UserDataHeader((port, *udh.elements[:1]))))
    assert header.concat == Concat(1, 2, 2)


@pytest.mark.parametrize(
    "data",
    [
        bytes.fromhex("050003cc0300"),
        bytes.fromhex("050003cc0004"),
        bytes.fromhex("050003cc0204"),
        bytes.fromhex("0400020102"),
    ],
)
def test_invalid_concat_ie_is_ignored(data: bytes) -> None:
    # §9.2.3.24.1: a zero count, or a part of zero or above the count, means ignore the IE.
    header, _ = split_udh(data)
    assert header.concat is None


@pytest.mark.parametrize("data", [b"", b"\x05\x00\x03", b"\x03\x00\x05\x01", b"\x01\x00"])
def test_broken_udh_is_a_parse_error(data: bytes) -> None:
    with pytest.raises(SmppParseError):
        split_udh(data)


def test_concat_validation() -> None:
    for bad in ((256, 2, 1, 8), (0, 0, 0, 8), (0, 2, 3, 8), (70000, 2, 1, 16)):
        with pytest.raises(ValueError):
            Concat(*bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        bytes(UserDataHeader((InformationElement(0x70, b"x" * 140),)))


def test_sar_tlvs_round_trip() -> None:
    concat = Concat(0x0102, 2, 1, 16)
    assert concat_from_sar(sar_tlvs(concat)) == concat
    assert concat_from_sar(sar_tlvs(concat)[:2]) is None
    bad = (
        Tlv.of_int(TlvTag.SAR_MSG_REF_NUM, 1),
        Tlv.of_int(TlvTag.SAR_TOTAL_SEGMENTS, 2),
        Tlv.of_int(TlvTag.SAR_SEGMENT_SEQNUM, 3),
    )
    assert concat_from_sar(bad) is None


@pytest.mark.parametrize(
    ("method", "dcs", "limit"),
    [
        (None, 0, 160),
        (None, 8, 70),
        (None, 4, 140),
        (ConcatMethod.UDH8, 0, 153),
        (ConcatMethod.UDH8, 8, 67),
        (ConcatMethod.UDH8, 4, 134),
        (ConcatMethod.UDH16, 0, 152),
        (ConcatMethod.UDH16, 8, 66),
        (ConcatMethod.SAR, 0, 152),
        (ConcatMethod.PAYLOAD, 0, 65535),
    ],
)
def test_segment_limits(method: ConcatMethod | None, dcs: int, limit: int) -> None:
    assert segment_limit(method, dcs) == limit


def test_split_never_breaks_escape_or_surrogate_pairs() -> None:
    septets = gsm0338.encode_septets("a" * 152 + "€" + "b")
    parts = split_payload(septets, 0, 153)
    assert [len(p) for p in parts] == [152, 3]
    assert "".join(gsm0338.decode_septets(p) for p in parts) == "a" * 152 + "€b"
    ucs2 = ("x" * 66 + "😀").encode("utf-16-be")
    parts = split_payload(ucs2, 8, 67)
    assert [len(p) // 2 for p in parts] == [66, 2]


@given(st.text(alphabet="ab€{}^ ", max_size=600), st.sampled_from(list(ConcatMethod)))
def test_split_text_property(text: str, method: ConcatMethod) -> None:
    dcs, parts = split_text(text, method)
    assert "".join(gsm0338.decode_septets(p) for p in parts) == text
    limit = segment_limit(method, dcs) if len(parts) > 1 else segment_limit(None, dcs)
    if method is not ConcatMethod.PAYLOAD:
        assert all(len(p) <= limit for p in parts)


def _template() -> SubmitSm:
    return SubmitSm(source_addr="Openline", destination_addr="15551234567", registered_delivery=1)


@pytest.mark.parametrize("packed", [False, True])
def test_three_part_udh8_message(packed: bool) -> None:
    text = "".join(chr(ord("A") + i % 26) for i in range(400))
    dcs, payloads = split_text(text, ConcatMethod.UDH8)
    parts = build_parts(payloads, ConcatMethod.UDH8, dcs, ref=0x5A, packed=packed)
    assert len(parts) == 3
    pdus = [p.apply(_template()) for p in parts]
    decoded = []
    for seq, pdu in enumerate(pdus, start=1):
        pdu = parse_pdu(bytes(pdu))
        assert isinstance(pdu, SubmitSm) and pdu.udhi and pdu.registered_delivery == 1
        assert len(pdu.short_message) <= 140 if packed else len(pdu.short_message) <= 6 + 153
        header, body = split_udh(pdu.short_message)
        assert header.concat == Concat(0x5A, 3, seq)
        decoded.append(decode_text(0, unpack_gsm(body, 1) if packed else body))
    assert "".join(decoded) == text


def test_udh16_and_sar_and_payload_methods() -> None:
    dcs, payloads = split_text("日本語" * 50, ConcatMethod.UDH16)
    assert dcs == 8 and len(payloads) == 3
    udh16 = build_parts(payloads, ConcatMethod.UDH16, dcs, ref=0xBEEF)
    assert split_udh(udh16[2].short_message)[0].concat == Concat(0xBEEF, 3, 3, 16)
    sar = build_parts(payloads, ConcatMethod.SAR, dcs, ref=0xBEEF)
    assert all(p.esm_class == 0 for p in sar)
    assert concat_from_sar(sar[1].tlvs) == Concat(0xBEEF, 3, 2, 16)
    assert b"".join(p.short_message for p in sar).decode("utf-16-be") == "日本語" * 50
    whole = build_parts(payloads, ConcatMethod.PAYLOAD, dcs, ref=0)
    assert len(whole) == 1 and whole[0].short_message == b""
    pdu = whole[0].apply(_template())
    assert pdu.payload.decode("utf-16-be") == "日本語" * 50


def test_single_part_needs_no_concatenation() -> None:
    dcs, payloads = split_text("short", ConcatMethod.UDH8)
    (part,) = build_parts(payloads, ConcatMethod.UDH8, dcs, ref=1, packed=True)
    assert part.esm_class == 0 and part.tlvs == () and decode_text(0, part.short_message, packed=True) == "short"


def test_packed_full_part_ending_in_cr_still_fits() -> None:
    septets = gsm0338.encode_septets("x" * 152 + "\r" + "tail")
    parts = build_parts(split_payload(septets, 0, 153), ConcatMethod.UDH8, 0, ref=1, packed=True)
    assert [len(p.short_message) for p in parts] == [140, 6 + 4]
    # Known limit: without the doubled CR a receiver that strips padding loses that final CR
    # (a handset reading TP-UDL would not); the alternative was a 141-octet part.
    assert unpack_gsm(split_udh(parts[0].short_message)[1], 1) == septets[:152]


def test_build_parts_validation() -> None:
    with pytest.raises(ValueError):
        build_parts([], ConcatMethod.UDH8, 0, 1)
    with pytest.raises(ValueError):
        build_parts([b"a" * 154, b"b"], ConcatMethod.UDH8, 0, 1)
    with pytest.raises(ValueError):
        build_parts([b"a"] * 256, ConcatMethod.UDH8, 0, 1)
    with pytest.raises(ValueError):
        build_parts([b"a", b"b"], ConcatMethod.UDH8, 0, 256)
    with pytest.raises(ValueError):
        build_parts([b"a" * 40000, b"b" * 40000], ConcatMethod.PAYLOAD, 4, 1)


# --- reassembly -------------------------------------------------------------------------------


def _key(ref: int = 1, total: int = 3) -> ConcatKey:
    return ConcatKey("15551234567", "Openline", ref, total)


def test_reassembles_out_of_order_and_ignores_duplicates() -> None:
    r: Reassembler[bytes] = Reassembler()
    assert r.add(_key(), 3, b"c", now=0) is None
    assert r.add(_key(), 1, b"a", now=1) is None
    assert r.add(_key(), 1, b"A", now=2) is None and r.duplicates == 1
    assert r.add(_key(), 2, b"b", now=3) == [b"a", b"b", b"c"]
    assert len(r) == 0
    assert r.add(_key(total=1), 1, b"only", now=4) == [b"only"]


def test_same_reference_different_total_or_source_are_different_messages() -> None:
    r: Reassembler[str] = Reassembler()
    r.add(_key(total=2), 1, "x", now=0)
    r.add(_key(total=3), 1, "y", now=0)
    r.add(ConcatKey("other", "Openline", 1, 2), 1, "z", now=0)
    assert len(r) == 3


def test_expiry_uses_explicit_now() -> None:
    r: Reassembler[bytes] = Reassembler(ttl=60)
    r.add(_key(1), 1, b"a", now=0)
    r.add(_key(2), 1, b"b", now=30)
    assert r.expire(59) == []
    (dropped,) = r.expire(60)
    assert dropped.key == _key(1) and dropped.parts == {1: b"a"} and dropped.reason is DropReason.EXPIRED
    assert len(r) == 1


def test_bounded_pending_evicts_oldest() -> None:
    r: Reassembler[bytes] = Reassembler(max_pending=2)
    for ref in range(3):
        r.add(_key(ref), 1, b"x", now=ref)
    assert len(r) == 2
    (evicted,) = r.expire(0)
    assert evicted.key.ref == 0 and evicted.reason is DropReason.EVICTED


def test_reassembler_rejects_invalid_parts() -> None:
    r: Reassembler[bytes] = Reassembler()
    with pytest.raises(ValueError):
        r.add(_key(total=2), 3, b"x", now=0)
    with pytest.raises(ValueError):
        r.add(_key(total=2), 0, b"x", now=0)
    with pytest.raises(ValueError):
        Reassembler(max_pending=0)
