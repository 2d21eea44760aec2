"""The database handle every repository works through, and the connection type they receive.

Two implementations behind one interface (``transaction()``, ``read()``, ``close()``):

* SQLite (embedded default): statements run inline on the event-loop thread through the
  stdlib driver. A statement on a local WAL database costs microseconds, far less than a
  thread round trip per statement (which made every transaction cost milliseconds). Only what
  can wait on the disk or on another process leaves the loop: BEGIN IMMEDIATE (may wait for a
  writer in another process, up to busy_timeout) and COMMIT (fsync). One writer at a time,
  queued in-process; readers have their own connections and never wait for the writer (WAL).
* PostgreSQL: SQLAlchemy's asyncio engine over psycopg 3, a pooled connection per transaction.
  A caller that gets no connection within the pool timeout gets :class:`DatabaseBusy` (the API
  answers 20429): waiting longer would only pile requests up in memory.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Protocol

from sqlalchemy import Connection, CursorResult, Engine, RootTransaction, create_engine
from sqlalchemy.engine import Dialect as SqlDialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.pool import NullPool

from openline.storage import dialect as dialects
from openline.storage.dialect import Dialect, SqliteOptions
from openline.storage.fastpath import Plan, Prepared, compile_plan, run

log = logging.getLogger("openline.storage")

MAX_SQLITE_READERS = 32  # concurrent read transactions; each holds one connection
# A group commits when nobody waits behind it, or when it is this large or this old, so that
# a steady stream of writers still gets its data on disk within a few milliseconds.
MAX_GROUP_COMMIT = 256
MAX_GROUP_AGE = 0.005


class DatabaseBusy(Exception):
    """No database connection became free in time (the pool is exhausted)."""


class Conn(Protocol):
    """What repositories need from a connection: the same on both backends."""

    @property
    def dialect(self) -> SqlDialect: ...

    async def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]: ...

    def begin_nested(self) -> contextlib.AbstractAsyncContextManager[Any]: ...

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction is committed (never if it rolls back)."""


class _AfterCommit:
    """Callbacks a transaction runs once its commit is durable (e.g. telling live chat sockets)."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] = []

    def after_commit(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)

    def run_after_commit(self) -> None:
        callbacks, self.callbacks = self.callbacks, []
        for callback in callbacks:
            try:
                callback()
            except Exception:  # a listener's failure must not turn a committed write into an error
                log.exception("after-commit callback failed")


class _InlineConnection(_AfterCommit):
    """A sync SQLAlchemy connection used from coroutines; statements run on the loop thread."""

    def __init__(self, conn: Connection, plans: dict[tuple[int, tuple[str, ...]], Plan | None]) -> None:
        super().__init__()
        self._conn = conn
        self._plans = plans

    @property
    def dialect(self) -> SqlDialect:
        return self._conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        if isinstance(statement, Prepared):
            if isinstance(parameters, Mapping):
                keys = tuple(parameters)
                plan_key = (id(statement), keys)
                if plan_key not in self._plans:
                    self._plans[plan_key] = compile_plan(statement, keys, self._conn.dialect)
                plan = self._plans[plan_key]
                if plan is not None:
                    cursor = self._conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
                    dbapi_error = self._conn.dialect.loaded_dbapi.Error
                    try:
                        return run(plan, cursor, parameters)  # type: ignore[return-value]
                    except dbapi_error as exc:  # the same exception types SQLAlchemy would raise
                        raise DBAPIError.instance(plan.sql, parameters, exc, dbapi_error) from exc
                    finally:
                        cursor.close()
            statement = statement.statement
        return self._conn.execute(statement, parameters)

    @contextlib.asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[Any]:
        with self._conn.begin_nested() as savepoint:
            yield savepoint


class _AsyncConnection(_AfterCommit):
    """Adapts SQLAlchemy's AsyncConnection to :class:`Conn`."""

    def __init__(self, conn: AsyncConnection) -> None:
        super().__init__()
        self._conn = conn

    @property
    def dialect(self) -> SqlDialect:
        return self._conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> CursorResult[Any]:
        if isinstance(statement, Prepared):
            statement = statement.statement
        return await self._conn.execute(statement, parameters)  # type: ignore[no-any-return]

    def begin_nested(self) -> contextlib.AbstractAsyncContextManager[Any]:
        return self._conn.begin_nested()


