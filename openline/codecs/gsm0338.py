"""GSM 7-bit default alphabet (3GPP TS 23.038 §6.2.1) and septet packing (§6.1.2.1.1).

Septets are handled in two forms:

* *unpacked*: one septet per byte (values 0x00..0x7F). An extension-table character is the
  escape 0x1B followed by its code, so it costs two septets (§6.2.1.1).
* *packed*: septets laid end to end, least significant bit first, as they travel in SMS
  TP-User-Data (§6.1.2.1.1), optionally after 0..6 fill bits that align the first septet to a
  septet boundary after a User Data Header (3GPP TS 23.040 §9.2.3.24).

Note that '@' is septet 0x00, so both forms legitimately contain NUL bytes.

Decoding choices (documented because the spec leaves the receiver some latitude):

* 0x1B followed by a code with no extension-table entry decodes as the basic-table character of
  that code (§6.2.1.1: "the MS shall display ... the character shown in the main GSM 7 bit default
  alphabet table").
* 0x1B 0x1B decodes to a space: the extension table reserves 0x1B for a further extension table
  and says to display a space until one is defined (§6.2.1.1, note 1).
* A trailing lone 0x1B decodes to U+0020 SPACE. §6.2.1 says a receiver that does not understand
  the escape "shall display it as a space character". (Unicode's GSM0338.TXT maps the escape to
  U+00A0 NBSP instead; we follow the 3GPP text so that decoded bodies contain only characters
  that are themselves GSM-encodable.)
"""

from __future__ import annotations

__all__ = [
    "BASIC_CHARS",
    "ESCAPE",
    "EXTENSION_CHARS",
    "MAX_FILL_BITS",
    "Gsm0338Error",
    "decode_septets",
    "encode_septets",
    "is_gsm7",
    "pack_septets",
    "septet_length",
    "unpack_septets",
]


class Gsm0338Error(ValueError):
    """Text or septets that are not valid GSM 7-bit data (this codec's one parse error)."""


# Septet 0x1B is the escape to the extension table (§6.2.1.1).
ESCAPE = 0x1B

# §6.2.1, Figure "GSM 7 bit default alphabet": index == septet value. Position 0x1B holds the
# escape code itself as a placeholder; it is not an encodable character (is_gsm7("\x1b") is False).
BASIC_CHARS: str = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)

# §6.2.1.1 default extension table: character -> code sent after the 0x1B escape.
EXTENSION_CHARS: dict[str, int] = {
    "\x0c": 0x0A,  # form feed (page break)
    "^": 0x14,
    "{": 0x28,
    "}": 0x29,
    "\\": 0x2F,
    "[": 0x3C,
    "~": 0x3D,
    "]": 0x3E,
    "|": 0x40,
    "€": 0x65,
}

_BASIC_CODES: dict[str, int] = {ch: code for code, ch in enumerate(BASIC_CHARS) if code != ESCAPE}
_EXTENSION_BY_CODE: dict[int, str] = {code: ch for ch, code in EXTENSION_CHARS.items()}
_GSM_CHARS: frozenset[str] = frozenset(_BASIC_CODES) | frozenset(EXTENSION_CHARS)

# str.translate tables: each GSM character becomes its unpacked septet(s) as latin-1 code points,
# so encoding is one C-level pass (this runs on the message hot path).
_ENCODE_TABLE: dict[int, str] = {ord(ch): chr(code) for ch, code in _BASIC_CODES.items()}
_ENCODE_TABLE.update({ord(ch): chr(ESCAPE) + chr(code) for ch, code in EXTENSION_CHARS.items()})
_DECODE_BASIC_TABLE: dict[int, str] = {code: ch for code, ch in enumerate(BASIC_CHARS)}

_SEPTET_MASK = 0x7F
MAX_FILL_BITS = 6  # fill bits only pad up to the next septet boundary (TS 23.040 §9.2.3.24)


def is_gsm7(text: str) -> bool:
    """True when every character is in the basic or extension table."""
    return _GSM_CHARS.issuperset(text)


def septet_length(text: str) -> int:
    """Septets needed for ``text``; extension characters count 2. Raises on a non-GSM character."""
    if not is_gsm7(text):
        raise Gsm0338Error(f"not GSM 7-bit encodable: {_first_non_gsm(text)!r}")
    return len(text) + sum(text.count(ch) for ch in EXTENSION_CHARS)


def encode_septets(text: str) -> bytes:
    """Text -> unpacked septets (one per byte, extension characters as 0x1B + code)."""
    if not is_gsm7(text):
        raise Gsm0338Error(f"not GSM 7-bit encodable: {_first_non_gsm(text)!r}")
    return text.translate(_ENCODE_TABLE).encode("latin-1")


def decode_septets(data: bytes) -> str:
    """Unpacked septets -> text (see the module docstring for the escape fallbacks)."""
    if data and max(data) > _SEPTET_MASK:
        raise Gsm0338Error(f"septet value out of range: 0x{max(data):02x}")
    if ESCAPE not in data:
        return data.decode("latin-1").translate(_DECODE_BASIC_TABLE)
    out: list[str] = []
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        if code != ESCAPE:
            out.append(BASIC_CHARS[code])
            i += 1
            continue
        if i + 1 == n:
            out.append(" ")  # lone trailing escape: displayed as a space (§6.2.1)
            break
        ext = data[i + 1]
        if ext == ESCAPE:
            out.append(" ")  # reserved for another extension table (§6.2.1.1 note 1)
        else:
            out.append(_EXTENSION_BY_CODE.get(ext, BASIC_CHARS[ext]))
        i += 2
    return "".join(out)


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack unpacked septets LSB-first (§6.1.2.1.1), after ``fill_bits`` zero padding bits.

    Unused bits of the last octet are zero: in SMS the septet count travels in TP-UDL, so the
    CR padding of §6.1.2.3.1 (CBS/USSD) is not needed.
    """
    _check_fill_bits(fill_bits)
    if septets and max(septets) > _SEPTET_MASK:
        raise Gsm0338Error(f"septet value out of range: 0x{max(septets):02x}")
    out = bytearray()
    acc = 0
    bits = fill_bits
    for septet in septets:
        acc |= septet << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return bytes(out)


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """Unpack ``count`` septets from packed ``data`` after ``fill_bits`` padding bits.

    Octets beyond the last septet are left unread (the caller knows the count from TP-UDL).
    """
    _check_fill_bits(fill_bits)
    if count < 0:
        raise Gsm0338Error(f"negative septet count: {count}")
    needed = (fill_bits + 7 * count + 7) // 8 if count else 0
    if len(data) < needed:
        raise Gsm0338Error(f"{count} septets need {needed} octets, got {len(data)}")
    out = bytearray()
    acc = 0
    bits = 0
    pos = 0
    skip = fill_bits
    while len(out) < count:
        while bits < 7 + skip:
            acc |= data[pos] << bits
            pos += 1
            bits += 8
        if skip:
            acc >>= skip
            bits -= skip
            skip = 0
        out.append(acc & _SEPTET_MASK)
        acc >>= 7
        bits -= 7
    return bytes(out)


def _check_fill_bits(fill_bits: int) -> None:
    if not 0 <= fill_bits <= MAX_FILL_BITS:
        raise Gsm0338Error(f"fill_bits must be 0..{MAX_FILL_BITS}, got {fill_bits}")


def _first_non_gsm(text: str) -> str:
    return next(ch for ch in text if ch not in _GSM_CHARS)
