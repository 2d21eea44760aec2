"""Messenger Platform: the Send API and page webhooks.

Sends go to ``POST /{version}/me/messages?access_token=<page access token>`` with
``{"recipient": {"id": <PSID>}, "messaging_type": "RESPONSE", "message": {…}}``. Page webhooks
(``"object": "page"``) carry ``entry[].messaging[]`` events: ``message`` from a user,
``delivery`` (message ids and a watermark) and ``read`` (a watermark: everything sent before it).
"""

from __future__ import annotations

from typing import Any

from openline.codecs.chat.events import (
    ChatMedia,
    ChatMessage,
    ChatRequest,
    ChatStatus,
    PayloadError,
    SendResult,
    items,
    load_json,
    obj,
    text,
)

ATTACHMENT_KINDS = ("image", "video", "audio", "file")


def attachment_kind(content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "file"


def _request(version: str, token: str, psid: str, message: dict[str, Any]) -> ChatRequest:
    return ChatRequest("POST", f"/{version}/me/messages", {"Content-Type": "application/json"},
                       {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": message},
                       {"access_token": token})


def text_request(version: str, token: str, psid: str, body: str) -> ChatRequest:
    return _request(version, token, psid, {"text": body})


def attachment_request(version: str, token: str, psid: str, content_type: str, url: str) -> ChatRequest:
    return _request(version, token, psid, {"attachment": {"type": attachment_kind(content_type),
                                                          "payload": {"url": url, "is_reusable": True}}})


def parse_send_response(status: int, body: bytes) -> SendResult:
    """``{"recipient_id": …, "message_id": "m_…"}``, or Graph's ``{"error": {…}}``."""
    try:
        data = obj(load_json(body), "answer")
    except PayloadError as exc:
        return SendResult(None, status, f"HTTP {status}: {exc}", http_status=status)
    if 200 <= status < 300 and isinstance(data.get("message_id"), str):
        return SendResult(data["message_id"], http_status=status)
    error: dict[str, Any] = data["error"] if isinstance(data.get("error"), dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else status
    subcode = error.get("error_subcode")
    # 10/2018278: outside the standard messaging window, Messenger's 24 h rule.
    if code == 10 and subcode == 2018278:
        code = 2018278
    return SendResult(None, code, str(error.get("message") or f"HTTP {status}"),
                      retry_after=60.0 if code in (4, 613) or status == 429 else None, http_status=status)


def parse_webhook(body: bytes) -> tuple[list[ChatMessage], list[ChatStatus]]:
    data = obj(load_json(body), "notification")
    if data.get("object") != "page":
        raise PayloadError("object is not page")
    messages: list[ChatMessage] = []
    statuses: list[ChatStatus] = []
    for entry in items(data.get("entry"), "entry"):
        for event in items(obj(entry, "entry[]").get("messaging"), "messaging"):
            event = obj(event, "messaging[]")
            sender = text(obj(event.get("sender"), "sender").get("id"), "sender.id")
            recipient = text(obj(event.get("recipient"), "recipient").get("id"), "recipient.id")
            if isinstance(event.get("message"), dict):
                message = event["message"]
                if message.get("is_echo"):
                    continue  # our own sends, echoed back to the page
                media = []
                for attachment in items(message.get("attachments"), "attachments"):
                    attachment = obj(attachment, "attachments[]")
                    payload = attachment.get("payload")
                    url = payload.get("url") if isinstance(payload, dict) else None
                    if isinstance(url, str):
                        media.append(ChatMedia(str(attachment.get("type") or "file"), url))
                timestamp = event.get("timestamp")
                messages.append(ChatMessage(
                    sender, recipient, text(message.get("mid"), "message.mid"), str(message.get("text") or ""),
                    tuple(media), timestamp=timestamp // 1000 if isinstance(timestamp, int) else None))
            elif isinstance(event.get("delivery"), dict):
                delivery = event["delivery"]
                watermark = delivery.get("watermark")
                for mid in items(delivery.get("mids"), "mids"):
                    statuses.append(ChatStatus("delivered", sender, text(mid, "mids[]")))
                if not delivery.get("mids") and isinstance(watermark, int):
                    statuses.append(ChatStatus("delivered", sender, watermark_ms=watermark))
            elif isinstance(event.get("read"), dict):
                watermark = event["read"].get("watermark")
                if isinstance(watermark, int):
                    statuses.append(ChatStatus("read", sender, watermark_ms=watermark))
    return messages, statuses
