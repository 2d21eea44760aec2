"""Conversations: multi-party threads across chat and SMS, as Twilio's Conversations v1 models them.

Theory of operation. An account has conversation *services* (IS…); one of them is the default
service that ``/v1/Conversations`` means. A conversation (CH…) holds participants (MB…): chat
participants carry an ``identity``, SMS participants a binding of the person's ``address`` to
one of the account's numbers, the ``proxy_address``. A message (IM…) added by one participant
is fanned out to every other SMS participant as an ordinary outbound SMS from its proxy
address; each such SMS is tracked by a delivery receipt (DY…) whose status is the SMS's.

A conversation is ``active``, ``inactive`` or ``closed`` (Twilio's states; ``initializing``
is never shown by Openline). Timers (ISO 8601 durations) move it on by themselves: after
``Timers.Inactive`` without a message an active conversation becomes inactive, and
``Timers.Closed`` after it was set the conversation closes. A new message makes an inactive
conversation active again; a closed conversation is final and frees its SMS bindings.

Webhook events come in pairs (Twilio's "Conversations Webhooks" page): a pre-event (present
tense, ``onMessageAdd``) is called before the action and can block it (a non-2xx answer) or
change it (a JSON answer); a post-event (past tense, ``onMessageAdded``) reports it afterwards.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MAX_ATTRIBUTES = 16 * 1024  # Twilio: attributes are a JSON string of at most 16 KiB
MAX_BODY = 32 * 1024  # a chat message body (an SMS copy of it is still bound by 1600 characters)
MAX_NAME = 256  # friendly and unique names
MIN_INACTIVE = timedelta(minutes=1)  # Twilio: "Minimum value for this timer is 1 minute"
MIN_CLOSED = timedelta(minutes=10)  # Twilio: "Minimum value for this timer is 10 minutes"
DEFAULT_AUTHOR = "system"  # Twilio's author for messages created without one
DEFAULT_SERVICE_NAME = "Default Conversations Service"
PRE_EVENT_TIMEOUT_MS = 5000  # "Conversations webhooks have a maximum timeout of 5 seconds"


class ConversationState(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    CLOSED = "closed"


class ChannelType(StrEnum):
    """A participant's channel (``messaging_binding.type``): chat, or the channel of its address."""

    CHAT = "chat"
    SMS = "sms"
    WHATSAPP = "whatsapp"
    MESSENGER = "messenger"
    TELEGRAM = "telegram"
    LINE = "line"


class Source(StrEnum):
    """Who caused an event, as the webhook's ``Source`` parameter names it."""

    API = "API"
    SMS = "SMS"
    SDK = "SDK"
    WHATSAPP = "WHATSAPP"
    MESSENGER = "MESSENGER"
    TELEGRAM = "TELEGRAM"
    LINE = "LINE"


PRE_EVENTS = frozenset({
    "onMessageAdd", "onMessageUpdate", "onMessageRemove", "onConversationAdd", "onConversationUpdate",
    "onConversationRemove", "onParticipantAdd", "onParticipantUpdate", "onParticipantRemove", "onUserUpdate",
})
POST_EVENTS = frozenset({
    "onMessageAdded", "onMessageUpdated", "onMessageRemoved", "onConversationAdded", "onConversationUpdated",
    "onConversationRemoved", "onConversationStateUpdated", "onParticipantAdded", "onParticipantUpdated",
    "onParticipantRemoved", "onDeliveryUpdated", "onUserAdded", "onUserUpdated",
})
ALL_EVENTS = PRE_EVENTS | POST_EVENTS
# Conversation-scoped webhooks report what happened in their conversation: post-events only.
SCOPED_EVENTS = frozenset(e for e in POST_EVENTS if e not in ("onConversationAdded", "onUserAdded", "onUserUpdated"))

