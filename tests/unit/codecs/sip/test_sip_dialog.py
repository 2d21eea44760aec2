"""Dialogs (RFC 3261 §12): UAC and UAS views built from one exchange, in-dialog requests."""

from __future__ import annotations

import pytest
from _sip_helpers import invite

from openline.codecs.sip import (
    Dialog,
    DialogState,
    NameAddr,
    Request,
    SipParseError,
    SipStateError,
    Via,
    dialog_id_of_request,
    dialog_id_of_response,
    make_response,
    parse_message,
)

UAS_CONTACT = NameAddr.parse("<sip:bob@127.0.0.1:5080>")
VIA_A = Via.parse("SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKnew")
VIA_B = Via.parse("SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bKnewb")


def _pair(record_route: list[str] | None = None) -> tuple[Dialog, Dialog, Request]:
    request = invite()
    for rr in record_route or []:
        request.headers.add("Record-Route", rr)
    uas = Dialog.from_uas(request, local_tag="b1", local_contact=UAS_CONTACT, local_cseq=100)
    response = make_response(request, 200, to_tag="b1", contact=UAS_CONTACT)
    wire = parse_message(bytes(response))
    uac = Dialog.from_uac(request, wire)  # type: ignore[arg-type]
    return uac, uas, request


def test_ids_mirror_each_other() -> None:
    uac, uas, _request = _pair()
    assert uac.id == ("call-1@127.0.0.1", "a1", "b1") and uas.id == ("call-1@127.0.0.1", "b1", "a1")
    assert uac.state is DialogState.CONFIRMED and uas.state is DialogState.EARLY
    uas.confirm()
    assert uas.state is DialogState.CONFIRMED
    assert str(uac.remote_target) == "sip:bob@127.0.0.1:5080" and str(uas.remote_target) == "sip:alice@127.0.0.1:5070"


def test_ack_and_bye_from_uac_reach_uas_in_order() -> None:
    uac, uas, request = _pair()
    ack = parse_message(bytes(uac.create_ack(request.cseq.number, via=VIA_A)))
    assert isinstance(ack, Request) and ack.cseq.number == 1 and ack.method == "ACK"
    assert dialog_id_of_request(ack) == uas.id and uas.receive_request(ack) is None
    bye = parse_message(bytes(uac.create_request("BYE", via=VIA_A)))
    assert isinstance(bye, Request) and bye.cseq.number == 2 and bye.to.tag == "b1" and bye.from_.tag == "a1"
    assert str(bye.request_uri) == "sip:bob@127.0.0.1:5080" and bye.routes == [] and bye.contact is None
    assert uas.receive_request(bye) is None and uas.state is DialogState.TERMINATED
    # a retransmitted/out-of-order request with the same CSeq gets 500 (§12.2.2)
    uas2 = _pair()[1]
    uas2.remote_cseq = 5
    assert uas2.receive_request(bye) == 500


def test_uas_bye_uses_its_own_cseq_space() -> None:
    uac, uas, _ = _pair()
    bye = parse_message(bytes(uas.create_request("BYE", via=VIA_B)))
    assert isinstance(bye, Request) and bye.cseq.number == 101
    assert bye.from_.tag == "b1" and bye.to.tag == "a1" and str(bye.request_uri) == "sip:alice@127.0.0.1:5070"
    assert uac.receive_request(bye) is None and uac.remote_cseq == 101 and uac.state is DialogState.TERMINATED


def test_loose_route_set() -> None:
    uac, uas, _ = _pair(["<sip:p1.example.com;lr>", "<sip:p2.example.com;lr>"])
    assert [str(r.uri) for r in uas.route_set] == ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]
    assert [str(r.uri) for r in uac.route_set] == ["sip:p2.example.com;lr", "sip:p1.example.com;lr"]
    bye = uac.create_request("BYE", via=VIA_A)
    assert str(bye.request_uri) == "sip:bob@127.0.0.1:5080"
    assert [str(r.uri) for r in bye.routes] == ["sip:p2.example.com;lr", "sip:p1.example.com;lr"]


def test_strict_route_set() -> None:
    uac, _, _ = _pair(["<sip:strict.example.com>"])
    bye = uac.create_request("BYE", via=VIA_A)
    assert str(bye.request_uri) == "sip:strict.example.com"
    assert [str(r.uri) for r in bye.routes] == ["sip:bob@127.0.0.1:5080"]


def test_reinvite_refreshes_target_both_ways() -> None:
    uac, uas, _ = _pair()
    uas.confirm()
    reinvite = uac.create_request("INVITE", via=VIA_A, body=b"v=0\r\n")
    assert reinvite.contact is not None and reinvite.content_type == "application/sdp"
    reinvite.headers.set("Contact", "<sip:alice@10.0.0.9:5070>")
    assert uas.receive_request(parse_message(bytes(reinvite))) is None  # type: ignore[arg-type]
    assert str(uas.remote_target) == "sip:alice@10.0.0.9:5070"
    ok = make_response(reinvite, 200, contact=NameAddr.parse("<sip:bob@10.0.0.8>"))
    uac.receive_response(reinvite, ok)
    assert str(uac.remote_target) == "sip:bob@10.0.0.8"
    uac.receive_response(reinvite, make_response(reinvite, 481))
    assert uac.state is DialogState.TERMINATED
    with pytest.raises(SipStateError):
        uac.create_request("BYE", via=VIA_A)


def test_early_dialog_from_180_and_confirmation() -> None:
    request = invite()
    ringing = make_response(request, 180, to_tag="b9", contact=UAS_CONTACT)
    dialog = Dialog.from_uac(request, ringing)
    assert dialog.state is DialogState.EARLY and dialog_id_of_response(ringing) == dialog.id
    dialog.receive_response(request, make_response(request, 200, to_tag="b9", contact=UAS_CONTACT))
    assert dialog.state is DialogState.CONFIRMED


def test_creation_errors() -> None:
    request = invite()
    with pytest.raises(SipStateError):
        Dialog.from_uac(request, make_response(request, 100))
    with pytest.raises(SipParseError):
        Dialog.from_uac(request, make_response(request, 200))  # no To tag
    with pytest.raises(SipParseError):
        Dialog.from_uac(request, make_response(request, 200, to_tag="x"))  # no Contact
    request.headers.remove("Contact")
    with pytest.raises(SipParseError):
        Dialog.from_uas(request, local_tag="t", local_contact=UAS_CONTACT)
    uac, _, _ = _pair()
    with pytest.raises(SipStateError):
        uac.create_request("ACK", via=VIA_A)


def test_foreign_request_is_481() -> None:
    _, uas, _ = _pair()
    other = invite(method="BYE")
    assert uas.receive_request(other) == 481
