"""SMPP binds in a cluster: only the process that owns a carrier binds; the others stand by and
one takes over when the owner goes. On PostgreSQL advisory locks (the real ownership) and with
an in-memory ownership for the transport's own rules."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from openline.services.cluster import ClusterBinds
from openline.storage import dialect as dialects
from openline.storage.locks import AdvisoryLocks
from openline.transports.smpp import SmppClient
from tests.support.smsc import FakeSmsc
from tests.unit.transports.test_smpp_client import Recorder, submit_pdu, wait_for


class MemoryOwnership:
    """One owner per carrier among the clients sharing this object; ``revoke`` simulates a lost session."""

    def __init__(self) -> None:
        self.owners: dict[str, object] = {}

    def for_client(self, client_id: object) -> _Member:
        return _Member(self, client_id)


class _Member:
    def __init__(self, group: MemoryOwnership, me: object) -> None:
        self.group, self.me = group, me

    async def acquire(self, carrier: str) -> None:
        while self.group.owners.setdefault(carrier, self.me) is not self.me:
            await asyncio.sleep(0.05)

    async def held(self, carrier: str) -> bool:
        return self.group.owners.get(carrier) is self.me

    async def release(self, carrier: str) -> None:
        if self.group.owners.get(carrier) is self.me:
            del self.group.owners[carrier]


@pytest.fixture
async def smsc() -> AsyncIterator[FakeSmsc]:
    async with FakeSmsc() as server:
        yield server


def bound_binds(smsc: FakeSmsc) -> int:
    return sum(1 for bind in smsc.binds if bind.status == 0)


async def test_one_process_binds_the_other_takes_over_when_it_stops(smsc: FakeSmsc,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("openline.transports.smpp.OWNERSHIP_CHECK", 0.05)
    group = MemoryOwnership()
    settings = smsc.carrier_settings(name="acme")
    first = SmppClient(settings, Recorder(), ownership=group.for_client("a"))
    second = SmppClient(settings, Recorder(), ownership=group.for_client("b"))
    await first.start()
    await first.wait_bound(5)
    await second.start()
    try:
        await asyncio.sleep(0.3)
        assert first.owner and not second.owner and not second.bound
        assert second.metrics()["state"] == "standby" and first.metrics()["state"] == "bound"
        assert bound_binds(smsc) == 1
        await first.submit(submit_pdu())
        await first.stop()  # graceful: unbinds and releases, the standby binds
        await second.wait_bound(5)
        assert second.owner and len(smsc.binds) == 2
        await second.submit(submit_pdu())
        assert len(smsc.submits) == 2
    finally:
        await first.stop()
        await second.stop()


async def test_lost_ownership_drops_the_binds_at_once(smsc: FakeSmsc, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("openline.transports.smpp.OWNERSHIP_CHECK", 0.05)
    group = MemoryOwnership()
    client = SmppClient(smsc.carrier_settings(name="acme"), Recorder(), ownership=group.for_client("a"))
    await client.start()
    try:
        await client.wait_bound(5)
        group.owners["acme"] = "someone else"  # e.g. our database session died and another took the lock
        await wait_for(lambda: not client.bound, 5)
        assert not client.owner and client.metrics()["state"] == "standby"
        del group.owners["acme"]  # free again: we bind again
        await client.wait_bound(5)
    finally:
        await client.stop()


@pytest.mark.postgres
async def test_advisory_lock_ownership_survives_a_crash(smsc: FakeSmsc, postgres_url: str,
                                                        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("openline.transports.smpp.OWNERSHIP_CHECK", 0.1)
    dialect = dialects.resolve(postgres_url)
    locks_a, locks_b = AdvisoryLocks(dialect), AdvisoryLocks(dialect)
    settings = smsc.carrier_settings(name="acme")
    first = SmppClient(settings, Recorder(), ownership=ClusterBinds(locks_a, retry=0.1))
    second = SmppClient(settings, Recorder(), ownership=ClusterBinds(locks_b, retry=0.1))
    try:
        await first.start()
        await first.wait_bound(5)
        await second.start()
        await asyncio.sleep(0.5)
        assert not second.bound and bound_binds(smsc) == 1
        # The owner's database session ends as in a crash: PostgreSQL frees the lock, and the
        # owner itself notices at its next check and drops its bind; the standby binds. (The old
        # owner is kept from taking the lock back, as a crashed process would not.)
        async def gone(_name: str) -> bool:
            return False

        locks_a.try_acquire = gone  # type: ignore[method-assign]
        await locks_a.close()
        await second.wait_bound(30)  # generous: the server ends the old backend asynchronously
        await wait_for(lambda: not first.bound, 10)
        assert second.owner and not first.owner
    finally:
        for client in (first, second):
            with contextlib.suppress(Exception):
                await client.stop()
        await locks_a.close()
        await locks_b.close()
