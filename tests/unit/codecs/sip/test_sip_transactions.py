"""Transactions (RFC 3261 §17 + RFC 6026) as UAC↔UAS pairs in virtual time."""

from __future__ import annotations

import itertools

import pytest
from _sip_helpers import Clock, invite

from openline.codecs.sip import Request, Response, SipStateError, make_response, parse_message
from openline.codecs.sip.transaction import (
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    DeliverRequest,
    DeliverResponse,
    SendMessage,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    Terminated,
    TimedOut,
    Timer,
    TransactionState,
    TransportFailed,
    client_key,
    make_cancel,
    server_key,
)


def _wire(message: Request | Response) -> Request | Response:
    return parse_message(bytes(message))


def test_invite_retransmits_with_timer_a_doubling_until_timer_b() -> None:
    txn = ClientInviteTransaction(invite(), reliable=False)
    clock = Clock(txn)
    clock.apply(txn.start())
    clock.run_until(40.0)
    times = [t for t, _ in clock.sent]
    # sent at 0 then A fires at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5; B at 64*T1 = 32 s
    assert times == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    assert clock.event_types() == ["TimedOut", "Terminated"]
    assert clock.events[0] == (32.0, TimedOut(Timer.B)) and txn.state is TransactionState.TERMINATED


def test_invite_over_reliable_transport_never_retransmits() -> None:
    txn = ClientInviteTransaction(invite(), reliable=True)
    clock = Clock(txn)
    clock.apply(txn.start())
    clock.run_until(40.0)
    assert len(clock.sent) == 1 and clock.event_types() == ["TimedOut", "Terminated"]


def test_uac_uas_invite_2xx_flow_with_lost_ack() -> None:
    uac = ClientInviteTransaction(invite(), reliable=False)
    c = Clock(uac)
    c.apply(uac.start())
    request = _wire(c.sent[0][1])
    assert isinstance(request, Request)
    uas = ServerInviteTransaction(request, reliable=False)
    s = Clock(uas)
    s.apply(uas.start())
    assert s.events[0][1] == DeliverRequest(request) and s.sent[0][1].status == 100
    assert server_key(request) == uas.key and client_key(s.sent[0][1]) == uac.key
    # 100 stops Timer A; a retransmitted INVITE gets the 100 again
    c.apply(uac.on_response(_wire(s.sent[0][1])))  # type: ignore[arg-type]
    assert uac.state is TransactionState.PROCEEDING and Timer.A not in c.timers and Timer.B not in c.timers
    assert [type(a).__name__ for a in uas.on_request(request)] == ["SendMessage"]
    ringing = make_response(request, 180, to_tag="b1")
    s.apply(uas.send_response(ringing))
    ok = make_response(request, 200, to_tag="b1", body=b"v=0\r\n")
    s.apply(uas.send_response(ok))
    assert uas.state is TransactionState.ACCEPTED
    c.apply(uac.on_response(_wire(ok)))  # type: ignore[arg-type]
    assert uac.state is TransactionState.ACCEPTED and c.events[-1][1].response.status == 200
    # no ACK arrives: the UAS retransmits the 2xx with Timer N (T1 doubling to T2) until L
    s.run_until(40.0)
    oks = [t for t, m in s.sent if isinstance(m, Response) and m.status == 200]
    assert oks == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert s.events[-2:] == [(32.0, TimedOut(Timer.L)), (32.0, Terminated())]
    # the UAC passes retransmitted 2xx to its TU (to re-ACK) until Timer M
    assert uac.on_response(_wire(ok)) == [DeliverResponse(_wire(ok), retransmission=True)]  # type: ignore[arg-type]
    c.run_until(40.0)
    assert uac.state is TransactionState.TERMINATED


def test_ack_for_2xx_stops_retransmission() -> None:
    request = invite()
    uas = ServerInviteTransaction(request, reliable=False)
    s = Clock(uas)
    s.apply(uas.start(send_trying=False))
    s.apply(uas.send_response(make_response(request, 200, to_tag="b1")))
    s.run_until(1.0)
    s.apply(uas.on_ack_for_2xx())
    assert uas.on_ack_for_2xx() == []
    s.run_until(40.0)
    assert len([m for _, m in s.sent]) == 2  # initial + one retransmit at 0.5
    assert s.event_types() == ["DeliverRequest", "Terminated"]
    # RFC 6026: retransmitted INVITEs are absorbed after the 2xx
    assert uas.on_request(request) == []


