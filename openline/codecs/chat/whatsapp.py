"""WhatsApp Business Cloud API: message requests, the send answer, webhook notifications.

Sends go to ``POST /{version}/{phone-number-id}/messages`` with a Bearer token and a JSON body
``{"messaging_product": "whatsapp", "recipient_type": "individual", "to": …, "type": …}``;
media are sent by link. Webhooks carry ``entry[].changes[].value`` with ``messages`` (from a
user) and ``statuses`` (sent, delivered, read, failed) for the number in ``metadata``.
"""

from __future__ import annotations

from collections.abc import Sequence
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

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
CAPTIONED = ("image", "video", "document")  # WhatsApp refuses a caption on audio and stickers


def media_kind(content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "document"


def _envelope(to: str, kind: str) -> dict[str, Any]:
    # The Cloud API takes the recipient's number without "+", as its own examples write it.
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to.lstrip("+"), "type": kind}


def _request(version: str, number_id: str, token: str, body: dict[str, Any]) -> ChatRequest:
    return ChatRequest("POST", f"/{version}/{number_id}/messages",
                       {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}, body)


def text_request(version: str, number_id: str, token: str, to: str, body: str) -> ChatRequest:
    return _request(version, number_id, token,
                    {**_envelope(to, "text"), "text": {"preview_url": False, "body": body}})


def media_request(version: str, number_id: str, token: str, to: str, content_type: str, link: str,
                  caption: str | None) -> ChatRequest:
    kind = media_kind(content_type)
    media: dict[str, Any] = {"link": link}
    if caption and kind in CAPTIONED:
        media["caption"] = caption
    return _request(version, number_id, token, {**_envelope(to, kind), kind: media})


def template_request(version: str, number_id: str, token: str, to: str, name: str, language: str,
                     parameters: Sequence[str]) -> ChatRequest:
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        template["components"] = [{"type": "body",
                                   "parameters": [{"type": "text", "text": value} for value in parameters]}]
    return _request(version, number_id, token, {**_envelope(to, "template"), "template": template})


def parse_send_response(status: int, body: bytes) -> SendResult:
    """``{"messages": [{"id": "wamid…"}]}`` on success; Graph's ``{"error": {…}}`` otherwise."""
    try:
        data = obj(load_json(body), "answer")
    except PayloadError as exc:
        return SendResult(None, status, f"HTTP {status}: {exc}", http_status=status)
    if 200 <= status < 300:
        messages = items(data.get("messages"), "messages")
        if messages and isinstance(messages[0], dict) and messages[0].get("id"):
            return SendResult(str(messages[0]["id"]), http_status=status)
        return SendResult(None, status, "the answer names no message id", http_status=status)
    error: dict[str, Any] = data["error"] if isinstance(data.get("error"), dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else status
    return SendResult(None, code, str(error.get("message") or f"HTTP {status}"),
                      retry_after=60.0 if code in THROTTLED or status == 429 else None, http_status=status)


THROTTLED = frozenset({4, 80007, 130429, 131048, 131056})  # Graph rate and spam-rate limits


def _message(value: dict[str, Any], raw: dict[str, Any], contacts: dict[str, str], number: str) -> ChatMessage:
    kind = str(raw.get("type") or "")
    sender = text(raw.get("from"), "messages[].from")
    body = ""
    media: list[ChatMedia] = []
    if kind == "text":
        body = text(obj(raw.get("text"), "text").get("body"), "text.body")
    elif kind in MEDIA_KINDS:
        part = obj(raw.get(kind), kind)
        caption = part.get("caption")
        body = str(caption) if isinstance(caption, str) else ""
        media.append(ChatMedia(kind, text(part.get("id"), f"{kind}.id"),
                               str(part["mime_type"]) if isinstance(part.get("mime_type"), str) else None,
                               body or None))
    elif kind == "button":
        body = str(obj(raw.get("button"), "button").get("text") or "")
    elif kind == "interactive":
        reply = obj(raw.get("interactive"), "interactive")
        chosen = reply.get("button_reply") or reply.get("list_reply") or {}
        body = str(chosen.get("title") or "") if isinstance(chosen, dict) else ""
    timestamp = str(raw.get("timestamp") or "")
    return ChatMessage(sender, number, text(raw.get("id"), "messages[].id"), body, tuple(media),
                       contacts.get(sender), None, int(timestamp) if timestamp.isdigit() else None)


def parse_webhook(body: bytes) -> tuple[list[ChatMessage], list[tuple[str, ChatStatus]]]:
    """Messages and statuses of a notification; each status with the business number it concerns.

    Numbers come back in E.164 (``metadata.display_phone_number`` is digits, sometimes formatted).
    """
    data = obj(load_json(body), "notification")
    if data.get("object") != "whatsapp_business_account":
        raise PayloadError("object is not whatsapp_business_account")
    messages: list[ChatMessage] = []
    statuses: list[tuple[str, ChatStatus]] = []
    for entry in items(data.get("entry"), "entry"):
        for change in items(obj(entry, "entry[]").get("changes"), "changes"):
            change = obj(change, "changes[]")
            if change.get("field") != "messages":
                continue
            value = obj(change.get("value"), "value")
            metadata = obj(value.get("metadata"), "metadata")
            number = "+" + "".join(ch for ch in text(metadata.get("display_phone_number"),
                                                     "metadata.display_phone_number") if ch.isdigit())
            number_id = text(metadata.get("phone_number_id"), "metadata.phone_number_id")
            contacts = {}
            for contact in items(value.get("contacts"), "contacts"):
                contact = obj(contact, "contacts[]")
                profile = contact.get("profile")
                if isinstance(profile, dict) and isinstance(profile.get("name"), str) and contact.get("wa_id"):
                    contacts[str(contact["wa_id"])] = profile["name"]
            for raw in items(value.get("messages"), "messages"):
                message = _message(value, obj(raw, "messages[]"), contacts, number)
                messages.append(message)
            for raw in items(value.get("statuses"), "statuses"):
                raw = obj(raw, "statuses[]")
                errors = items(raw.get("errors"), "errors")
                first = obj(errors[0], "errors[]") if errors else {}
                code = first.get("code")
                statuses.append((number_id, ChatStatus(
                    text(raw.get("status"), "statuses[].status"), text(raw.get("recipient_id"), "recipient_id"),
                    text(raw.get("id"), "statuses[].id"), code if isinstance(code, int) else None,
                    str(first.get("title") or first.get("message") or "") or None)))
    return messages, statuses


def media_url_request(version: str, media_id: str, token: str) -> ChatRequest:
    """``GET /{version}/{media-id}``: where a received medium can be downloaded (with the same token)."""
    return ChatRequest("GET", f"/{version}/{media_id}", {"Authorization": f"Bearer {token}"}, {})


def parse_media_url(status: int, body: bytes) -> tuple[str, str | None]:
    """``{"url": …, "mime_type": …, …}``: the download URL and type."""
    if not 200 <= status < 300:
        raise PayloadError(f"media lookup answered HTTP {status}")
    data = obj(load_json(body), "media")
    mime = data.get("mime_type")
    return text(data.get("url"), "url"), mime if isinstance(mime, str) else None
