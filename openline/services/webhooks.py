"""Calling customers' webhooks: sign, send (outside any transaction), then record every attempt."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from openline.core.clock import Clock
from openline.core.webhooks import WebhookRequest, WebhookResult, WebhookSender
from openline.storage.database import Conn, Database
from openline.storage.repositories import AccountRepository
from openline.storage.repositories.messaging import WebhookAttemptRepository

Params = Sequence[tuple[str, str]]


def new_idempotency_token() -> str:
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class WebhookCall:
    account_sid: str
    resource_sid: str | None
    purpose: str  # inbound | fallback | redirect | status
    url: str
    method: str
    params: tuple[tuple[str, str], ...]
    idempotency_token: str


class WebhookCaller:
    def __init__(self, db: Database, client: WebhookSender, accounts: AccountRepository,
                 attempts: WebhookAttemptRepository, clock: Clock,
                 observer: Callable[[str, bool, int | None], None] | None = None) -> None:
        self._db = db
        self._observer = observer  # (purpose, ok, HTTP status): the metrics' webhook outcomes
        self._client = client
        self._accounts = accounts
        self._attempts = attempts
        self._clock = clock

    async def send(self, call: WebhookCall) -> WebhookResult:
        """One webhook request (with the retries its URL fragment asks for). Never raises for HTTP trouble."""
        async with self._db.read() as conn:
            account = await self._accounts.get(conn, call.account_sid)
        token = account.auth_token if account else ""
        result = await self._client.send(WebhookRequest(
            url=call.url, method=call.method, params=call.params, auth_token=token,
            idempotency_token=call.idempotency_token))
        if self._observer is not None:
            self._observer(call.purpose, result.ok, result.status_code)
        return result

    async def record(self, conn: Conn, call: WebhookCall, result: WebhookResult) -> None:
        params = json.dumps(list(call.params))
        now = self._clock.now()
        for attempt in result.attempts:
            await self._attempts.add(
                conn, account_sid=call.account_sid, resource_sid=call.resource_sid, purpose=call.purpose,
                url=attempt.url, method=attempt.method, request_params=params, status_code=attempt.status_code,
                response_excerpt=attempt.response_excerpt, error_code=attempt.error_code,
                duration_ms=attempt.duration_ms, at=now)

    async def aclose(self) -> None:
        await self._client.aclose()
