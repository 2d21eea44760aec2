"""Hypothesis: random input never escapes the codec as anything but its designed outcomes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openline.codecs.smpp import (
    PDU_CLASSES,
    CommandId,
    DeliverSm,
    Role,
    Session,
    SmppParseError,
    SubmitSm,
    Tlv,
    parse_pdu,
)
from openline.codecs.smpp.events import (
    NEED_DATA,
    ConnectionClosed,
    MalformedPdu,
    RejectedPdu,
    RequestReceived,
    ResponseReceived,
    UnexpectedResponse,
)
from openline.codecs.smpp.pdus_message import MAX_SM_ADDR
from openline.codecs.smpp.receipt import parse_receipt_text
from openline.codecs.smpp.udh import split_udh

EVENT_TYPES = (RequestReceived, ResponseReceived, MalformedPdu, RejectedPdu, UnexpectedResponse, ConnectionClosed)
COMMAND_IDS = [int(c) for c in CommandId]


def _header(length: int, command_id: int, status: int = 0, seq: int = 1) -> bytes:
    return b"".join(v.to_bytes(4, "big") for v in (length, command_id, status, seq))


@given(st.binary(max_size=2048))
def test_parse_pdu_only_raises_parse_error(data: bytes) -> None:
    try:
        pdu = parse_pdu(data)
    except SmppParseError:
        return
    assert bytes(pdu) == data


@given(st.sampled_from(COMMAND_IDS), st.binary(max_size=600), st.integers(0, 2**32 - 1))
def test_known_command_random_body(command_id: int, body: bytes, status: int) -> None:
    data = _header(16 + len(body), command_id, status) + body
    try:
        pdu = parse_pdu(data)
    except SmppParseError as exc:
        assert exc.command_status > 0
        return
    # Whatever parses re-encodes to exactly the same octets: nothing is normalised away.
    assert type(pdu) is PDU_CLASSES[command_id]
    assert bytes(pdu) == data


@settings(suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(list(Role)), st.lists(st.binary(min_size=1, max_size=300), max_size=20), st.booleans())
def test_random_bytes_into_session_never_raise(role: Role, chunks: list[bytes], eof: bool) -> None:
    session = Session(role)
    total = 0
    events = []
    for chunk in chunks:
        session.receive_data(chunk, now=1.0)
        total += len(chunk)
        while (event := session.next_event()) is not NEED_DATA:
            assert isinstance(event, EVENT_TYPES)
            events.append(event)
    if eof:
        session.receive_data(b"")
        event = session.next_event()
        assert isinstance(event, ConnectionClosed | MalformedPdu | RequestReceived | RejectedPdu | UnexpectedResponse)
    assert len(events) <= total // 4 + 1
    for event in events:
        if isinstance(event, MalformedPdu) and event.reply is not None:
            # The transport must always be able to send the reply it was handed.
            assert session.send(event.reply, now=1.0)
        if isinstance(event, RejectedPdu) and event.reply is not None:
            assert session.send(event.reply, now=1.0)


frames = st.one_of(
    st.builds(lambda seq: bytes(SubmitSm(sequence_number=seq, short_message=b"ok")), st.integers(1, 2**31 - 1)),
    st.builds(
        lambda cid, body: _header(16 + len(body), cid) + body,
        st.one_of(st.sampled_from(COMMAND_IDS), st.integers(0, 2**32 - 1)),
        st.binary(max_size=100),
    ),
)


@given(st.lists(frames, min_size=1, max_size=30), st.integers(1, 64))
def test_each_well_framed_pdu_costs_exactly_one_event(stream: list[bytes], chunk: int) -> None:
    session = Session(Role.SMSC)
    data = b"".join(stream)
    events = []
    for i in range(0, len(data), chunk):
        session.receive_data(data[i : i + chunk])
        while (event := session.next_event()) is not NEED_DATA:
            events.append(event)
    assert len(events) == len(stream)
    assert not any(isinstance(e, MalformedPdu) and e.fatal for e in events)


addr = st.text(alphabet="0123456789+ABCDEFabcdef", max_size=MAX_SM_ADDR - 1)
u8 = st.integers(0, 255)


@given(
    st.sampled_from([SubmitSm, DeliverSm]),
    addr,
    addr,
    u8,
    u8,
    st.binary(max_size=254),
    st.lists(st.tuples(st.integers(0x1400, 0x3FFF), st.binary(max_size=40)), max_size=4),
)
def test_message_pdus_round_trip(
    cls: type[SubmitSm], src: str, dst: str, esm: int, dcs: int, sm: bytes, tlvs: list[tuple[int, bytes]]
) -> None:
    pdu = cls(
        sequence_number=7,
        source_addr=src,
        destination_addr=dst,
        esm_class=esm,
        data_coding=dcs,
        short_message=sm,
        tlvs=tuple(Tlv(tag, value) for tag, value in tlvs),
    )
    assert parse_pdu(bytes(pdu)) == pdu


@given(st.binary(max_size=200))
def test_udh_parse_only_raises_parse_error(data: bytes) -> None:
    try:
        header, rest = split_udh(data)
    except SmppParseError:
        return
    assert bytes(header) + rest == data


@given(st.text(max_size=300))
def test_receipt_text_only_raises_parse_error(text: str) -> None:
    try:
        receipt = parse_receipt_text(text)
    except SmppParseError:
        return
    assert receipt.message_id
