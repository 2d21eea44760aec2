"""Everything that differs between SQLite (embedded default) and PostgreSQL (scale-out) lives here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


class DatabaseUrlError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Dialect:
    """The chosen backend and the URLs for its async (serving) and sync (migrating) drivers."""

    name: str  # "sqlite" | "postgresql"
    async_url: URL
    sync_url: URL

    @property
    def is_sqlite(self) -> bool:
        return self.name == "sqlite"

    @property
    def migrates_on_start(self) -> bool:
        # One process owns an embedded database, so it may migrate it; a shared PostgreSQL
        # is migrated on purpose with `openline migrate`, never behind other processes' backs.
        return self.is_sqlite


def resolve(database_url: str) -> Dialect:
    try:
        url = make_url(database_url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise DatabaseUrlError(f"not a database URL: {database_url!r}") from exc
    backend = url.get_backend_name()
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise DatabaseUrlError("SQLite needs a file path (sqlite:///path/to/openline.db)")
        # One driver for both: the stdlib's sqlite3 (see storage.database for how it is used).
        return Dialect("sqlite", url.set(drivername="sqlite+pysqlite"), url.set(drivername="sqlite+pysqlite"))
    if backend in ("postgresql", "postgres"):
        # psycopg 3 serves both the async engine and the sync one used for migrations.
        pg = url.set(drivername="postgresql+psycopg")
        return Dialect("postgresql", pg, pg)
    raise DatabaseUrlError(f"unsupported database {backend!r}: use sqlite:///... or postgresql://...")


@dataclass(frozen=True, slots=True)
class SqliteOptions:
    synchronous: str = "FULL"
    busy_timeout_ms: int = 5000


def install_sqlite_pragmas(sync_engine: Engine, options: SqliteOptions) -> None:
    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's implicit BEGIN is
        # deferred and cannot be made IMMEDIATE otherwise).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={options.synchronous}")
        cursor.execute(f"PRAGMA busy_timeout={int(options.busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the lock up front: a deferred transaction that upgrades to a writer
        # fails with SQLITE_BUSY at once instead of waiting out busy_timeout.
        if conn.connection.dbapi_connection.in_transaction:
            return  # a read snapshot begun on the driver (SqliteDatabase.read): already inside it
        mode = "IMMEDIATE" if conn.get_execution_options().get("openline_write") else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")


def create_async(dialect: Dialect, pool_size: int = 10, max_overflow: int | None = None,
                 pool_timeout: float = 30.0) -> AsyncEngine:
    """PostgreSQL's asyncio engine (SQLite runs on the stdlib driver: see storage.database)."""
    if dialect.is_sqlite:
        raise ValueError("SQLite is served by SqliteDatabase, not an asyncio engine")
    return create_async_engine(dialect.async_url, pool_size=pool_size,
                               max_overflow=pool_size if max_overflow is None else max_overflow,
                               pool_timeout=pool_timeout, pool_pre_ping=True)


def create_sync(dialect: Dialect, sqlite: SqliteOptions) -> Engine:
    if dialect.is_sqlite:
        engine = create_engine(dialect.sync_url)
        install_sqlite_pragmas(engine, sqlite)
        return engine
    return create_engine(dialect.sync_url)


