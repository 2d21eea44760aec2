"""SDP offer/answer (RFC 3264) for one audio stream: PCMU, PCMA and telephone-event (RFC 4733).

    offer = build_offer(address="127.0.0.1", port=20000, session_id=...)
    answer, media = answer_offer(offer_sdp, address=..., port=..., session_id=...)
    media = process_answer(offer, answer_sdp)          # on the offerer's side

The answerer keeps the offerer's payload-type numbers (§6.1: the answer MUST use the same PTs
for the same codecs), picks the first offered codec it supports, and echoes the offerer's
telephone-event PT (peers hard-code 96 or 101). Streams it does not take are rejected with port
0 in the same m-line position (§6). A failed negotiation is an :class:`OfferAnswerError` whose
``status`` is the SIP answer, 488 Not Acceptable Here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from openline.codecs.sip.errors import SipParseError
from openline.codecs.sip.sdp import Connection, Media, Origin, SessionDescription

__all__ = [
    "DEFAULT_DTMF_PT",
    "STATIC_PAYLOAD_TYPES",
    "SUPPORTED_CODECS",
    "NegotiatedAudio",
    "OfferAnswerError",
    "answer_offer",
    "build_offer",
    "process_answer",
]

STATIC_PAYLOAD_TYPES: Final = {0: ("PCMU", 8000), 8: ("PCMA", 8000)}  # RFC 3551 Table 4
SUPPORTED_CODECS: Final = ("PCMU", "PCMA")
DEFAULT_DTMF_PT: Final = 101
_REVERSE_DIRECTION: Final = {
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "sendrecv": "sendrecv",
    "inactive": "inactive",
}


class OfferAnswerError(SipParseError):
    def __init__(self, message: str) -> None:
        super().__init__(message, status=488)


@dataclass(frozen=True, slots=True)
class NegotiatedAudio:
    """The outcome for the local side: what to send where, and how to read what arrives."""

    codec: str  # "PCMU" | "PCMA"
    payload_type: int
    dtmf_payload_type: int | None
    remote_address: str
    remote_port: int
    ptime: int
    direction: str  # local view: sendrecv | sendonly | recvonly | inactive
    # where RTCP goes when the SDP says (RFC 3605 ``a=rtcp``); None: the RTP port + 1 (RFC 3550 §11)
    remote_rtcp: tuple[str, int] | None = None

    @property
    def on_hold(self) -> bool:
        return self.direction in ("recvonly", "inactive") or self.remote_address in ("0.0.0.0", "::")


def _codecs_of(media: Media) -> list[tuple[int, str, int, str | None]]:
    """(pt, NAME, rate, fmtp) for every format of an m-line, static types resolved."""
    rtpmap, fmtp = media.rtpmap, media.fmtp
    out: list[tuple[int, str, int, str | None]] = []
    for fmt in media.formats:
        pt = int(fmt)
        if pt in rtpmap:
            name, rate, _ = rtpmap[pt]
            out.append((pt, name.upper(), rate, fmtp.get(pt)))
        elif pt in STATIC_PAYLOAD_TYPES:
            name, rate = STATIC_PAYLOAD_TYPES[pt]
            out.append((pt, name, rate, None))
    return out


def _audio_media(port: int, payloads: list[tuple[int, str, int, str | None]], ptime: int, direction: str) -> Media:
    attrs: list[tuple[str, str | None]] = []
    for pt, name, rate, fmtp in payloads:
        attrs.append(("rtpmap", f"{pt} {name if name != 'TELEPHONE-EVENT' else 'telephone-event'}/{rate}"))
        if fmtp:
            attrs.append(("fmtp", f"{pt} {fmtp}"))
    attrs.append(("ptime", str(ptime)))
    attrs.append((direction, None))
    return Media(
        media="audio", port=port, proto="RTP/AVP", formats=tuple(str(p[0]) for p in payloads), attributes=tuple(attrs)
    )


def _addrtype(address: str) -> str:
    return "IP6" if ":" in address else "IP4"


def build_offer(
    *,
    address: str,
    port: int,
    session_id: int,
    version: int = 1,
    codecs: tuple[str, ...] = SUPPORTED_CODECS,
    dtmf_payload_type: int | None = DEFAULT_DTMF_PT,
    ptime: int = 20,
    direction: str = "sendrecv",
    username: str = "openline",
) -> SessionDescription:
    payloads: list[tuple[int, str, int, str | None]] = []
    for name in codecs:
        pt = {"PCMU": 0, "PCMA": 8}.get(name.upper())
        if pt is None:
            raise ValueError(f"unsupported codec {name!r}")
        payloads.append((pt, name.upper(), 8000, None))
    if dtmf_payload_type is not None:
        payloads.append((dtmf_payload_type, "telephone-event", 8000, "0-16"))
    return SessionDescription(
        origin=Origin(username, str(session_id), str(version), "IN", _addrtype(address), address),
        session_name="-",
        connection=Connection(address=address, addrtype=_addrtype(address)),
        media=(_audio_media(port, payloads, ptime, direction),),
    )


def _remote(sdp: SessionDescription, media: Media) -> tuple[str, int]:
    conn = sdp.media_connection(media)
    if conn is None:
        raise OfferAnswerError("audio stream without a connection address")
    return conn.address, media.port


def _rtcp(media: Media, address: str) -> tuple[str, int] | None:
    """RFC 3605 ``a=rtcp:<port> [IN IP4 <address>]``; anything unreadable is ignored (port + 1)."""
    value = media.attr("rtcp")
    if not value:
        return None
    parts = value.split()
    if not parts[0].isdigit() or not 0 < int(parts[0]) < 65536:
        return None
    return (parts[3] if len(parts) >= 4 else address), int(parts[0])


def answer_offer(
    offer: SessionDescription,
    *,
    address: str,
    port: int,
    session_id: int,
    version: int = 1,
    codecs: tuple[str, ...] = SUPPORTED_CODECS,
    ptime: int = 20,
    username: str = "openline",
) -> tuple[SessionDescription, NegotiatedAudio]:
    wanted = {c.upper() for c in codecs}
    chosen: NegotiatedAudio | None = None
    answer_media: list[Media] = []
    for media in offer.media:
        usable = media.media == "audio" and media.port != 0 and media.proto.upper() in ("RTP/AVP", "RTP/AVPF")
        offered = _codecs_of(media) if usable else []
        audio = [c for c in offered if c[1] in wanted and c[2] == 8000]
        if chosen is not None or not audio:
            answer_media.append(
                Media(media=media.media, port=0, proto=media.proto, formats=media.formats[:1] or ("0",))
            )
            continue
        codec = audio[0]
        dtmf = next((c for c in offered if c[1] == "TELEPHONE-EVENT" and c[2] == 8000), None)
        payloads = [codec] + ([(dtmf[0], dtmf[1], 8000, dtmf[3] or "0-16")] if dtmf else [])
        remote_direction = media.direction
        direction = _REVERSE_DIRECTION.get(remote_direction, "sendrecv")
        remote_address, remote_port = _remote(offer, media)
        answer_ptime = media.ptime or ptime
        answer_media.append(_audio_media(port, payloads, answer_ptime, direction))
        chosen = NegotiatedAudio(
            codec=codec[1],
            payload_type=codec[0],
            dtmf_payload_type=dtmf[0] if dtmf else None,
            remote_address=remote_address,
            remote_port=remote_port,
            ptime=answer_ptime,
            direction=direction,
            remote_rtcp=_rtcp(media, remote_address),
        )
    if chosen is None:
        raise OfferAnswerError("no acceptable audio stream in the offer")
    answer = SessionDescription(
        origin=Origin(username, str(session_id), str(version), "IN", _addrtype(address), address),
        session_name="-",
        connection=Connection(address=address, addrtype=_addrtype(address)),
        timing=offer.timing[:1] or ("0 0",),
        media=tuple(answer_media),
    )
    return answer, chosen


def process_answer(offer: SessionDescription, answer: SessionDescription) -> NegotiatedAudio:
    """The offerer's view of an answer; it must mirror the offer's m-lines (§6, §7)."""
    if len(answer.media) != len(offer.media):
        raise OfferAnswerError("answer has a different number of m-lines than the offer")
    for ours, theirs in zip(offer.media, answer.media, strict=True):
        if theirs.media != ours.media or theirs.port == 0 or ours.media != "audio":
            continue
        offered = {c[0]: c for c in _codecs_of(ours)}
        accepted = [c for c in _codecs_of(theirs) if c[1] in SUPPORTED_CODECS]
        if not accepted:
            continue
        codec = accepted[0]
        if codec[0] not in offered or offered[codec[0]][1] != codec[1]:
            raise OfferAnswerError(f"answer chose {codec[1]}/{codec[0]}, which was not offered")
        dtmf = next((c for c in _codecs_of(theirs) if c[1] == "TELEPHONE-EVENT"), None)
        remote_address, remote_port = _remote(answer, theirs)
        return NegotiatedAudio(
            codec=codec[1],
            payload_type=codec[0],
            dtmf_payload_type=dtmf[0] if dtmf else None,
            remote_address=remote_address,
            remote_port=remote_port,
            ptime=theirs.ptime or ours.ptime or 20,
            direction=_REVERSE_DIRECTION.get(theirs.direction, "sendrecv"),
            remote_rtcp=_rtcp(theirs, remote_address),
        )
    raise OfferAnswerError("the answer accepted no audio stream")
