"""The codec recipe over tests/vectors/sip/*.sip (docs/architecture.md, "Tests")."""

from __future__ import annotations

from pathlib import Path

import pytest

from openline.codecs.sip import Request, Response, SipParseError, StreamParser, parse_message
from openline.codecs.sip.message import MAX_BODY_SIZE

VECTORS = sorted((Path(__file__).parents[3] / "vectors" / "sip").glob("*.sip"))
OK = [p for p in VECTORS if p.name.startswith("ok_")]
ODD = [p for p in VECTORS if p.name.startswith("odd_")]
BAD = [p for p in VECTORS if p.name.startswith("bad_")]


def _ids(paths: list[Path]) -> list[str]:
    return [p.stem for p in paths]


def test_inventory() -> None:
    assert len(OK) >= 10 and len(ODD) >= 5 and len(BAD) >= 25


@pytest.mark.parametrize("path", OK, ids=_ids(OK))
def test_ok_vectors_reencode_identically(path: Path) -> None:
    data = path.read_bytes()
    message = parse_message(data)
    assert bytes(message) == data


@pytest.mark.parametrize("path", OK + ODD, ids=_ids(OK + ODD))
def test_vectors_reparse_stably(path: Path) -> None:
    message = parse_message(path.read_bytes())
    again = parse_message(bytes(message))
    assert bytes(again) == bytes(message)
    assert (again.call_id, again.cseq, again.vias, again.from_, again.to, again.body) == (
        message.call_id, message.cseq, message.vias, message.from_, message.to, message.body
    )


@pytest.mark.parametrize("path", OK + ODD, ids=_ids(OK + ODD))
def test_vectors_frame_on_a_stream_fed_byte_by_byte(path: Path) -> None:
    data = bytes(parse_message(path.read_bytes()))  # canonical: Content-Length always present
    parser = StreamParser()
    got = []
    for i in range(len(data)):
        got += parser.feed(data[i : i + 1])
    assert got == [parse_message(data)]


@pytest.mark.parametrize("path", OK, ids=_ids(OK))
def test_trailing_bytes_on_a_stream_stay_buffered(path: Path) -> None:
    data = path.read_bytes()
    parser = StreamParser()
    assert parser.feed(data + data[:10]) == [parse_message(data)]
    assert parser.feed(data[10:]) == [parse_message(data)]


@pytest.mark.parametrize("path", BAD, ids=_ids(BAD))
def test_bad_vectors_raise_parse_error_with_status(path: Path) -> None:
    status = int(path.name.split("_")[1])
    with pytest.raises(SipParseError) as info:
        parse_message(path.read_bytes())
    assert info.value.status == status


def test_rfc3261_invite_fields() -> None:
    msg = parse_message((VECTORS[0].parent / "ok_rfc3261_s4_invite.sip").read_bytes())
    assert isinstance(msg, Request)
    assert msg.method == "INVITE" and str(msg.request_uri) == "sip:bob@biloxi.com"
    assert msg.via.branch == "z9hG4bK776asdhds" and msg.via.transport == "UDP" and msg.via.port is None
    assert msg.from_.tag == "1928301774" and msg.from_.display_name == "Alice"
    assert msg.to.tag is None and msg.cseq.number == 314159 and msg.cseq.method == "INVITE"
    assert msg.call_id == "a84b4c76e66710@pc33.atlanta.com" and msg.max_forwards == 70
    assert msg.content_type == "application/sdp" and msg.content_length == len(msg.body)
    assert msg.body.startswith(b"v=0\r\n")


def test_rfc3261_200_has_three_vias_with_received() -> None:
    msg = parse_message((VECTORS[0].parent / "ok_rfc3261_s4_200.sip").read_bytes())
    assert isinstance(msg, Response) and msg.status == 200 and msg.success
    assert [v.received for v in msg.vias] == ["192.0.2.3", "192.0.2.2", "192.0.2.1"]
    assert msg.vias[2].branch == "z9hG4bK776asdhds"


def test_compact_forms_expand() -> None:
    msg = parse_message((VECTORS[0].parent / "odd_compact_forms.sip").read_bytes())
    assert msg.call_id == "0ha0isndaksdjweiafasdk3"
    assert msg.via.branch == "z9hG4bKkdjuw" and msg.to.uri.user == "vivekg"  # type: ignore[union-attr]
    assert msg.contact is not None and msg.content_type == "application/sdp"
    assert msg.headers.get("Content-Length") == msg.headers.get("l") == str(len(msg.body))