# Twilio's role permissions (Role resource, "Permission" parameter).
CONVERSATION_PERMISSIONS = frozenset({
    "addParticipant", "deleteAnyMessage", "deleteOwnMessage", "editAnyMessage", "editAnyMessageAttributes",
    "editAnyParticipantAttributes", "editConversationAttributes", "editConversationName", "editNotificationLevel",
    "editOwnMessage", "editOwnMessageAttributes", "editOwnParticipantAttributes", "leaveConversation",
    "removeParticipant", "sendMediaMessage", "sendMessage",
})
SERVICE_PERMISSIONS = frozenset({
    "addParticipant", "createConversation", "deleteAnyMessage", "deleteOwnMessage", "destroyConversation",
    "editAnyMessage", "editAnyMessageAttributes", "editAnyParticipantAttributes", "editAnyUserInfo",
    "editConversationAttributes", "editConversationName", "editOwnMessage", "editOwnMessageAttributes",
    "editOwnParticipantAttributes", "editOwnUserInfo", "joinConversation", "leaveConversation",
    "removeParticipant", "sendMediaMessage", "sendMessage", "editNotificationLevel",
})
# The roles every new service starts with (the names Twilio gives them).
DEFAULT_ROLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("service admin", "service", ("createConversation", "joinConversation", "destroyConversation",
                                  "editAnyUserInfo", "editOwnUserInfo")),
    ("service user", "service", ("createConversation", "joinConversation", "editOwnUserInfo")),
    ("channel admin", "conversation", ("sendMessage", "sendMediaMessage", "leaveConversation", "addParticipant",
                                       "removeParticipant", "editConversationName", "editConversationAttributes",
                                       "editAnyMessage", "editAnyMessageAttributes", "deleteAnyMessage",
                                       "editAnyParticipantAttributes", "editNotificationLevel")),
    ("channel user", "conversation", ("sendMessage", "sendMediaMessage", "leaveConversation", "editOwnMessage",
                                      "editOwnMessageAttributes", "deleteOwnMessage",
                                      "editOwnParticipantAttributes", "editNotificationLevel")),
)


class ChatAction(StrEnum):
    """What a chat client (web chat socket) may ask to do, each checked against its role."""

    SEND = "send"
    EDIT_BODY = "edit body"
    EDIT_ATTRIBUTES = "edit attributes"
    REMOVE = "remove"


# The permissions that allow each action on one's own message, and on anyone's (Twilio's role
# permission names; an "Any" permission covers one's own messages too).
_CHAT_PERMISSIONS: dict[ChatAction, tuple[frozenset[str], frozenset[str]]] = {
    ChatAction.SEND: (frozenset({"sendMessage"}), frozenset({"sendMessage"})),
    ChatAction.EDIT_BODY: (frozenset({"editOwnMessage", "editAnyMessage"}), frozenset({"editAnyMessage"})),
    ChatAction.EDIT_ATTRIBUTES: (frozenset({"editOwnMessageAttributes", "editAnyMessageAttributes"}),
                                 frozenset({"editAnyMessageAttributes"})),
    ChatAction.REMOVE: (frozenset({"deleteOwnMessage", "deleteAnyMessage"}), frozenset({"deleteAnyMessage"})),
}


def chat_permitted(permissions: frozenset[str], action: ChatAction, own: bool) -> bool:
    """Whether a role with ``permissions`` allows ``action`` on one's own (or another's) message."""
    mine, anyone = _CHAT_PERMISSIONS[action]
    return bool(permissions & (mine if own else anyone))


@dataclass(frozen=True, slots=True)
class ChatService:
    sid: str
    account_sid: str
    friendly_name: str
    is_default: bool
    default_conversation_creator_role_sid: str | None
    default_conversation_role_sid: str | None
    default_chat_service_role_sid: str | None
    reachability_enabled: bool
    # Service-level webhooks (Services/{IS}/Configuration/Webhooks)
    pre_webhook_url: str | None
    post_webhook_url: str | None
    webhook_method: str
    webhook_filters: str  # JSON list
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class AccountConfig:
    """The account's Conversations configuration; ``sid`` is the account SID (one row each)."""

    sid: str
    account_sid: str
    default_chat_service_sid: str
    default_messaging_service_sid: str | None
    default_inactive_timer: str | None
    default_closed_timer: str | None
    # Global (account-level) webhooks (Configuration/Webhooks)
    pre_webhook_url: str | None
    post_webhook_url: str | None
    webhook_method: str
    webhook_filters: str  # JSON list
    webhook_target: str
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class Conversation:
    sid: str
    account_sid: str
    chat_service_sid: str
    messaging_service_sid: str | None
    unique_name: str | None
    friendly_name: str | None
    attributes: str
    state: ConversationState
    timer_inactive: str | None  # ISO 8601 duration as given
    timer_closed: str | None
    date_inactive: datetime | None  # when the inactive timer fires
    date_closed: datetime | None  # when the closed timer fires
    last_index: int  # index of the newest message, -1 before the first
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class Participant:
    sid: str
    account_sid: str
    chat_service_sid: str
    conversation_sid: str
    channel: ChannelType
    identity: str | None
    address: str | None
    proxy_address: str | None
    attributes: str
    role_sid: str | None
    last_read_message_index: int | None
    last_read_timestamp: str | None
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class ConversationMessage:
    sid: str
    account_sid: str
    chat_service_sid: str
    conversation_sid: str
    idx: int
    author: str
    body: str | None
    media: str | None  # JSON list of {sid, content_type, filename, size, category}
    attributes: str
    participant_sid: str | None
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class Receipt:
    """One copy of a message sent to one SMS participant, or seen by one chat participant on a live socket."""

    sid: str
    account_sid: str
    chat_service_sid: str
    conversation_sid: str
    message_sid: str
    participant_sid: str
    channel_message_sid: str | None  # the SM/MM message; None when it could not be sent at all
    error_code: int | None  # set when channel_message_sid is None
    date_created: datetime
    date_updated: datetime
    status: str | None = None  # a chat participant's receipt: delivered | read (web chat)


