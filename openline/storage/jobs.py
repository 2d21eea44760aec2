"""The durable job queue's SQL: enqueue inside the caller's transaction, claim with a lease.

A job is a row. Enqueueing happens in the same transaction as the state change that causes it
(the outbox pattern), so a committed change always has its follow-up work on disk. Workers
claim due rows by setting a lease; a worker that dies loses its lease when it runs out and
another worker takes the job. Finished jobs are deleted; jobs out of attempts stay, marked dead.

On PostgreSQL an enqueue also NOTIFYs ``openline_jobs``: delivered to every listening process
when (and only if) the enqueueing transaction commits, so idle workers anywhere wake at once.
Completing a job deletes its row; if the row is gone, another worker finished the job after our
lease ran out, and :class:`LeaseLost` rolls back our copy of the effects (exactly once).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, delete, func, insert, or_, select, text, update

from openline.storage import schema
from openline.storage.database import Conn
from openline.storage.fastpath import Prepared

jobs = schema.jobs
_INSERT = Prepared(insert(jobs))
_DELETE = Prepared(delete(jobs).where(jobs.c.id == bindparam("p_id")))
NOTIFY_CHANNEL = "openline_jobs"
# The payload is the job's kind, so that only pools running that kind wake; identical notices
# in one transaction are folded into one by PostgreSQL.
_NOTIFY = text(f"SELECT pg_notify('{NOTIFY_CHANNEL}', :kind)")


class LeaseLost(Exception):
    """The job was finished by another worker (our lease had run out): undo this attempt."""


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    payload: dict[str, Any]
    run_at: datetime
    attempts: int  # including the current one
    max_attempts: int


def _job(row: Any) -> Job:
    return Job(row.id, row.kind, json.loads(row.payload), row.run_at, row.attempts, row.max_attempts)


async def enqueue(
    conn: Conn, kind: str, payload: dict[str, Any], run_at: datetime, now: datetime,
    max_attempts: int = 10,
) -> None:
    await conn.execute(_INSERT, {
        "kind": kind, "payload": json.dumps(payload, separators=(",", ":")), "run_at": run_at, "attempts": 0,
        "max_attempts": max_attempts, "dead": False, "date_created": now})
    if conn.dialect.name == "postgresql":
        await conn.execute(_NOTIFY, {"kind": kind})


def _due(kinds: tuple[str, ...], now: datetime) -> Any:
    return and_(jobs.c.dead.is_(False), jobs.c.kind.in_(kinds), jobs.c.run_at <= now,
                or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now))


class _KindStatements:
    """A pool's claim and next-due statements with its kinds as plain parameters (no expanding
    IN list), so that on SQLite they run on the fast lane: a claim per finished job is the
    runner's most frequent statement."""

    def __init__(self, kinds: tuple[str, ...]) -> None:
        self.params = {f"p_kind{i}": kind for i, kind in enumerate(kinds)}
        of_kinds = jobs.c.kind.in_([bindparam(name) for name in self.params])
        now = bindparam("p_now", type_=jobs.c.run_at.type)
        self.due = Prepared(
            select(jobs.c.id, jobs.c.kind, jobs.c.payload, jobs.c.run_at, jobs.c.attempts, jobs.c.max_attempts)
            .where(jobs.c.dead.is_(False), of_kinds, jobs.c.run_at <= now,
                   or_(jobs.c.lease_until.is_(None), jobs.c.lease_until < now))
            .order_by(jobs.c.run_at, jobs.c.id).limit(bindparam("p_limit")))
        leased = and_(jobs.c.lease_until.is_not(None), jobs.c.lease_until > now, jobs.c.lease_until > jobs.c.run_at)
        self.next_due = Prepared(select(func.min(case((leased, jobs.c.lease_until), else_=jobs.c.run_at)))
                                 .where(jobs.c.dead.is_(False), of_kinds))


_LEASE = Prepared(update(jobs).where(jobs.c.id == bindparam("p_id"))
                  .values(lease_owner=bindparam("p_owner"), lease_until=bindparam("p_until"),
                          attempts=jobs.c.attempts + 1))
_KIND_STATEMENTS: dict[tuple[str, ...], _KindStatements] = {}


def _statements(kinds: tuple[str, ...]) -> _KindStatements:
    found = _KIND_STATEMENTS.get(kinds)
    if found is None:
        found = _KIND_STATEMENTS[kinds] = _KindStatements(kinds)
    return found


