"""GSM 7-bit default alphabet and septet packing (3GPP TS 23.038 §6.1.2.1.1, §6.2.1)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openline.codecs.gsm0338 import (
    BASIC_CHARS,
    ESCAPE,
    EXTENSION_CHARS,
    Gsm0338Error,
    decode_septets,
    encode_septets,
    is_gsm7,
    pack_septets,
    septet_length,
    unpack_septets,
)

# No example database: keep test runs from writing into the tree.
SETTINGS = settings(database=None, deadline=None)

GSM_CHARS = sorted({ch for i, ch in enumerate(BASIC_CHARS) if i != ESCAPE} | set(EXTENSION_CHARS))
gsm_text = st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=400)
septets = st.binary(max_size=400).map(lambda b: bytes(x & 0x7F for x in b))


def reference_pack(values: bytes, fill_bits: int) -> bytes:
    """Bit-by-bit restatement of §6.1.2.1.1, independent of the codec's accumulator."""
    bits = [0] * fill_bits
    for v in values:
        bits.extend((v >> i) & 1 for i in range(7))
    bits.extend([0] * (-len(bits) % 8))
    return bytes(sum(bits[o + i] << i for i in range(8)) for o in range(0, len(bits), 8))


# --- the alphabet ---------------------------------------------------------------------------------


def test_basic_table_matches_23038_spot_checks() -> None:
    assert len(BASIC_CHARS) == 128
    expected = {
        0x00: "@", 0x01: "£", 0x02: "$", 0x03: "¥", 0x09: "Ç", 0x0A: "\n", 0x0D: "\r",
        0x10: "Δ", 0x11: "_", 0x1F: "É", 0x20: " ", 0x24: "¤", 0x30: "0", 0x40: "¡",
        0x41: "A", 0x5B: "Ä", 0x5F: "§", 0x60: "¿", 0x61: "a", 0x7B: "ä", 0x7F: "à",
    }  # fmt: skip
    for code, ch in expected.items():
        assert BASIC_CHARS[code] == ch, hex(code)
    # Every character except the escape placeholder is distinct, so the table is invertible.
    assert len(set(BASIC_CHARS)) == 128


def test_extension_table_matches_23038() -> None:
    assert EXTENSION_CHARS == {
        "\x0c": 0x0A, "^": 0x14, "{": 0x28, "}": 0x29, "\\": 0x2F,
        "[": 0x3C, "~": 0x3D, "]": 0x3E, "|": 0x40, "€": 0x65,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("hello", True),
        ("@£$¥èéùìòÇ\nØø\rÅå", True),
        ("{}[]~|^\\€\x0c", True),
        ("Ç", True),
        ("ç", False),  # only the capital is in the table
        ("á", False),
        ("`", False),
        ("\x1b", False),  # the escape is not a character
        ("\t", False),
        ("\u00a0", False),
        ("😀", False),
        ("hello😀", False),
    ],
)
def test_is_gsm7(text: str, expected: bool) -> None:
    assert is_gsm7(text) is expected


@pytest.mark.parametrize(
    ("text", "length"),
    [("", 0), ("a", 1), ("€", 2), ("a{b}", 6), ("@" * 160, 160), ("{" * 80, 160), ("\x0c", 2)],
)
def test_septet_length(text: str, length: int) -> None:
    assert septet_length(text) == length
    assert len(encode_septets(text)) == length


# --- byte vectors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "packed_hex"),
    [
        ("hellohello", "e8329bfd4697d9ec37"),
        ("hello", "e8329bfd06"),
        ("Hello", "c8329bfd06"),
        ("12345678", "31d98c56b3dd70"),  # 8 septets fill exactly 7 octets
        ("@", "00"),
        ("@@@", "000000"),
        ("€", "9b32"),  # 0x1B 0x65
        ("", ""),
    ],
)
def test_pack_vectors(text: str, packed_hex: str) -> None:
    unpacked = encode_septets(text)
    packed = pack_septets(unpacked)
    assert packed == bytes.fromhex(packed_hex)
    assert unpack_septets(packed, len(unpacked)) == unpacked
    assert decode_septets(unpacked) == text


def test_unpacked_vectors() -> None:
    assert encode_septets("A@€{") == bytes([0x41, 0x00, 0x1B, 0x65, 0x1B, 0x28])
    assert encode_septets("\n\r") == b"\x0a\x0d"


def test_fill_bits_one_udh_alignment() -> None:
    # After a 6-octet UDH (48 bits) one fill bit puts the first septet on bit 49 (TS 23.040
    # §9.2.3.24): the packed text starts one bit later than without a header.
    unpacked = encode_septets("hellohello")
    packed = pack_septets(unpacked, fill_bits=1)
    assert packed == reference_pack(unpacked, 1)
    assert packed[0] == (0x68 << 1) & 0xFF  # 'h' shifted past the fill bit
    assert packed[0] & 1 == 0
    assert len(packed) == (1 + 7 * 10 + 7) // 8
    assert unpack_septets(packed, 10, fill_bits=1) == unpacked
    assert pack_septets(b"\x41", fill_bits=1) == b"\x82"


@pytest.mark.parametrize("fill_bits", range(7))
@pytest.mark.parametrize("count", [0, 1, 7, 8, 9, 152, 153, 160])
def test_pack_unpack_all_fill_bits(fill_bits: int, count: int) -> None:
    values = bytes((i * 37 + 11) & 0x7F for i in range(count))
    packed = pack_septets(values, fill_bits)
    assert packed == reference_pack(values, fill_bits)
    assert len(packed) == (fill_bits + 7 * count + 7) // 8
    assert unpack_septets(packed, count, fill_bits) == values


