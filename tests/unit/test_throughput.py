import random
from datetime import UTC, datetime, timedelta

from openline.core.entities import NumberType
from openline.services.throughput import Reservation, Throughput, take_slot

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def test_off_by_default() -> None:
    pacing = Throughput("off", {})
    for _ in range(100):
        assert await pacing.reserve("+15555550100", NumberType.LOCAL, T0) == Reservation(True, 0.0)


async def test_twilio_defaults() -> None:
    pacing = Throughput("twilio", {}, horizon=1.0, rng=random.Random(1))
    assert await pacing.reserve("+15555550100", NumberType.LOCAL, T0) == Reservation(True, 0.0)
    # 1 MPS for a long code: the next slot is 1 s away, within the horizon: taken, wait for it.
    assert await pacing.reserve("+15555550100", NumberType.LOCAL, T0) == Reservation(True, 1.0)
    # The one after is 2 s away, beyond the horizon: no slot, come back (spread over the horizon).
    third = await pacing.reserve("+15555550100", NumberType.LOCAL, T0)
    assert not third.taken and 1.0 <= third.delay <= 2.0
    assert await pacing.reserve("+15555550100", NumberType.LOCAL, at(2.0)) == Reservation(True, 0.0)
    assert await pacing.reserve("+18005550100", NumberType.TOLL_FREE, T0) == Reservation(True, 0.0)
    second = await pacing.reserve("+18005550100", NumberType.TOLL_FREE, T0)
    assert second.taken and abs(second.delay - 1 / 3) < 1e-6
    assert pacing.rate_for("12345", None) == 100.0  # short code


async def test_override() -> None:
    pacing = Throughput("off", {"+15555550100": 10.0})
    assert await pacing.reserve("+15555550100", NumberType.LOCAL, T0) == Reservation(True, 0.0)
    second = await pacing.reserve("+15555550100", NumberType.LOCAL, T0)
    assert second.taken and abs(second.delay - 0.1) < 1e-6
    assert await pacing.reserve("+15555550199", NumberType.LOCAL, T0) == Reservation(True, 0.0)


def test_take_slot_never_exceeds_the_rate() -> None:
    # Many callers at random moments: the slots they take are always at least 1/rate apart.
    rng = random.Random(7)
    next_free, taken = 0.0, []
    for now in sorted(rng.uniform(0, 10) for _ in range(2000)):
        new_next, delay = take_slot(next_free, now, 0.02, 0.5)
        if new_next is not None:
            taken.append(now + delay)
            next_free = new_next
    gaps = [b - a for a, b in zip(taken, taken[1:], strict=False)]
    assert min(gaps) >= 0.02 - 1e-9 and len(taken) <= (10 + 0.5) / 0.02 + 1