async def claim(
    conn: Conn, kinds: tuple[str, ...], owner: str, now: datetime, lease: timedelta, limit: int,
    postgres: bool,
) -> list[Job]:
    """Lease up to ``limit`` due jobs. On PostgreSQL concurrent workers skip each other's rows."""
    if not postgres:
        # SQLite: the write transaction holds the database's one write lock (BEGIN IMMEDIATE),
        # so reading the due rows and then leasing them by id is as atomic as UPDATE … RETURNING.
        statements = _statements(kinds)
        rows = list(await conn.execute(statements.due, {**statements.params, "p_now": now, "p_limit": limit}))
        until = now + lease
        for row in rows:
            await conn.execute(_LEASE, {"p_id": row.id, "p_owner": owner, "p_until": until})
        return [Job(row.id, row.kind, json.loads(row.payload), row.run_at, row.attempts + 1, row.max_attempts)
                for row in rows]
    candidates = select(jobs.c.id).where(_due(kinds, now)).order_by(jobs.c.run_at, jobs.c.id).limit(limit)
    if postgres:
        candidates = candidates.with_for_update(skip_locked=True)
    ids = [row[0] for row in await conn.execute(candidates)]
    if not ids:
        return []
    result = await conn.execute(
        update(jobs).where(jobs.c.id.in_(ids))
        .values(lease_owner=owner, lease_until=now + lease, attempts=jobs.c.attempts + 1)
        .returning(*jobs.c))
    return sorted((_job(row) for row in result), key=lambda job: (job.run_at, job.id))


async def complete(conn: Conn, job_id: int) -> None:
    result = await conn.execute(_DELETE, {"p_id": job_id})
    if result.rowcount == 0:
        raise LeaseLost(f"job {job_id} was already finished by another worker")


async def retry(conn: Conn, job: Job, run_at: datetime, error: str) -> bool:
    """Schedule another attempt, or mark the job dead when it has none left. True if retried."""
    if job.attempts >= job.max_attempts:
        await conn.execute(update(jobs).where(jobs.c.id == job.id).values(
            dead=True, lease_owner=None, lease_until=None, last_error=error[:2000]))
        return False
    await conn.execute(update(jobs).where(jobs.c.id == job.id).values(
        run_at=run_at, lease_owner=None, lease_until=None, last_error=error[:2000]))
    return True


async def postpone(conn: Conn, job_id: int, run_at: datetime, reason: str) -> None:
    """Run again later without spending an attempt (the carrier asked us to wait)."""
    await conn.execute(update(jobs).where(jobs.c.id == job_id).values(
        run_at=run_at, lease_owner=None, lease_until=None, attempts=jobs.c.attempts - 1, last_error=reason[:2000]))


async def release_all_leases(conn: Conn) -> int:
    """Embedded mode has one process: leases left by a crashed run can be taken back at once."""
    result = await conn.execute(update(jobs).where(jobs.c.lease_owner.is_not(None))
                                .values(lease_owner=None, lease_until=None))
    return int(result.rowcount or 0)


async def next_due(conn: Conn, kinds: tuple[str, ...], now: datetime | None = None) -> datetime | None:
    """When the next job becomes claimable: its run_at, or the end of the lease another worker
    holds on it (without ``now``, leases are ignored)."""
    if now is not None and conn.dialect.name == "sqlite":
        statements = _statements(kinds)
        found = (await conn.execute(statements.next_due, {**statements.params, "p_now": now})).scalar()
        return found if isinstance(found, datetime) else None
    due: Any = jobs.c.run_at
    if now is not None:
        leased = and_(jobs.c.lease_until.is_not(None), jobs.c.lease_until > now, jobs.c.lease_until > jobs.c.run_at)
        due = case((leased, jobs.c.lease_until), else_=jobs.c.run_at)
    value = (await conn.execute(select(func.min(due)).where(
        jobs.c.dead.is_(False), jobs.c.kind.in_(kinds)))).scalar()
    return value if isinstance(value, datetime) else None


async def depths(conn: Conn, now: datetime) -> dict[str, dict[str, int]]:
    """Per kind: jobs due and waiting, leased (running), scheduled later, and dead."""
    state = case((jobs.c.dead.is_(True), "dead"),
                 (and_(jobs.c.lease_until.is_not(None), jobs.c.lease_until > now), "running"),
                 (jobs.c.run_at <= now, "due"), else_="later")
    out: dict[str, dict[str, int]] = {}
    rows = await conn.execute(select(jobs.c.kind, state, func.count()).group_by(jobs.c.kind, state))
    for row in rows:
        kind, which, count = list(row)
        out.setdefault(kind, {"due": 0, "running": 0, "later": 0, "dead": 0})[which] = int(count)
    return out


