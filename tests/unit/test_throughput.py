import itertools
import random
from datetime import UTC, datetime, timedelta

from openline.core.entities import NumberType
from openline.services.throughput import STALE, Reservation, Throughput, take_slot, use_ticket

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
    assert await pacing.reserve(long_code, NumberType.LOCAL, T0, "SM1") == Reservation(True, 0.0)
    # 1 MPS for a long code: the next slot is 1 s away, beyond the horizon: a ticket, come back then.
    assert await pacing.reserve(long_code, NumberType.LOCAL, T0, "SM2") == near(False, 1.0)
    assert await pacing.reserve(long_code, NumberType.LOCAL, T0, "SM3") == near(False, 2.0)
    # SM2 comes back early: its ticket still waits. On time: it goes, without taking another slot.
    assert await pacing.reserve(long_code, NumberType.LOCAL, at(0.2), "SM2") == near(False, 0.8)
    assert await pacing.reserve(long_code, NumberType.LOCAL, at(1.1), "SM2") == Reservation(True, 0.0)
    # SM3 comes back far too late (its worker died): the ticket is void and it queues again.
    late = await pacing.reserve(long_code, NumberType.LOCAL, at(2.0 + STALE + 1), "SM3")
    assert late == Reservation(True, 0.0)
    toll_free = "+18005550100"
    assert await pacing.reserve(toll_free, NumberType.TOLL_FREE, T0, "SM4") == Reservation(True, 0.0)
    second = await pacing.reserve(toll_free, NumberType.TOLL_FREE, T0, "SM5")
    assert second.taken and abs(second.delay - 1 / 3) < 1e-6  # within the horizon: wait in place
    assert pacing.rate_for("12345", None) == 100.0  # short code


async def test_override() -> None:
    pacing = Throughput("off", {"+15555550100": 10.0})
    assert await pacing.reserve("+15555550100", NumberType.LOCAL, T0, "SM1") == Reservation(True, 0.0)
    second = await pacing.reserve("+15555550100", NumberType.LOCAL, T0, "SM2")
    assert second.taken and abs(second.delay - 0.1) < 1e-6
    assert await pacing.reserve("+15555550199", NumberType.LOCAL, T0, "SM3") == Reservation(True, 0.0)


def test_slots_never_closer_than_the_interval() -> None:
    rng = random.Random(7)
    next_free, taken = 0.0, []
    for now in sorted(rng.uniform(0, 10) for _ in range(2000)):
        slot, next_free = take_slot(next_free, now, 0.02)
        taken.append(slot)
    assert min(b - a for a, b in itertools.pairwise(taken)) >= 0.02 - 1e-9


def test_ticket_verdicts() -> None:
    assert use_ticket(10.0, 9.0, 0.25) == Reservation(False, 1.0)
    assert use_ticket(10.0, 9.9, 0.25) == Reservation(True, 10.0 - 9.9)
    assert use_ticket(10.0, 10.3, 0.25) == Reservation(True, 0.0)
    assert use_ticket(10.0, 10.0 + STALE + 0.01, 0.25) is None
