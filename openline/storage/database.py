"""The async database handle every repository works through."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from openline.storage import dialect as dialects
from openline.storage.dialect import Dialect, SqliteOptions


class Database:
    def __init__(self, engine: AsyncEngine, dialect: Dialect) -> None:
        self.engine = engine
        self.dialect = dialect
        self._write_lock = dialects.write_lock(dialect)

    @classmethod
    def open(cls, database_url: str, sqlite: SqliteOptions | None = None, pool_size: int = 10) -> Database:
        dialect = dialects.resolve(database_url)
        return cls(dialects.create_async(dialect, sqlite or SqliteOptions(), pool_size), dialect)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A read-write transaction; committed when the block ends without an exception."""
        if self._write_lock is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        async with self._write_lock, self.engine.connect() as conn:
            await conn.execution_options(openline_write=True)
            async with conn.begin():
                yield conn

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only snapshot (WAL readers do not wait for the writer)."""
        async with self.engine.connect() as conn, conn.begin():
            yield conn

    async def close(self) -> None:
        await self.engine.dispose()
