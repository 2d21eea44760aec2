"""The Openline chat protocol: JSON text frames between a browser and ``/v1/Chat/ws``.

Theory of operation (docs/chat-protocol.md is the full spec). A socket starts unauthenticated:
its first frame must be ``auth`` with an access token; after ``ready`` it may ``join``
conversations its identity participates in, then ``send``, ``update``, ``remove``, ``history``,
``typing`` and ``read`` in them (as its conversation role allows). The server pushes
``message``, ``message_updated``, ``message_removed``, ``typing`` and ``read`` events for joined
conversations. Every request may carry an ``id`` (a short string) that the answer echoes.

This module is pure: it turns text into typed requests (or a :class:`FrameError` that costs the
client that one frame) and typed answers into text. Limits are named here with their reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from openline.core.conversations import (
    MAX_ATTRIBUTES,
    MAX_BODY,
    MAX_NAME,
    Conversation,
    ConversationMessage,
    Participant,
)
from openline.core.dates import iso8601

MAX_FRAME_CHARS = 64 * 1024  # a body (32 KiB) plus attributes (16 KiB) plus the envelope
MAX_ID_CHARS = 64  # request ids are correlation tags, not data
MAX_TOKEN_CHARS = 8 * 1024  # an SDK token with a chat grant is well under 1 KiB
MAX_HISTORY_PAGE = 100  # messages per history answer; older pages are asked for with `before`
DEFAULT_HISTORY_PAGE = 30
MAX_JOINED = 20  # conversations one socket follows at once
FRAMES_PER_SECOND = 20  # sustained client frames; a burst of BURST_FRAMES is allowed
BURST_FRAMES = 40
SENDS_PER_SECOND = 5  # sustained message sends per socket (each is a DB write and a fan-out)
TYPING_INTERVAL_SECONDS = 1.0  # typing notices relayed at most this often per conversation
OUTBOX_FRAMES = 256  # server frames queued for a slow reader before it is disconnected
AUTH_TIMEOUT_SECONDS = 10.0  # an unauthenticated socket must say `auth` within this
MESSAGE_SID_CHARS = 34  # "IM" and 32 hex digits


class FrameError(Exception):
    """A frame the server refuses; it costs the client that frame, not the connection."""

    def __init__(self, code: int, message: str, request_id: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.request_id = request_id


@dataclass(frozen=True, slots=True)
class Auth:
    id: str | None
    token: str


@dataclass(frozen=True, slots=True)
class Join:
    id: str | None
    conversation: str


@dataclass(frozen=True, slots=True)
class Leave:
    id: str | None
    conversation: str


@dataclass(frozen=True, slots=True)
class Send:
    id: str | None
    conversation: str
    body: str
    attributes: str  # a JSON document as text


@dataclass(frozen=True, slots=True)
class History:
    id: str | None
    conversation: str
    before: int | None  # messages with a lower index; None: the newest
    limit: int


@dataclass(frozen=True, slots=True)
class Typing:
    id: str | None
    conversation: str


@dataclass(frozen=True, slots=True)
class Read:
    id: str | None
    conversation: str
    index: int


@dataclass(frozen=True, slots=True)
class Update:
    id: str | None
    conversation: str
    message: str  # the message SID (IM...)
    body: str | None  # None: unchanged
    attributes: str | None  # JSON text; None: unchanged


@dataclass(frozen=True, slots=True)
class Remove:
    id: str | None
    conversation: str
    message: str


@dataclass(frozen=True, slots=True)
class Ping:
    id: str | None


Request = Auth | Join | Leave | Send | Update | Remove | History | Typing | Read | Ping


def _str(data: dict[str, Any], key: str, limit: int, request_id: str | None, required: bool = True) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise FrameError(20001, f"`{key}` must be a non-empty string", request_id)
    if len(value) > limit:
        raise FrameError(20001, f"`{key}` must be at most {limit} characters", request_id)
    return value


def _int(data: dict[str, Any], key: str, request_id: str | None, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None and not required:
        return None
    # bool is an int in Python; JSON true is not an index.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise FrameError(20001, f"`{key}` must be a non-negative integer", request_id)
    return value


def _attributes(data: dict[str, Any], request_id: str | None) -> str:
    value = data.get("attributes")
    if value is None:
        return "{}"
    if isinstance(value, str):  # already JSON text, as the REST API takes it
        try:
            json.loads(value)
        except ValueError:
            raise FrameError(20001, "`attributes` must be a JSON document", request_id) from None
        text = value
    else:
        text = json.dumps(value, separators=(",", ":"))
    if len(text) > MAX_ATTRIBUTES:
        raise FrameError(20001, f"`attributes` must be at most {MAX_ATTRIBUTES} characters of JSON", request_id)
    return text


def parse_request(text: str | bytes) -> Request:
    """One client frame as a typed request; :class:`FrameError` if it is not a valid one."""
    if isinstance(text, bytes):
        raise FrameError(20001, "frames are JSON text, not binary")
    if len(text) > MAX_FRAME_CHARS:
        raise FrameError(20001, f"frame larger than {MAX_FRAME_CHARS} characters")
    try:
        data = json.loads(text)
    except ValueError:
        raise FrameError(20001, "frame is not JSON") from None
    if not isinstance(data, dict):
        raise FrameError(20001, "frame must be a JSON object")
    raw_id = data.get("id")
    if raw_id is not None and (not isinstance(raw_id, str | int) or isinstance(raw_id, bool)
                               or len(str(raw_id)) > MAX_ID_CHARS):
        raise FrameError(20001, f"`id` must be a string of at most {MAX_ID_CHARS} characters")
    rid = str(raw_id) if raw_id is not None else None
    kind = data.get("type")
    if kind == "ping":
        return Ping(rid)
    if kind == "auth":
        return Auth(rid, _str(data, "token", MAX_TOKEN_CHARS, rid))
    if kind not in ("join", "leave", "send", "update", "remove", "history", "typing", "read"):
        raise FrameError(20001, "unknown frame `type`", rid)
    conversation = _str(data, "conversation", MAX_NAME, rid)
    if kind == "join":
        return Join(rid, conversation)
    if kind == "leave":
        return Leave(rid, conversation)
    if kind == "typing":
        return Typing(rid, conversation)
    if kind == "read":
        index = _int(data, "index", rid)
        if index is None:
            raise FrameError(20001, "`index` is required", rid)
        return Read(rid, conversation, index)
    if kind == "history":
        limit = _int(data, "limit", rid, required=False)
        if limit is not None and not 1 <= limit <= MAX_HISTORY_PAGE:
            raise FrameError(20001, f"`limit` must be from 1 to {MAX_HISTORY_PAGE}", rid)
        return History(rid, conversation, _int(data, "before", rid, required=False), limit or DEFAULT_HISTORY_PAGE)
    if kind in ("update", "remove"):
        message = _str(data, "message", MESSAGE_SID_CHARS, rid)
        if kind == "remove":
            return Remove(rid, conversation, message)
        body = _str(data, "body", MAX_BODY, rid) if "body" in data else None
        attributes = _attributes(data, rid) if "attributes" in data else None
        if body is None and attributes is None:
            raise FrameError(20001, "`update` changes `body`, `attributes` or both", rid)
        return Update(rid, conversation, message, body, attributes)
    body = _str(data, "body", MAX_BODY, rid)
    return Send(rid, conversation, body, _attributes(data, rid))


def encode(frame: dict[str, Any]) -> str:
    """A server frame as text (compact JSON; ``None`` ids are left out)."""
    if frame.get("id", 0) is None:
        frame = {k: v for k, v in frame.items() if k != "id"}
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def error_frame(code: int, message: str, status: int, request_id: str | None = None) -> dict[str, Any]:
    """Twilio's error envelope, as a frame."""
    return {"type": "error", "id": request_id, "code": code, "message": message, "status": status}


