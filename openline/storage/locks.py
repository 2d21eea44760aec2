"""Cluster-wide ownership on PostgreSQL: session advisory locks on one dedicated connection.

A lock taken with ``pg_try_advisory_lock`` belongs to the session that took it, so PostgreSQL
releases it the moment the owning process dies or its connection drops — another process can
take over at once, with no lease to run out. The connection is ours alone (never pooled), kept
for the life of the process. ``check`` tells whether the session (and so every lock) is still
alive; a process that cannot reach the database any more must give up what the locks guarded.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

import psycopg

from openline.storage.dialect import Dialect
from openline.storage.notify import libpq_url

log = logging.getLogger("openline.storage")


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for a lock name (advisory locks are keyed by bigint)."""
    return int.from_bytes(hashlib.sha256(f"openline:{name}".encode()).digest()[:8], "big", signed=True)


class AdvisoryLocks:
    def __init__(self, dialect: Dialect, connect_timeout: float = 5.0) -> None:
        self._url = libpq_url(dialect)
        self._timeout = connect_timeout
        self._conn: psycopg.AsyncConnection[tuple[object, ...]] | None = None
        self._held: set[str] = set()
        self._lock = asyncio.Lock()  # one statement at a time on the one connection

    @property
    def held(self) -> frozenset[str]:
        return frozenset(self._held)

    async def _connection(self) -> psycopg.AsyncConnection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed:
            self._held.clear()  # a new session holds nothing
            self._conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True,
                                                               connect_timeout=int(self._timeout))
        return self._conn

    async def try_acquire(self, name: str) -> bool:
        """Take the lock if nobody holds it; True if this process holds it now."""
        async with self._lock:
            try:
                conn = await self._connection()
                if name in self._held:
                    return True
                cursor = await conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(name),))
                row = await cursor.fetchone()
            except (psycopg.Error, OSError) as exc:
                await self._drop(exc)
                return False
            if row and row[0]:
                self._held.add(name)
                return True
            return False

    async def check(self, name: str) -> bool:
        """Whether we still hold ``name``: our session is alive (a round trip proves it)."""
        async with self._lock:
            if name not in self._held or self._conn is None or self._conn.closed:
                return False
            try:
                async with asyncio.timeout(self._timeout):
                    await self._conn.execute("SELECT 1")
            except (psycopg.Error, OSError, TimeoutError) as exc:
                await self._drop(exc)
                return False
            return name in self._held

    async def release(self, name: str) -> None:
        async with self._lock:
            if name not in self._held or self._conn is None:
                return
            self._held.discard(name)
            try:
                await self._conn.execute("SELECT pg_advisory_unlock(%s)", (lock_key(name),))
            except (psycopg.Error, OSError) as exc:
                await self._drop(exc)

    async def _drop(self, exc: BaseException) -> None:
        if self._held:
            log.warning("advisory locks: connection lost (%r); giving up %s", exc, sorted(self._held))
        self._held.clear()
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                await conn.close()
            except Exception:  # already broken: nothing more to release
                log.debug("advisory locks: close failed", exc_info=True)

    async def close(self) -> None:
        async with self._lock:
            self._held.clear()
            if self._conn is not None:
                await self._conn.close()
                self._conn = None
