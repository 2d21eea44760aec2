"""The SMPP session state machine as data (SMPP v3.4 §2.2, §2.3).

Theory of operation
-------------------
An SMPP session (§2.2) starts OPEN once the TCP connection exists. The ESME binds as
transmitter, receiver or transceiver; a *successful* bind response (command_status ESME_ROK)
moves both ends to BOUND_TX, BOUND_RX or BOUND_TRX (§2.2, §4.1.2: on error the ESME stays
unbound and may retry or disconnect). Alternatively the SMSC, having connected to the ESME,
sends outbind (§2.2.1): the session is then OUTBOUND and the ESME answers with bind_receiver.
Either end may unbind (§2.2, §4.2); from the unbind until its unbind_resp the session is
UNBINDING - responses to requests already in flight may still arrive, but no new work starts -
and the unbind_resp closes it (CLOSED; v3.4's "Unbound and Disconnected").

Which PDU each side may issue in which state is Table 2-1 of §2.3, ``RULES`` below, keyed by
(command, issuing role). Where we differ from a literal reading, it is deliberate:

* data_sm: Table 2-1 allows it in all bound states both ways; we apply the §2.2 definitions
  (a receiver does not submit, a transmitter is not delivered to), so ESME→SMSC needs TX/TRX and
  SMSC→ESME needs RX/TRX.
* replace_sm: Table 2-1 lists BOUND_TX only, but §2.2 says a transceiver "supports the complete
  set of operations supported by a Transmitter ESME", so BOUND_TRX too.
* enquire_link(_resp) is accepted in OPEN/OUTBOUND as SMPP v5.0 §2.4 allows; many SMSCs probe
  before the bind completes and refusing would cost the connection.
* bind_transceiver may answer an outbind (SMPP v5.0 §2.2.1), not only bind_receiver.
* generic_nack may be sent in every state: it is the answer to garbage, which can come anytime.
* responses stay acceptable in UNBINDING, so in-flight requests still complete.

``TRANSITIONS`` maps (state, command) to the next state. Requests that change state do so when
sent/received (outbind, unbind); responses when sent/received, and bind responses only when
their command_status is ESME_ROK (``NEEDS_SUCCESS``). Illegal sends raise in session.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Final

from openline.codecs.smpp.pdu import CommandId as C

__all__ = ["BOUND", "NEEDS_SUCCESS", "RULES", "TRANSITIONS", "Role", "Rule", "SessionState"]


class Role(Enum):
    ESME = "esme"
    SMSC = "smsc"

    @property
    def peer(self) -> Role:
        return Role.SMSC if self is Role.ESME else Role.ESME


class SessionState(Enum):
    OPEN = "open"  # connected, bind pending (§2.2)
    OUTBOUND = "outbound"  # outbind received/sent, ESME's bind pending (§2.2.1)
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"  # unbind sent or received, unbind_resp pending
    CLOSED = "closed"  # unbound; the transport should close the connection


S = SessionState
BOUND: Final = frozenset({S.BOUND_TX, S.BOUND_RX, S.BOUND_TRX})
_TX: Final = frozenset({S.BOUND_TX, S.BOUND_TRX})
_RX: Final = frozenset({S.BOUND_RX, S.BOUND_TRX})
_PRE_BIND: Final = frozenset({S.OPEN, S.OUTBOUND})
_ANY: Final = frozenset(S)
_UNB: Final = frozenset({S.UNBINDING})

E = Role.ESME
M = Role.SMSC


@dataclass(frozen=True, slots=True)
class Rule:
    states: frozenset[SessionState]


def _both(command: C, states: frozenset[SessionState]) -> dict[tuple[C, Role], Rule]:
    return {(command, E): Rule(states), (command, M): Rule(states)}


RULES: Final[dict[tuple[C, Role], Rule]] = {
    (C.BIND_TRANSMITTER, E): Rule(frozenset({S.OPEN})),
    (C.BIND_RECEIVER, E): Rule(_PRE_BIND),
    (C.BIND_TRANSCEIVER, E): Rule(_PRE_BIND),
    (C.BIND_TRANSMITTER_RESP, M): Rule(_PRE_BIND),
    (C.BIND_RECEIVER_RESP, M): Rule(_PRE_BIND),
    (C.BIND_TRANSCEIVER_RESP, M): Rule(_PRE_BIND),
    (C.OUTBIND, M): Rule(frozenset({S.OPEN})),
    **_both(C.UNBIND, BOUND | _UNB),
    **_both(C.UNBIND_RESP, _UNB),
    (C.SUBMIT_SM, E): Rule(_TX),
    (C.SUBMIT_SM_RESP, M): Rule(_TX | _UNB),
    (C.SUBMIT_MULTI, E): Rule(_TX),
    (C.SUBMIT_MULTI_RESP, M): Rule(_TX | _UNB),
    (C.QUERY_SM, E): Rule(_TX),
    (C.QUERY_SM_RESP, M): Rule(_TX | _UNB),
    (C.CANCEL_SM, E): Rule(_TX),
    (C.CANCEL_SM_RESP, M): Rule(_TX | _UNB),
    (C.REPLACE_SM, E): Rule(_TX),
    (C.REPLACE_SM_RESP, M): Rule(_TX | _UNB),
    (C.DELIVER_SM, M): Rule(_RX),
    (C.DELIVER_SM_RESP, E): Rule(_RX | _UNB),
    (C.DATA_SM, E): Rule(_TX),
    (C.DATA_SM, M): Rule(_RX),
    (C.DATA_SM_RESP, M): Rule(_TX | _UNB),
    (C.DATA_SM_RESP, E): Rule(_RX | _UNB),
    **_both(C.ENQUIRE_LINK, _PRE_BIND | BOUND | _UNB),
    **_both(C.ENQUIRE_LINK_RESP, _PRE_BIND | BOUND | _UNB),
    (C.ALERT_NOTIFICATION, M): Rule(_RX),
    **_both(C.GENERIC_NACK, _ANY),
}

TRANSITIONS: Final[dict[tuple[SessionState, C], SessionState]] = {
    (S.OPEN, C.OUTBIND): S.OUTBOUND,
    (S.OPEN, C.BIND_TRANSMITTER_RESP): S.BOUND_TX,
    (S.OPEN, C.BIND_RECEIVER_RESP): S.BOUND_RX,
    (S.OPEN, C.BIND_TRANSCEIVER_RESP): S.BOUND_TRX,
    (S.OUTBOUND, C.BIND_RECEIVER_RESP): S.BOUND_RX,
    (S.OUTBOUND, C.BIND_TRANSCEIVER_RESP): S.BOUND_TRX,
    (S.BOUND_TX, C.UNBIND): S.UNBINDING,
    (S.BOUND_RX, C.UNBIND): S.UNBINDING,
    (S.BOUND_TRX, C.UNBIND): S.UNBINDING,
    (S.UNBINDING, C.UNBIND_RESP): S.CLOSED,
}

NEEDS_SUCCESS: Final = frozenset({C.BIND_TRANSMITTER_RESP, C.BIND_RECEIVER_RESP, C.BIND_TRANSCEIVER_RESP})

# Requests with no response PDU: outbind (§4.1.7) and alert_notification (§4.12).
NO_RESPONSE: Final = frozenset({C.OUTBIND, C.ALERT_NOTIFICATION})

# Session-management requests that do not count against the message window: a keep-alive or an
# unbind must get through even when the window is full of submits.
WINDOW_EXEMPT: Final = frozenset({C.ENQUIRE_LINK, C.UNBIND, C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER})
