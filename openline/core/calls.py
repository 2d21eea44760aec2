"""The call lifecycle: every status a call can have, the moves between them, and how a leg's end maps to them.

Theory of operation (Twilio's Call resource, "Call Status Values"): an outbound call starts
``queued`` (accepted, waiting for its dial slot), goes ``ringing`` when the far end alerts and
``in-progress`` when it answers, and ends ``completed`` after an answer. A call that never
connects ends ``busy``, ``no-answer``, ``failed`` or ``canceled`` (hung up or updated to
``canceled`` before it was answered). An inbound call starts ``ringing`` (offered to the
application) and goes ``in-progress`` once the TwiML answers it. Ends are final: a call never
leaves them. ``duration`` counts whole seconds from answer to end, as Twilio bills; a call that
never connected has duration 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from openline.core.call_legs import EndReason
from openline.core.errors import OpenlineError


class CallStatus(StrEnum):
    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    BUSY = "busy"
    FAILED = "failed"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"


class CallDirection(StrEnum):
    INBOUND = "inbound"
    OUTBOUND_API = "outbound-api"
    OUTBOUND_DIAL = "outbound-dial"


class CallbackEvent(StrEnum):
    """``StatusCallbackEvent`` values: which steps are reported to ``StatusCallback``."""

    INITIATED = "initiated"
    RINGING = "ringing"
    ANSWERED = "answered"
    COMPLETED = "completed"


S = CallStatus

FINAL: frozenset[CallStatus] = frozenset({S.COMPLETED, S.BUSY, S.FAILED, S.NO_ANSWER, S.CANCELED})

TRANSITIONS: dict[CallStatus, frozenset[CallStatus]] = {
    S.QUEUED: frozenset({S.RINGING, S.IN_PROGRESS, S.BUSY, S.FAILED, S.NO_ANSWER, S.CANCELED}),
    S.RINGING: frozenset({S.IN_PROGRESS, S.BUSY, S.FAILED, S.NO_ANSWER, S.CANCELED}),
    S.IN_PROGRESS: frozenset({S.COMPLETED, S.FAILED}),
    **{status: frozenset() for status in FINAL},
}

# The event a status reports to StatusCallback (queued is "initiated": the dial is starting).
EVENT_OF: dict[CallStatus, CallbackEvent] = {
    S.QUEUED: CallbackEvent.INITIATED,
    S.RINGING: CallbackEvent.RINGING,
    S.IN_PROGRESS: CallbackEvent.ANSWERED,
    **{status: CallbackEvent.COMPLETED for status in FINAL},
}


class IllegalCallTransition(OpenlineError):
    def __init__(self, old: CallStatus, new: CallStatus) -> None:
        super().__init__(f"a call cannot go from {old.value} to {new.value}")
        self.old = old
        self.new = new


def is_final(status: CallStatus) -> bool:
    return status in FINAL


def check_transition(old: CallStatus, new: CallStatus) -> None:
    if new not in TRANSITIONS[old]:
        raise IllegalCallTransition(old, new)


def status_for_end(reason: EndReason, answered: bool) -> CallStatus:
    """The final status of a call whose leg ended for ``reason`` (answered or not)."""
    if answered:
        return S.FAILED if reason is EndReason.FAILED else S.COMPLETED
    return {
        EndReason.BUSY: S.BUSY,
        EndReason.NO_ANSWER: S.NO_ANSWER,
        EndReason.REJECTED: S.BUSY,  # Twilio reports a declined call (603) as busy
        EndReason.CANCELED: S.CANCELED,
        EndReason.HANGUP_LOCAL: S.CANCELED,
        EndReason.HANGUP_REMOTE: S.CANCELED,  # the caller gave up before we answered
        EndReason.FAILED: S.FAILED,
    }[reason]


def dial_call_status(status: CallStatus) -> str:
    """``DialCallStatus`` for a <Dial> action from the final status of the child that ended it.

    A bridged child that ended is ``completed``; an unanswered one reports why (busy, no-answer,
    canceled), anything else is ``failed`` -- Twilio's DialCallStatus values.
    """
    return {S.COMPLETED: "completed", S.BUSY: "busy", S.NO_ANSWER: "no-answer",
            S.CANCELED: "canceled"}.get(status, "failed")


@dataclass(frozen=True, slots=True)
class Call:
    sid: str
    account_sid: str
    parent_call_sid: str | None
    direction: CallDirection
    from_addr: str
    to_addr: str
    status: CallStatus
    start_time: datetime | None  # when the call was answered (Twilio: when it started connecting)
    end_time: datetime | None
    duration: int | None  # whole seconds, set when the call ends
    answered_by: str | None
    caller_name: str | None
    phone_number_sid: str | None
    url: str | None
    method: str
    twiml: str | None
    fallback_url: str | None
    fallback_method: str
    status_callback: str | None
    status_callback_method: str
    status_callback_events: str  # space-separated CallbackEvent values
    timeout: int
    record: bool
    send_digits: str | None
    application_sid: str | None
    dial_at: datetime  # when the outbound dial may start (the account's calls-per-second slot)
    date_created: datetime
    date_updated: datetime

    @property
    def callback_events(self) -> frozenset[CallbackEvent]:
        return frozenset(CallbackEvent(e) for e in self.status_callback_events.split())


def duration_seconds(answered_at: datetime | None, ended_at: datetime) -> int:
    if answered_at is None:
        return 0
    return max(0, int((ended_at - answered_at).total_seconds()))


@dataclass(frozen=True, slots=True)
class Recording:
    sid: str
    account_sid: str
    call_sid: str
    status: str  # in-progress | completed | absent
    source: str  # RecordVerb | OutboundAPI | DialVerb
    channels: int
    duration: int  # seconds
    blob_key: str | None
    start_time: datetime
    date_created: datetime
    date_updated: datetime
