"""The pipeline's side of the job queue: waking idle workers, and asking for a later retry.

Services enqueue jobs (``openline.storage.jobs``) inside their transactions and then call
:meth:`Wakeup.notify`; ``openline.workers`` runs the jobs.
"""

from __future__ import annotations

import asyncio


class RetryLater(Exception):
    """Raised by a handler to run the job again after ``delay`` seconds (not a failure)."""

    def __init__(self, delay: float, reason: str = "") -> None:
        super().__init__(reason or f"retry in {delay:.3f}s")
        self.delay = delay


class Wakeup:
    """Tells idle pools that work may be due (a job was enqueued, or the sandbox clock moved)."""

    def __init__(self) -> None:
        self._events: list[tuple[asyncio.Event, frozenset[str] | None]] = []
        # Counts notices: a pool that read the queue knows whether anything was enqueued since.
        self.generation = 0

    def subscribe(self, kinds: tuple[str, ...] | None = None) -> asyncio.Event:
        """An event set on every notice, or only on notices for one of ``kinds`` (or for no kind)."""
        event = asyncio.Event()
        self._events.append((event, frozenset(kinds) if kinds is not None else None))
        return event

    def notify(self, kind: str | None = None) -> None:
        self.generation += 1
        for event, kinds in self._events:
            if kind is None or kinds is None or kind in kinds:
                event.set()
