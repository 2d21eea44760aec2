"""Writes the SIP vectors (CRLF line ends, Content-Length matching the body).

Prefixes: ``ok_`` parse and re-encode to the same bytes; ``odd_`` are legal but unusual (compact
forms, folding, odd spacing): they parse and re-parse stably; ``bad_NNN_`` must raise
SipParseError with status NNN. Run ``python make_vectors.py`` here to regenerate.
"""

from pathlib import Path

HERE = Path(__file__).parent
SDP_ALICE = (
    "v=0\r\no=alice 2890844526 2890844526 IN IP4 pc33.atlanta.com\r\ns=-\r\n"
    "c=IN IP4 pc33.atlanta.com\r\nt=0 0\r\nm=audio 49172 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)
SDP_BOB = (
    "v=0\r\no=bob 2890844527 2890844527 IN IP4 biloxi.com\r\ns=-\r\n"
    "c=IN IP4 192.0.2.4\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


def msg(head: str, body: str = "", length: int | None = None) -> bytes:
    lines = head.strip("\n").split("\n")
    if length is None:
        length = len(body.encode())
    if length >= 0:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


V: dict[str, bytes] = {}
# --- RFC 3261 §4 (the Alice -> Bob call through atlanta.com and biloxi.com) ----------------------
V["ok_rfc3261_s4_invite"] = msg(
    """INVITE sip:bob@biloxi.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds
Max-Forwards: 70
To: Bob <sip:bob@biloxi.com>
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.com
CSeq: 314159 INVITE
Contact: <sip:alice@pc33.atlanta.com>
Content-Type: application/sdp""",
    SDP_ALICE,
)
V["ok_rfc3261_s4_200"] = msg(
    """SIP/2.0 200 OK
Via: SIP/2.0/UDP server10.biloxi.com;branch=z9hG4bKnashds8;received=192.0.2.3
Via: SIP/2.0/UDP bigbox3.site3.atlanta.com;branch=z9hG4bK77ef4c2312983.1;received=192.0.2.2
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds ;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.com
CSeq: 314159 INVITE
Contact: <sip:bob@192.0.2.4>
Content-Type: application/sdp""",
    SDP_BOB,
)
V["ok_rfc3261_s4_ack"] = msg(
    """ACK sip:bob@192.0.2.4 SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKnashds9
Max-Forwards: 70
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.com
CSeq: 314159 ACK"""
)
V["ok_rfc3261_s4_bye"] = msg(
    """BYE sip:alice@pc33.atlanta.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.4;branch=z9hG4bKnashds10
Max-Forwards: 70
From: Bob <sip:bob@biloxi.com>;tag=a6c85cf
To: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.com
CSeq: 231 BYE"""
)
V["ok_rfc3261_s4_180"] = msg(
    """SIP/2.0 180 Ringing
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds;received=192.0.2.1
To: Bob <sip:bob@biloxi.com>;tag=a6c85cf
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710@pc33.atlanta.com
Contact: <sip:bob@192.0.2.4>
CSeq: 314159 INVITE"""
)
# --- RFC 3261 §10.2 REGISTER and §20.27 / §22 challenge ------------------------------------------
V["ok_rfc3261_register"] = msg(
    """REGISTER sip:registrar.biloxi.com SIP/2.0
Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7
Max-Forwards: 70
To: Bob <sip:bob@biloxi.com>
From: Bob <sip:bob@biloxi.com>;tag=456248
Call-ID: 843817637684230@998sdasdh09
CSeq: 1826 REGISTER
Contact: <sip:bob@192.0.2.4>
Expires: 7200"""
)
V["ok_401_challenge"] = msg(
    """SIP/2.0 401 Unauthorized
Via: SIP/2.0/UDP bobspc.biloxi.com:5060;branch=z9hG4bKnashds7;received=192.0.2.4
To: Bob <sip:bob@biloxi.com>;tag=2493k59kd
From: Bob <sip:bob@biloxi.com>;tag=456248
Call-ID: 843817637684230@998sdasdh09
CSeq: 1826 REGISTER
WWW-Authenticate: Digest realm="atlanta.com", domain="sip:boxesbybob.com", qop="auth", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5"""
)
V["ok_record_route_ipv6_tel"] = msg(
    """INVITE tel:+1-415-555-0100;phone-context=example.com SIP/2.0
Via: SIP/2.0/TCP [2001:db8::10]:5061;branch=z9hG4bK-d8754z-1;rport
Max-Forwards: 69
Record-Route: <sip:proxy2.example.com;lr>, <sip:[2001:db8::1];lr;transport=tcp>
Route: <sip:p1.example.com;lr>
From: "J. Rosenberg \\"Jdrosen\\"" <sip:+14155550111@example.com;user=phone>;tag=ab%2Fc
To: <tel:+14155550100>
Call-ID: 9d9aecd6-1f3c@2001:db8::10
CSeq: 1 INVITE
Contact: <sip:%2B14155550111@[2001:db8::10]:5061;transport=tcp>;expires=60
Supported: timer, 100rel
X-Custom-Header: anything; goes, here"""
)
V["ok_options_no_body"] = msg(
    """OPTIONS sip:carol@chicago.com SIP/2.0
Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bKhjhs8ass877
Max-Forwards: 70
To: <sip:carol@chicago.com>
From: Alice <sip:alice@atlanta.com>;tag=1928301774
Call-ID: a84b4c76e66710
CSeq: 63104 OPTIONS
Contact: <sip:alice@pc33.atlanta.com>
Accept: application/sdp"""
)
V["ok_486_no_reason_words"] = msg(
    """SIP/2.0 486 Busy Here
Via: SIP/2.0/UDP 10.0.0.1:5070;branch=z9hG4bK1;rport=5070;received=10.0.0.1
From: <sip:a@10.0.0.1>;tag=1
To: <sip:b@10.0.0.2>;tag=2
Call-ID: x@y
CSeq: 7 INVITE"""
)
# --- legal but unusual (RFC 4475 §3.1.1 style "valid" messages, written for this suite) ----------
V["odd_compact_forms"] = msg(
    """INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
v: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bKkdjuw
t: <sip:vivekg@chair-dnrc.example.com>
f: <sip:c8oqz84zk7z@privacy.org>;tag=hyh8
i: 0ha0isndaksdjweiafasdk3
CSeq: 8 INVITE
m: <sip:c8oqz84zk7z@192.0.2.4>
Max-Forwards: 70
c: application/sdp""",
    SDP_ALICE,
).replace(b"Content-Length:", b"l:")
V["odd_folding_and_case"] = (
    b"\r\n\r\nOPTIONS sip:user@example.com SIP/2.0\r\n"
    b"vIa:   SIP/2.0/UDP host1.example.com;branch=z9hG4bK1\r\n"
    b"VIA: SIP / 2.0 / UDP   host2.example.com:5070 ;branch=z9hG4bK2\r\n"
    b"To:\r\n  <sip:user@example.com>\r\n"
    b"From: \"caller name\"  <sip:caller@example.net>\r\n\t;tag=98asjd8\r\n"
    b"cAll-iD: wsinv.ndaksdj@192.0.2.1\r\n"
    b"Max-Forwards:\t70\r\n"
    b"CSeq: 0009\r\n  OPTIONS\r\n"
    b"Content-Length: 0\r\n\r\n"
)
V["odd_escaped_uri_and_semicolon_user"] = msg(
    """MESSAGE sip:+358-555-1234567;postd=pp22@foo.com;user=phone SIP/2.0
Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKesc1
Max-Forwards: 70
From: sip:%61lice@atlanta.com;tag=esc1
To: sip:bob@biloxi.com
Call-ID: esc@atlanta.com
CSeq: 1 MESSAGE
Content-Type: text/plain""",
    "hi",
)
V["odd_content_length_shorter"] = msg(
    """OPTIONS sip:u@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKcl
Max-Forwards: 70
From: <sip:a@example.com>;tag=x
To: <sip:u@example.com>
Call-ID: cl@x
CSeq: 1 OPTIONS""",
    "extra bytes beyond the declared length",
    length=5,
)
V["odd_no_content_length_udp"] = msg(
    """SIP/2.0 200
Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKnocl
From: <sip:a@example.com>;tag=x
To: <sip:u@example.com>;tag=y
Call-ID: nocl@x
CSeq: 1 OPTIONS""",
    length=-1,
)
# --- malformed (RFC 4475 §3.1.2 style "invalid" messages, written for this suite) ----------------
BASE = """OPTIONS sip:u@example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKbad
Max-Forwards: 70
From: <sip:a@example.com>;tag=x
To: <sip:u@example.com>
Call-ID: bad@x
CSeq: 1 OPTIONS"""
V["bad_400_missing_call_id"] = msg(BASE.replace("Call-ID: bad@x\n", ""))
V["bad_400_missing_via"] = msg(BASE.replace("Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKbad\n", ""))
V["bad_400_cseq_method_mismatch"] = msg(BASE.replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE"))
V["bad_400_cseq_too_big"] = msg(BASE.replace("CSeq: 1 OPTIONS", "CSeq: 4294967296 OPTIONS"))
V["bad_400_cseq_negative"] = msg(BASE.replace("CSeq: 1 OPTIONS", "CSeq: -1 OPTIONS"))
V["bad_400_content_length_overrun"] = msg(BASE, "short", length=9999)
V["bad_400_content_length_negative"] = msg(BASE + "\nContent-Length: -5", length=-1)
V["bad_400_content_length_text"] = msg(BASE + "\nContent-Length: five", length=-1)
V["bad_505_version"] = msg(BASE.replace("SIP/2.0\n", "SIP/7.0\n", 1))
V["bad_416_unknown_scheme"] = msg(BASE.replace("OPTIONS sip:u@example.com", "OPTIONS http://example.com/u"))
V["bad_400_request_line_spaces"] = msg(BASE.replace("OPTIONS sip:u@example.com SIP", "OPTIONS  sip:u@example.com SIP"))
V["bad_400_via_port"] = msg(BASE.replace("192.0.2.7;", "192.0.2.7:99999;"))
V["bad_400_via_protocol"] = msg(BASE.replace("SIP/2.0/UDP", "HTTP/1.1/TCP"))
V["bad_400_unterminated_display"] = msg(BASE.replace("From: <sip", 'From: "Alice <sip'))
V["bad_400_missing_gt"] = msg(BASE.replace("To: <sip:u@example.com>", "To: <sip:u@example.com"))
V["bad_400_bad_ipv4"] = msg(BASE.replace("OPTIONS sip:u@example.com", "OPTIONS sip:u@300.1.1.1"))
V["bad_400_bad_ipv6"] = msg(BASE.replace("OPTIONS sip:u@example.com", "OPTIONS sip:u@[2001:db8::g]"))
V["bad_400_max_forwards_text"] = msg(BASE.replace("Max-Forwards: 70", "Max-Forwards: seventy"))
V["bad_400_max_forwards_huge"] = msg(BASE.replace("Max-Forwards: 70", "Max-Forwards: 300"))
V["bad_400_status_code"] = msg(BASE.replace("OPTIONS sip:u@example.com SIP/2.0", "SIP/2.0 99 Nope"))
V["bad_400_header_without_colon"] = msg(BASE + "\nThisIsNotAHeader")
V["bad_400_control_char"] = msg(BASE.replace("Call-ID: bad@x", "Call-ID: bad\x01@x"))
V["bad_400_no_empty_line"] = ("\r\n".join(BASE.split("\n")) + "\r\n").encode()
V["bad_400_binary_garbage"] = bytes(range(256)) + b"\r\n\r\n"
V["bad_400_not_utf8"] = msg(BASE.replace("To: <sip", "Subject: x\nTo: <sip")).replace(b"Subject: x", b"Subject: \xff\xfe")
V["bad_400_continuation_first"] = msg(BASE.replace("Via:", " Via:", 1).replace("OPTIONS sip:u@example.com SIP/2.0\n", "OPTIONS sip:u@example.com SIP/2.0\n  folded\n"))
V["bad_413_too_many_headers"] = msg(BASE + "".join(f"\nX-H{i}: v" for i in range(200)))
V["bad_413_huge_header"] = msg(BASE + "\nSubject: " + "x" * 9000)
V["bad_414_long_uri"] = msg(BASE.replace("OPTIONS sip:u@example.com", "OPTIONS sip:" + "u" * 3000 + "@example.com"))
V["bad_400_empty_via_element"] = msg(BASE.replace("Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKbad", "Via: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bKbad,,"))
V["bad_400_bad_param"] = msg(BASE.replace("tag=x", "tag=x;=y"))
V["bad_400_unquoted_space_display"] = msg(BASE.replace("From: <sip", 'From: Al"ice <sip'))

for old in HERE.glob("*.sip"):
    old.unlink()
for name, data in V.items():
    (HERE / f"{name}.sip").write_bytes(data)
print(len(V), "vectors")
