"""The codec recipe over tests/vectors/smpp/*.hex (docs/architecture.md, "Tests")."""

from __future__ import annotations

import pytest
from _smpp_helpers import Vector, all_vectors, drain

from openline.codecs.smpp import SmppParseError, parse_pdu
from openline.codecs.smpp.events import (
    NEED_DATA,
    ConnectionClosed,
    MalformedPdu,
    RejectedPdu,
    RequestReceived,
    UnexpectedResponse,
)
from openline.codecs.smpp.pdus_session import EnquireLink, GenericNack
from openline.codecs.smpp.session import Session
from openline.codecs.smpp.states import Role, SessionState

VECTORS = all_vectors()
GOOD = [v for v in VECTORS if v.ok]
BAD = [v for v in VECTORS if not v.ok]
ENQUIRE = bytes(EnquireLink(sequence_number=4242))


def _ids(vectors: list[Vector]) -> list[str]:
    return [v.name for v in vectors]


def _pdu_of(event: object) -> object:
    assert isinstance(event, RequestReceived | RejectedPdu | UnexpectedResponse), event
    return event.pdu


def test_vector_inventory() -> None:
    assert len(GOOD) >= 30 and len(BAD) >= 12


@pytest.mark.parametrize("vector", GOOD, ids=_ids(GOOD))
def test_parses_whole_and_reencodes_identically(vector: Vector) -> None:
    pdu = parse_pdu(vector.data)
    assert bytes(pdu) == vector.data


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("vector", GOOD, ids=_ids(GOOD))
def test_parses_fed_one_byte_at_a_time(vector: Vector, role: Role) -> None:
    session = Session(role)
    events = []
    for i in range(len(vector.data)):
        session.receive_data(vector.data[i : i + 1])
        events += drain(session)
        if i < len(vector.data) - 1:
            assert events == []
    assert len(events) == 1
    assert _pdu_of(events[0]) == parse_pdu(vector.data)


@pytest.mark.parametrize("vector", GOOD, ids=_ids(GOOD))
def test_parses_with_trailing_bytes_left_in_buffer(vector: Vector) -> None:
    session = Session(Role.ESME)
    trailing = ENQUIRE[:7]
    session.receive_data(vector.data + trailing)
    first = session.next_event()
    assert _pdu_of(first) == parse_pdu(vector.data)
    assert session.next_event() is NEED_DATA
    session.receive_data(ENQUIRE[7:])
    assert _pdu_of(session.next_event()).sequence_number == 4242  # type: ignore[attr-defined]


@pytest.mark.parametrize("vector", BAD, ids=_ids(BAD))
def test_malformed_raises_parse_error_with_status(vector: Vector) -> None:
    with pytest.raises(SmppParseError) as info:
        parse_pdu(vector.data)
    assert type(info.value) is SmppParseError
    assert info.value.command_status == vector.status


@pytest.mark.parametrize("vector", BAD, ids=_ids(BAD))
def test_malformed_through_session_costs_one_generic_nack(vector: Vector) -> None:
    session = Session(Role.SMSC)
    session.receive_data(vector.data)
    if vector.incomplete:
        assert session.next_event() is NEED_DATA
        session.receive_data(b"")
        assert session.next_event() == ConnectionClosed(unread=len(vector.data))
        return
    event = session.next_event()
    assert isinstance(event, MalformedPdu)
    assert event.command_status == vector.status
    assert event.fatal is vector.fatal
    assert event.reply == GenericNack(sequence_number=event.sequence_number, command_status=vector.status)
    # The transport can always send the generic_nack, even after framing was lost.
    assert session.send(event.reply, now=0.0) == bytes(event.reply)
    session.receive_data(ENQUIRE)
    if vector.fatal:
        assert session.state is SessionState.CLOSED
        assert session.next_event() is NEED_DATA
    else:
        follow = session.next_event()
        assert isinstance(follow, RequestReceived) and follow.pdu == EnquireLink(sequence_number=4242)


@pytest.mark.parametrize("vector", BAD, ids=_ids(BAD))
def test_malformed_fed_one_byte_at_a_time(vector: Vector) -> None:
    session = Session(Role.ESME)
    events = []
    for i in range(len(vector.data)):
        session.receive_data(vector.data[i : i + 1])
        events += drain(session)
    if vector.incomplete:
        assert events == []
    else:
        assert len(events) == 1 and isinstance(events[0], MalformedPdu)
        assert events[0].command_status == vector.status
