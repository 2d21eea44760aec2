"""The typed values every chat codec speaks in."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

MAX_WEBHOOK_BODY = 1024 * 1024  # Meta, Telegram and LINE batch events, but never near a megabyte


class PayloadError(ValueError):
    """A webhook body or API answer that is not what the platform documents."""


@dataclass(frozen=True, slots=True)
class ChatMedia:
    kind: str  # image, video, audio, document, sticker…
    ref: str  # a URL, or the platform's media/file id
    content_type: str | None = None
    caption: str | None = None


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """A user wrote to the business."""

    sender: str  # the user's platform id (E.164 digits for WhatsApp)
    recipient: str  # the business side: phone number (E.164), page id, bot id, bot user id
    message_id: str
    text: str
    media: tuple[ChatMedia, ...] = ()
    profile_name: str | None = None
    reply_token: str | None = None  # LINE: a reply may use it for a while
    timestamp: int | None = None  # seconds


@dataclass(frozen=True, slots=True)
class ChatStatus:
    """What became of a message the business sent."""

    status: str  # sent, delivered, read, failed
    recipient: str  # the user's platform id
    message_id: str | None = None
    error_code: int | None = None  # the platform's own code
    error_title: str | None = None
    watermark_ms: int | None = None  # Messenger: everything sent up to this time


@dataclass(frozen=True, slots=True)
class ChatRequest:
    method: str
    path: str  # below the API base URL, with its leading "/"
    headers: dict[str, str]
    body: dict[str, Any]
    query: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SendResult:
    """A platform's answer to a send: its message id, or its error."""

    message_id: str | None
    error_code: int | None = None  # the platform's own code (or the HTTP status when it gives none)
    description: str = ""
    retry_after: float | None = None  # throttled: try again after this many seconds
    http_status: int = 200

    @property
    def ok(self) -> bool:
        return self.message_id is not None


def load_json(body: bytes) -> Any:
    if len(body) > MAX_WEBHOOK_BODY:
        raise PayloadError("body too large")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise PayloadError(f"not JSON: {exc}") from None


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where} is not an object")
    return value


def items(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise PayloadError(f"{where} is not an array")
    return value


def text(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"{where} is missing or not a string")
    return str(value)
