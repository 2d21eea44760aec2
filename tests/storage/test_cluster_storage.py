"""The storage pieces a cluster relies on, on both stores where they apply: fenced job completion
and lease recovery, queue depths, wake-ups by LISTEN/NOTIFY, advisory locks, pacing slots held in
the database, and the master key shared through the database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openline.core.entities import NumberType
from openline.services.throughput import Throughput
from openline.storage import dialect as dialects
from openline.storage import jobs, migrate
from openline.storage.blobs import shared_secret
from openline.storage.database import Database
from openline.storage.dialect import SqliteOptions
from openline.storage.locks import AdvisoryLocks
from openline.storage.notify import JobNotifications
from openline.storage.pacing import SenderPacing

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LEASE = timedelta(seconds=10)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cluster.db'}"
    return str(request.getfixturevalue("postgres_url"))


def _migrate(url: str) -> None:
    engine = dialects.create_sync(dialects.resolve(url), SqliteOptions())
    assert migrate.upgrade(engine).status is migrate.SchemaStatus.CURRENT
    engine.dispose()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    _migrate(database_url)
    database = Database.open(database_url)
    yield database
    await database.close()


@pytest.fixture
async def pg(postgres_url: str) -> AsyncIterator[Database]:
    _migrate(postgres_url)
    database = Database.open(postgres_url)
    yield database
    await database.close()


async def test_a_dead_workers_lease_runs_out_and_only_one_completion_counts(db: Database) -> None:
    postgres = not db.dialect.is_sqlite
    async with db.transaction() as conn:
        await jobs.enqueue(conn, "k", {"n": 1}, T0, T0)
        # SQLite hands a deleted highest rowid out again: keep a later row so ids stay unique here.
        await jobs.enqueue(conn, "keeper", {}, T0, T0)
    async with db.transaction() as conn:
        (first,) = await jobs.claim(conn, ("k",), "worker-a", T0, LEASE, 10, postgres)
    # While worker-a's lease runs, nobody else gets the job, and the queue says when it frees up.
    async with db.transaction() as conn:
        assert await jobs.claim(conn, ("k",), "worker-b", T0 + timedelta(seconds=5), LEASE, 10, postgres) == []
    async with db.read() as conn:
        assert await jobs.next_due(conn, ("k",), T0 + timedelta(seconds=5)) == T0 + LEASE
        assert await jobs.next_due(conn, ("k",)) == T0  # without now: the run_at, as before
        assert (await jobs.depths(conn, T0 + timedelta(seconds=5)))["k"] == {
            "due": 0, "running": 1, "later": 0, "dead": 0}
    # worker-a dies (kill -9: it never completes). After the lease, worker-b takes the job.
    later = T0 + LEASE + timedelta(seconds=1)
    async with db.transaction() as conn:
        (second,) = await jobs.claim(conn, ("k",), "worker-b", later, LEASE, 10, postgres)
    assert second.id == first.id and second.attempts == 2
    async with db.transaction() as conn:
        await jobs.complete(conn, second.id)
    # worker-a was only slow, not dead: its completion finds the job done, and its effects roll back.
    marker = "late effect"
    with pytest.raises(jobs.LeaseLost):
        async with db.transaction() as conn:
            await jobs.enqueue(conn, "effects", {"marker": marker}, T0, T0)
            await jobs.complete(conn, first.id)
    async with db.read() as conn:
        assert await jobs.next_due(conn, ("effects", "k")) is None


async def test_concurrent_claims_never_share_a_job(db: Database) -> None:
    postgres = not db.dialect.is_sqlite
    async with db.transaction() as conn:
        for n in range(200):
            await jobs.enqueue(conn, "k", {"n": n}, T0, T0)

    async def worker(name: str) -> list[int]:
        got: list[int] = []
        while True:
            async with db.transaction() as conn:
                batch = await jobs.claim(conn, ("k",), name, T0, LEASE, 7, postgres)
            if not batch:
                return got
            got += [job.id for job in batch]
            async with db.transaction() as conn:
                for job in batch:
                    await jobs.complete(conn, job.id)

    results = await asyncio.gather(*(worker(f"w{i}") for i in range(5)))
    claimed = [job_id for result in results for job_id in result]
    assert len(claimed) == 200 and len(set(claimed)) == 200


@pytest.mark.postgres
async def test_notify_wakes_listeners_on_commit_only(pg: Database) -> None:
    woken = asyncio.Event()
    count = 0
    kinds: list[str | None] = []

    def wake(kind: str | None) -> None:
        nonlocal count
        count += 1
        kinds.append(kind)
        woken.set()

    listener = JobNotifications(pg.dialect, wake)
    await listener.start()
    try:
        async with asyncio.timeout(10):
            while not listener.connected:
                await asyncio.sleep(0.01)
        woken.clear()
        baseline = count
        with pytest.raises(RuntimeError):  # rolled back: no notice
            async with pg.transaction() as conn:
                await jobs.enqueue(conn, "k", {}, T0, T0)
                raise RuntimeError("abort")
        await asyncio.sleep(0.3)
        assert count == baseline and not woken.is_set()
        async with pg.transaction() as conn:
            for _ in range(3):  # identical notices in one transaction arrive once
                await jobs.enqueue(conn, "k", {}, T0, T0)
        async with asyncio.timeout(5):
            await woken.wait()
        await asyncio.sleep(0.2)
        assert count == baseline + 1 and listener.received == 1 and kinds[-1] == "k"
    finally:
        await listener.stop()


@pytest.mark.postgres
async def test_advisory_lock_has_one_owner_and_moves_when_it_goes(pg: Database) -> None:
    first, second = AdvisoryLocks(pg.dialect), AdvisoryLocks(pg.dialect)
    try:
        assert await first.try_acquire("smpp-bind:acme")
        assert await first.try_acquire("smpp-bind:acme")  # re-entrant for its owner
        assert not await second.try_acquire("smpp-bind:acme")
        assert await second.try_acquire("smpp-bind:other")
        assert await first.check("smpp-bind:acme") and not await second.check("smpp-bind:acme")
        await first.release("smpp-bind:acme")
        assert await second.try_acquire("smpp-bind:acme")
        assert not await first.try_acquire("smpp-bind:acme")
        # The owner's session ends (a crash closes the connection): the lock is free as soon as
        # the server has ended that backend, which it does asynchronously to the client's close.
        await second.close()
        async with asyncio.timeout(10):
            while not await first.try_acquire("smpp-bind:acme"):
                await asyncio.sleep(0.05)
    finally:
        await first.close()
        await second.close()


@pytest.mark.postgres
async def test_pacing_holds_across_processes(pg: Database, postgres_url: str) -> None:
    """Three 'processes' (a Database and Throughput each) dispatch 150 messages of one sender at
    50/s, as the dispatcher does (tickets come back at their slot): the send times they reach
    together are never closer than 1/50 s, and the backlog drains at the rate."""
    others = [Database.open(postgres_url) for _ in range(2)]
    rate, sender = 50.0, "+15555550901"
    pacers = [Throughput("off", {sender: rate}, d) for d in [pg, *others]]
    sends: list[float] = []
    start = datetime.now(UTC)

    async def dispatch(pacer: Throughput, sid: str) -> None:
        while True:
            pace = await pacer.reserve(sender, NumberType.LOCAL, datetime.now(UTC), sid)
            if pace.taken:
                # the slot the pacer granted: what pacing decides, free of this machine's timer
                # jitter (a loaded machine wakes sleepers late and in bunches)
                sends.append(datetime.now(UTC).timestamp() + pace.delay)
                await asyncio.sleep(pace.delay)
                return
            await asyncio.sleep(pace.delay)  # the job is rescheduled to its ticket's slot

    try:
        await asyncio.gather(*(dispatch(pacers[n % 3], f"SM{n:032x}") for n in range(150)))
    finally:
        for other in others:
            await other.close()
    sends.sort()
    elapsed = sends[-1] - start.timestamp()
    assert len(sends) == 150 and elapsed >= 149 / rate - 0.05  # never faster than the rate overall
    # Over any second, at most the rate (+ a little for clock reads between processes, never a burst).
    assert max(sum(1 for t in sends if s <= t < s + 1.0) for s in sends) <= rate * 1.1
    async with pg.read() as conn:
        assert sender in await SenderPacing().all(conn)


@pytest.mark.postgres
def test_master_key_is_shared_through_the_database(postgres_url: str) -> None:
    _migrate(postgres_url)
    engine = dialects.create_sync(dialects.resolve(postgres_url), SqliteOptions())
    try:
        assert shared_secret(engine, "keys/master", b"first") == b"first"
        assert shared_secret(engine, "keys/master", b"second") == b"first"  # the first one stays
    finally:
        engine.dispose()


@pytest.mark.postgres
async def test_an_exhausted_pool_is_refused_not_queued(postgres_url: str) -> None:
    from openline.storage.database import DatabaseBusy

    _migrate(postgres_url)
    small = Database.open(postgres_url, pool_size=1, max_overflow=0, pool_timeout=0.2)
    try:
        async with small.transaction():
            with pytest.raises(DatabaseBusy):
                async with small.read():
                    pass
        async with small.read() as conn:  # free again
            assert await jobs.next_due(conn, ("k",)) is None
    finally:
        await small.close()
