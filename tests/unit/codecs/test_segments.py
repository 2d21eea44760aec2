"""SMS segmentation (twilio-compat §12; 3GPP TS 23.038 / 23.040 limits)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openline.codecs.gsm0338 import BASIC_CHARS, ESCAPE, EXTENSION_CHARS, decode_septets, septet_length
from openline.codecs.segments import (
    GSM7_MULTI_LIMIT,
    GSM7_SINGLE_LIMIT,
    UCS2_MULTI_LIMIT,
    UCS2_SINGLE_LIMIT,
    Encoding,
    Segmentation,
    choose_encoding,
    encode_segment_payloads,
    segment,
)

SETTINGS = settings(database=None, deadline=None)

GSM = Encoding.GSM7
UCS = Encoding.UCS2
EMOJI = "😀"  # U+1F600: one Python character, a surrogate pair (2 units) in UTF-16
CJK = "漢字仮名交じり文"  # 8 BMP characters, 1 unit each

# (id, body, encoding, segments)
CASES: list[tuple[str, str, Encoding, int]] = [
    ("empty", "", GSM, 1),
    ("hello", "hello", GSM, 1),
    ("gsm-160", "a" * 160, GSM, 1),
    ("gsm-161", "a" * 161, GSM, 2),
    ("gsm-306", "a" * 306, GSM, 2),
    ("gsm-307", "a" * 307, GSM, 3),
    ("gsm-1600", "a" * 1600, GSM, 11),
    ("euro-80", "€" * 80, GSM, 1),
    ("euro-81", "€" * 81, GSM, 2),
    ("brace-80", "{" * 80, GSM, 1),
    ("brace-81", "{" * 81, GSM, 2),
    ("a-acute", "á", UCS, 1),
    ("c-cedilla-capital", "Ç", GSM, 1),
    ("c-cedilla-small", "ç", UCS, 1),
    ("ucs-70", "á" * 70, UCS, 1),
    ("ucs-71", "á" * 71, UCS, 2),
    ("ucs-134", "á" * 134, UCS, 2),
    ("ucs-135", "á" * 135, UCS, 3),
    ("emoji-35", EMOJI * 35, UCS, 1),
    ("emoji-36", EMOJI * 36, UCS, 2),
    ("cjk-short", CJK, UCS, 1),
    ("cjk-70", (CJK * 9)[:70], UCS, 1),
    ("cjk-71", (CJK * 9)[:71], UCS, 2),
    # 66 units of text, then an emoji at units 67-68: the pair must move whole to segment 2.
    ("emoji-straddles-split", "x" * 66 + EMOJI + "ünïcode tail", UCS, 2),
    ("one-ucs-char-among-gsm", "a" * 100 + "á", UCS, 2),
    ("gsm-with-newlines", "line\r\n" * 26 + "abcd", GSM, 1),
]


@pytest.mark.parametrize(("body", "encoding", "count"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_table(body: str, encoding: Encoding, count: int) -> None:
    seg = segment(body)
    assert seg.encoding is encoding
    assert choose_encoding(body) is encoding
    assert seg.num_segments == count
    assert len(seg.segments) == count
    assert "".join(seg.segments) == body
    _assert_fits(seg)


def test_empty_body_is_one_empty_segment() -> None:
    seg = segment("")
    assert seg == Segmentation(Encoding.GSM7, ("",))
    assert seg.units == 0
    assert encode_segment_payloads(seg) == (b"",)


def test_euro_81_splits_76_and_5() -> None:
    seg = segment("€" * 81)
    assert [len(s) for s in seg.segments] == [76, 5]
    assert seg.units == 162


def test_escape_pair_not_split_at_boundary() -> None:
    # 152 plain septets then '{' (2 septets) would straddle the 153-septet boundary.
    body = "a" * 152 + "{" + "b" * 10
    seg = segment(body)
    assert seg.segments == ("a" * 152, "{" + "b" * 10)


def test_emoji_36_splits_33_and_3() -> None:
    seg = segment(EMOJI * 36)
    assert [len(s) for s in seg.segments] == [33, 3]
    assert seg.units == 72


def test_emoji_straddling_split_moves_whole() -> None:
    seg = segment("x" * 66 + EMOJI + "yz" * 5)
    assert seg.segments[0] == "x" * 66
    assert seg.segments[1].startswith(EMOJI)


def test_units() -> None:
    assert segment("a€").units == 3
    assert segment("á" + EMOJI).units == 3
    assert segment("a" * 1600).units == 1600


def test_payloads_gsm7_are_unpacked_septets() -> None:
    seg = segment("€" * 81)
    payloads = encode_segment_payloads(seg)
    assert payloads[0] == bytes([ESCAPE, EXTENSION_CHARS["€"]]) * 76
    assert len(payloads[1]) == 10
    assert "".join(decode_septets(p) for p in payloads) == "€" * 81


def test_payloads_ucs2_are_utf16_be() -> None:
    seg = segment("á" + EMOJI)
    assert encode_segment_payloads(seg) == (("á" + EMOJI).encode("utf-16-be"),)
    assert encode_segment_payloads(seg)[0] == bytes.fromhex("00e1d83dde00")


def test_payload_sizes_fit_140_octets() -> None:
    for body in ("€" * 300, EMOJI * 100, "á" * 500, "a" * 1600):
        seg = segment(body)
        for payload in encode_segment_payloads(seg):
            # Unpacked septets pack to ceil(n * 7 / 8) octets; add the 6-octet UDH when multipart.
            octets = (len(payload) * 7 + 7) // 8 if seg.encoding is GSM else len(payload)
            assert octets + 6 <= 140


def test_segmentation_is_frozen() -> None:
    seg = segment("hi")
    with pytest.raises(AttributeError):
        seg.encoding = Encoding.UCS2  # type: ignore[misc]


# --- properties -----------------------------------------------------------------------------------

GSM_CHARS = sorted({ch for i, ch in enumerate(BASIC_CHARS) if i != ESCAPE} | set(EXTENSION_CHARS))
# Weighted toward escape characters and astral characters so that boundaries land on them.
gsm_bodies = st.text(
    alphabet=st.sampled_from(GSM_CHARS) | st.sampled_from(sorted(EXTENSION_CHARS)), max_size=700
)
any_bodies = st.text(
    alphabet=st.characters(exclude_categories=("Cs",)) | st.sampled_from([EMOJI, "𝄞", "á", "€", "{"]),
    max_size=400,
)


def _unit_cost(encoding: Encoding, ch: str) -> int:
    if encoding is Encoding.GSM7:
        return septet_length(ch)
    return 2 if ord(ch) > 0xFFFF else 1


def _assert_fits(seg: Segmentation) -> None:
    assert seg.segments, "never empty"
    single = GSM7_SINGLE_LIMIT if seg.encoding is GSM else UCS2_SINGLE_LIMIT
    multi = GSM7_MULTI_LIMIT if seg.encoding is GSM else UCS2_MULTI_LIMIT
    limit = single if len(seg.segments) == 1 else multi
    sizes = [sum(_unit_cost(seg.encoding, ch) for ch in s) for s in seg.segments]
    assert all(size <= limit for size in sizes)
    assert sum(sizes) == seg.units
    if len(seg.segments) > 1:
        assert seg.units > single
        assert all(s for s in seg.segments)  # no empty segment in a multipart message
        # Greedy: each full segment could not have taken the next character (so a split only
        # happens where the next escape pair or surrogate pair would not fit).
        for size, nxt in zip(sizes, seg.segments[1:], strict=False):
            assert size + _unit_cost(seg.encoding, nxt[0]) > limit


def _assert_payloads(seg: Segmentation) -> None:
    payloads = encode_segment_payloads(seg)
    assert len(payloads) == seg.num_segments
    if seg.encoding is GSM:
        # No payload ends in a dangling escape: the pair was not split.
        assert not any(p.endswith(bytes([ESCAPE])) for p in payloads)
        assert "".join(decode_septets(p) for p in payloads) == "".join(seg.segments)
    else:
        # No payload ends in a high surrogate or starts with a low one.
        for p in payloads:
            if p:
                assert not 0xD800 <= int.from_bytes(p[-2:], "big") <= 0xDBFF
                assert not 0xDC00 <= int.from_bytes(p[:2], "big") <= 0xDFFF
        assert b"".join(payloads).decode("utf-16-be") == "".join(seg.segments)


@SETTINGS
@given(gsm_bodies)
def test_property_gsm(body: str) -> None:
    seg = segment(body)
    assert seg.encoding is Encoding.GSM7
    assert "".join(seg.segments) == body
    assert seg.units == septet_length(body)
    _assert_fits(seg)
    _assert_payloads(seg)


@SETTINGS
@given(any_bodies)
def test_property_any_text(body: str) -> None:
    seg = segment(body)
    assert seg.encoding is choose_encoding(body)
    assert "".join(seg.segments) == body
    _assert_fits(seg)
    _assert_payloads(seg)
