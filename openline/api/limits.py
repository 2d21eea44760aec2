"""Twilio's per-account concurrency limit: too many requests in flight answer 20429 at once.

Requests are counted per authenticated account in this process, and in total (all accounts);
the answer is immediate so that a flood queues in the client, not in Openline's memory. The
total bound is the back-pressure of a cluster's API process: when the database or the pool
slows down, requests take longer, more are in flight, and the excess answers 20429.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from openline.core.errors import TwilioError


class ConcurrencyLimiter:
    def __init__(self, per_account: int, total: int | None = None) -> None:
        self._limit = per_account
        self._total_limit = total
        self._total = 0
        self._in_flight: dict[str, int] = {}

    @contextlib.contextmanager
    def slot(self, account_sid: str) -> Iterator[None]:
        count = self._in_flight.get(account_sid, 0)
        if count >= self._limit:
            raise TwilioError(20429, f"Too many concurrent requests for this account (limit {self._limit})")
        if self._total_limit is not None and self._total >= self._total_limit:
            raise TwilioError(20429, "Too many requests in progress on this server; retry shortly")
        self._in_flight[account_sid] = count + 1
        self._total += 1
        try:
            yield
        finally:
            self._total -= 1
            remaining = self._in_flight[account_sid] - 1
            if remaining:
                self._in_flight[account_sid] = remaining
            else:
                del self._in_flight[account_sid]