class TokenBucket:
    """Rate limit over an injected clock: ``rate`` per second with bursts of ``burst``."""

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._at = now

    def take(self, now: float) -> bool:
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def message_json(message: ConversationMessage) -> dict[str, Any]:
    """A conversation message as frames carry it (attributes as JSON, dates ISO 8601)."""
    return {
        "sid": message.sid, "index": message.idx, "author": message.author, "body": message.body,
        "attributes": _json_or_text(message.attributes), "participant_sid": message.participant_sid,
        "media": _json_or_text(message.media) if message.media else None,
        "date_created": iso8601(message.date_created), "date_updated": iso8601(message.date_updated),
    }


def participant_json(participant: Participant) -> dict[str, Any]:
    """A participant as other participants see it: an SMS handset's number is not shown to browsers."""
    return {
        "sid": participant.sid, "identity": participant.identity, "channel": participant.channel.value,
        "last_read_message_index": participant.last_read_message_index,
    }


def conversation_json(conversation: Conversation) -> dict[str, Any]:
    return {
        "sid": conversation.sid, "unique_name": conversation.unique_name,
        "friendly_name": conversation.friendly_name, "attributes": _json_or_text(conversation.attributes),
        "state": conversation.state.value, "last_message_index": conversation.last_index
        if conversation.last_index >= 0 else None,
    }
