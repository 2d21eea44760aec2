"""The call lifecycle table and the leg-end mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openline.core.call_legs import EndReason
from openline.core.calls import (
    EVENT_OF,
    FINAL,
    TRANSITIONS,
    CallbackEvent,
    CallStatus,
    IllegalCallTransition,
    check_transition,
    dial_call_status,
    duration_seconds,
    status_for_end,
)


def test_final_statuses_are_terminal_and_every_status_has_an_event() -> None:
    for status in FINAL:
        assert TRANSITIONS[status] == frozenset()
        with pytest.raises(IllegalCallTransition):
            check_transition(status, CallStatus.IN_PROGRESS)
    assert set(EVENT_OF) == set(CallStatus)
    assert EVENT_OF[CallStatus.QUEUED] is CallbackEvent.INITIATED


def test_answered_calls_complete_and_unanswered_ones_map_by_reason() -> None:
    check_transition(CallStatus.QUEUED, CallStatus.RINGING)
    check_transition(CallStatus.RINGING, CallStatus.IN_PROGRESS)
    with pytest.raises(IllegalCallTransition):
        check_transition(CallStatus.IN_PROGRESS, CallStatus.BUSY)
    assert status_for_end(EndReason.HANGUP_REMOTE, answered=True) is CallStatus.COMPLETED
    assert status_for_end(EndReason.HANGUP_LOCAL, answered=True) is CallStatus.COMPLETED
    assert status_for_end(EndReason.FAILED, answered=True) is CallStatus.FAILED
    assert status_for_end(EndReason.BUSY, answered=False) is CallStatus.BUSY
    assert status_for_end(EndReason.REJECTED, answered=False) is CallStatus.BUSY
    assert status_for_end(EndReason.NO_ANSWER, answered=False) is CallStatus.NO_ANSWER
    assert status_for_end(EndReason.CANCELED, answered=False) is CallStatus.CANCELED
    assert status_for_end(EndReason.FAILED, answered=False) is CallStatus.FAILED


def test_duration_counts_whole_seconds_from_answer() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    assert duration_seconds(None, t0) == 0
    assert duration_seconds(t0, t0 + timedelta(seconds=4.9)) == 4


def test_dial_call_status_of_the_child_that_ended_the_dial() -> None:
    assert dial_call_status(CallStatus.COMPLETED) == "completed"
    assert dial_call_status(CallStatus.NO_ANSWER) == "no-answer"
    assert dial_call_status(CallStatus.BUSY) == "busy"
    assert dial_call_status(CallStatus.CANCELED) == "canceled"
    assert dial_call_status(CallStatus.FAILED) == "failed"
