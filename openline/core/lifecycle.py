"""The message lifecycle: every status a message can have and the moves between them.

Theory of operation (Twilio's documented lifecycle, compatibility brief §9): an outbound
message starts ``accepted`` (sent through a messaging service, sender not chosen yet),
``scheduled`` (SendAt) or ``queued`` (direct From). The dispatcher takes a queued message to
``sending`` when it hands it to a carrier, then ``sent`` when the carrier took it, and a
receipt ends it ``delivered`` or ``undelivered``. ``failed`` means it never reached a carrier
(expired in the queue, refused at submit). ``canceled`` is only for scheduled messages. An
inbound message goes ``receiving`` → ``received``. ``read`` follows ``delivered`` on chat
channels that report it (WhatsApp, Messenger), although ``delivered`` is otherwise final.
``sending`` may fall back to ``queued`` when a carrier asks us to retry later (throttling), so
a retry is not a new message.
"""

from __future__ import annotations

from enum import StrEnum

from openline.core.errors import OpenlineError


class MessageStatus(StrEnum):
    ACCEPTED = "accepted"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    CANCELED = "canceled"
    RECEIVING = "receiving"
    RECEIVED = "received"
    READ = "read"
    PARTIALLY_DELIVERED = "partially_delivered"


class Direction(StrEnum):
    INBOUND = "inbound"
    OUTBOUND_API = "outbound-api"
    OUTBOUND_CALL = "outbound-call"
    OUTBOUND_REPLY = "outbound-reply"


S = MessageStatus

INITIAL: frozenset[MessageStatus] = frozenset({S.ACCEPTED, S.SCHEDULED, S.QUEUED, S.RECEIVING, S.RECEIVED})

TRANSITIONS: dict[MessageStatus, frozenset[MessageStatus]] = {
    S.ACCEPTED: frozenset({S.QUEUED, S.FAILED}),
    S.SCHEDULED: frozenset({S.ACCEPTED, S.QUEUED, S.CANCELED, S.FAILED}),
    S.QUEUED: frozenset({S.SENDING, S.FAILED}),
    S.SENDING: frozenset({S.SENT, S.FAILED, S.QUEUED, S.UNDELIVERED}),
    S.SENT: frozenset({S.DELIVERED, S.UNDELIVERED, S.PARTIALLY_DELIVERED}),
    S.PARTIALLY_DELIVERED: frozenset({S.DELIVERED, S.UNDELIVERED}),
    S.DELIVERED: frozenset({S.READ}),
    S.UNDELIVERED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELED: frozenset(),
    S.RECEIVING: frozenset({S.RECEIVED}),
    S.RECEIVED: frozenset(),
    S.READ: frozenset(),
}

FINAL: frozenset[MessageStatus] = frozenset(s for s, nexts in TRANSITIONS.items() if not nexts) | {S.DELIVERED}

# Statuses Twilio reports to StatusCallback; accepted/scheduled/canceled only occur with services.
CALLBACK_STATUSES: frozenset[MessageStatus] = frozenset({
    S.ACCEPTED, S.SCHEDULED, S.CANCELED, S.QUEUED, S.SENDING, S.SENT, S.DELIVERED, S.UNDELIVERED, S.FAILED,
    S.PARTIALLY_DELIVERED, S.READ,
})


class IllegalTransition(OpenlineError):
    def __init__(self, current: MessageStatus, new: MessageStatus) -> None:
        super().__init__(f"a message cannot go from {current.value} to {new.value}")
        self.current = current
        self.new = new


def check_transition(current: MessageStatus, new: MessageStatus) -> MessageStatus:
    if new not in TRANSITIONS[current]:
        raise IllegalTransition(current, new)
    return new


def is_final(status: MessageStatus) -> bool:
    return status in FINAL
