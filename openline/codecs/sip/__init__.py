"""Sans-IO SIP (RFC 3261) with SDP offer/answer: the signalling core of Programmable Voice.

Modules: ``errors``, ``params`` (lexical helpers), ``uri`` (sip/sips/tel), ``headers`` (name-addr,
Via, CSeq, compact forms), ``message`` (Request/Response, datagram and stream framing),
``builders`` (requests and responses per §8), ``transaction`` (§17 state machines with timers as
actions), ``dialog`` (§12), ``digest`` (RFC 2617/7616/8760 both ends), ``sdp`` (RFC 4566) and
``offer_answer`` (RFC 3264 for PCMU/PCMA/telephone-event).
"""

from openline.codecs.sip.builders import make_request, make_response, new_branch, new_token, reason_phrase
from openline.codecs.sip.dialog import Dialog, DialogState, dialog_id_of_request, dialog_id_of_response
from openline.codecs.sip.digest import DigestChallenge, DigestCredentials, DigestServer, Verdict, answer_challenge
from openline.codecs.sip.errors import SipParseError, SipStateError
from openline.codecs.sip.headers import CSeq, NameAddr, Via, canonical_name
from openline.codecs.sip.message import Headers, Message, Request, Response, StreamParser, parse_message
from openline.codecs.sip.offer_answer import (
    NegotiatedAudio,
    OfferAnswerError,
    answer_offer,
    build_offer,
    process_answer,
)
from openline.codecs.sip.sdp import SessionDescription
from openline.codecs.sip.transaction import (
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    Timer,
    Timers,
)
from openline.codecs.sip.uri import SipUri, TelUri, parse_uri

__all__ = [
    "CSeq",
    "ClientInviteTransaction",
    "ClientNonInviteTransaction",
    "Dialog",
    "DialogState",
    "DigestChallenge",
    "DigestCredentials",
    "DigestServer",
    "Headers",
    "Message",
    "NameAddr",
    "NegotiatedAudio",
    "OfferAnswerError",
    "Request",
    "Response",
    "ServerInviteTransaction",
    "ServerNonInviteTransaction",
    "SessionDescription",
    "SipParseError",
    "SipStateError",
    "SipUri",
    "StreamParser",
    "TelUri",
    "Timer",
    "Timers",
    "Verdict",
    "Via",
    "answer_challenge",
    "answer_offer",
    "build_offer",
    "canonical_name",
    "dialog_id_of_request",
    "dialog_id_of_response",
    "make_request",
    "make_response",
    "new_branch",
    "new_token",
    "parse_message",
    "parse_uri",
    "process_answer",
    "reason_phrase",
]
