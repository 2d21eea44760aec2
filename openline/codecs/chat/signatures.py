"""Webhook authenticity checks, each as the platform documents it."""

from __future__ import annotations

import base64
import hashlib
import hmac


def hub_signature_256(secret: str, body: bytes) -> str:
    """Meta (WhatsApp, Messenger): ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_hub_signature(secret: str, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(hub_signature_256(secret, body), header.strip())


def line_signature(channel_secret: str, body: bytes) -> str:
    """LINE: ``X-Line-Signature`` = base64 of HMAC-SHA256 of the body with the channel secret."""
    return base64.b64encode(hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()).decode()


def check_line_signature(channel_secret: str, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(line_signature(channel_secret, body), header.strip())


def check_telegram_secret(secret_token: str, header: str | None) -> bool:
    """Telegram repeats setWebhook's secret_token in ``X-Telegram-Bot-Api-Secret-Token``."""
    return header is not None and hmac.compare_digest(secret_token.encode(), header.encode())


def check_hub_challenge(verify_token: str, mode: str | None, token: str | None) -> bool:
    """Meta's subscription check: ``hub.mode=subscribe`` and our ``hub.verify_token``."""
    return mode == "subscribe" and token is not None and hmac.compare_digest(verify_token.encode(), token.encode())