def test_folding_and_odd_spacing() -> None:
    msg = parse_message((VECTORS[0].parent / "odd_folding_and_case.sip").read_bytes())
    assert msg.cseq.number == 9 and msg.cseq.method == "OPTIONS"
    assert [v.host for v in msg.vias] == ["host1.example.com", "host2.example.com"]
    assert msg.vias[1].port == 5070 and msg.from_.tag == "98asjd8"
    assert msg.from_.display_name == "caller name"


def test_record_route_ipv6_tel_and_escapes() -> None:
    msg = parse_message((VECTORS[0].parent / "ok_record_route_ipv6_tel.sip").read_bytes())
    assert isinstance(msg, Request)
    assert msg.request_uri.e164 == "+14155550100"
    assert msg.via.host == "[2001:db8::10]" and msg.via.port == 5061 and msg.via.wants_rport
    assert [str(r.uri) for r in msg.record_routes] == ["sip:proxy2.example.com;lr", "sip:[2001:db8::1];lr;transport=tcp"]
    assert msg.from_.display_name == 'J. Rosenberg "Jdrosen"'
    assert msg.from_.uri.e164 == "+14155550111"
    contact = msg.contact
    assert contact is not None and contact.sip_uri.unescaped_user == "+14155550111" and contact.sip_uri.e164 == "+14155550111"
    assert contact.param("expires") == "60" and contact.sip_uri.transport == "tcp"
    assert msg.headers.get("x-custom-header") == "anything; goes, here"


def test_content_length_shorter_truncates_datagram_body() -> None:
    msg = parse_message((VECTORS[0].parent / "odd_content_length_shorter.sip").read_bytes())
    assert msg.body == b"extra"


def test_stream_needs_content_length_and_loses_framing() -> None:
    data = (VECTORS[0].parent / "odd_no_content_length_udp.sip").read_bytes()
    parser = StreamParser()
    with pytest.raises(SipParseError):
        parser.feed(data)
    with pytest.raises(SipParseError):
        parser.feed(b"\r\n")


def test_stream_reports_a_framed_but_invalid_message_and_continues() -> None:
    bad = (VECTORS[0].parent / "bad_400_missing_call_id.sip").read_bytes()
    good = (VECTORS[0].parent / "ok_rfc3261_s4_bye.sip").read_bytes()
    out = StreamParser().feed(bad + b"\r\n\r\n" + good)
    assert isinstance(out[0], SipParseError) and out[1] == parse_message(good)


def test_stream_body_bound() -> None:
    head = (VECTORS[0].parent / "ok_rfc3261_s4_bye.sip").read_bytes().replace(
        b"Content-Length: 0", f"Content-Length: {MAX_BODY_SIZE + 1}".encode()
    )
    with pytest.raises(SipParseError) as info:
        StreamParser().feed(head)
    assert info.value.status == 413


def test_serialisation_fixes_content_length() -> None:
    msg = parse_message((VECTORS[0].parent / "ok_rfc3261_s4_bye.sip").read_bytes())
    msg.body = b"abc"
    assert b"Content-Length: 3\r\n\r\nabc" in bytes(msg)


@pytest.mark.parametrize("path", BAD, ids=_ids(BAD))
def test_error_reply_skeleton_is_best_effort_and_never_raises(path: Path) -> None:
    from openline.codecs.sip.message import request_for_error_reply

    skeleton = request_for_error_reply(path.read_bytes())
    addressable = {
        "bad_400_cseq_method_mismatch", "bad_400_content_length_overrun", "bad_400_content_length_negative",
        "bad_400_content_length_text", "bad_505_version", "bad_416_unknown_scheme", "bad_400_max_forwards_text",
        "bad_400_max_forwards_huge", "bad_400_missing_call_id", "bad_400_bad_ipv4", "bad_413_too_many_headers",
    }
    if path.stem in addressable - {"bad_400_missing_call_id"}:
        assert skeleton is not None and skeleton.via.branch == "z9hG4bKbad" and skeleton.cseq.number == 1
    if path.stem in {"bad_400_missing_call_id", "bad_400_missing_via", "bad_400_binary_garbage", "bad_400_status_code"}:
        assert skeleton is None
