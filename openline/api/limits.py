"""Twilio's per-account concurrency limit: too many requests in flight answer 20429 at once.

Requests are counted per authenticated account in this process; the answer is immediate so
that a flood queues in the client, not in Openline's memory.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from openline.core.errors import TwilioError


class ConcurrencyLimiter:
    def __init__(self, per_account: int) -> None:
        self._limit = per_account
        self._in_flight: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self, account_sid: str) -> Iterator[None]:
        count = self._in_flight.get(account_sid, 0)
        if count >= self._limit:
            raise TwilioError(20429, f"Too many concurrent requests for this account (limit {self._limit})")
        self._in_flight[account_sid] = count + 1
        try:
            yield
        finally:
            remaining = self._in_flight[account_sid] - 1
            if remaining:
                self._in_flight[account_sid] = remaining
            else:
                del self._in_flight[account_sid]
