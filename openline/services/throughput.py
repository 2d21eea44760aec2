"""Per-sender pacing: off unless configured (the carrier's throughput governs by default).

With ``messaging.throughput = "twilio"`` each sender gets Twilio's default rate for its kind
of number; ``messaging.sender_mps`` sets a rate for one sender. A token bucket per sender
says how long a message must wait; the dispatcher reschedules it rather than sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass

from openline.core.entities import NumberType

TWILIO_DEFAULT_MPS = {NumberType.LOCAL: 1.0, NumberType.MOBILE: 1.0, NumberType.TOLL_FREE: 3.0}
SHORT_CODE_MPS = 100.0
ALPHA_SENDER_MPS = 10.0


@dataclass
class _Bucket:
    rate: float
    next_free: float  # monotonic time at which the next message may go


class Throughput:
    def __init__(self, mode: str, overrides: dict[str, float]) -> None:
        self._mode = mode
        self._overrides = dict(overrides)
        self._buckets: dict[str, _Bucket] = {}

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

    def reserve(self, sender: str, kind: NumberType | None, now: float) -> float:
        """Seconds to wait before this sender may send; 0 means go now (and the slot is taken)."""
        rate = self.rate_for(sender, kind)
        if rate is None or rate <= 0:
            return 0.0
        bucket = self._buckets.setdefault(sender, _Bucket(rate, now))
        bucket.rate = rate
        if bucket.next_free > now:
            return bucket.next_free - now
        bucket.next_free = max(bucket.next_free, now) + 1.0 / rate
        return 0.0
