"""Sequence numbers, timestamps and per-source reception statistics (RFC 3550 §A.1, §A.3, §A.8).

16-bit sequence numbers and 32-bit timestamps wrap; comparisons are modular ("serial number
arithmetic", RFC 1982). :class:`SourceState` is the algorithm of Appendix A.1: a source is valid
after MIN_SEQUENTIAL packets in order, big jumps are treated as a restart of the sender, and the
extended highest sequence number, loss and interarrival jitter feed RTCP report blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "MAX_DROPOUT",
    "MAX_MISORDER",
    "MIN_SEQUENTIAL",
    "SourceState",
    "seq_diff",
    "seq_newer",
    "ts_diff",
    "unwrap",
]

RTP_SEQ_MOD: Final = 1 << 16
MAX_DROPOUT: Final = 3000
MAX_MISORDER: Final = 100
MIN_SEQUENTIAL: Final = 2


def seq_diff(a: int, b: int) -> int:
    """a - b for 16-bit sequence numbers, in -32768..32767."""
    return ((a - b + 0x8000) & 0xFFFF) - 0x8000


def seq_newer(a: int, b: int) -> bool:
    return seq_diff(a, b) > 0


def ts_diff(a: int, b: int) -> int:
    """a - b for 32-bit timestamps, in -2**31..2**31-1."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def unwrap(value: int, reference: int, bits: int = 32) -> int:
    """The extended value closest to ``reference`` (an already extended number) whose low
    ``bits`` equal ``value``."""
    mod = 1 << bits
    half = mod >> 1
    candidate = (reference & ~(mod - 1)) | value
    if candidate - reference > half:
        candidate -= mod
    elif reference - candidate >= half:
        candidate += mod
    return candidate


@dataclass(slots=True)
class SourceState:
    """Reception state of one SSRC (RFC 3550 A.1 ``source`` struct, A.8 jitter)."""

    max_seq: int = 0
    cycles: int = 0
    base_seq: int = 0
    bad_seq: int = RTP_SEQ_MOD + 1
    probation: int = MIN_SEQUENTIAL
    received: int = 0
    expected_prior: int = 0
    received_prior: int = 0
    jitter: float = 0.0  # in timestamp units
    _transit: int | None = None
    initialised: bool = False

    def init_seq(self, seq: int) -> None:
        self.base_seq = seq
        self.max_seq = seq
        self.bad_seq = RTP_SEQ_MOD + 1
        self.cycles = 0
        self.received = 0
        self.received_prior = 0
        self.expected_prior = 0

    def update_seq(self, seq: int) -> bool:
        """Account for a packet; False if it must not be used (probation, or a bad jump)."""
        if not self.initialised:
            self.init_seq(seq)
            self.max_seq = (seq - 1) & 0xFFFF
            self.probation = MIN_SEQUENTIAL
            self.initialised = True
        udelta = (seq - self.max_seq) & 0xFFFF
        if self.probation:
            if seq == (self.max_seq + 1) & 0xFFFF:
                self.probation -= 1
                self.max_seq = seq
                if self.probation == 0:
                    self.init_seq(seq)
                    self.received += 1
                    return True
            else:
                self.probation = MIN_SEQUENTIAL - 1
                self.max_seq = seq
            return False
        if udelta < MAX_DROPOUT:
            if seq < self.max_seq:
                self.cycles += RTP_SEQ_MOD  # wrapped
            self.max_seq = seq
        elif udelta <= RTP_SEQ_MOD - MAX_MISORDER:
            if seq == self.bad_seq:
                # two sequential packets after a big jump: the source restarted (A.1)
                self.init_seq(seq)
            else:
                self.bad_seq = (seq + 1) & 0xFFFF
                return False
        # else: duplicate or reordered packet - counted, max_seq unchanged
        self.received += 1
        return True

    def update_jitter(self, arrival_units: int, timestamp: int) -> None:
        """A.8: J += (|D| - J) / 16 with D the change in transit time, in timestamp units."""
        transit = arrival_units - timestamp
        if self._transit is not None:
            d = abs(ts_diff(transit & 0xFFFFFFFF, self._transit & 0xFFFFFFFF))
            self.jitter += (d - self.jitter) / 16.0
        self._transit = transit

    @property
    def extended_max(self) -> int:
        return self.cycles + self.max_seq

    @property
    def expected(self) -> int:
        return self.extended_max - self.base_seq + 1

    @property
    def lost(self) -> int:
        """Cumulative packets lost (A.3), clamped to the 24-bit signed field."""
        return max(-0x800000, min(0x7FFFFF, self.expected - self.received))

    def interval_fraction_lost(self) -> int:
        """Fraction lost since the previous call, as the 8-bit fixed-point value of A.3."""
        expected_interval = self.expected - self.expected_prior
        self.expected_prior = self.expected
        received_interval = self.received - self.received_prior
        self.received_prior = self.received
        lost_interval = expected_interval - received_interval
        if expected_interval == 0 or lost_interval <= 0:
            return 0
        return (lost_interval << 8) // expected_interval
