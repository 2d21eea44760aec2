"""Long messages outbound: split encoded text and build per-part submit_sm fields.

Four ways to send a message longer than one SMS over SMPP:

* ``UDH8`` / ``UDH16``: each part's short_message starts with a UDH carrying IEI 0x00 or 0x08
  (3GPP TS 23.040 §9.2.3.24.1/.8) and esm_class has UDHI set (SMPP v3.4 §5.2.12).
* ``SAR``: the sar_msg_ref_num / sar_total_segments / sar_segment_seqnum TLVs (§5.3.2.22-24)
  and no UDH; the SMSC builds the air-interface UDH itself.
* ``PAYLOAD``: one PDU, whole text in the message_payload TLV (§5.3.2.32), short_message empty
  (sm_length 0, as §4.4.1 requires when message_payload is used); the SMSC segments.

Per-part capacity is what is left of 140 octets of TP-User-Data (TS 23.040 §9.2.3.16) after the
UDH: 6 octets for UDH8 (UDHL + IEI + IEDL + 3), 7 for UDH16. In GSM-7 the UDH is padded to a
septet boundary, so 6 octets cost 7 septets (153 left) and 7 octets cost 8 (152 left). SAR gets
the UDH16 limits because the SMSC may encode its 16-bit reference as IEI 0x08.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final, TypeVar

from openline.codecs.smpp.encoding import Alphabet, EncodedText, alphabet_of, encode_text, pack_gsm
from openline.codecs.smpp.pdus_message import ESM_CLASS_UDHI, DeliverSm, SubmitMulti, SubmitSm
from openline.codecs.smpp.tlv import Tlv, TlvTag
from openline.codecs.smpp.udh import Concat, UserDataHeader, sar_tlvs

__all__ = [
    "ConcatMethod",
    "PartFields",
    "build_parts",
    "segment_limit",
    "split_payload",
    "split_text",
]

_ESCAPE: Final = 0x1B
_SINGLE: Final[dict[Alphabet, int]] = {Alphabet.GSM7: 160, Alphabet.UCS2: 70, Alphabet.BINARY: 140}
_MULTI_UDH8: Final[dict[Alphabet, int]] = {Alphabet.GSM7: 153, Alphabet.UCS2: 67, Alphabet.BINARY: 134}
_MULTI_UDH16: Final[dict[Alphabet, int]] = {Alphabet.GSM7: 152, Alphabet.UCS2: 66, Alphabet.BINARY: 133}
TP_USER_DATA: Final = 140  # octets of user data in one SMS (TS 23.040 §9.2.3.16)
MAX_PAYLOAD: Final = 0xFFFF  # message_payload TLV length field is 2 octets


class ConcatMethod(Enum):
    UDH8 = "udh8"
    UDH16 = "udh16"
    SAR = "sar"
    PAYLOAD = "payload"


def _alphabet(data_coding: int) -> Alphabet:
    alphabet = alphabet_of(data_coding)
    if alphabet is None or alphabet is Alphabet.CODEC:
        return Alphabet.BINARY  # octet-counted, like 8-bit data
    return alphabet


def segment_limit(method: ConcatMethod | None, data_coding: int) -> int:
    """Units per part: septets (GSM), UTF-16 code units (UCS-2) or octets. None = single SMS."""
    alphabet = _alphabet(data_coding)
    if method is None:
        return _SINGLE[alphabet]
    if method is ConcatMethod.UDH8:
        return _MULTI_UDH8[alphabet]
    if method is ConcatMethod.PAYLOAD:
        return MAX_PAYLOAD // (2 if alphabet is Alphabet.UCS2 else 1)
    return _MULTI_UDH16[alphabet]


def split_payload(payload: bytes, data_coding: int, limit: int) -> list[bytes]:
    """Split *unpacked* payload into parts of at most ``limit`` units.

    Never splits a GSM escape pair (0x1B + code, TS 23.038 §6.2.1.1) nor a UTF-16 surrogate pair.
    """
    alphabet = _alphabet(data_coding)
    unit = 2 if alphabet is Alphabet.UCS2 else 1
    step = limit * unit
    parts: list[bytes] = []
    pos = 0
    while len(payload) - pos > step:
        cut = pos + step
        if alphabet is Alphabet.GSM7 and _ends_in_escape(payload, pos, cut):
            cut -= 1
        elif alphabet is Alphabet.UCS2 and 0xD8 <= payload[cut - 2] <= 0xDB:  # high surrogate last
            cut -= 2
        parts.append(payload[pos:cut])
        pos = cut
    parts.append(payload[pos:])
    return parts


def _ends_in_escape(payload: bytes, start: int, cut: int) -> bool:
    # Walk pairs from the part's start (always a character boundary): does one straddle ``cut``?
    i = start
    while i < cut:
        i += 2 if payload[i] == _ESCAPE else 1
    return i > cut


def split_text(text: str, method: ConcatMethod, data_coding: int | None = None) -> tuple[int, list[bytes]]:
    """Encode ``text`` (unpacked GSM or UCS-2) and split it for ``method``; one part if it fits."""
    encoded: EncodedText = encode_text(text, data_coding)
    if encoded.units <= segment_limit(None, encoded.data_coding) or method is ConcatMethod.PAYLOAD:
        return encoded.data_coding, [encoded.payload]
    return encoded.data_coding, split_payload(
        encoded.payload, encoded.data_coding, segment_limit(method, encoded.data_coding)
    )


P = TypeVar("P", SubmitSm, DeliverSm, SubmitMulti)


@dataclass(frozen=True, slots=True)
class PartFields:
    """The submit_sm fields that differ per part; ``apply`` them to a template PDU."""

    esm_class: int
    data_coding: int
    short_message: bytes
    tlvs: tuple[Tlv, ...]

    def apply(self, template: P) -> P:
        return dataclasses.replace(
            template,
            esm_class=self.esm_class,
            data_coding=self.data_coding,
            short_message=self.short_message,
            tlvs=template.tlvs + self.tlvs,
        )


def build_parts(
    payloads: Sequence[bytes],
    method: ConcatMethod,
    data_coding: int,
    ref: int,
    *,
    packed: bool = False,
    esm_class: int = 0,
) -> list[PartFields]:
    """Per-part submit_sm fields for ``payloads`` (GSM given as unpacked septets).

    ``ref`` is the concatenation reference (0-255 for UDH8, 0-65535 otherwise); the caller picks
    it (randomness is injected, never drawn here). A single payload needs no concatenation.
    """
    if not payloads:
        raise ValueError("no payloads")
    gsm = _alphabet(data_coding) is Alphabet.GSM7
    if method is ConcatMethod.PAYLOAD:
        whole = b"".join(payloads)
        body = pack_gsm(whole) if gsm and packed else whole
        if len(body) > MAX_PAYLOAD:
            raise ValueError(f"message_payload of {len(body)} octets exceeds {MAX_PAYLOAD}")
        return [PartFields(esm_class, data_coding, b"", (Tlv(TlvTag.MESSAGE_PAYLOAD, body),))]
    if len(payloads) == 1:
        body = pack_gsm(payloads[0]) if gsm and packed else payloads[0]
        return [PartFields(esm_class, data_coding, body, ())]
    if len(payloads) > 255:
        raise ValueError(f"{len(payloads)} parts; concatenation counts at most 255 (TS 23.040 §9.2.3.24.1)")
    limit = segment_limit(method, data_coding)
    unit = 2 if _alphabet(data_coding) is Alphabet.UCS2 else 1
    total = len(payloads)
    out: list[PartFields] = []
    for seq, payload in enumerate(payloads, start=1):
        if len(payload) > limit * unit:
            raise ValueError(f"part {seq} has {len(payload) // unit} units; {method.name} allows {limit}")
        if method is ConcatMethod.SAR:
            concat = Concat(ref, total, seq, 16)
            body = pack_gsm(payload) if gsm and packed else payload
            out.append(PartFields(esm_class, data_coding, body, sar_tlvs(concat)))
            continue
        concat = Concat(ref, total, seq, 8 if method is ConcatMethod.UDH8 else 16)
        udh = bytes(UserDataHeader.for_concat(concat))
        if gsm and packed:
            # Septets start at the first septet boundary after the UDH (TS 23.040 §9.2.3.24).
            fill = (7 - (len(udh) * 8) % 7) % 7
            body = udh + pack_gsm(payload, fill)
            if len(body) > TP_USER_DATA:
                # A full part ending in CR would need the doubled CR of TS 23.038 §6.1.2.3.1 and
                # one octet more than TP-User-Data holds; send it undoubled instead.
                body = udh + pack_gsm(payload, fill, double_final_cr=False)
        else:
            body = udh + payload
        out.append(PartFields(esm_class | ESM_CLASS_UDHI, data_coding, body, ()))
    return out
