"""Worker pools over the durable job queue.

A pool claims due jobs of its kinds in batches, runs each in its own task (bounded by the
pool's concurrency) and retries failures with exponential backoff. A handler commits its
effects and the job's completion in one transaction (``storage.jobs.complete``), so a crash
at any point either leaves the job to run again or has finished it — never half of both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from openline.core.clock import Clock
from openline.services.queue import RetryLater, Wakeup
from openline.storage import jobs
from openline.storage.database import Database
from openline.storage.jobs import Job, LeaseLost

log = logging.getLogger("openline.workers")

Handler = Callable[[Job], Awaitable[None]]
# Told of every finished attempt: (kind, outcome "ok" | "retry" | "failed" | "lease_lost",
# seconds from due to done, seconds the handler ran): the metrics' job latency.
JobObserver = Callable[[str, str, float, float], None]


def backoff(attempt: int, base: float = 1.0, cap: float = 300.0) -> float:
    return float(min(cap, base * (2 ** max(0, attempt - 1))))


class WorkerPool:
    def __init__(
        self, name: str, db: Database, clock: Clock, handlers: Mapping[str, Handler], wakeup: Wakeup, *,
        concurrency: int = 32, lease: timedelta = timedelta(seconds=60), idle_poll: float = 1.0,
        retry_base: float = 1.0, observer: JobObserver | None = None,
    ) -> None:
        self.name = name
        self._db = db
        self._clock = clock
        self._handlers = dict(handlers)
        self._kinds = tuple(self._handlers)
        self._wake = wakeup.subscribe(self._kinds)
        self._notices = wakeup
        self._due_known = False  # whether _next_due reflects the queue since the last notice
        self._read_at = -1  # the notice count when the queue was last read
        self._next_due: datetime | None = None
        self._concurrency = concurrency
        self._lease = lease
        self._idle_poll = idle_poll
        self._retry_base = retry_base
        self._observer = observer
        self._owner = f"{name}-{secrets.token_hex(4)}"
        self._running: set[asyncio.Task[None]] = set()
        self._stopping = False

    async def run(self) -> None:
        postgres = not self._db.dialect.is_sqlite
        while not self._stopping:
            generation = self._notices.generation
            free = self._concurrency - len(self._running)
            claimed: list[Job] = []
            if free > 0:
                try:
                    # The claim waits for its group's commit: it can see jobs of writers in the
                    # same group, whose rows readers see only once that commit is done.
                    async with self._db.transaction() as conn:
                        claimed = await jobs.claim(conn, self._kinds, self._owner, self._clock.now(), self._lease,
                                                   free, postgres)
                except Exception:  # the database is unavailable: back off, don't die
                    log.exception("%s: could not claim jobs", self.name)
                    await asyncio.sleep(self._idle_poll)
                    continue
            for job in claimed:
                task = asyncio.create_task(self._execute(job))
                self._running.add(task)
                task.add_done_callback(self._running.discard)
            if claimed and len(claimed) == free:
                await asyncio.sleep(0)  # a full batch: more may be due right away
                continue
            await self._idle(bool(claimed), generation)

    async def _idle(self, busy: bool, generation: int) -> None:
        """Wait until work may be due: a notice, a finished job (a free slot), or the next run_at.

        While work keeps coming (the last claim found some), the next due time is not read
        again: the jobs we run wake us when they finish, and the claim that follows picks up
        anything that fell due meanwhile. It is read when the queue runs dry after an enqueue
        notice or a finished job (either can add a job scheduled for later).
        """
        if self._notices.generation != generation:
            return  # something was enqueued while we claimed: claim again at once
        if self._notices.generation != self._read_at:
            self._due_known = False  # enqueued since we read the queue: it may be due sooner
        if not busy and not self._due_known:
            self._read_at = self._notices.generation
            try:
                async with self._db.read() as conn:
                    self._next_due = await jobs.next_due(conn, self._kinds, self._clock.now())
                self._due_known = True
            except Exception:
                log.exception("%s: could not read the queue", self.name)
                self._next_due = None
        timeout = self._idle_poll
        if self._next_due is not None:
            timeout = max(0.0, min(timeout, (self._next_due - self._clock.now()).total_seconds()))
        if timeout <= 0 and len(self._running) < self._concurrency:
            self._due_known, self._next_due = False, None  # claimed since, or leased by ours: read again
            if self._running:  # due jobs are all leased by our own tasks: wait for one to finish
                await asyncio.wait(set(self._running), timeout=self._idle_poll,
                                   return_when=asyncio.FIRST_COMPLETED)
            return
        if self._notices.generation != generation:
            return  # a notice came while we read the queue
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(timeout, 0.001))

    async def _execute(self, job: Job) -> None:
        handler = self._handlers[job.kind]
        started = time.monotonic()
        outcome = "ok"
        try:
            await handler(job)
        except LeaseLost:  # another worker finished it after our lease ran out; ours was rolled back
            outcome = "lease_lost"
            log.info("%s: job %s %d was finished elsewhere", self.name, job.kind, job.id)
        except RetryLater as later:
            outcome = "retry"
            await self._reschedule(job, later.delay, str(later), counts=False)
        except Exception as exc:
            outcome = "failed"
            log.warning("%s: job %s %d failed (attempt %d/%d): %r", self.name, job.kind, job.id, job.attempts,
                        job.max_attempts, exc)
            await self._reschedule(job, backoff(job.attempts, self._retry_base), repr(exc), counts=True)
        finally:
            self._due_known = False  # the handler may have enqueued work of ours for later, unannounced
            self._wake.set()
            if self._observer is not None:
                ran = time.monotonic() - started
                self._observer(job.kind, outcome, (self._clock.now() - job.run_at).total_seconds(), ran)

    async def _reschedule(self, job: Job, delay: float, error: str, counts: bool) -> None:
        try:
            async with self._db.transaction() as conn:
                run_at = self._clock.now() + timedelta(seconds=delay)
                if counts:
                    if not await jobs.retry(conn, job, run_at, error):
                        log.error("%s: job %s %d is dead after %d attempts: %s", self.name, job.kind, job.id,
                                  job.attempts, error)
                else:
                    await jobs.postpone(conn, job.id, run_at, error)
        except Exception:  # the lease runs out and the job comes back by itself
            log.exception("%s: could not reschedule job %d", self.name, job.id)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._running:
            await asyncio.wait(set(self._running), timeout=10)