class Database(abc.ABC):
    """Opens the right implementation for a URL."""

    dialect: Dialect

    @staticmethod
    def open(database_url: str, sqlite: SqliteOptions | None = None, pool_size: int = 10,
             max_overflow: int | None = None, pool_timeout: float = 30.0) -> Database:
        dialect = dialects.resolve(database_url)
        if dialect.is_sqlite:
            return SqliteDatabase(dialect, sqlite or SqliteOptions())
        return PostgresDatabase(dialect, dialects.create_async(dialect, pool_size, max_overflow, pool_timeout))

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractAsyncContextManager[Conn]:
        """A read-write transaction; committed when the block ends without an exception."""

    @abc.abstractmethod
    def read(self) -> contextlib.AbstractAsyncContextManager[Conn]:
        """A read-only snapshot."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release every connection."""


class _HandOverLock:
    """A FIFO lock that hands itself to the next waiter on release.

    asyncio.Lock checks every queued waiter on each uncontended-looking acquire; with dozens
    of writers queued for the one SQLite write connection that scan showed in profiles."""

    def __init__(self) -> None:
        self._locked = False
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    async def acquire(self) -> None:
        if not self._locked and not self._waiters:
            self._locked = True
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # handed to us as we were cancelled: hand it on
            else:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # still locked: it belongs to that waiter now
                return
        self._locked = False


