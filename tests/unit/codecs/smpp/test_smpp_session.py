"""Session state machine, tested as ESME <-> SMSC pairs in memory with explicit ``now`` values."""

from __future__ import annotations

import pytest
from _smpp_helpers import deliver, drain

from openline.codecs.smpp import (
    NEED_DATA,
    AlertNotification,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    CommandStatus,
    DataSm,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    Outbind,
    Role,
    Session,
    SessionState,
    SmppSessionError,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    TlvTag,
    Unbind,
    UnbindResp,
    WindowFullError,
)
from openline.codecs.smpp.concat import ConcatMethod, build_parts, split_text
from openline.codecs.smpp.encoding import decode_text
from openline.codecs.smpp.events import (
    ConnectionClosed,
    MalformedPdu,
    RejectedPdu,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    UnexpectedResponse,
)
from openline.codecs.smpp.reassembly import ConcatKey, Reassembler
from openline.codecs.smpp.receipt import MessageState, receipt_from_pdu
from openline.codecs.smpp.session import MAX_SEQUENCE_NUMBER
from openline.codecs.smpp.udh import split_udh

S = SessionState


def bound_pair(
    bind: type[BindTransmitter | BindReceiver | BindTransceiver] = BindTransceiver, **esme_kwargs: object
) -> tuple[Session, Session]:
    esme = Session(Role.ESME, **esme_kwargs)  # type: ignore[arg-type]
    smsc = Session(Role.SMSC)
    (req,) = deliver(esme.send(bind(system_id="acme", password="secret"), now=0.0), smsc)
    assert isinstance(req, RequestReceived) and req.pdu.command_id == bind.command_id
    assert smsc.state is S.OPEN  # bound only once the response is out (§2.2)
    (resp,) = deliver(smsc.send(req.pdu.response(system_id="SMSC"), now=0.0), esme)
    assert isinstance(resp, ResponseReceived)
    return esme, smsc


@pytest.mark.parametrize(
    ("bind", "state"),
    [(BindTransmitter, S.BOUND_TX), (BindReceiver, S.BOUND_RX), (BindTransceiver, S.BOUND_TRX)],
)
def test_bind_moves_both_ends(bind: type[BindTransmitter], state: SessionState) -> None:
    esme, smsc = bound_pair(bind)
    assert esme.state is state and smsc.state is state and esme.is_bound and esme.outstanding == 0


def test_failed_bind_stays_open_and_can_retry() -> None:
    esme, smsc = Session(Role.ESME), Session(Role.SMSC)
    (req,) = deliver(esme.send(BindTransceiver(system_id="acme", password="bad"), now=0), smsc)
    (resp,) = deliver(smsc.send(req.pdu.response(CommandStatus.ESME_RINVPASWD), now=0), esme)  # type: ignore[union-attr]
    assert isinstance(resp, ResponseReceived) and resp.pdu.command_status == CommandStatus.ESME_RINVPASWD
    assert resp.pdu.body_omitted
    assert esme.state is S.OPEN and smsc.state is S.OPEN
    (req,) = deliver(esme.send(BindTransceiver(system_id="acme", password="good"), now=1), smsc)
    deliver(smsc.send(req.pdu.response(system_id="SMSC"), now=1), esme)  # type: ignore[union-attr]
    assert esme.state is S.BOUND_TRX


def test_three_part_udh_submit_reassembled_at_the_smsc() -> None:
    esme, smsc = bound_pair()
    text = "Openline speaks SMPP. " * 18  # 396 GSM septets -> 3 parts of <= 153
    dcs, payloads = split_text(text, ConcatMethod.UDH8)
    template = SubmitSm(source_addr="Openline", destination_addr="15551234567", registered_delivery=1)
    pdus = [esme.stamp(part.apply(template)) for part in build_parts(payloads, ConcatMethod.UDH8, dcs, ref=0x42)]
    assert [p.sequence_number for p in pdus] == [2, 3, 4]
    wire = b"".join(esme.send(p, now=1.0) for p in pdus)
    assert esme.outstanding == 3

    reassembler: Reassembler[str] = Reassembler()
    complete = None
    acks = b""
    for event in deliver(wire, smsc, now=1.0):
        assert isinstance(event, RequestReceived) and isinstance(event.pdu, SubmitSm)
        header, body = split_udh(event.pdu.short_message)
        assert header.concat is not None
        key = ConcatKey(event.pdu.source_addr, event.pdu.destination_addr, header.concat.ref, header.concat.total)
        complete = (
            reassembler.add(key, header.concat.seq, decode_text(event.pdu.data_coding, body), now=1.0) or complete
        )
        acks += smsc.send(event.pdu.response(message_id=f"m{event.pdu.sequence_number}"), now=1.0)
    assert complete is not None and "".join(complete) == text

    events = deliver(acks, esme, now=1.5)
    assert [e.pdu.message_id for e in events] == ["m2", "m3", "m4"]  # type: ignore[union-attr]
    assert all(isinstance(e, ResponseReceived) and e.sent_at == 1.0 for e in events)
    assert esme.outstanding == 0


