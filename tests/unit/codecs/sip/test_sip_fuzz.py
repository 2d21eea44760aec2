"""Hypothesis: parse(serialise(x)) == x for generated values; random bytes never escape as
anything but SipParseError."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from openline.codecs.sip import (
    NameAddr,
    Request,
    SessionDescription,
    SipParseError,
    SipUri,
    StreamParser,
    Via,
    make_request,
    make_response,
    parse_message,
    parse_uri,
)
from openline.codecs.sip.digest import DigestChallenge, DigestCredentials
from openline.codecs.sip.message import request_for_error_reply

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~", min_size=1, max_size=12).filter(
    lambda s: s[0].isalnum()
)
LABEL = st.from_regex(r"[a-z]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
HOST = st.one_of(
    st.lists(LABEL, min_size=1, max_size=3).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.sampled_from(["[::1]", "[2001:db8::7]"]),
)
USER = st.from_regex(r"(\+?[A-Za-z0-9_.!~*'()&=+$,-]|%[0-9A-F]{2}){1,12}", fullmatch=True)
PARAMS = st.lists(st.tuples(TOKEN, st.one_of(st.none(), TOKEN)), max_size=3).map(tuple)
SIP_URI = st.builds(
    SipUri,
    host=HOST,
    user=st.one_of(st.none(), USER),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    scheme=st.sampled_from(["sip", "sips"]),
    params=PARAMS,
)
DISPLAY = st.one_of(st.none(), st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=15))
NAME_ADDR = st.builds(NameAddr, uri=SIP_URI, display_name=DISPLAY, params=PARAMS)


@given(SIP_URI)
def test_uri_round_trip(uri: SipUri) -> None:
    assert parse_uri(str(uri)) == uri


@given(NAME_ADDR)
def test_name_addr_round_trip(addr: NameAddr) -> None:
    parsed = NameAddr.parse(str(addr))
    assert parsed.uri == addr.uri and parsed.params == addr.params
    assert (parsed.display_name or None) == (
        (addr.display_name or "").strip() or None
    ) or parsed.display_name == addr.display_name


@given(
    method=st.sampled_from(["INVITE", "BYE", "OPTIONS", "REGISTER", "MESSAGE", "INFO"]),
    uri=SIP_URI,
    from_=NAME_ADDR,
    to=NAME_ADDR,
    call_id=st.from_regex(r"[A-Za-z0-9@.\-_]{1,30}", fullmatch=True),
    cseq=st.integers(0, 2**31 - 1),
    host=HOST,
    port=st.one_of(st.none(), st.integers(1, 65535)),
    branch=TOKEN,
    body=st.binary(max_size=300),
)
@settings(max_examples=150)
def test_message_round_trip(
    method: str,
    uri: SipUri,
    from_: NameAddr,
    to: NameAddr,
    call_id: str,
    cseq: int,
    host: str,
    port: int | None,
    branch: str,
    body: bytes,
) -> None:
    via = Via(transport="UDP", host=host, port=port, params=(("branch", "z9hG4bK" + branch),))
    request = make_request(
        method, uri, from_=from_, to=to, call_id=call_id, cseq=cseq, via=via, contact=from_, body=body
    )
    parsed = parse_message(bytes(request))
    assert isinstance(parsed, Request)
    assert parsed == request
    assert parse_message(bytes(parsed)) == parsed
    response = make_response(parsed, 200, to_tag="t1")
    assert parse_message(bytes(response)) == response


@given(st.binary(max_size=2048))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(SipParseError):
        parse_message(data)
    request_for_error_reply(data)  # best effort, must never raise
    parser = StreamParser()
    with contextlib.suppress(SipParseError):
        parser.feed(data)
    with contextlib.suppress(SipParseError):
        SessionDescription.parse(data)


HEAD = (
    b"INVITE sip:bob@biloxi.com SIP/2.0\r\nVia: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds\r\n"
    b"Max-Forwards: 70\r\nTo: Bob <sip:bob@biloxi.com>\r\nFrom: Alice <sip:alice@atlanta.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710@pc33.atlanta.com\r\nCSeq: 314159 INVITE\r\nContact: <sip:alice@pc33.atlanta.com>\r\n"
    b"Content-Length: 0\r\n\r\n"
)


@given(st.integers(0, len(HEAD) - 1), st.binary(min_size=1, max_size=4))
def test_mutated_messages_never_crash(position: int, junk: bytes) -> None:
    data = HEAD[:position] + junk + HEAD[position + len(junk) :]
    try:
        message = parse_message(data)
    except SipParseError:
        return
    # whatever parses must serialise and parse again
    parse_message(bytes(message))


@given(st.text(max_size=200))
def test_header_values_never_crash(text: str) -> None:
    for parse in (parse_uri, NameAddr.parse, Via.parse, DigestChallenge.parse, DigestCredentials.parse):
        with contextlib.suppress(SipParseError):
            parse(text)


@given(
    address=st.tuples(*[st.integers(1, 254)] * 4).map(lambda t: ".".join(map(str, t))),
    port=st.integers(1024, 65534),
    session_id=st.integers(0, 2**62),
    codecs=st.sampled_from([("PCMU",), ("PCMA",), ("PCMU", "PCMA"), ("PCMA", "PCMU")]),
    dtmf=st.one_of(st.none(), st.integers(96, 127)),
    ptime=st.sampled_from([10, 20, 30, 40]),
    direction=st.sampled_from(["sendrecv", "sendonly", "recvonly", "inactive"]),
)
def test_sdp_round_trip(
    address: str, port: int, session_id: int, codecs: tuple[str, ...], dtmf: int | None, ptime: int, direction: str
) -> None:
    from openline.codecs.sip import answer_offer, build_offer, process_answer

    offer = build_offer(
        address=address,
        port=port,
        session_id=session_id,
        codecs=codecs,
        dtmf_payload_type=dtmf,
        ptime=ptime,
        direction=direction,
    )
    assert SessionDescription.parse(bytes(offer)) == offer
    answer, media = answer_offer(SessionDescription.parse(bytes(offer)), address="127.0.0.1", port=4000, session_id=1)
    assert SessionDescription.parse(bytes(answer)) == answer
    assert media.codec == codecs[0] and media.dtmf_payload_type == dtmf and media.ptime == ptime
    back = process_answer(offer, answer)
    assert (back.codec, back.remote_port, back.dtmf_payload_type) == (codecs[0], 4000, dtmf)


@given(
    user=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=20),
    realm=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=20),
    nonce=st.from_regex(r"[A-Za-z0-9+/=]{1,40}", fullmatch=True),
    uri=st.sampled_from(["sip:a@b", "sip:+14155550100@127.0.0.1:5060;transport=tcp"]),
    nc=st.integers(1, 2**32 - 1),
    algorithm=st.sampled_from(["MD5", "SHA-256", "MD5-sess", "SHA-256-sess"]),
)
def test_digest_round_trip(user: str, realm: str, nonce: str, uri: str, nc: int, algorithm: str) -> None:
    from openline.codecs.sip import answer_challenge

    challenge = DigestChallenge(realm=realm, nonce=nonce, algorithm=algorithm, opaque="o")
    assert DigestChallenge.parse(str(challenge)) == challenge
    creds = answer_challenge(challenge, method="INVITE", uri=uri, username=user, password="pw", cnonce="c0ffee", nc=nc)
    assert DigestCredentials.parse(str(creds)) == creds