class SqliteDatabase(Database):
    def __init__(self, dialect: Dialect, options: SqliteOptions) -> None:
        self.dialect = dialect
        # Connections are ours for the life of the process (NullPool: SQLAlchemy keeps none);
        # they move between the loop thread and the commit thread, never used by both at once.
        self._engine: Engine = create_engine(dialect.sync_url, poolclass=NullPool,
                                             connect_args={"check_same_thread": False})
        dialects.install_sqlite_pragmas(self._engine, options)
        self._writer: Connection | None = None
        self._write_lock = _HandOverLock()
        self._waiting = 0  # writers queued for the lock: while any wait, the group stays open
        self._physical: RootTransaction | None = None
        self._group: asyncio.Future[None] | None = None
        self._group_size = 0
        self._group_started = 0.0
        self._idle_readers: list[Connection] = []
        self._reader_slots = asyncio.Semaphore(MAX_SQLITE_READERS)
        self._all: list[Connection] = []
        # Fast-lane plans, per prepared statement and parameter names (a handful of entries).
        self._plans: dict[tuple[int, tuple[str, ...]], Plan | None] = {}

    def _connect(self) -> Connection:
        conn = self._engine.connect()
        self._all.append(conn)
        return conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """One logical transaction, committed as part of a group.

        Writers queue for the one write connection. Each runs inside a SAVEPOINT of a shared
        physical transaction; the writer that finds nobody waiting behind it (or fills the
        group) commits for all. Every writer returns only once that commit is on disk, so a
        caller that answered 2xx after this block has its data durable — while a burst of N
        writers costs one fsync, not N.
        """
        self._waiting += 1
        try:
            await self._write_lock.acquire()
        finally:
            self._waiting -= 1
        group: asyncio.Future[None] | None = None
        try:
            if self._writer is None:
                self._writer = await asyncio.to_thread(self._connect)
            conn = self._writer
            if self._physical is None:
                # BEGIN IMMEDIATE may wait for a writer in another process: off the loop.
                self._physical = await asyncio.to_thread(conn.execution_options(openline_write=True).begin)
                self._group = asyncio.get_running_loop().create_future()
                self._group_size = 0
                self._group_started = time.monotonic()
            group = self._group
            # The first writer of a group needs no savepoint: if it fails, the whole (still empty)
            # transaction goes. Savepoints are issued on the driver directly: they are ours alone.
            raw = conn.connection.dbapi_connection
            alone = self._group_size == 0
            if not alone:
                raw.execute("SAVEPOINT openline_writer")  # type: ignore[union-attr]
            inline = _InlineConnection(conn, self._plans)
            try:
                yield inline
            except BaseException:
                group = None  # this writer's work is undone; it does not wait for the group
                if alone:
                    await self._abandon_group()
                else:
                    raw.execute("ROLLBACK TO openline_writer")  # type: ignore[union-attr]
                    raw.execute("RELEASE openline_writer")  # type: ignore[union-attr]
                raise
            if not alone:
                raw.execute("RELEASE openline_writer")  # type: ignore[union-attr]
            self._group_size += 1
        finally:
            if self._physical is not None and (
                    self._waiting == 0 or self._group_size >= MAX_GROUP_COMMIT
                    or time.monotonic() - self._group_started > MAX_GROUP_AGE):
                try:
                    await self._commit_group()
                finally:
                    self._write_lock.release()
            else:
                self._write_lock.release()
        assert group is not None
        await asyncio.shield(group)
        inline.run_after_commit()

    async def _abandon_group(self) -> None:
        """Roll back a group whose only writer failed (nothing else is in it)."""
        physical, group = self._physical, self._group
        self._physical, self._group = None, None
        assert physical is not None and group is not None
        await asyncio.to_thread(physical.rollback)
        group.set_result(None)

    async def _commit_group(self) -> None:
        physical, group = self._physical, self._group
        self._physical, self._group = None, None
        assert physical is not None and group is not None
        try:
            await asyncio.to_thread(physical.commit)  # fsync, off the loop
        except BaseException as exc:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(physical.rollback)
            group.set_exception(exc if isinstance(exc, Exception) else RuntimeError("commit interrupted"))
            group.exception()  # retrieved here: writers that already failed never await it
            if not isinstance(exc, Exception):
                raise
        else:
            group.set_result(None)

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        async with self._reader_slots:
            conn = self._idle_readers.pop() if self._idle_readers else self._connect()
            # BEGIN and COMMIT on the driver: SQLAlchemy's begin costs more than the reads most
            # snapshots hold. A statement that takes SQLAlchemy's path autobegins its own
            # transaction object inside ours (the begin hook sees the driver already in one).
            raw: Any = conn.connection.dbapi_connection
            try:
                raw.execute("BEGIN DEFERRED")
                ok = False
                try:
                    yield _InlineConnection(conn, self._plans)
                    ok = True
                finally:
                    if conn.in_transaction():
                        conn.commit() if ok else conn.rollback()
                    if raw.in_transaction:
                        raw.execute("COMMIT" if ok else "ROLLBACK")
            finally:
                self._idle_readers.append(conn)

    async def close(self) -> None:
        for conn in self._all:
            with contextlib.suppress(Exception):
                conn.close()
        self._all.clear()
        self._idle_readers.clear()
        self._writer = None
        self._engine.dispose()


class PostgresDatabase(Database):
    def __init__(self, dialect: Dialect, engine: AsyncEngine) -> None:
        self.dialect = dialect
        self.engine = engine

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        entered = False
        adapted: _AsyncConnection | None = None
        try:
            async with self.engine.begin() as conn:
                entered = True
                adapted = _AsyncConnection(conn)
                yield adapted
        except PoolTimeout:
            if entered:
                raise
            raise DatabaseBusy("no database connection became free within the pool timeout") from None
        if adapted is not None:
            adapted.run_after_commit()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[Conn]:
        entered = False
        try:
            async with self.engine.connect() as conn, conn.begin():
                entered = True
                yield _AsyncConnection(conn)
        except PoolTimeout:
            if entered:
                raise
            raise DatabaseBusy("no database connection became free within the pool timeout") from None

    async def close(self) -> None:
        await self.engine.dispose()

