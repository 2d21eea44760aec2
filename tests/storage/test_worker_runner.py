"""The worker runner's idle path and the SQLite write queue, on a real database file.

The runner reads the queue's next due time only when a claim comes back empty after a notice or
a finished job; these tests pin what that must not lose: work a handler enqueues for later
without announcing it, and work enqueued while a pool is busy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from openline.core.clock import SystemClock
from openline.services.queue import Wakeup
from openline.storage import dialect as dialects
from openline.storage import jobs, migrate
from openline.storage.database import Database, _HandOverLock
from openline.storage.dialect import SqliteOptions
from openline.storage.jobs import Job
from openline.workers.runner import WorkerPool


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'runner.db'}"
    engine = dialects.create_sync(dialects.resolve(url), SqliteOptions())
    assert migrate.upgrade(engine).status is migrate.SchemaStatus.CURRENT
    engine.dispose()
    database = Database.open(url)
    yield database
    await database.close()


async def _wait_for(predicate: object, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


async def test_work_a_handler_schedules_for_later_runs_on_time_without_a_notice(db: Database) -> None:
    clock, wakeup = SystemClock(), Wakeup()
    release_b = asyncio.Event()
    ran: dict[str, float] = {}

    async def step(job: Job) -> None:
        name, delay = job.payload["name"], job.payload["then"]
        if name == "b":
            await release_b.wait()
        async with db.transaction() as conn:  # no wakeup.notify(): the pool must find it itself
            now = clock.now()
            await jobs.enqueue(conn, "later", {"name": f"later-{name}"}, now + timedelta(seconds=delay), now)
            await jobs.complete(conn, job.id)
        ran[name] = time.monotonic()

    async def later(job: Job) -> None:
        async with db.transaction() as conn:
            await jobs.complete(conn, job.id)
        ran[job.payload["name"]] = time.monotonic()

    # A long idle poll: only an accurate next-due time runs the later jobs on time.
    pool = WorkerPool("test", db, clock, {"step": step, "later": later}, wakeup, idle_poll=30.0)
    task = asyncio.create_task(pool.run())
    try:
        await asyncio.sleep(0.05)
        async with db.transaction() as conn:
            # a finishes at once and schedules far; b finishes after the pool has read the
            # queue (and waits for a's follow-up) and schedules sooner.
            await jobs.enqueue(conn, "step", {"name": "a", "then": 2.5}, clock.now(), clock.now())
            await jobs.enqueue(conn, "step", {"name": "b", "then": 0.3}, clock.now(), clock.now())
        wakeup.notify()
        await _wait_for(lambda: "a" in ran)
        await asyncio.sleep(0.2)
        release_b.set()
        await _wait_for(lambda: "later-b" in ran, timeout=5.0)
        assert ran["later-b"] - ran["b"] < 1.5  # not held back until a's follow-up is due
        await _wait_for(lambda: "later-a" in ran, timeout=5.0)
        assert ran["later-a"] - ran["a"] >= 2.4
    finally:
        await pool.stop()
        task.cancel()


async def test_work_enqueued_while_the_pool_is_busy_is_not_left_waiting(db: Database) -> None:
    clock, wakeup = SystemClock(), Wakeup()
    release = asyncio.Event()
    done: list[str] = []

    async def handler(job: Job) -> None:
        if job.payload["name"] == "slow":
            await release.wait()
        async with db.transaction() as conn:
            await jobs.complete(conn, job.id)
        done.append(job.payload["name"])

    pool = WorkerPool("test", db, clock, {"k": handler}, wakeup, concurrency=4, idle_poll=30.0)
    task = asyncio.create_task(pool.run())
    try:
        async with db.transaction() as conn:
            await jobs.enqueue(conn, "k", {"name": "slow"}, clock.now(), clock.now())
        wakeup.notify()
        await asyncio.sleep(0.1)  # the slow job holds a slot; the pool waits
        for name in ("a", "b"):
            async with db.transaction() as conn:
                await jobs.enqueue(conn, "k", {"name": name}, clock.now(), clock.now())
            wakeup.notify()
        await _wait_for(lambda: sorted(done) == ["a", "b"], timeout=3.0)
        release.set()
        await _wait_for(lambda: len(done) == 3)
    finally:
        await pool.stop()
        task.cancel()


async def test_the_write_queue_is_first_come_first_served_and_survives_cancelled_waiters() -> None:
    lock = _HandOverLock()
    order: list[int] = []

    async def writer(n: int) -> None:
        await lock.acquire()
        try:
            order.append(n)
            await asyncio.sleep(0)
        finally:
            lock.release()

    await lock.acquire()
    tasks = [asyncio.create_task(writer(n)) for n in range(5)]
    await asyncio.sleep(0)  # all five are queued
    tasks[1].cancel()  # gives up while waiting
    lock.release()
    await asyncio.gather(*tasks, return_exceptions=True)
    assert order == [0, 2, 3, 4]

    # Cancelled just as the lock was handed to it: the lock goes on to the next writer.
    await lock.acquire()
    first = asyncio.create_task(writer(10))
    second = asyncio.create_task(writer(11))
    await asyncio.sleep(0)
    lock.release()  # handed to `first`...
    first.cancel()  # ...which is cancelled before it runs
    await asyncio.gather(first, second, return_exceptions=True)
    assert order[-1] == 11
    await asyncio.wait_for(lock.acquire(), timeout=1)  # and nobody holds it now
    lock.release()
