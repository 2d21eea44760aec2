"""Blob storage behind one small interface.

Files in the data dir on the embedded default; rows in the database on PostgreSQL, so that
every process on every machine reads what any other wrote.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine, delete, insert, select
from sqlalchemy.dialects import postgresql

from openline.storage import schema
from openline.storage.database import Database

# Keys are ours (SIDs and slashes), never user input: refuse anything that could escape the folder.
_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}(/[A-Za-z0-9_.-]{1,64}){0,3}$")


class BlobKeyError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Blob:
    data: bytes
    content_type: str


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def get(self, key: str) -> Blob | None: ...
    async def delete(self, key: str) -> bool: ...


def _check(key: str) -> str:
    if not _KEY_RE.match(key) or ".." in key:
        raise BlobKeyError(key)
    return key


class FileBlobStore:
    """One file per blob plus a sidecar with its content type; written atomically via rename."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _check(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, self._path(key), data, content_type)

    @staticmethod
    def _put(path: Path, data: bytes, content_type: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        for target, payload in ((path.with_name(path.name + ".type"), content_type.encode()), (path, data)):
            tmp = target.with_name(target.name + ".tmp")
            with open(tmp, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)

    async def get(self, key: str) -> Blob | None:
        return await asyncio.to_thread(self._get, self._path(key))

    @staticmethod
    def _get(path: Path) -> Blob | None:
        try:
            data = path.read_bytes()
            content_type = path.with_name(path.name + ".type").read_text()
        except FileNotFoundError:
            return None
        return Blob(data, content_type)

    async def delete(self, key: str) -> bool:
        return await asyncio.to_thread(self._delete, self._path(key))

    @staticmethod
    def _delete(path: Path) -> bool:
        existed = path.exists()
        for target in (path, path.with_name(path.name + ".type")):
            target.unlink(missing_ok=True)
        return existed


class DatabaseBlobStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        table = schema.blobs
        async with self.db.transaction() as conn:
            await conn.execute(delete(table).where(table.c.key == _check(key)))
            await conn.execute(insert(table).values(
                key=key, data=data, content_type=content_type, date_created=datetime.now(UTC)))

    async def get(self, key: str) -> Blob | None:
        table = schema.blobs
        async with self.db.read() as conn:
            row = (await conn.execute(
                select(table.c.data, table.c.content_type).where(table.c.key == _check(key)))).first()
        return Blob(bytes(row.data), row.content_type) if row else None

    async def delete(self, key: str) -> bool:
        table = schema.blobs
        async with self.db.transaction() as conn:
            result = await conn.execute(delete(table).where(table.c.key == _check(key)))
        return bool(result.rowcount)


def shared_secret(engine: Engine, key: str, candidate: bytes) -> bytes:
    """The secret stored under ``key`` in the blobs table, storing ``candidate`` if there is none.

    Start-up code (synchronous, PostgreSQL): processes starting at the same moment all end up
    with the one value that won (INSERT ... ON CONFLICT DO NOTHING, then read it back).
    """
    table = schema.blobs
    with engine.begin() as conn:
        conn.execute(postgresql.insert(table).values(
            key=_check(key), data=candidate, content_type="application/octet-stream",
            date_created=datetime.now(UTC)).on_conflict_do_nothing(index_elements=["key"]))
        stored = conn.execute(select(table.c.data).where(table.c.key == key)).scalar_one()
    return bytes(stored)
