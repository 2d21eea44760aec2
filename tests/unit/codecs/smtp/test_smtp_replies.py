"""The codec recipe over tests/vectors/smtp/*.txt, plus EHLO capabilities and bounds."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openline.codecs.smtp import Capabilities, Reply, ReplyReader, SmtpParseError
from openline.codecs.smtp.replies import MAX_REPLY_LINE, MAX_REPLY_LINES

VECTORS = sorted((Path(__file__).parents[3] / "vectors" / "smtp").glob("*.txt"))
OK = [p for p in VECTORS if p.name.startswith("ok_")]
BAD = [p for p in VECTORS if p.name.startswith("bad_")]


def test_inventory() -> None:
    assert len(OK) >= 8 and len(BAD) >= 8


@pytest.mark.parametrize("path", OK, ids=[p.stem for p in OK])
def test_ok_vectors_parse_whole_bytewise_with_trailing_and_reencode(path: Path) -> None:
    data = path.read_bytes()
    reply = Reply.parse(data)
    assert bytes(reply) == data
    reader = ReplyReader()
    got = []
    for i in range(len(data)):
        reader.feed(data[i:i + 1])
        if (r := reader.next_reply()) is not None:
            got.append((i, r))
    assert got == [(len(data) - 1, reply)]
    reader = ReplyReader()
    reader.feed(data + b"250-next")
    assert reader.next_reply() == reply and reader.next_reply() is None and reader.buffered == len(b"250-next")


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_vectors_raise_the_parse_error(path: Path) -> None:
    with pytest.raises(SmtpParseError):
        Reply.parse(path.read_bytes())


def test_several_pipelined_replies_in_one_read() -> None:
    reader = ReplyReader()
    reader.feed(b"250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n550 5.1.1 no\r\n354 go\r\n")
    codes = []
    while (reply := reader.next_reply()) is not None:
        codes.append(reply.code)
    assert codes == [250, 250, 550, 354]


def test_text_and_bare_lf() -> None:
    reply = Reply.parse(b"550-5.1.1 first\n550 second\n")
    assert reply.code == 550 and reply.lines == ("5.1.1 first", "second") and reply.text == "5.1.1 first second"
    assert not reply.positive and Reply.parse(b"354 go\r\n").positive


def test_not_exactly_one_reply() -> None:
    with pytest.raises(SmtpParseError):
        Reply.parse(b"250 a\r\n250 b\r\n")
    with pytest.raises(SmtpParseError):
        Reply.parse(b"250-a\r\n")


def test_bounds() -> None:
    reader = ReplyReader()
    reader.feed(b"250 " + b"x" * MAX_REPLY_LINE)
    with pytest.raises(SmtpParseError):
        reader.next_reply()
    reader = ReplyReader()
    reader.feed(b"250-x\r\n" * (MAX_REPLY_LINES + 1))
    with pytest.raises(SmtpParseError):
        reader.next_reply()


@given(st.binary(max_size=300))
def test_random_bytes_give_replies_or_the_parse_error(data: bytes) -> None:
    reader = ReplyReader()
    reader.feed(data)
    try:
        while (reply := reader.next_reply()) is not None:
            assert 200 <= reply.code <= 599
    except SmtpParseError:
        pass


def test_capabilities_from_postfix_ehlo() -> None:
    caps = Capabilities.from_ehlo(Reply.parse((Path(__file__).parents[3] / "vectors" / "smtp" /
                                               "ok_ehlo_postfix.txt").read_bytes()))
    assert caps.domain == "mx.example.net" and caps.pipelining and caps.starttls and caps.size == 10240000
    assert caps.eight_bit_mime and caps.smtputf8 and caps.enhanced_status_codes and caps.auth == frozenset()


def test_capabilities_auth_both_spellings_and_case() -> None:
    caps = Capabilities.from_ehlo(Reply.parse(b"250-relay\r\n250-auth=login\r\n250-AUTH PLAIN CRAM-MD5\r\n"
                                              b"250-size\r\n250 pipelining\r\n"))
    assert caps.auth == {"PLAIN", "LOGIN", "CRAM-MD5"} and caps.size == 0 and caps.pipelining
    assert not caps.starttls
    with pytest.raises(SmtpParseError):
        Capabilities.from_ehlo(Reply.parse(b"502 no\r\n"))