def test_delivery_receipt_from_smsc() -> None:
    esme, smsc = bound_pair()
    receipt = DeliverSm(
        source_addr="15551234567",
        destination_addr="Openline",
        esm_class=0x04,
        short_message=b"id:m2 sub:001 dlvrd:001 submit date:2401311200 done date:2401311201 stat:DELIVRD err:000 text:",
        tlvs=(Tlv.of_str(TlvTag.RECEIPTED_MESSAGE_ID, "m2"), Tlv.of_int(TlvTag.MESSAGE_STATE, 2)),
    )
    (event,) = deliver(smsc.send(receipt, now=5), esme, now=5)
    assert isinstance(event, RequestReceived)
    parsed = receipt_from_pdu(event.pdu)
    assert parsed is not None and parsed.message_id == "m2" and parsed.state is MessageState.DELIVERED
    (ack,) = deliver(esme.send(event.pdu.response(message_id=""), now=5), smsc)
    assert isinstance(ack, ResponseReceived) and ack.pdu == DeliverSmResp(sequence_number=1, message_id="")


def test_enquire_link_timer_and_exchange() -> None:
    esme, smsc = bound_pair(enquire_link_interval=30.0)
    assert not esme.enquire_link_due(29.9)
    assert esme.enquire_link_due(30.0)
    (req,) = deliver(esme.send(EnquireLink(), now=30.0), smsc, now=30.0)
    assert isinstance(req, RequestReceived)
    assert not esme.enquire_link_due(100.0)  # one probe at a time
    (resp,) = deliver(smsc.send(req.pdu.response(), now=30.0), esme, now=30.5)
    assert isinstance(resp, ResponseReceived) and isinstance(resp.pdu, EnquireLinkResp)
    assert not esme.enquire_link_due(60.0) and esme.enquire_link_due(60.5)
    # The SMSC may probe too, and traffic resets its idle time.
    assert smsc.enquire_link_due(60.0)
    assert not Session(Role.ESME).enquire_link_due(1e9)  # not bound
    assert not bound_pair(enquire_link_interval=None)[0].enquire_link_due(1e9)


def test_enquire_link_accepted_before_bind() -> None:
    esme, smsc = Session(Role.ESME), Session(Role.SMSC)
    (req,) = deliver(smsc.send(EnquireLink(), now=0), esme)
    assert isinstance(req, RequestReceived)
    deliver(esme.send(req.pdu.response(), now=0), smsc)


@pytest.mark.parametrize("initiator", ["esme", "smsc"])
def test_unbind_from_either_side(initiator: str) -> None:
    esme, smsc = bound_pair()
    a, b = (esme, smsc) if initiator == "esme" else (smsc, esme)
    (req,) = deliver(a.send(Unbind(), now=1), b)
    assert a.state is S.UNBINDING and b.state is S.UNBINDING
    with pytest.raises(SmppSessionError):
        a.send(SubmitSm(), now=1)
    (resp,) = deliver(b.send(req.pdu.response(), now=1), a)  # type: ignore[union-attr]
    assert isinstance(resp, ResponseReceived) and isinstance(resp.pdu, UnbindResp)
    assert a.state is S.CLOSED and b.state is S.CLOSED


def test_in_flight_responses_complete_during_unbind() -> None:
    esme, smsc = bound_pair()
    (sub,) = deliver(esme.send(SubmitSm(short_message=b"x"), now=1), smsc)
    (unbind,) = deliver(esme.send(Unbind(), now=1), smsc)
    (late,) = deliver(smsc.send(sub.pdu.response(message_id="7"), now=1), esme)  # type: ignore[union-attr]
    assert isinstance(late, ResponseReceived) and late.pdu == SubmitSmResp(sequence_number=2, message_id="7")
    # A new request crossing the unbind is refused, not dropped.
    (crossing,) = deliver(bytes(DeliverSm(sequence_number=99)), esme)
    assert isinstance(crossing, RejectedPdu) and crossing.command_status == CommandStatus.ESME_RINVBNDSTS
    deliver(smsc.send(unbind.pdu.response(), now=1), esme)  # type: ignore[union-attr]
    assert esme.state is S.CLOSED


