"""SMS segmentation: pick GSM-7 or UCS-2 and split a body into concatenated-SMS segments.

Limits (3GPP TS 23.040 §9.2.3.24.1, TS 23.038 §6.2): a single SMS carries 140 octets of user
data, i.e. 160 GSM-7 septets or 70 UCS-2 code units. A concatenated (multipart) SMS spends 6 octets
of every segment on the User Data Header (UDHL + 8-bit reference IE), leaving 153 septets (the
UDH plus one fill bit occupy 7 septets) or 67 UCS-2 code units.

Split rules (matching what Twilio reports as NumSegments, twilio-compat §12):

* an escape pair (extension character, 2 septets) is never split across segments;
* characters outside the Basic Multilingual Plane travel as UTF-16 surrogate pairs (carriers and
  Twilio send UTF-16 under the UCS-2 data coding) and a pair is never split.

An empty body is one empty segment: Twilio counts a media-only MMS as 1 segment, and keeping
``len(segments) == num_segments`` means an empty body still yields exactly one (empty) payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from openline.codecs.gsm0338 import EXTENSION_CHARS, encode_septets, is_gsm7, septet_length

__all__ = [
    "GSM7_MULTI_LIMIT",
    "GSM7_SINGLE_LIMIT",
    "UCS2_MULTI_LIMIT",
    "UCS2_SINGLE_LIMIT",
    "Encoding",
    "Segmentation",
    "choose_encoding",
    "encode_segment_payloads",
    "segment",
]

GSM7_SINGLE_LIMIT = 160  # septets: 140 octets * 8 / 7
GSM7_MULTI_LIMIT = 153  # septets: (140 - 6 octet UDH) * 8 / 7, rounded down
UCS2_SINGLE_LIMIT = 70  # UTF-16 code units: 140 octets / 2
UCS2_MULTI_LIMIT = 67  # UTF-16 code units: (140 - 6 octet UDH) / 2

_BMP_MAX = 0xFFFF


class Encoding(Enum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True, slots=True)
class Segmentation:
    encoding: Encoding
    segments: tuple[str, ...]  # the body split into per-segment texts, in order; never empty

    @property
    def num_segments(self) -> int:
        """Segment count as Twilio reports it; an empty body is 1."""
        return len(self.segments)

    @property
    def units(self) -> int:
        """Septets (GSM-7) or UTF-16 code units (UCS-2) of the whole body."""
        if self.encoding is Encoding.GSM7:
            return sum(septet_length(s) for s in self.segments)
        return sum(_utf16_units(s) for s in self.segments)


def choose_encoding(body: str) -> Encoding:
    """GSM-7 when every character is in the basic or extension table, else UCS-2."""
    return Encoding.GSM7 if is_gsm7(body) else Encoding.UCS2


def segment(body: str) -> Segmentation:
    """Choose the encoding and split ``body`` into segments."""
    if is_gsm7(body):
        encoding = Encoding.GSM7
        total = septet_length(body)
        single, multi = GSM7_SINGLE_LIMIT, GSM7_MULTI_LIMIT
    else:
        encoding = Encoding.UCS2
        total = _utf16_units(body)
        single, multi = UCS2_SINGLE_LIMIT, UCS2_MULTI_LIMIT
    # Fast path: the common short message needs no per-character walk.
    if total <= single:
        return Segmentation(encoding, (body,))
    return Segmentation(encoding, _split(body, multi, encoding))


def encode_segment_payloads(seg: Segmentation) -> tuple[bytes, ...]:
    """Each segment's payload: unpacked septets (GSM-7) or UTF-16-BE octets (UCS-2).

    A lone surrogate (impossible in a body decoded from UTF-8) raises UnicodeEncodeError.
    """
    if seg.encoding is Encoding.GSM7:
        return tuple(encode_septets(s) for s in seg.segments)
    return tuple(s.encode("utf-16-be") for s in seg.segments)


def _split(body: str, limit: int, encoding: Encoding) -> tuple[str, ...]:
    # Greedy: a character that would overflow the segment starts the next one. One Python str
    # character is one escape pair or one surrogate pair, so splitting between characters never
    # splits either.
    wide: frozenset[str] | None = frozenset(EXTENSION_CHARS) if encoding is Encoding.GSM7 else None
    parts: list[str] = []
    start = 0
    used = 0
    for i, ch in enumerate(body):
        cost = (2 if ch in wide else 1) if wide is not None else (2 if ord(ch) > _BMP_MAX else 1)
        if used + cost > limit:
            parts.append(body[start:i])
            start = i
            used = 0
        used += cost
    parts.append(body[start:])
    return tuple(parts)


def _utf16_units(text: str) -> int:
    # "surrogatepass" so a lone surrogate counts one unit instead of raising here.
    return len(text.encode("utf-16-le", "surrogatepass")) // 2
