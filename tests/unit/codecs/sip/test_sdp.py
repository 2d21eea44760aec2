"""SDP (RFC 4566) vectors and offer/answer (RFC 3264) for PCMU/PCMA/telephone-event."""

from __future__ import annotations

import pytest

from openline.codecs.sip import SessionDescription, SipParseError, answer_offer, build_offer, process_answer
from openline.codecs.sip.offer_answer import OfferAnswerError

# RFC 4566 §5 example
RFC4566 = (
    b"v=0\r\n"
    b"o=jdoe 2890844526 2890842807 IN IP4 10.47.16.5\r\n"
    b"s=SDP Seminar\r\n"
    b"i=A Seminar on the session description protocol\r\n"
    b"u=http://www.example.com/seminars/sdp.pdf\r\n"
    b"e=j.doe@example.com (Jane Doe)\r\n"
    b"c=IN IP4 224.2.17.12/127\r\n"
    b"t=2873397496 2873404696\r\n"
    b"a=recvonly\r\n"
    b"m=audio 49170 RTP/AVP 0\r\n"
    b"m=video 51372 RTP/AVP 99\r\n"
    b"a=rtpmap:99 h263-1998/90000\r\n"
)
# SIPp's UAC offer from the peers recipe (shape of what real peers send)
SIPP_OFFER = (
    b"v=0\r\no=sippuac 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 7000 RTP/AVP 8 0 96\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:96 telephone-event/8000\r\na=fmtp:96 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
)


@pytest.mark.parametrize("data", [RFC4566, SIPP_OFFER])
def test_round_trip(data: bytes) -> None:
    sdp = SessionDescription.parse(data)
    assert bytes(sdp) == data
    assert bytes(SessionDescription.parse(data.replace(b"\r\n", b"\n"))) == data


def test_fields() -> None:
    sdp = SessionDescription.parse(RFC4566)
    assert sdp.origin.username == "jdoe" and sdp.session_name == "SDP Seminar"
    assert sdp.connection is not None and sdp.connection.address == "224.2.17.12/127"
    assert [m.media for m in sdp.media] == ["audio", "video"] and sdp.media[1].rtpmap[99] == ("h263-1998", 90000, None)
    assert sdp.attr("recvonly") is None and ("recvonly", None) in sdp.attributes
    offer = SessionDescription.parse(SIPP_OFFER)
    m = offer.media[0]
    assert m.formats == ("8", "0", "96") and m.fmtp == {96: "0-16"} and m.ptime == 20 and m.direction == "sendrecv"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"v=1\r\n",
        b"v=0\r\ns=-\r\nt=0 0\r\n",
        b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\nt=0 0\r\n",
        b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\n",
        b"v=0\r\no=a x 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\n",
        b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 70000 RTP/AVP 0\r\nc=IN IP4 1.1.1.1\r\n",
        b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 7000 RTP/AVP\r\nc=IN IP4 1.1.1.1\r\n",
        b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 7000 RTP/AVP 300\r\nc=IN IP4 1.1.1.1\r\n",
        b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 7000 RTP/AVP 0\r\n",
        b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nc=IN ATM x\r\nt=0 0\r\n",
        b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nbogus\r\n",
        b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nx=unknown\r\n",
        b"v=0\r\no=a 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=audio 1 RTP/AVP 0\r\nc=IN IP4 1.1.1.1\r\nt=0 0\r\n",
        b"\xff\xfe",
        b"v=0\r\n" + b"a=x\r\n" * 300,
    ],
)
def test_malformed(data: bytes) -> None:
    with pytest.raises(SipParseError):
        SessionDescription.parse(data)


def test_answer_keeps_offerers_pts_and_order() -> None:
    offer = SessionDescription.parse(SIPP_OFFER)
    answer, media = answer_offer(offer, address="127.0.0.1", port=20000, session_id=42)
    assert media.codec == "PCMA" and media.payload_type == 8 and media.dtmf_payload_type == 96
    assert (media.remote_address, media.remote_port, media.ptime, media.direction) == ("127.0.0.1", 7000, 20, "sendrecv")
    m = SessionDescription.parse(bytes(answer)).media[0]
    assert m.formats == ("8", "96") and m.port == 20000 and m.rtpmap[96][0] == "telephone-event"
    # the offerer's view of the same answer
    back = process_answer(offer, answer)
    assert back.codec == "PCMA" and back.remote_port == 20000 and back.dtmf_payload_type == 96


def test_answer_prefers_our_allowed_codecs_and_rejects_other_streams() -> None:
    offer = build_offer(address="10.0.0.1", port=30000, session_id=7, codecs=("PCMU", "PCMA"))
    video = SessionDescription.parse(bytes(offer) + b"m=video 30002 RTP/AVP 99\r\na=rtpmap:99 VP8/90000\r\n")
    answer, media = answer_offer(video, address="10.0.0.2", port=40000, session_id=8, codecs=("PCMA",))
    assert media.codec == "PCMA" and media.dtmf_payload_type == 101
    assert [m.port for m in answer.media] == [40000, 0]


@pytest.mark.parametrize(("line", "expected"), [
    (b"", None),  # no a=rtcp: the leg uses RTP port + 1
    (b"a=rtcp:7011\r\n", ("127.0.0.1", 7011)),
    (b"a=rtcp:53020 IN IP4 126.16.64.4\r\n", ("126.16.64.4", 53020)),  # RFC 3605's example
    (b"a=rtcp:nonsense\r\n", None),
])
def test_rtcp_attribute_sets_where_reports_go(line: bytes, expected: tuple[str, int] | None) -> None:
    offer = SessionDescription.parse(SIPP_OFFER + line)
    _, media = answer_offer(offer, address="127.0.0.1", port=20000, session_id=42)
    assert media.remote_rtcp == expected
    answer = SessionDescription.parse(SIPP_OFFER.replace(b"7000", b"7002") + line)
    assert process_answer(offer, answer).remote_rtcp == expected


def test_hold_directions() -> None:
    offer = build_offer(address="10.0.0.1", port=30000, session_id=7, direction="sendonly")
    _, media = answer_offer(offer, address="10.0.0.2", port=40000, session_id=8)
    assert media.direction == "recvonly" and media.on_hold


def test_no_common_codec_is_488() -> None:
    offer = SessionDescription.parse(SIPP_OFFER.replace(b"8 0 96", b"18 96"))
    with pytest.raises(OfferAnswerError) as info:
        answer_offer(offer, address="127.0.0.1", port=1, session_id=1)
    assert info.value.status == 488


def test_process_answer_rejects_codec_not_offered() -> None:
    offer = build_offer(address="10.0.0.1", port=30000, session_id=7, codecs=("PCMU",))
    bad = SessionDescription.parse(
        b"v=0\r\no=b 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n"
    )
    with pytest.raises(OfferAnswerError):
        process_answer(offer, bad)
    rejected = SessionDescription.parse(
        b"v=0\r\no=b 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\nm=audio 0 RTP/AVP 0\r\n"
    )
    with pytest.raises(OfferAnswerError):
        process_answer(offer, rejected)
