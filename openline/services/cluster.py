"""Rules that hold across every process of a cluster sharing one PostgreSQL database.

SMPP bind ownership: a carrier's binds (and so its bind count and window) belong to one worker
process at a time. Ownership is a PostgreSQL session advisory lock held on a connection of its
own (``storage.locks``): if the owner dies, PostgreSQL frees the lock with its session and a
standby worker binds within ``retry`` seconds.
"""

from __future__ import annotations

import asyncio

from openline.storage.locks import AdvisoryLocks

TAKEOVER_RETRY = 2.0  # how often a standby worker tries to take a carrier's binds


class ClusterBinds:
    """:class:`~openline.services.carriers.BindOwnership` over advisory locks."""

    def __init__(self, locks: AdvisoryLocks, retry: float = TAKEOVER_RETRY) -> None:
        self._locks = locks
        self._retry = retry

    @staticmethod
    def _name(carrier: str) -> str:
        return f"smpp-bind:{carrier}"

    async def acquire(self, carrier: str) -> None:
        while not await self._locks.try_acquire(self._name(carrier)):
            await asyncio.sleep(self._retry)

    async def held(self, carrier: str) -> bool:
        return await self._locks.check(self._name(carrier))

    async def release(self, carrier: str) -> None:
        await self._locks.release(self._name(carrier))