def test_window_full_behaviour() -> None:
    esme, _smsc = bound_pair(window=2, response_timeout=10.0)
    first = esme.stamp(SubmitSm(short_message=b"1"))
    esme.send(first, now=1)
    esme.send(SubmitSm(short_message=b"2"), now=2)
    assert esme.window_available == 0
    with pytest.raises(WindowFullError):
        esme.send(SubmitSm(short_message=b"3"), now=3)
    esme.send(EnquireLink(), now=3)  # keep-alives are exempt from the window
    assert esme.outstanding == 3
    # A response frees a slot.
    deliver(bytes(first.response(message_id="a")), esme)
    assert esme.window_available == 1
    esme.send(SubmitSm(short_message=b"3"), now=4)
    # Timeouts free slots too, oldest first, with their send time.
    expired = esme.timeouts(12.0)
    assert [(t.request.short_message, t.sent_at) for t in expired] == [(b"2", 2)]  # type: ignore[attr-defined]
    assert [type(t) for t in esme.timeouts(14.0)] == [RequestTimedOut, RequestTimedOut]
    assert esme.window_available == 2 and esme.outstanding == 0


def test_late_response_after_timeout_is_unexpected() -> None:
    esme, _ = bound_pair(response_timeout=5.0)
    sub = esme.stamp(SubmitSm())
    esme.send(sub, now=0)
    assert len(esme.timeouts(5.0)) == 1
    (event,) = deliver(bytes(sub.response(message_id="x")), esme)
    assert isinstance(event, UnexpectedResponse)


def test_malformed_pdu_mid_stream_costs_one_generic_nack() -> None:
    esme, smsc = bound_pair()
    good1 = esme.send(SubmitSm(short_message=b"one"), now=1)
    # A submit_sm with a 25-character source_addr: framed correctly, body invalid (§4.4.1).
    bad_body = bytes(SubmitSm(sequence_number=500, short_message=b"x"))
    src_at = 16 + 1 + 2
    bad = bad_body[:src_at] + b"1" * 25 + bad_body[src_at:]
    bad = (len(bad)).to_bytes(4, "big") + bad[4:]
    unknown = bytes.fromhex("00000010 00000077 00000000 000001F5")  # unknown command_id, seq 501
    good2 = esme.send(SubmitSm(short_message=b"two"), now=1)
    events = deliver(good1 + bad + unknown + good2, smsc)
    assert [type(e) for e in events] == [RequestReceived, MalformedPdu, MalformedPdu, RequestReceived]
    assert isinstance(events[1], MalformedPdu) and isinstance(events[2], MalformedPdu)
    assert events[1].reply == GenericNack(sequence_number=500, command_status=CommandStatus.ESME_RINVSRCADR)
    assert events[2].reply == GenericNack(sequence_number=501, command_status=CommandStatus.ESME_RINVCMDID)
    assert not events[1].fatal and smsc.state is S.BOUND_TRX and smsc.malformed_count == 2
    # The nacks go back; the ESME never sent 500/501 through its session, so they are unexpected.
    nacks = smsc.send(events[1].reply, now=1) + smsc.send(events[2].reply, now=1)
    replies = deliver(nacks, esme)
    assert all(isinstance(e, UnexpectedResponse) for e in replies)
    assert esme.state is S.BOUND_TRX and smsc.state is S.BOUND_TRX


def test_generic_nack_answers_an_outstanding_request() -> None:
    esme, _ = bound_pair()
    sub = esme.stamp(SubmitSm())
    esme.send(sub, now=0)
    (event,) = deliver(bytes(GenericNack(sequence_number=sub.sequence_number, command_status=3)), esme)
    assert isinstance(event, ResponseReceived) and event.request == sub and esme.outstanding == 0


def test_malformed_response_finishes_its_request_without_reply() -> None:
    esme, _ = bound_pair()
    sub = esme.stamp(SubmitSm())
    esme.send(sub, now=0)
    bad = bytes.fromhex("00000014 80000004 00000000") + sub.sequence_number.to_bytes(4, "big") + b"abcd"
    (event,) = deliver(bad, esme)
    assert isinstance(event, MalformedPdu) and event.request == sub and event.reply is None
    assert esme.outstanding == 0


