import itertools

import pytest

from openline.core.lifecycle import (
    CALLBACK_STATUSES,
    FINAL,
    TRANSITIONS,
    IllegalTransition,
    MessageStatus,
    check_transition,
)

S = MessageStatus


@pytest.mark.parametrize("path", [
    [S.QUEUED, S.SENDING, S.SENT, S.DELIVERED],
    [S.ACCEPTED, S.QUEUED, S.SENDING, S.SENT, S.UNDELIVERED],
    [S.SCHEDULED, S.QUEUED, S.SENDING, S.FAILED],
    [S.SCHEDULED, S.CANCELED],
    [S.QUEUED, S.FAILED],
    [S.QUEUED, S.SENDING, S.QUEUED, S.SENDING, S.SENT],
    [S.RECEIVING, S.RECEIVED],
])
def test_legal_paths(path: list[MessageStatus]) -> None:
    for current, new in itertools.pairwise(path):
        assert check_transition(current, new) is new


@pytest.mark.parametrize(("current", "new"), [
    (S.DELIVERED, S.SENT), (S.FAILED, S.QUEUED), (S.QUEUED, S.CANCELED), (S.SENT, S.QUEUED),
    (S.RECEIVED, S.QUEUED), (S.CANCELED, S.QUEUED), (S.QUEUED, S.DELIVERED),
])
def test_illegal_transitions_raise(current: MessageStatus, new: MessageStatus) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(current, new)


def test_table_is_complete() -> None:
    assert set(TRANSITIONS) == set(MessageStatus)
    assert S.DELIVERED in FINAL and S.SENT not in FINAL
    assert S.RECEIVED not in CALLBACK_STATUSES
