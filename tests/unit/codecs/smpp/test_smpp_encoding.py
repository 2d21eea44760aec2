"""data_coding handling (§5.2.19) on top of openline.codecs.gsm0338."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from openline.codecs import gsm0338
from openline.codecs.smpp import SmppParseError
from openline.codecs.smpp.encoding import (
    Alphabet,
    DataCoding,
    alphabet_of,
    decode_text,
    encode_text,
    pack_gsm,
    unpack_gsm,
)
from openline.codecs.smpp.status import CommandStatus


def test_gsm_default_is_chosen_when_possible() -> None:
    enc = encode_text("Hello {world} €5")
    assert enc.data_coding == DataCoding.SMSC_DEFAULT
    assert enc.payload == gsm0338.encode_septets("Hello {world} €5")
    assert enc.units == 19  # '{', '}' and '€' cost two septets each


def test_ucs2_is_chosen_otherwise_and_is_utf16() -> None:
    enc = encode_text("Привет 😀")
    assert enc.data_coding == DataCoding.UCS2
    assert enc.payload == "Привет 😀".encode("utf-16-be")
    assert enc.units == 9  # the emoji is a surrogate pair
    assert decode_text(8, enc.payload) == "Привет 😀"


@pytest.mark.parametrize(
    ("dcs", "text"),
    [(0x01, "plain ascii"), (0x03, "café"), (0x06, "Привет"), (0x07, "שלום"), (0x08, "日本語")],
)
def test_codec_alphabets_round_trip(dcs: int, text: str) -> None:
    enc = encode_text(text, dcs)
    assert enc.data_coding == dcs
    assert decode_text(dcs, enc.payload) == text


def test_unencodable_text_raises_value_error() -> None:
    with pytest.raises(ValueError):
        encode_text("日本", DataCoding.SMSC_DEFAULT)
    with pytest.raises(ValueError):
        encode_text("é", DataCoding.IA5)
    with pytest.raises(ValueError):
        encode_text("x", DataCoding.OCTET_UNSPECIFIED)


def test_binary_is_not_text() -> None:
    with pytest.raises(SmppParseError) as info:
        decode_text(0x04, b"\x01\x02")
    assert info.value.command_status == CommandStatus.ESME_RX_P_APPN
    assert decode_text(0x04, b"ab", strict=False) == "ab"


def test_strict_and_lenient_decoding() -> None:
    with pytest.raises(SmppParseError):
        decode_text(0x08, b"\x00A\x00")  # odd length
    assert decode_text(0x08, b"\x00A\x00", strict=False) == "A\ufffd"
    with pytest.raises(SmppParseError):
        decode_text(0x00, b"caf\xe9")  # an SMSC sending Latin-1 under data_coding 0
    assert decode_text(0x00, b"caf\xe9", strict=False) == "caf?"
    with pytest.raises(SmppParseError):
        decode_text(0x01, b"\xff")


@pytest.mark.parametrize(
    ("dcs", "alphabet"),
    [
        (0x00, Alphabet.GSM7),
        (0x01, Alphabet.CODEC),
        (0x02, Alphabet.BINARY),
        (0x04, Alphabet.BINARY),
        (0x08, Alphabet.UCS2),
        (0xF0, Alphabet.GSM7),
        (0xF4, Alphabet.BINARY),
        (0xC8, Alphabet.GSM7),
        (0xE1, Alphabet.UCS2),
        (0x0B, None),
        (0x09, None),
    ],
)
def test_alphabet_of(dcs: int, alphabet: Alphabet | None) -> None:
    assert alphabet_of(dcs) is alphabet


def test_packed_hello() -> None:
    # "hellohello" packed is the classic TS 23.038 example: E8 32 9B FD 46 97 D9 EC 37.
    septets = gsm0338.encode_septets("hellohello")
    assert pack_gsm(septets).hex() == "e8329bfd4697d9ec37"
    assert unpack_gsm(bytes.fromhex("e8329bfd4697d9ec37")) == septets


def test_packed_cr_padding_rule() -> None:
    # 7 septets leave 7 spare bits in the 7th octet: they are filled with CR (§6.1.2.3.1) and the
    # receiver drops that CR, so an 8th '@' never appears.
    seven = gsm0338.encode_septets("1234567")
    packed = pack_gsm(seven)
    assert len(packed) == 7 and packed[-1] >> 1 == 0x0D
    assert unpack_gsm(packed) == seven
    # 8 septets ending in a wanted CR fill 7 octets exactly: the sender adds a second CR so the
    # receiver keeps one; "<CR><CR>" is defined to display as "<CR>".
    eight = gsm0338.encode_septets("1234567\r")
    assert len(pack_gsm(eight)) == 8
    assert unpack_gsm(pack_gsm(eight)) == eight + b"\r"
    assert unpack_gsm(b"") == b""


def test_packed_text_through_encode_and_decode() -> None:
    enc = encode_text("Packed text!", packed=True)
    assert len(enc.payload) == (12 * 7 + 7) // 8
    assert decode_text(0, enc.payload, packed=True) == "Packed text!"


gsm_text = st.text(alphabet=st.sampled_from([*sorted(set(gsm0338.BASIC_CHARS) - {"\x1b"}), "€", "{", "^"]))


@given(gsm_text, st.booleans())
def test_gsm_round_trip_property(text: str, packed: bool) -> None:
    enc = encode_text(text, 0, packed=packed)
    decoded = decode_text(0, enc.payload, packed=packed)
    # A final CR on an octet boundary is sent doubled (§6.1.2.3.1), so it may come back twice.
    assert decoded == text or (packed and decoded == text + "\r")


@given(st.text())
def test_any_text_encodes_somehow(text: str) -> None:
    try:
        enc = encode_text(text)
    except UnicodeEncodeError:  # lone surrogates cannot be UTF-16 encoded
        return
    assert decode_text(enc.data_coding, enc.payload) == text