def test_lost_framing_is_fatal() -> None:
    _esme, smsc = bound_pair()
    (event,) = deliver(bytes.fromhex("0000000a 0000"), smsc)
    assert isinstance(event, MalformedPdu) and event.fatal and event.sequence_number == 0
    assert smsc.state is S.CLOSED
    smsc.receive_data(bytes(EnquireLink(sequence_number=1)))
    assert smsc.next_event() is NEED_DATA
    assert smsc.send(event.reply, now=0) == bytes(GenericNack(command_status=2))  # type: ignore[arg-type]
    smsc.receive_data(b"")
    assert smsc.next_event() == ConnectionClosed(unread=0)
    # An oversize length keeps its header's sequence number for the nack.
    small = Session(Role.SMSC, max_pdu_length=64)
    small.receive_data(bytes.fromhex("00000041 00000004 00000000"))
    assert small.next_event() is NEED_DATA
    small.receive_data(bytes.fromhex("0000002a"))
    big = small.next_event()
    assert isinstance(big, MalformedPdu) and big.fatal and big.sequence_number == 42 and big.command_id == 4


def test_illegal_sends_raise() -> None:
    esme, smsc = Session(Role.ESME), Session(Role.SMSC)
    with pytest.raises(SmppSessionError, match="not allowed"):
        esme.send(SubmitSm(), now=0)
    with pytest.raises(SmppSessionError, match="never sent"):
        esme.send(DeliverSm(), now=0)
    with pytest.raises(SmppSessionError, match="never sent"):
        smsc.send(BindTransmitter(), now=0)
    with pytest.raises(SmppSessionError, match="not allowed"):
        smsc.send(SubmitSmResp(sequence_number=1, message_id="x"), now=0)
    _, bound_smsc = bound_pair()
    with pytest.raises(SmppSessionError, match="answers no received request"):
        bound_smsc.send(SubmitSmResp(sequence_number=1, message_id="x"), now=0)
    esme_rx, _ = bound_pair(BindReceiver)
    with pytest.raises(SmppSessionError):
        esme_rx.send(SubmitSm(), now=0)
    with pytest.raises(SmppSessionError):
        esme_rx.send(BindTransceiver(), now=0)
    dup = esme_rx.stamp(EnquireLink())
    esme_rx.send(dup, now=0)
    with pytest.raises(SmppSessionError, match="already outstanding"):
        esme_rx.send(dup, now=0)


def test_requests_in_the_wrong_state_or_role_are_rejected_with_a_reply() -> None:
    smsc = Session(Role.SMSC)
    (event,) = deliver(bytes(SubmitSm(sequence_number=3)), smsc)
    assert isinstance(event, RejectedPdu) and event.command_status == CommandStatus.ESME_RINVBNDSTS
    assert event.reply == SubmitSmResp(sequence_number=3, command_status=4, message_id=None)
    smsc.send(event.reply, now=0)  # error replies need no tracked request

    _, smsc = bound_pair()
    (event,) = deliver(bytes(BindTransmitter(sequence_number=4)), smsc)
    assert isinstance(event, RejectedPdu) and event.command_status == CommandStatus.ESME_RALYBND
    (event,) = deliver(bytes(DeliverSm(sequence_number=5)), smsc)
    assert isinstance(event, RejectedPdu) and event.command_status == CommandStatus.ESME_RINVCMDID
    assert event.reply is not None
    smsc.send(event.reply, now=0)  # an SMSC may send deliver_sm_resp only as such a rejection

    esme_tx, _ = bound_pair(BindTransmitter)
    (event,) = deliver(bytes(AlertNotification(sequence_number=6)), esme_tx)
    assert isinstance(event, RejectedPdu) and event.reply is None  # alert_notification has no response


def test_inbound_window_answers_throttled() -> None:
    esme, _ = bound_pair()
    esme.inbound_window = 1
    (first,) = deliver(bytes(DeliverSm(sequence_number=1)), esme)
    (second,) = deliver(bytes(DeliverSm(sequence_number=2)), esme)
    assert isinstance(first, RequestReceived)
    assert isinstance(second, RejectedPdu) and second.command_status == CommandStatus.ESME_RTHROTTLED
    esme.send(first.pdu.response(message_id=""), now=0)
    (third,) = deliver(bytes(DeliverSm(sequence_number=3)), esme)
    assert isinstance(third, RequestReceived)


