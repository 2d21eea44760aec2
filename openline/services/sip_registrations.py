"""The registrar's location service (RFC 3261 §10.3): bindings of SIP users to their devices.

Bindings live in the database, so a restart keeps them and every process of a cluster finds a
user's devices. One REGISTER is applied in one transaction: the Call-ID/CSeq check of step 7
(a request older than the stored binding from the same Call-ID is refused with 500), then
``Expires: 0`` removals, ``*`` (remove all) and refreshes. Expired bindings are never returned
and are purged on the way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from openline.core.clock import Clock
from openline.storage.database import Database
from openline.storage.repositories.sip import Binding, SipRegistrationRepository

__all__ = ["BindingChange", "OutOfOrder", "Registrations"]


class OutOfOrder(Exception):
    """§10.3 step 7: same Call-ID, CSeq not higher than the stored one (answer 500)."""


@dataclass(frozen=True, slots=True)
class BindingChange:
    contact: str
    expires: int  # seconds; 0 removes the binding


class Registrations:
    def __init__(self, db: Database, repository: SipRegistrationRepository, clock: Clock) -> None:
        self._db = db
        self._repo = repository
        self._clock = clock

    async def bindings(self, username: str) -> list[Binding]:
        now = self._clock.now()
        async with self._db.read() as conn:
            found = await self._repo.for_user(conn, username)
        return [b for b in found if b.expires_at > now]

    async def update(
        self, username: str, *, call_id: str, cseq: int, source: tuple[str, int, str],
        changes: Sequence[BindingChange], remove_all: bool = False,
    ) -> list[Binding]:
        """Apply one REGISTER; returns the user's bindings afterwards (for the 200's Contacts)."""
        now = self._clock.now()
        async with self._db.transaction() as conn:
            await self._repo.purge_expired(conn, now)
            current = {b.contact: b for b in await self._repo.for_user(conn, username)}
            if remove_all:
                for binding in current.values():
                    if binding.call_id == call_id and cseq <= binding.cseq:
                        raise OutOfOrder(binding.contact)
                await self._repo.remove_all(conn, username)
                return []
            for change in changes:
                old = current.get(change.contact)
                if old is not None and old.call_id == call_id and cseq <= old.cseq:
                    raise OutOfOrder(change.contact)
                if change.expires == 0:
                    await self._repo.remove(conn, username, change.contact)
                    continue
                host, port, transport = source
                await self._repo.put(conn, Binding(username, change.contact, host, port, transport, call_id, cseq,
                                                   now + timedelta(seconds=change.expires)), now)
            return [b for b in await self._repo.for_user(conn, username) if b.expires_at > now]
