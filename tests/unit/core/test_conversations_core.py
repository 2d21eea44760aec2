"""The Conversations domain rules: durations, timers, receipt statuses and delivery summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from openline.core.conversations import (
    Conversation,
    ConversationState,
    can_change_state,
    delivery_summary,
    due_state,
    next_deadline,
    parse_duration,
    receipt_status,
    valid_attributes,
)

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "expected"), [
    ("PT10M", timedelta(minutes=10)), ("P1D", timedelta(days=1)), ("PT1H30M", timedelta(hours=1, minutes=30)),
    ("P2DT3S", timedelta(days=2, seconds=3)), ("PT0S", timedelta(0)),
])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "P", "PT", "10M", "PT10", "P1W", "P1DT", "PT-5M", "pt10m"])
def test_bad_durations(text: str) -> None:
    assert parse_duration(text) is None


def conversation(state: ConversationState, inactive: datetime | None, closed: datetime | None) -> Conversation:
    return Conversation("CH" + "0" * 32, "AC" + "0" * 32, "IS" + "0" * 32, None, None, None, "{}", state,
                        "PT1M", "PT10M", inactive, closed, -1, T0, T0)


def test_timers() -> None:
    active = conversation(ConversationState.ACTIVE, T0 + timedelta(minutes=1), T0 + timedelta(minutes=10))
    assert next_deadline(active) == T0 + timedelta(minutes=1)
    assert due_state(active, T0) is None
    assert due_state(active, T0 + timedelta(minutes=1)) is ConversationState.INACTIVE
    assert due_state(active, T0 + timedelta(minutes=10)) is ConversationState.CLOSED
    inactive = conversation(ConversationState.INACTIVE, None, T0 + timedelta(minutes=10))
    assert next_deadline(inactive) == T0 + timedelta(minutes=10)
    assert due_state(inactive, T0 + timedelta(minutes=5)) is None
    closed = conversation(ConversationState.CLOSED, None, T0)
    assert next_deadline(closed) is None and due_state(closed, T0 + timedelta(days=1)) is None
    assert next_deadline(conversation(ConversationState.ACTIVE, None, None)) is None


def test_state_changes() -> None:
    assert can_change_state(ConversationState.ACTIVE, ConversationState.INACTIVE)
    assert can_change_state(ConversationState.INACTIVE, ConversationState.ACTIVE)
    assert can_change_state(ConversationState.CLOSED, ConversationState.CLOSED)
    assert not can_change_state(ConversationState.CLOSED, ConversationState.ACTIVE)


def test_receipts_follow_their_sms() -> None:
    for sms, receipt in [("queued", "sent"), ("accepted", "sent"), ("sending", "sent"), ("sent", "sent"),
                         ("delivered", "delivered"), ("undelivered", "undelivered"), ("failed", "failed"),
                         ("read", "read"), ("canceled", "failed")]:
        assert receipt_status(sms) == receipt


def test_delivery_summary() -> None:
    assert delivery_summary([]) is None
    assert delivery_summary(["delivered", "delivered"]) == {
        "total": 2, "sent": "all", "delivered": "all", "read": "none", "failed": "none", "undelivered": "none"}
    assert delivery_summary(["sent", "failed", "read"]) == {
        "total": 3, "sent": "some", "delivered": "some", "read": "some", "failed": "some", "undelivered": "none"}


def test_attributes() -> None:
    assert valid_attributes("{}") and valid_attributes('{"a": [1, 2]}') and valid_attributes('"text"')
    assert not valid_attributes("{nope") and not valid_attributes("")
    assert not valid_attributes('"' + "x" * (16 * 1024) + '"')


def test_chat_permissions_follow_twilio_role_names() -> None:
    from openline.core.conversations import DEFAULT_ROLES, ChatAction, chat_permitted

    roles = {name: frozenset(p) for name, _, p in DEFAULT_ROLES}
    user, admin = roles["channel user"], roles["channel admin"]
    assert chat_permitted(user, ChatAction.SEND, True)
    assert chat_permitted(user, ChatAction.EDIT_BODY, True) and not chat_permitted(user, ChatAction.EDIT_BODY, False)
    assert chat_permitted(user, ChatAction.REMOVE, True) and not chat_permitted(user, ChatAction.REMOVE, False)
    assert not chat_permitted(user, ChatAction.EDIT_ATTRIBUTES, False)
    # "Any" covers one's own messages too.
    for action in (ChatAction.EDIT_BODY, ChatAction.EDIT_ATTRIBUTES, ChatAction.REMOVE):
        assert chat_permitted(admin, action, True) and chat_permitted(admin, action, False)
    assert not chat_permitted(frozenset({"leaveConversation"}), ChatAction.SEND, True)
    assert not chat_permitted(frozenset(), ChatAction.REMOVE, True)
