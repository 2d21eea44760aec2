import itertools
import random
from datetime import UTC, datetime, timedelta

from openline.core.entities import NumberType
from openline.services.throughput import Pace, Reservation, Throughput, decide

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def near(taken: bool, delay: float) -> object:
    class _Near:
        def __eq__(self, other: object) -> bool:
            return isinstance(other, Reservation) and other.taken == taken and abs(other.delay - delay) < 1e-6

        def __repr__(self) -> str:
            return f"~Reservation({taken}, {delay})"

    return _Near()


async def test_off_by_default() -> None:
    pacing = Throughput("off", {})
    for n in range(100):
        assert await pacing.reserve("+15555550100", NumberType.LOCAL, T0, f"SM{n}") == Reservation(True, 0.0)


async def test_twilio_defaults_and_tickets() -> None:
    pacing = Throughput("twilio", {}, horizon=0.5)
    long_code = "+15555550100"
    assert await pacing.reserve(long_code, NumberType.LOCAL, T0, "SM1") == near(True, 0.0)
    # 1 MPS for a long code: the next moment is 1 s away, beyond the horizon: a ticket, come back then.
    assert await pacing.reserve(long_code, NumberType.LOCAL, T0, "SM2") == near(False, 1.0)
    assert await pacing.reserve(long_code, NumberType.LOCAL, T0, "SM3") == near(False, 2.0)
    # SM2 comes back early: its ticket still waits. On time: it goes.
    assert await pacing.reserve(long_code, NumberType.LOCAL, at(0.2), "SM2") == near(False, 0.8)
    assert await pacing.reserve(long_code, NumberType.LOCAL, at(1.1), "SM2") == near(True, 0.0)
    # A newcomer lines up behind SM3's ticket, not before it.
    assert await pacing.reserve(long_code, NumberType.LOCAL, at(1.2), "SM4") == near(False, 3.0 - 1.2)
    # SM3 comes back very late (its worker died): it still goes only when a send is allowed.
    assert await pacing.reserve(long_code, NumberType.LOCAL, at(9.0), "SM3") == near(True, 0.0)
    toll_free = "+18005550100"
    assert await pacing.reserve(toll_free, NumberType.TOLL_FREE, T0, "SM5") == near(True, 0.0)
    assert await pacing.reserve(toll_free, NumberType.TOLL_FREE, T0, "SM6") == near(True, 1 / 3)
    assert pacing.rate_for("12345", None) == 100.0  # short code


async def test_override() -> None:
    pacing = Throughput("off", {"+15555550100": 10.0})
    assert await pacing.reserve("+15555550100", NumberType.LOCAL, T0, "SM1") == near(True, 0.0)
    assert await pacing.reserve("+15555550100", NumberType.LOCAL, T0, "SM2") == near(True, 0.1)
    assert await pacing.reserve("+15555550199", NumberType.LOCAL, T0, "SM3") == near(True, 0.0)


def test_sends_never_closer_than_the_interval_whatever_the_lateness() -> None:
    """A backlog of 500 with tickets that come back with random lateness (0-3 s): the sends allowed
    are never closer than 1/rate, and every message goes exactly once."""
    rng = random.Random(7)
    interval, horizon = 0.02, 0.25
    state_next, state_promised = 0.0, 0.0
    tickets: dict[int, float] = {}
    pending = [(0.0, n) for n in range(500)]  # (when the message's job runs, message)
    sends: list[float] = []
    while pending:
        pending.sort()
        now, n = pending.pop(0)
        answer, after = decide(Pace(state_next, state_promised, tickets.get(n)), now, interval, horizon)
        state_next, state_promised = after.next_at, after.promised_at
        if after.ticket is None:
            tickets.pop(n, None)
        else:
            tickets[n] = after.ticket
        if answer.taken:
            sends.append(now + answer.delay)
        else:
            pending.append((now + answer.delay + rng.uniform(0, 3.0), n))
    sends.sort()
    assert len(sends) == 500
    assert min(b - a for a, b in itertools.pairwise(sends)) >= interval - 1e-9