def test_unpack_leaves_trailing_octets_unread() -> None:
    packed = pack_septets(encode_septets("hello"))
    assert unpack_septets(packed + b"\xff\xff", 5) == encode_septets("hello")


def test_nul_bytes_are_at_signs() -> None:
    assert encode_septets("@@") == b"\x00\x00"
    assert decode_septets(b"\x00\x41") == "@A"
    assert unpack_septets(b"\x00\x00", 2) == b"\x00\x00"


# --- round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [c for c in range(128) if c != ESCAPE])
def test_round_trip_every_basic_char(code: int) -> None:
    ch = BASIC_CHARS[code]
    assert encode_septets(ch) == bytes([code])
    assert decode_septets(bytes([code])) == ch
    assert septet_length(ch) == 1


@pytest.mark.parametrize("ch", sorted(EXTENSION_CHARS))
def test_round_trip_every_extension_char(ch: str) -> None:
    unpacked = bytes([ESCAPE, EXTENSION_CHARS[ch]])
    assert encode_septets(ch) == unpacked
    assert decode_septets(unpacked) == ch
    assert septet_length(ch) == 2
    assert decode_septets(unpack_septets(pack_septets(unpacked, 1), 2, 1)) == ch


# --- decoding fallbacks (module docstring) --------------------------------------------------------


def test_escape_with_unknown_code_falls_back_to_basic_table() -> None:
    # §6.2.1.1: show the main-table character for a code with no extension entry.
    assert decode_septets(bytes([ESCAPE, 0x41])) == "A"
    assert decode_septets(bytes([ESCAPE, 0x00])) == "@"
    assert decode_septets(bytes([ESCAPE, 0x0D])) == "\r"  # CR2, reserved in the extension table


def test_escape_escape_is_space() -> None:
    assert decode_septets(bytes([ESCAPE, ESCAPE])) == " "
    assert decode_septets(bytes([0x41, ESCAPE, ESCAPE, 0x42])) == "A B"


def test_trailing_lone_escape_is_space() -> None:
    assert decode_septets(bytes([ESCAPE])) == " "
    assert decode_septets(bytes([0x41, ESCAPE])) == "A "


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["á", "abc😀", "\x1b", "\t", "`"])
def test_encode_non_gsm_raises(text: str) -> None:
    with pytest.raises(Gsm0338Error):
        encode_septets(text)
    with pytest.raises(Gsm0338Error):
        septet_length(text)


@pytest.mark.parametrize("data", [b"\x80", b"A\xff", bytes([ESCAPE, 0x80])])
def test_decode_out_of_range_raises(data: bytes) -> None:
    with pytest.raises(Gsm0338Error):
        decode_septets(data)


def test_pack_out_of_range_raises() -> None:
    with pytest.raises(Gsm0338Error):
        pack_septets(b"\x41\x80")


@pytest.mark.parametrize("fill_bits", [-1, 7, 8])
def test_bad_fill_bits_raise(fill_bits: int) -> None:
    with pytest.raises(Gsm0338Error):
        pack_septets(b"A", fill_bits)
    with pytest.raises(Gsm0338Error):
        unpack_septets(b"AAAA", 1, fill_bits)


def test_unpack_short_data_or_negative_count_raises() -> None:
    with pytest.raises(Gsm0338Error):
        unpack_septets(b"\xe8\x32", 3)  # 3 septets need 3 octets
    with pytest.raises(Gsm0338Error):
        unpack_septets(b"\x00" * 7, 8, fill_bits=1)  # 57 bits need 8 octets
    with pytest.raises(Gsm0338Error):
        unpack_septets(b"", -1)
    assert unpack_septets(b"", 0, fill_bits=6) == b""


def test_errors_are_value_errors() -> None:
    assert issubclass(Gsm0338Error, ValueError)


# --- properties -----------------------------------------------------------------------------------


@SETTINGS
@given(gsm_text, st.integers(0, 6))
def test_round_trip_random_gsm_text(text: str, fill_bits: int) -> None:
    unpacked = encode_septets(text)
    assert len(unpacked) == septet_length(text)
    assert decode_septets(unpacked) == text
    packed = pack_septets(unpacked, fill_bits)
    assert unpack_septets(packed, len(unpacked), fill_bits) == unpacked


@SETTINGS
@given(septets, st.integers(0, 6))
def test_pack_matches_reference(values: bytes, fill_bits: int) -> None:
    packed = pack_septets(values, fill_bits)
    assert packed == reference_pack(values, fill_bits)
    assert unpack_septets(packed, len(values), fill_bits) == values


@SETTINGS
@given(st.binary(max_size=300))
def test_decode_random_bytes_raises_only_gsm_error(data: bytes) -> None:
    try:
        text = decode_septets(data)
    except Gsm0338Error:
        assert max(data) > 0x7F
    else:
        assert is_gsm7(text)  # fallbacks only ever produce encodable characters


@SETTINGS
@given(st.binary(max_size=200), st.integers(-2, 250), st.integers(-1, 8))
def test_unpack_random_input_raises_only_gsm_error(data: bytes, count: int, fill_bits: int) -> None:
    try:
        out = unpack_septets(data, count, fill_bits)
    except Gsm0338Error:
        return
    assert len(out) == count
    assert all(v <= 0x7F for v in out)


@SETTINGS
@given(st.text(max_size=100))
def test_encode_random_text_raises_only_gsm_error(text: str) -> None:
    try:
        encode_septets(text)
    except Gsm0338Error:
        assert not is_gsm7(text)
    else:
        assert is_gsm7(text)
