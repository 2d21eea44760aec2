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
        self._events: list[asyncio.Event] = []

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.append(event)
        return event

    def notify(self) -> None:
        for event in self._events:
            event.set()
