"""Inbound concatenated messages: collect parts until complete, bounded in count and age.

Parts are keyed by (source, destination, reference, total) - the reference is only unique per
originator/recipient pair (3GPP TS 23.040 §9.2.3.24.1) and including the total keeps two messages
that happen to reuse a reference apart. The part payload type is generic: GSM-7 parts packed
after a UDH must be decoded one by one (each has its own fill bits), so callers store whatever
they need per part - raw octets or decoded text.

Time is an argument (``now``, any monotonic float); nothing here reads a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Final, Generic, TypeVar

__all__ = ["DEFAULT_MAX_PENDING", "DEFAULT_TTL", "ConcatKey", "DropReason", "Dropped", "Reassembler"]

# A carrier link rarely has more than a few hundred long messages in flight; 10 000 pending
# groups of at most 255 parts x 140 octets bounds memory at a few hundred MiB in the worst case
# and far less in practice. Past it the oldest group is dropped, never the newest.
DEFAULT_MAX_PENDING: Final = 10_000
# SMSCs retry parts for minutes, not hours; a group still incomplete after 10 minutes is lost.
DEFAULT_TTL: Final = 600.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ConcatKey:
    source: str
    destination: str
    ref: int
    total: int


class DropReason(Enum):
    EXPIRED = "expired"
    EVICTED = "evicted"  # pushed out by max_pending


@dataclass(frozen=True, slots=True)
class Dropped(Generic[T]):
    """An incomplete message given up on, with the parts that did arrive (by part number)."""

    key: ConcatKey
    parts: dict[int, T]
    reason: DropReason


@dataclass(slots=True)
class _Group(Generic[T]):
    first_seen: float
    parts: dict[int, T] = field(default_factory=dict)


class Reassembler(Generic[T]):
    def __init__(self, *, max_pending: int = DEFAULT_MAX_PENDING, ttl: float = DEFAULT_TTL) -> None:
        if max_pending < 1 or ttl <= 0:
            raise ValueError("max_pending must be >= 1 and ttl > 0")
        self._max_pending = max_pending
        self._ttl = ttl
        self._groups: dict[ConcatKey, _Group[T]] = {}  # insertion order == first-seen order
        self._dropped: list[Dropped[T]] = []
        self.duplicates = 0

    def __len__(self) -> int:
        return len(self._groups)

    def add(self, key: ConcatKey, seq: int, part: T, now: float) -> list[T] | None:
        """Store part ``seq`` (1-based); return all parts in order once the last one arrives.

        A repeated part number keeps the first copy (SMSCs re-send parts whose deliver_sm_resp
        they missed) and is counted in ``duplicates``.
        """
        if not 1 <= seq <= key.total <= 255:
            raise ValueError(f"part {seq} of {key.total} is not a valid concatenation")
        if key.total == 1:
            return [part]
        group = self._groups.get(key)
        if group is None:
            while len(self._groups) >= self._max_pending:
                old_key = next(iter(self._groups))
                self._dropped.append(Dropped(old_key, self._groups.pop(old_key).parts, DropReason.EVICTED))
            group = self._groups[key] = _Group(now)
        if seq in group.parts:
            self.duplicates += 1
            return None
        group.parts[seq] = part
        if len(group.parts) < key.total:
            return None
        del self._groups[key]
        return [group.parts[i] for i in range(1, key.total + 1)]

    def expire(self, now: float) -> list[Dropped[T]]:
        """Drop groups older than the TTL; also hands back groups evicted for capacity since."""
        out, self._dropped = self._dropped, []
        for key in [k for k, g in self._groups.items() if now - g.first_seen >= self._ttl]:
            out.append(Dropped(key, self._groups.pop(key).parts, DropReason.EXPIRED))
        return out
