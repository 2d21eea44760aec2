"""URIs (sip/sips/tel, E.164 users), name-addr, Via, CSeq, compact names."""

from __future__ import annotations

import pytest

from openline.codecs.sip import CSeq, NameAddr, SipParseError, SipUri, TelUri, Via, canonical_name, parse_uri


@pytest.mark.parametrize(
    "text",
    [
        "sip:alice@atlanta.com",
        "sip:alice:secretword@atlanta.com;transport=tcp",
        "sips:alice@atlanta.com?subject=project%20x&priority=urgent",
        "sip:+1-212-555-1212:1234@gateway.com;user=phone",
        "sips:1212@gateway.com",
        "sip:alice@192.0.2.4",
        "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com",
        "sip:alice;day=tuesday@atlanta.com",
        "sip:[2001:db8::1]:5061;transport=tls;lr",
        "sip:%2B14155550100@127.0.0.1:5060",
        "tel:+1-201-555-0123",
        "tel:7042;phone-context=example.com",
    ],
)
def test_rfc3261_19_1_3_examples_round_trip(text: str) -> None:
    assert str(parse_uri(text)) == text


def test_sip_uri_parts() -> None:
    uri = parse_uri("sip:+1-212-555-1212:1234@gateway.com;user=phone")
    assert isinstance(uri, SipUri)
    assert uri.user == "+1-212-555-1212" and uri.password == "1234" and uri.param("user") == "phone"
    assert uri.e164 == "+12125551212"
    uri = parse_uri("sips:alice@atlanta.com:5061?subject=project%20x&priority=urgent")
    assert isinstance(uri, SipUri) and uri.secure and uri.port == 5061
    assert uri.headers == (("subject", "project%20x"), ("priority", "urgent"))
    assert str(uri.without_headers()) == "sips:alice@atlanta.com:5061"
    assert parse_uri("SIP:bob@example.com").scheme == "sip"
    tel = parse_uri("tel:+1-201-555-0123")
    assert isinstance(tel, TelUri) and tel.e164 == "+12015550123"
    assert parse_uri("tel:7042;phone-context=example.com").e164 is None
    assert parse_uri("sip:bob@example.com").e164 is None  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("http://example.com", 416),
        ("mailto:a@b", 416),
        ("sip:", 400),
        ("sip:a b@c", 400),
        ("sip:@host", 400),
        ("sip:user@", 400),
        ("sip:u@h:0", 400),
        ("sip:u@h:123456", 400),
        ("sip:u@256.1.1.1", 400),
        ("sip:u@[::1", 400),
        ("sip:u@[zz::1]", 400),
        ("sip:u@h;=x", 400),
        ("sip:u@h?x", 400),
        ("sip:u@-bad-.com", 400),
        ("tel:xyz", 400),
        ("nocolon", 400),
        ("sip:" + "a" * 3000 + "@h", 414),
    ],
)
def test_bad_uris(text: str, status: int) -> None:
    with pytest.raises(SipParseError) as info:
        parse_uri(text)
    assert info.value.status == status


@pytest.mark.parametrize(
    "text",
    [
        '"Alice Liddell" <sip:alice@wonderland.com>;tag=1',
        "<sip:bob@biloxi.com>",
        "Bob <sip:bob@biloxi.com>;tag=a6c85cf",
        "sip:+12125551212@server.phone2net.com;tag=887s",
        '"" <sip:anon@anonymous.invalid>',
        '"quote \\" inside" <tel:+14155550100>;x=y',
    ],
)
def test_name_addr_round_trip(text: str) -> None:
    assert str(NameAddr.parse(text)) == text


def test_name_addr_semantics() -> None:
    addr = NameAddr.parse("sip:+12125551212@server.phone2net.com;tag=887s")
    assert addr.tag == "887s" and not addr.uri.params  # §20.10: params of an addr-spec belong to the header
    assert str(addr.with_tag("new")) == "sip:+12125551212@server.phone2net.com;tag=new"
    assert NameAddr.parse('"Al" <sip:a@b>').display_name == "Al"
    assert str(NameAddr.parse("<sip:a@b>").with_tag("t")) == "<sip:a@b>;tag=t"
    with pytest.raises(SipParseError):
        NameAddr.parse("<tel:+1415>").sip_uri  # noqa: B018


def test_via() -> None:
    via = Via.parse("SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;rport")
    assert via.wants_rport and via.rport is None and via.branch == "z9hG4bK1" and not via.reliable
    stamped = via.stamped("192.0.2.9", 40000)
    assert stamped.received == "192.0.2.9" and stamped.rport == 40000
    assert stamped.response_address() == ("192.0.2.9", 40000)
    assert str(stamped) == "SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;received=192.0.2.9;rport=40000"
    plain = Via.parse("SIP/2.0/TCP host.example.com;branch=z9hG4bK2")
    assert plain.reliable and plain.response_address() == ("host.example.com", 5060)
    assert plain.stamped("192.0.2.1", 5060) == plain.with_param("received", "192.0.2.1")
    same = Via.parse("SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK3")
    assert same.stamped("10.0.0.1", 5070) == same
    for bad in ("SIP/2.0/UDP", "SIP/3.0/UDP h", "SIP/2.0/UDP h;rport=0", "SIP/2.0/UDP h:x", "junk"):
        with pytest.raises(SipParseError):
            Via.parse(bad)


def test_cseq_and_names() -> None:
    assert CSeq.parse("  101   INVITE ") == CSeq(101, "INVITE") and str(CSeq(1, "BYE")) == "1 BYE"
    for bad in ("INVITE", "1", "x INVITE", "2147483648 INVITE", "1 INV ITE"):
        with pytest.raises(SipParseError):
            CSeq.parse(bad)
    assert [canonical_name(n) for n in ("v", "I", "call-id", "CSEQ", "x-my-header", "WWW-authenticate")] == [
        "Via", "Call-ID", "Call-ID", "CSeq", "X-My-Header", "WWW-Authenticate",
    ]
