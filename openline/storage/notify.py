"""Cross-process wake-ups on PostgreSQL: a dedicated connection LISTENing for enqueued jobs.

``storage.jobs.enqueue`` NOTIFYs inside the enqueueing transaction; PostgreSQL delivers the
notice to every listening session when that transaction commits. Each process keeps one
autocommit psycopg connection for LISTEN (a pooled connection cannot: LISTEN belongs to the
session). If the connection drops, we reconnect and wake the workers once, since notices sent
while we were away are lost; the workers' slow fallback poll covers the gap too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import psycopg

from openline.storage.dialect import Dialect
from openline.storage.jobs import NOTIFY_CHANNEL

log = logging.getLogger("openline.storage")

RECONNECT_DELAY = 1.0


def libpq_url(dialect: Dialect) -> str:
    """The database URL as libpq reads it (no SQLAlchemy driver suffix)."""
    return dialect.sync_url.set(drivername="postgresql").render_as_string(hide_password=False)


class JobNotifications:
    """Listens on one channel: the job queue's by default; web chat listens on its own."""

    def __init__(self, dialect: Dialect, on_notify: Callable[[str | None], None],
                 channel: str = NOTIFY_CHANNEL) -> None:
        self._url = libpq_url(dialect)
        self._on_notify = on_notify
        self._channel = channel
        self._task: asyncio.Task[None] | None = None
        self.connected = False
        self.received = 0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"notifications-{self._channel}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {self._channel}")
                    self.connected = True
                    self._on_notify(None)  # whatever was enqueued while we were not listening
                    async for notice in conn.notifies():
                        self.received += 1
                        self._on_notify(notice.payload or None)  # jobs: the job's kind
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("%s notifications: %r; reconnecting in %.0fs", self._channel, exc, RECONNECT_DELAY)
            finally:
                self.connected = False
            await asyncio.sleep(RECONNECT_DELAY)