def test_non_2xx_final_ack_and_timers_g_h_i_d() -> None:
    uac = ClientInviteTransaction(invite(), reliable=False)
    c = Clock(uac)
    c.apply(uac.start())
    request = _wire(c.sent[0][1])
    uas = ServerInviteTransaction(request, reliable=False)  # type: ignore[arg-type]
    s = Clock(uas)
    s.apply(uas.start())
    busy = make_response(request, 486, to_tag="b2")  # type: ignore[arg-type]
    s.apply(uas.send_response(busy))
    s.run_until(2.0)  # G fires at 0.5, 1.5 -> two retransmissions
    assert [t for t, m in s.sent if isinstance(m, Response) and m.status == 486] == [0.0, 0.5, 1.5]
    c.now = 0.1
    c.apply(uac.on_response(_wire(busy)))  # type: ignore[arg-type]
    ack = c.sent[-1][1]
    assert isinstance(ack, Request) and ack.method == "ACK" and ack.via.branch == request.via.branch
    assert ack.to.tag == "b2" and ack.cseq.number == 1 and ack.cseq.method == "ACK"
    # a retransmitted 486 is re-ACKed, not delivered again
    delivered = len(c.events)
    c.apply(uac.on_response(_wire(busy)))  # type: ignore[arg-type]
    assert len(c.events) == delivered and c.sent[-1][1] is ack
    assert server_key(_wire(ack)) == uas.key  # type: ignore[arg-type]
    s.apply(uas.on_request(_wire(ack)))  # type: ignore[arg-type]
    assert uas.state is TransactionState.CONFIRMED and Timer.G not in s.timers
    s.run_until(2.0 + 5.0)
    assert uas.state is TransactionState.TERMINATED  # Timer I = T4
    c.run_until(33.0)
    assert uac.state is TransactionState.TERMINATED  # Timer D = 32 s


def test_timer_h_without_ack() -> None:
    request = invite()
    uas = ServerInviteTransaction(request, reliable=True)
    s = Clock(uas)
    s.apply(uas.start())
    s.apply(uas.send_response(make_response(request, 404, to_tag="x")))
    s.run_until(33.0)
    assert (32.0, TimedOut(Timer.H)) in s.events and uas.terminated
    assert len(s.sent) == 2  # reliable: no Timer G


def test_non_invite_timer_e_caps_at_t2_and_f_times_out() -> None:
    txn = ClientNonInviteTransaction(invite(method="OPTIONS"), reliable=False)
    c = Clock(txn)
    c.apply(txn.start())
    c.run_until(40.0)
    times = [t for t, _ in c.sent]
    assert times[:6] == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5]
    assert all(b - a == 4.0 for a, b in itertools.pairwise(times[4:]))
    assert (32.0, TimedOut(Timer.F)) in c.events


def test_non_invite_proceeding_retransmits_at_t2_then_completes_and_k() -> None:
    request = invite(method="BYE")
    uac = ClientNonInviteTransaction(request, reliable=False)
    c = Clock(uac)
    c.apply(uac.start())
    uas = ServerNonInviteTransaction(request, reliable=False)
    s = Clock(uas)
    assert s.apply(uas.start()) == [DeliverRequest(request)]
    assert uas.on_request(request) == []  # Trying absorbs retransmissions
    trying = make_response(request, 100)
    s.apply(uas.send_response(trying))
    assert uas.on_request(request) == [SendMessage(trying)]
    c.apply(uac.on_response(_wire(trying)))  # type: ignore[arg-type]
    c.run_until(0.6)
    assert c.timers[Timer.E] == pytest.approx(4.5)  # once Proceeding, E = T2
    ok = make_response(request, 200)
    s.apply(uas.send_response(ok))
    assert uas.on_request(request) == [SendMessage(ok)]
    c.apply(uac.on_response(_wire(ok)))  # type: ignore[arg-type]
    assert uac.state is TransactionState.COMPLETED and Timer.E not in c.timers
    assert uac.on_response(_wire(ok)) == []  # type: ignore[arg-type]
    c.run_until(0.6 + 5.0)
    assert uac.terminated
    s.run_until(32.0)
    assert uas.terminated  # Timer J = 64*T1
    with pytest.raises(SipStateError):
        uas.send_response(ok)


def test_reliable_non_invite_zero_timers() -> None:
    request = invite(method="BYE")
    uas = ServerNonInviteTransaction(request, reliable=True)
    s = Clock(uas)
    s.apply(uas.start())
    s.apply(uas.send_response(make_response(request, 200)))
    assert s.timers == {Timer.J: 0.0}
    s.run_until(0.0)
    assert uas.terminated


def test_transport_error_terminates() -> None:
    txn = ClientInviteTransaction(invite(), reliable=False)
    txn.start()
    assert txn.on_transport_error() == [TransportFailed(), Terminated()]
    assert txn.on_transport_error() == []


def test_cancel_matches_invite_server_transaction_branch() -> None:
    request = invite()
    cancel = _wire(make_cancel(request))
    assert isinstance(cancel, Request)
    assert cancel.via.branch == request.via.branch and cancel.cseq.method == "CANCEL"
    assert server_key(cancel)[:3] == server_key(request)[:3] and server_key(cancel) != server_key(request)
    assert client_key(cancel) != client_key(request)


def test_wrong_kinds_are_refused() -> None:
    with pytest.raises(SipStateError):
        ClientInviteTransaction(invite(method="OPTIONS"), reliable=True)
    with pytest.raises(SipStateError):
        ClientNonInviteTransaction(invite(), reliable=True)
    with pytest.raises(SipStateError):
        ServerInviteTransaction(invite(method="BYE"), reliable=True)
    with pytest.raises(SipStateError):
        ServerNonInviteTransaction(invite(), reliable=True)
    txn = ClientInviteTransaction(invite(), reliable=True)
    txn.start()
    with pytest.raises(SipStateError):
        txn.start()


def test_legacy_2543_server_key() -> None:
    request = invite(branch="oldbranch")
    assert server_key(request)[0] == "2543"
