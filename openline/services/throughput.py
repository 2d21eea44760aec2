"""Per-sender pacing: off unless configured (the carrier's throughput governs by default).

With ``messaging.throughput = "twilio"`` each sender gets Twilio's default rate for its kind
of number; ``messaging.sender_mps`` sets a rate for one sender.

Pacing is a GCRA with no burst: a sender's messages leave at least ``1/rate`` apart. A message
reserves the sender's next slot if that slot is at most ``horizon`` seconds away, then waits for
it (a short sleep) and goes; a message further back takes no slot and comes back later (the
dispatcher reschedules it), so a backlog never holds more than ``rate × horizon`` slots. On
PostgreSQL the slot lives in a row every worker process reserves from (``storage.pacing``), so
the rate holds for the whole cluster; on SQLite (one process) it lives in memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from openline.core.entities import NumberType
from openline.storage.database import Database
from openline.storage.pacing import SenderPacing

TWILIO_DEFAULT_MPS = {NumberType.LOCAL: 1.0, NumberType.MOBILE: 1.0, NumberType.TOLL_FREE: 3.0}
SHORT_CODE_MPS = 100.0
ALPHA_SENDER_MPS = 10.0
HORIZON = 1.0  # seconds: how far ahead a message may reserve its sender's slot and wait for it


@dataclass(frozen=True, slots=True)
class Reservation:
    taken: bool  # True: go after ``delay`` seconds. False: no slot; try again after ``delay``.
    delay: float


GO_NOW = Reservation(True, 0.0)


def take_slot(next_free: float, now: float, interval: float, horizon: float) -> tuple[float | None, float]:
    """The GCRA step over seconds: (the sender's new next-free time or None if no slot was taken,
    seconds until our slot — or until a slot may be within the horizon)."""
    slot = max(next_free, now)
    if slot - now > horizon:
        return None, slot - now - horizon
    return slot + interval, slot - now


class Throughput:
    def __init__(self, mode: str, overrides: dict[str, float], db: Database | None = None,
                 pacing: SenderPacing | None = None, horizon: float = HORIZON,
                 rng: random.Random | None = None) -> None:
        self._mode = mode
        self._overrides = dict(overrides)
        self._db = db if db is not None and not db.dialect.is_sqlite else None
        self._pacing = pacing or SenderPacing()
        self._horizon = horizon
        self._rng = rng or random.Random()
        self._next_free: dict[str, float] = {}  # one process (SQLite): the slots live here

    def rate_for(self, sender: str, kind: NumberType | None) -> float | None:
        if sender in self._overrides:
            return self._overrides[sender]
        if self._mode != "twilio":
            return None
        if sender.isdigit() and len(sender) <= 6:
            return SHORT_CODE_MPS
        if not sender.startswith("+"):
            return ALPHA_SENDER_MPS
        return TWILIO_DEFAULT_MPS.get(kind or NumberType.LOCAL, 1.0)

    async def reserve(self, sender: str, kind: NumberType | None, now: datetime) -> Reservation:
        rate = self.rate_for(sender, kind)
        if rate is None or rate <= 0:
            return GO_NOW
        interval = 1.0 / rate
        at = now.timestamp()
        if self._db is None:
            new_next, delay = take_slot(self._next_free.get(sender, at), at, interval, self._horizon)
            if new_next is not None:
                self._next_free[sender] = new_next
        else:
            async with self._db.transaction() as conn:
                current = (await self._pacing.next_at(conn, sender)).timestamp()
                new_next, delay = take_slot(current, at, interval, self._horizon)
                if new_next is not None:
                    await self._pacing.set_next_at(conn, sender, datetime.fromtimestamp(new_next, UTC))
        if new_next is None:
            # Spread the backlog's retries over the horizon, so they do not all return at once.
            return Reservation(False, delay + self._rng.uniform(0, self._horizon))
        return Reservation(True, delay)