@dataclass(frozen=True, slots=True)
class ReceiptView:
    receipt: Receipt
    status: str  # read | failed | delivered | undelivered | sent
    error_code: int
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class ScopedWebhook:
    sid: str
    account_sid: str
    chat_service_sid: str
    conversation_sid: str
    target: str  # webhook | trigger
    url: str | None
    method: str
    filters: str  # JSON list
    triggers: str  # JSON list
    replay_after: int | None
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class ChatUser:
    sid: str
    account_sid: str
    chat_service_sid: str
    identity: str
    friendly_name: str | None
    attributes: str
    role_sid: str | None
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class Role:
    sid: str
    account_sid: str
    chat_service_sid: str
    friendly_name: str
    type: str  # conversation | service
    permissions: str  # JSON list
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class AddressConfig:
    sid: str
    account_sid: str
    type: str
    address: str
    friendly_name: str | None
    auto_creation_enabled: bool
    auto_creation_type: str  # webhook | default
    conversation_service_sid: str | None
    webhook_url: str | None
    webhook_method: str
    webhook_filters: str  # JSON list
    address_country: str | None
    date_created: datetime
    date_updated: datetime


# --- rules ------------------------------------------------------------------------------------

_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(text: str) -> timedelta | None:
    """An ISO 8601 duration of days, hours, minutes and seconds (``P1D``, ``PT10M``); None if not one."""
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        return None
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def valid_attributes(text: str) -> bool:
    if len(text) > MAX_ATTRIBUTES:
        return False
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def json_list(text: str | None) -> list[str]:
    if not text:
        return []
    value = json.loads(text)
    return [str(item) for item in value] if isinstance(value, list) else []


def receipt_status(message_status: str) -> str:
    """A delivery receipt follows its SMS: Twilio's receipt statuses are read/failed/delivered/undelivered/sent."""
    if message_status in ("delivered", "read", "failed", "undelivered"):
        return message_status
    if message_status == "canceled":
        return "failed"
    return "sent"


_RANK = {"sent": 1, "delivered": 2, "read": 3}


def delivery_summary(statuses: list[str]) -> dict[str, object] | None:
    """The message's ``delivery`` object: per status, whether all, some or none of the copies reached it."""
    if not statuses:
        return None
    total = len(statuses)

    def share(count: int) -> str:
        return "all" if count == total else "some" if count else "none"

    reached = {name: sum(1 for s in statuses if _RANK.get(s, 0) >= rank) for name, rank in _RANK.items()}
    return {
        "total": total,
        "sent": share(reached["sent"]),
        "delivered": share(reached["delivered"]),
        "read": share(reached["read"]),
        "failed": share(sum(1 for s in statuses if s == "failed")),
        "undelivered": share(sum(1 for s in statuses if s == "undelivered")),
    }


def next_deadline(conversation: Conversation) -> datetime | None:
    """When the conversation's timers next need looking at."""
    if conversation.state is ConversationState.CLOSED:
        return None
    candidates = [d for d in (conversation.date_closed,
                              conversation.date_inactive if conversation.state is ConversationState.ACTIVE else None)
                  if d is not None]
    return min(candidates) if candidates else None


def due_state(conversation: Conversation, now: datetime) -> ConversationState | None:
    """The state the timers move the conversation to at ``now``, or None if nothing is due."""
    if conversation.state is ConversationState.CLOSED:
        return None
    if conversation.date_closed is not None and conversation.date_closed <= now:
        return ConversationState.CLOSED
    if conversation.state is ConversationState.ACTIVE and conversation.date_inactive is not None \
            and conversation.date_inactive <= now:
        return ConversationState.INACTIVE
    return None


def can_change_state(current: ConversationState, new: ConversationState) -> bool:
    """Closed is final; active and inactive may go either way."""
    return current is not ConversationState.CLOSED or new is ConversationState.CLOSED
