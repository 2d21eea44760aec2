"""Per-sender pacing: off unless configured (the carrier's throughput governs by default).

With ``messaging.throughput = "twilio"`` each sender gets Twilio's default rate for its kind
of number; ``messaging.sender_mps`` sets a rate for one sender.

Pacing is a GCRA with no burst: a sender's messages leave at least ``1/rate`` apart. Each message
takes the sender's next free slot. A slot at most ``horizon`` seconds away is waited for (a short
sleep) and the message goes; a later slot becomes a *ticket* for that message and the dispatcher
reschedules it to the slot's time, when it goes without queueing again. So a backlog costs one
reservation and one reschedule per message, in slot order. A ticket that comes back more than
``STALE`` seconds late (its worker died, the cluster was down) is dropped and the message queues
again at the back: late tickets firing together would exceed the rate.

On PostgreSQL the slots and tickets are rows every worker process reserves from
(``storage.pacing``), so the rate holds for the whole cluster; on SQLite (one process) they live
in memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from openline.core.entities import NumberType
from openline.storage.database import Database
from openline.storage.pacing import SenderPacing

TWILIO_DEFAULT_MPS = {NumberType.LOCAL: 1.0, NumberType.MOBILE: 1.0, NumberType.TOLL_FREE: 3.0}
SHORT_CODE_MPS = 100.0
ALPHA_SENDER_MPS = 10.0
HORIZON = 0.25  # seconds: a slot this close is waited for in place
STALE = 0.4  # seconds: a ticket used later than this is void (10 % of a 5-second window, with margin)


@dataclass(frozen=True, slots=True)
class Reservation:
    taken: bool  # True: go after ``delay`` seconds. False: come back after ``delay`` (a ticket waits).
    delay: float


GO_NOW = Reservation(True, 0.0)


def take_slot(next_free: float, now: float, interval: float) -> tuple[float, float]:
    """The GCRA step over seconds: (our slot, the sender's new next-free time)."""
    slot = max(next_free, now)
    return slot, slot + interval


def use_ticket(slot: float, now: float, horizon: float) -> Reservation | None:
    """What a ticket is worth now: go (at its slot), come back (early), or None (stale: void)."""
    if now - slot > STALE:
        return None
    if slot - now > horizon:
        return Reservation(False, slot - now)
    return Reservation(True, max(0.0, slot - now))


class Throughput:
    def __init__(self, mode: str, overrides: dict[str, float], db: Database | None = None,
                 pacing: SenderPacing | None = None, horizon: float = HORIZON) -> None:
        self._mode = mode
        self._overrides = dict(overrides)
        self._db = db if db is not None and not db.dialect.is_sqlite else None
        self._pacing = pacing or SenderPacing()
        self._horizon = horizon
        # One process (SQLite): the slots and tickets live here.
        self._next_free: dict[str, float] = {}
        self._tickets: dict[str, float] = {}

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

    def _decide(self, slot: float, now: float) -> Reservation:
        if slot - now <= self._horizon:
            return Reservation(True, slot - now)
        return Reservation(False, slot - now)  # the slot is this message's ticket

    async def reserve(self, sender: str, kind: NumberType | None, now: datetime, message_sid: str) -> Reservation:
        rate = self.rate_for(sender, kind)
        if rate is None or rate <= 0:
            return GO_NOW
        interval, at = 1.0 / rate, now.timestamp()
        if self._db is None:
            held = self._tickets.pop(message_sid, None)
            if held is not None:
                verdict = use_ticket(held, at, self._horizon)
                if verdict is not None:
                    if not verdict.taken:
                        self._tickets[message_sid] = held
                    return verdict
            slot, self._next_free[sender] = take_slot(self._next_free.get(sender, at), at, interval)
            decision = self._decide(slot, at)
            if not decision.taken:
                self._tickets[message_sid] = slot
            return decision
        async with self._db.transaction() as conn:
            current = (await self._pacing.next_at(conn, sender)).timestamp()  # locks the sender's row
            held_at = await self._pacing.ticket(conn, message_sid)
            if held_at is not None:
                verdict = use_ticket(held_at.timestamp(), at, self._horizon)
                if verdict is not None:
                    if verdict.taken:
                        await self._pacing.use_ticket(conn, message_sid)
                    return verdict
                await self._pacing.use_ticket(conn, message_sid)
            slot, new_next = take_slot(current, at, interval)
            await self._pacing.set_next_at(conn, sender, datetime.fromtimestamp(new_next, UTC))
            decision = self._decide(slot, at)
            if not decision.taken:
                await self._pacing.give_ticket(conn, message_sid, datetime.fromtimestamp(slot, UTC))
            return decision