def test_outbind_then_bind_receiver() -> None:
    smsc, esme = Session(Role.SMSC), Session(Role.ESME)  # the SMSC opened this connection (§2.2.1)
    (event,) = deliver(smsc.send(Outbind(system_id="smsc1", password="pw"), now=0), esme)
    assert isinstance(event, RequestReceived) and esme.state is S.OUTBOUND and smsc.state is S.OUTBOUND
    assert smsc.outstanding == 0  # outbind has no response
    (req,) = deliver(esme.send(BindReceiver(system_id="acme", password="pw"), now=0), smsc)
    deliver(smsc.send(req.pdu.response(system_id="SMSC"), now=0), esme)  # type: ignore[union-attr]
    assert esme.state is S.BOUND_RX and smsc.state is S.BOUND_RX
    (dlv,) = deliver(smsc.send(DeliverSm(short_message=b"mo"), now=1), esme)
    assert isinstance(dlv, RequestReceived)
    (alert,) = deliver(smsc.send(AlertNotification(source_addr="1555", esme_addr="acme"), now=1), esme)
    assert isinstance(alert, RequestReceived) and smsc.outstanding == 1


def test_data_sm_both_directions_when_transceiver() -> None:
    esme, smsc = bound_pair()
    (mt,) = deliver(esme.send(DataSm(tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, b"mt"),)), now=0), smsc)
    (mo,) = deliver(smsc.send(DataSm(tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, b"mo"),)), now=0), esme)
    assert isinstance(mt, RequestReceived) and isinstance(mo, RequestReceived)
    deliver(smsc.send(mt.pdu.response(message_id="1"), now=0), esme)
    deliver(esme.send(mo.pdu.response(message_id=""), now=0), smsc)
    assert esme.outstanding == 0 and smsc.outstanding == 0


def test_unexpected_responses() -> None:
    esme, _ = bound_pair()
    (e1,) = deliver(bytes(SubmitSmResp(sequence_number=999, message_id="x")), esme)
    assert isinstance(e1, UnexpectedResponse)
    sub = esme.stamp(SubmitSm())
    esme.send(sub, now=0)
    (e2,) = deliver(bytes(DeliverSmResp(sequence_number=sub.sequence_number)), esme)
    assert isinstance(e2, UnexpectedResponse) and esme.outstanding == 1


def test_sequence_numbers_wrap_and_skip_outstanding() -> None:
    esme, _ = bound_pair(window=5)
    esme._next_seq = MAX_SEQUENCE_NUMBER  # white-box: jump to the end of the range (§5.1.4)
    a = esme.stamp(SubmitSm())
    assert a.sequence_number == MAX_SEQUENCE_NUMBER
    esme.send(a, now=0)
    assert esme.stamp(SubmitSm()).sequence_number == 1
    esme._next_seq = MAX_SEQUENCE_NUMBER
    assert esme.stamp(SubmitSm()).sequence_number == 1  # the outstanding one is skipped
    assert esme.stamp(SubmitSm(sequence_number=77)).sequence_number == 77
    resp = SubmitSmResp(sequence_number=5)
    assert esme.stamp(resp) is resp


def test_end_of_stream_and_buffer_bounds() -> None:
    session = Session(Role.ESME, max_buffer=1)
    data = bytes(EnquireLink(sequence_number=1))
    session.receive_data(data[:10])
    with pytest.raises(SmppSessionError, match="buffer full"):
        session.receive_data(b"x" * (session.max_buffer + 1))
    session.receive_data(b"")
    assert session.next_event() == ConnectionClosed(unread=10)
    assert session.state is S.CLOSED
    with pytest.raises(SmppSessionError):
        session.receive_data(b"more")
    clean = Session(Role.ESME)
    clean.receive_data(data + b"")
    clean.receive_data(b"")
    assert [type(e) for e in drain(clean)] == [RequestReceived, ConnectionClosed]
    assert clean.next_event() == ConnectionClosed(unread=0)  # repeats, like h11


def test_constructor_bounds() -> None:
    with pytest.raises(ValueError):
        Session(Role.ESME, window=0)
    with pytest.raises(ValueError):
        Session(Role.ESME, max_pdu_length=10)


def test_bind_transceiver_response_is_tracked_per_request() -> None:
    # Two enquire_links answered out of order are matched by sequence number.
    esme, smsc = bound_pair()
    reqs = deliver(esme.send(EnquireLink(), now=0) + esme.send(EnquireLink(), now=0), smsc)
    replies = b"".join(smsc.send(r.pdu.response(), now=0) for r in reversed(reqs))  # type: ignore[union-attr]
    events = deliver(replies, esme)
    assert [e.request.sequence_number for e in events] == [3, 2]  # type: ignore[union-attr]
