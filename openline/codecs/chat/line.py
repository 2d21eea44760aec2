"""LINE Messaging API: push and reply messages, and webhook events.

Both are ``POST`` with ``Authorization: Bearer <channel access token>``: push to
``/v2/bot/message/push`` with ``{"to": <id>, "messages": [...]}``, reply to
``/v2/bot/message/reply`` with ``{"replyToken": …, "messages": [...]}``. Webhooks carry
``{"destination": <bot user id>, "events": [...]}``; an empty ``events`` is the console's check.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from openline.codecs.chat.events import (
    ChatMedia,
    ChatMessage,
    ChatRequest,
    PayloadError,
    SendResult,
    items,
    load_json,
    obj,
    text,
)

MAX_MESSAGES = 5  # LINE takes at most five message objects per request


def text_message(body: str) -> dict[str, Any]:
    return {"type": "text", "text": body}


def media_message(content_type: str, url: str) -> dict[str, Any]:
    if content_type.startswith("image/"):
        return {"type": "image", "originalContentUrl": url, "previewImageUrl": url}
    if content_type.startswith("video/"):
        return {"type": "video", "originalContentUrl": url, "previewImageUrl": url}
    if content_type.startswith("audio/"):
        return {"type": "audio", "originalContentUrl": url, "duration": 60000}
    return text_message(url)  # LINE has no generic file message: the link goes as text


def _headers(token: str, retry_key: str | None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    if retry_key:
        headers["X-Line-Retry-Key"] = retry_key  # a UUID: LINE sends a retried push once
    return headers


def push_request(token: str, to: str, messages: Sequence[dict[str, Any]], retry_key: str | None = None) -> ChatRequest:
    return ChatRequest("POST", "/v2/bot/message/push", _headers(token, retry_key),
                       {"to": to, "messages": list(messages)[:MAX_MESSAGES]})


def reply_request(token: str, reply_token: str, messages: Sequence[dict[str, Any]]) -> ChatRequest:
    return ChatRequest("POST", "/v2/bot/message/reply", _headers(token, None),
                       {"replyToken": reply_token, "messages": list(messages)[:MAX_MESSAGES]})


def parse_send_response(status: int, body: bytes, fallback_id: str) -> SendResult:
    """``{"sentMessages": [{"id": …}]}`` (older answers are ``{}``: the fallback id is used)."""
    try:
        data = obj(load_json(body) if body.strip() else {}, "answer")
    except PayloadError as exc:
        return SendResult(None, status, f"HTTP {status}: {exc}", http_status=status)
    if 200 <= status < 300:
        sent = items(data.get("sentMessages"), "sentMessages")
        first = sent[0] if sent and isinstance(sent[0], dict) else {}
        return SendResult(str(first.get("id") or fallback_id), http_status=status)
    if status == 409:  # X-Line-Retry-Key already accepted: the first request went out
        return SendResult(fallback_id, http_status=status)
    return SendResult(None, status, str(data.get("message") or f"HTTP {status}"),
                      retry_after=30.0 if status == 429 or status >= 500 else None, http_status=status)


def parse_webhook(body: bytes) -> tuple[str, list[ChatMessage]]:
    data = obj(load_json(body), "webhook")
    destination = text(data.get("destination"), "destination")
    messages: list[ChatMessage] = []
    for event in items(data.get("events"), "events"):
        event = obj(event, "events[]")
        if event.get("type") != "message":
            continue
        source = obj(event.get("source"), "source")
        sender = source.get("groupId") or source.get("roomId") or source.get("userId")
        message = obj(event.get("message"), "message")
        kind = message.get("type")
        media = [ChatMedia(str(kind), text(message.get("id"), "message.id"))] \
            if kind in ("image", "video", "audio", "file") else []
        if not isinstance(sender, str):
            raise PayloadError("source has no userId, groupId or roomId")
        timestamp = event.get("timestamp")
        reply = event.get("replyToken")
        messages.append(ChatMessage(sender, destination, text(message.get("id"), "message.id"),
                                    str(message.get("text") or "") if kind == "text" else "", tuple(media),
                                    reply_token=reply if isinstance(reply, str) else None,
                                    timestamp=timestamp // 1000 if isinstance(timestamp, int) else None))
    return destination, messages


def content_path(message_id: str) -> str:
    """Where a received image, video, audio or file is (on LINE's data API host, with the Bearer token)."""
    return f"/v2/bot/message/{message_id}/content"
