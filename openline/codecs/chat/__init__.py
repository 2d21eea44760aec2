"""Chat platforms' wire formats: request bodies to build, webhook payloads to parse, signatures.

Pure functions over bytes and dicts (no I/O): WhatsApp Business Cloud API, Messenger Send
API, Telegram Bot API and LINE Messaging API, each as its own documentation shows them.
"""

from openline.codecs.chat.events import (
    ChatMedia,
    ChatMessage,
    ChatRequest,
    ChatStatus,
    PayloadError,
    SendResult,
)

__all__ = ["ChatMedia", "ChatMessage", "ChatRequest", "ChatStatus", "PayloadError", "SendResult"]
