"""data_coding: text <-> short_message octets (SMPP v3.4 §5.2.19).

Supported alphabets:

* 0x00 SMSC default alphabet, which for a GSM SMSC is GSM 03.38 (3GPP TS 23.038 §6.2.1). SMSCs
  disagree on whether short_message then carries *unpacked* septets (one per octet, what most
  SMPP SMSCs expect and send) or *packed* septets (as on the air interface); ``packed=`` selects,
  per carrier. Packed data in SMPP has no septet count (sm_length counts octets), so when the
  last octet holds 7 spare bits the sender fills them with CR and the receiver drops that CR,
  the rule of TS 23.038 §6.1.2.3.1.
* 0x01 IA5 / ASCII, 0x03 ISO-8859-1, 0x06 ISO-8859-5, 0x07 ISO-8859-8.
* 0x08 UCS-2. Phones and carriers actually send UTF-16 (surrogate pairs for non-BMP characters
  such as emoji), so we encode and decode UTF-16-BE.
* 0x02 and 0x04 are octet-unspecified (binary): not text; ``decode_text`` refuses them.
* GSM DCS groups an SMSC may pass through (TS 23.038 §4): 0xF0-0xFF (bit 2 picks GSM-7 or 8-bit)
  and 0xC0-0xEF (message waiting: GSM-7, except 0xE0-0xEF which is UCS-2).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from openline.codecs import gsm0338
from openline.codecs.smpp.errors import SmppParseError
from openline.codecs.smpp.status import CommandStatus

__all__ = [
    "Alphabet",
    "DataCoding",
    "EncodedText",
    "alphabet_of",
    "decode_text",
    "encode_text",
    "pack_gsm",
    "unpack_gsm",
]

_CR: Final = 0x0D


class DataCoding(IntEnum):
    """data_coding values of SMPP v3.4 §5.2.19."""

    SMSC_DEFAULT = 0x00
    IA5 = 0x01
    OCTET_UNSPECIFIED_2 = 0x02
    LATIN_1 = 0x03
    OCTET_UNSPECIFIED = 0x04
    JIS = 0x05
    CYRILLIC = 0x06
    LATIN_HEBREW = 0x07
    UCS2 = 0x08
    PICTOGRAM = 0x09
    ISO_2022_JP = 0x0A
    EXTENDED_KANJI = 0x0D
    KS_C_5601 = 0x0E


class Alphabet(IntEnum):
    GSM7 = 0
    BINARY = 1
    UCS2 = 2
    CODEC = 3  # a Python codec in _CODECS


_CODECS: Final[dict[int, str]] = {
    DataCoding.IA5: "ascii",
    DataCoding.LATIN_1: "latin-1",
    DataCoding.CYRILLIC: "iso8859-5",
    DataCoding.LATIN_HEBREW: "iso8859-8",
    DataCoding.ISO_2022_JP: "iso2022_jp",
}


def alphabet_of(data_coding: int) -> Alphabet | None:
    """The alphabet a data_coding value selects, or None when we do not support it."""
    if data_coding == DataCoding.SMSC_DEFAULT:
        return Alphabet.GSM7
    if data_coding == DataCoding.UCS2:
        return Alphabet.UCS2
    if data_coding in (DataCoding.OCTET_UNSPECIFIED, DataCoding.OCTET_UNSPECIFIED_2):
        return Alphabet.BINARY
    if data_coding in _CODECS:
        return Alphabet.CODEC
    if data_coding & 0xF0 == 0xF0:  # TS 23.038 §4 "Data coding/message class": bit 2 = 8-bit data
        return Alphabet.BINARY if data_coding & 0x04 else Alphabet.GSM7
    if 0xC0 <= data_coding <= 0xDF:  # message waiting indication, GSM 7 bit default alphabet
        return Alphabet.GSM7
    if 0xE0 <= data_coding <= 0xEF:  # message waiting indication, uncompressed UCS2
        return Alphabet.UCS2
    return None


@dataclass(frozen=True, slots=True)
class EncodedText:
    data_coding: int
    payload: bytes
    units: int  # septets (GSM), UTF-16 code units (UCS-2) or octets: what the segment limits count


def encode_text(text: str, data_coding: int | None = None, *, packed: bool = False) -> EncodedText:
    """Encode ``text``; with no ``data_coding`` pick GSM 03.38 when possible, else UCS-2.

    Raises ``ValueError`` when ``text`` cannot be represented in the requested data_coding.
    """
    if data_coding is None:
        data_coding = DataCoding.SMSC_DEFAULT if gsm0338.is_gsm7(text) else DataCoding.UCS2
    alphabet = alphabet_of(data_coding)
    if alphabet is Alphabet.GSM7:
        septets = gsm0338.encode_septets(text)  # Gsm0338Error is a ValueError
        payload = pack_gsm(septets) if packed else septets
        return EncodedText(data_coding, payload, len(septets))
    if alphabet is Alphabet.UCS2:
        payload = text.encode("utf-16-be")
        return EncodedText(data_coding, payload, len(payload) // 2)
    if alphabet is Alphabet.CODEC:
        payload = text.encode(_CODECS[data_coding])
        return EncodedText(data_coding, payload, len(payload))
    raise ValueError(f"data_coding 0x{data_coding:02X} is not a text alphabet we can encode")


def decode_text(data_coding: int, payload: bytes, *, packed: bool = False, strict: bool = True) -> str:
    """Decode a short_message / message_payload (without its UDH) to text.

    ``strict`` raises ``SmppParseError`` with ESME_RX_P_APPN - the status an ESME gives a
    deliver_sm it permanently cannot process (§5.1.3) - on undecodable input; non-strict replaces
    bad characters with U+FFFD so an inbound message is never lost to one bad octet.
    """
    alphabet = alphabet_of(data_coding)
    errors = "strict" if strict else "replace"
    try:
        if alphabet is Alphabet.GSM7:
            septets = unpack_gsm(payload) if packed else payload
            if not strict and septets and max(septets) > 0x7F:
                septets = bytes(b if b <= 0x7F else 0x3F for b in septets)  # 0x3F is '?'
            return gsm0338.decode_septets(septets)
        if alphabet is Alphabet.UCS2:
            if strict and len(payload) % 2:
                raise SmppParseError("UCS-2 payload has an odd number of octets", CommandStatus.ESME_RX_P_APPN)
            return payload.decode("utf-16-be", errors)
        if alphabet is Alphabet.CODEC:
            return payload.decode(_CODECS[data_coding], errors)
    except (UnicodeDecodeError, gsm0338.Gsm0338Error) as exc:
        raise SmppParseError(
            f"cannot decode data_coding 0x{data_coding:02X}: {exc}", CommandStatus.ESME_RX_P_APPN
        ) from exc
    if strict:
        raise SmppParseError(f"data_coding 0x{data_coding:02X} is not text we decode", CommandStatus.ESME_RX_P_APPN)
    return payload.decode("latin-1")


def pack_gsm(septets: bytes, fill_bits: int = 0, *, double_final_cr: bool = True) -> bytes:
    """Pack septets with the CR rules of TS 23.038 §6.1.2.3.1.

    7 spare bits in the last octet are filled with CR (else they would read as a trailing '@');
    and a message that really ends in CR exactly on an octet boundary gets a second CR, so the
    receiver cannot mistake the wanted CR for padding ("<CR><CR>" displays the same as "<CR>").
    """
    bits = fill_bits + 7 * len(septets)
    if bits % 8 == 1 or (double_final_cr and bits % 8 == 0 and septets.endswith(bytes([_CR]))):
        septets += bytes([_CR])
    return gsm0338.pack_septets(septets, fill_bits)


def unpack_gsm(data: bytes, fill_bits: int = 0) -> bytes:
    """Unpack every whole septet in ``data``; drop a trailing CR that only filled 7 spare bits."""
    bits = len(data) * 8 - fill_bits
    if bits <= 0:
        return b""
    count = bits // 7
    septets = gsm0338.unpack_septets(data, count, fill_bits)
    if bits % 7 == 0 and septets and septets[-1] == _CR:
        # Exactly 8n bits hold 8n/7 septets only when the sender padded 7 spare bits; if it
        # padded with zero bits instead (pre-§6.1.2.3.1 senders) we see a trailing '@' and keep it.
        septets = septets[:-1]
    return septets
