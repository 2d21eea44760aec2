"""Telegram Bot API: sendMessage / sendPhoto / sendDocument, and webhook updates.

Requests are ``POST /bot<token>/<method>`` with a JSON body; answers are
``{"ok": true, "result": Message}`` or ``{"ok": false, "error_code": …, "description": …}``.
"""

from __future__ import annotations

from typing import Any

from openline.codecs.chat.events import (
    ChatMedia,
    ChatMessage,
    ChatRequest,
    PayloadError,
    SendResult,
    load_json,
    obj,
    text,
)

MAX_CAPTION = 1024  # Telegram's limit on a photo or document caption


def _chat_id(chat: str) -> int | str:
    return int(chat) if chat.lstrip("-").isdigit() else chat


def _request(token: str, method: str, body: dict[str, Any]) -> ChatRequest:
    return ChatRequest("POST", f"/bot{token}/{method}", {"Content-Type": "application/json"}, body)


def send_message(token: str, chat: str, body: str) -> ChatRequest:
    return _request(token, "sendMessage", {"chat_id": _chat_id(chat), "text": body})


def send_media(token: str, chat: str, content_type: str, url: str, caption: str | None) -> ChatRequest:
    method, field = ("sendPhoto", "photo") if content_type.startswith("image/") else ("sendDocument", "document")
    body: dict[str, Any] = {"chat_id": _chat_id(chat), field: url}
    if caption:
        body["caption"] = caption[:MAX_CAPTION]
    return _request(token, method, body)


def parse_send_response(status: int, body: bytes) -> SendResult:
    try:
        data = obj(load_json(body), "answer")
    except PayloadError as exc:
        return SendResult(None, status, f"HTTP {status}: {exc}", http_status=status)
    if data.get("ok") is True:
        result = obj(data.get("result"), "result")
        chat = obj(result.get("chat"), "result.chat")
        # message_id is unique only within a chat: the chat makes it a global key.
        return SendResult(f"{chat.get('id')}/{result.get('message_id')}", http_status=status)
    code = data.get("error_code") if isinstance(data.get("error_code"), int) else status
    parameters = data.get("parameters")
    retry = parameters.get("retry_after") if isinstance(parameters, dict) else None
    return SendResult(None, code, str(data.get("description") or f"HTTP {status}"),
                      retry_after=float(retry) if isinstance(retry, int) else (5.0 if code == 429 else None),
                      http_status=status)


def parse_update(body: bytes, bot_id: str) -> ChatMessage | None:
    """A user's message in an Update (None for other update kinds)."""
    data = obj(load_json(body), "update")
    message = data.get("message")
    if not isinstance(message, dict):
        return None
    chat = obj(message.get("chat"), "message.chat")
    sender = message.get("from")
    name = None
    if isinstance(sender, dict):
        name = " ".join(str(sender[k]) for k in ("first_name", "last_name") if isinstance(sender.get(k), str)) or None
    media: list[ChatMedia] = []
    photos = message.get("photo")
    if isinstance(photos, list) and photos and isinstance(photos[-1], dict):
        media.append(ChatMedia("image", text(photos[-1].get("file_id"), "photo[].file_id"), "image/jpeg"))
    document = message.get("document")
    if isinstance(document, dict):
        media.append(ChatMedia("document", text(document.get("file_id"), "document.file_id"),
                               document.get("mime_type") if isinstance(document.get("mime_type"), str) else None))
    body_text = message.get("text") if isinstance(message.get("text"), str) else message.get("caption")
    date = message.get("date")
    chat_id = text(chat.get("id"), "chat.id")
    return ChatMessage(chat_id, bot_id, f"{chat_id}/{text(message.get('message_id'), 'message_id')}",
                       body_text if isinstance(body_text, str) else "", tuple(media), name,
                       timestamp=date if isinstance(date, int) else None)


def get_file(token: str, file_id: str) -> ChatRequest:
    return _request(token, "getFile", {"file_id": file_id})


def file_path(status: int, body: bytes) -> str:
    """getFile's ``result.file_path``; the file is then at ``/file/bot<token>/<file_path>``."""
    data = obj(load_json(body), "answer")
    if data.get("ok") is not True:
        raise PayloadError(f"getFile answered {status}: {data.get('description')}")
    return text(obj(data.get("result"), "result").get("file_path"), "file_path")
