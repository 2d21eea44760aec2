"""Per-sender pacing: off unless configured (the carrier's throughput governs by default).

With ``messaging.throughput = "twilio"`` each sender gets Twilio's default rate for its kind
of number; ``messaging.sender_mps`` sets a rate for one sender.

Pacing is a GCRA with no burst over *actual sends*: ``next_at`` is the earliest moment the
sender's next message may go, and every send moves it ``1/rate`` on, so the rate holds whatever
else happens. A message whose moment is at most ``horizon`` away waits for it in place (a short
sleep) and goes. Behind a backlog, a message gets a *ticket*: the next slot of a second cursor,
``promised_at``, and the dispatcher reschedules it to that moment. Tickets line the backlog up
1/rate apart, so each queued message costs one reschedule instead of polling; a ticket that comes
back late (a busy or dead worker) still goes only when ``next_at`` allows, else it lines up again.

On PostgreSQL the cursors and tickets are rows every worker process reserves from
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
HORIZON = 0.25  # seconds: a send moment this close is waited for in place


@dataclass(frozen=True, slots=True)
class Reservation:
    taken: bool  # True: go after ``delay`` seconds. False: come back after ``delay`` (a ticket waits).
    delay: float


GO_NOW = Reservation(True, 0.0)


@dataclass(frozen=True, slots=True)
class Pace:
    """A sender's cursors (epoch seconds) and one message's ticket, before or after a decision."""

    next_at: float
    promised_at: float
    ticket: float | None


def decide(state: Pace, now: float, interval: float, horizon: float) -> tuple[Reservation, Pace]:
    """One message asks to go: the answer and the sender's (and the message's) new state."""
    if state.ticket is not None and state.ticket - now > horizon:
        return Reservation(False, state.ticket - now), state  # back early: the ticket still waits
    if state.ticket is None and state.promised_at - now > horizon:
        # A backlog is lined up: join its end.
        slot = max(state.promised_at, state.next_at, now)
        return Reservation(False, slot - now), Pace(state.next_at, slot + interval, slot)
    go_at = max(state.next_at, now)
    if go_at - now <= horizon:
        return Reservation(True, go_at - now), Pace(go_at + interval, max(state.promised_at, go_at + interval), None)
    # Sends ran ahead of the promises (late tickets went first): line up again.
    slot = max(state.promised_at, go_at)
    return Reservation(False, slot - now), Pace(state.next_at, slot + interval, slot)


class Throughput:
    def __init__(self, mode: str, overrides: dict[str, float], db: Database | None = None,
                 pacing: SenderPacing | None = None, horizon: float = HORIZON) -> None:
        self._mode = mode
        self._overrides = dict(overrides)
        self._db = db if db is not None and not db.dialect.is_sqlite else None
        self._pacing = pacing or SenderPacing()
        self._horizon = horizon
        # One process (SQLite): the cursors and tickets live here.
        self._cursors: dict[str, tuple[float, float]] = {}
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

    async def reserve(self, sender: str, kind: NumberType | None, now: datetime, message_sid: str) -> Reservation:
        rate = self.rate_for(sender, kind)
        if rate is None or rate <= 0:
            return GO_NOW
        interval, at = 1.0 / rate, now.timestamp()
        if self._db is None:
            next_at, promised_at = self._cursors.get(sender, (0.0, 0.0))
            answer, after = decide(Pace(next_at, promised_at, self._tickets.get(message_sid)), at, interval,
                                   self._horizon)
            self._cursors[sender] = (after.next_at, after.promised_at)
            if after.ticket is None:
                self._tickets.pop(message_sid, None)
            else:
                self._tickets[message_sid] = after.ticket
            return answer
        async with self._db.transaction() as conn:
            next_moment, promised_moment = await self._pacing.cursors(conn, sender)  # locks the sender's row
            held = await self._pacing.ticket(conn, message_sid)
            before = Pace(next_moment.timestamp(), promised_moment.timestamp(), held.timestamp() if held else None)
            answer, after = decide(before, at, interval, self._horizon)
            if (after.next_at, after.promised_at) != (before.next_at, before.promised_at):
                await self._pacing.set_cursors(conn, sender, _moment(after.next_at), _moment(after.promised_at))
            if after.ticket is None and held is not None:
                await self._pacing.use_ticket(conn, message_sid)
            elif after.ticket is not None and after.ticket != before.ticket:
                await self._pacing.give_ticket(conn, message_sid, _moment(after.ticket))
            return answer


def _moment(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
