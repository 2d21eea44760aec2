"""Webhook requests and results as values: what services ask for and get back.

The HTTP work lives in ``openline.transports.webhooks``; services depend only on these
types and on the :class:`WebhookSender` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

DEFAULT_ACCEPT = "*/*"  # [UNVERIFIED] what captured Twilio messaging webhooks carry


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    url: str  # may carry overrides in the fragment and Basic credentials in the userinfo
    method: str  # "GET" | "POST"
    params: tuple[tuple[str, str], ...]
    auth_token: str  # signs X-Twilio-Signature
    idempotency_token: str  # sent as I-Twilio-Idempotency-Token, the same on every retry
    accept: str = DEFAULT_ACCEPT


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    """One HTTP exchange, as the console shows it (the URL never carries credentials)."""

    url: str
    method: str
    status_code: int | None
    response_excerpt: str
    content_type: str | None
    duration_ms: float
    error_code: int | None
    error_message: str | None
    started_at_monotonic: float


@dataclass(frozen=True, slots=True)
class WebhookResult:
    ok: bool  # a 2xx answer was received
    status_code: int | None
    body: bytes  # at most MAX_RESPONSE_BYTES (non-2xx bodies too); empty if none or too large
    content_type: str | None
    error_code: int | None
    error_message: str | None
    attempts: tuple[WebhookAttempt, ...]


class WebhookSender(Protocol):
    async def send(self, request: WebhookRequest) -> WebhookResult: ...

    async def aclose(self) -> None: ...
