"""Registrar bindings (migration 0011) through the Registrations service, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openline.services.sip_registrations import BindingChange, OutOfOrder, Registrations
from openline.storage import dialect as dialects
from openline.storage import migrate
from openline.storage.database import Database
from openline.storage.dialect import SqliteOptions
from openline.storage.repositories.sip import SipRegistrationRepository


class FakeClock:
    def __init__(self) -> None:
        self.at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'sip.db'}" if request.param == "sqlite" else str(
        request.getfixturevalue("postgres_url"))
    engine = dialects.create_sync(dialects.resolve(url), SqliteOptions())
    migrate.upgrade(engine)
    engine.dispose()
    database = Database.open(url)
    yield database
    await database.close()


async def test_bind_refresh_expire_unregister_and_order(db: Database) -> None:
    clock = FakeClock()
    regs = Registrations(db, SipRegistrationRepository(), clock)
    src = ("127.0.0.1", 5070, "UDP")
    got = await regs.update("alice", call_id="c1", cseq=1, source=src,
                            changes=[BindingChange("sip:alice@127.0.0.1:5070", 60)])
    assert [(b.contact, b.expires_at) for b in got] == [("sip:alice@127.0.0.1:5070", clock.at + timedelta(seconds=60))]
    # a second device, over TCP from elsewhere
    await regs.update("alice", call_id="c2", cseq=1, source=("10.0.0.5", 40000, "TCP"),
                      changes=[BindingChange("sip:alice@10.0.0.5:5060;transport=tcp", 600)])
    assert len(await regs.bindings("alice")) == 2 and await regs.bindings("bob") == []
    with pytest.raises(OutOfOrder):  # §10.3 step 7: same Call-ID, CSeq not higher
        await regs.update("alice", call_id="c1", cseq=1, source=src,
                          changes=[BindingChange("sip:alice@127.0.0.1:5070", 60)])
    clock.at += timedelta(seconds=61)  # the first binding expired
    assert [b.transport for b in await regs.bindings("alice")] == ["TCP"]
    await regs.update("alice", call_id="c2", cseq=2, source=src,
                      changes=[BindingChange("sip:alice@10.0.0.5:5060;transport=tcp", 0)])
    assert await regs.bindings("alice") == []
    await regs.update("alice", call_id="c3", cseq=1, source=src, changes=[BindingChange("sip:a@h", 60)])
    assert await regs.update("alice", call_id="c4", cseq=9, source=src, changes=[], remove_all=True) == []
    assert await regs.bindings("alice") == []


async def test_bindings_are_read_back_by_another_registrations_object(db: Database) -> None:
    clock = FakeClock()
    await Registrations(db, SipRegistrationRepository(), clock).update(
        "alice", call_id="c1", cseq=1, source=("127.0.0.1", 5070, "UDP"),
        changes=[BindingChange("sip:alice@127.0.0.1:5070", 3600)])
    # another process (or the same one after a restart) reads them from the database
    other = Registrations(db, SipRegistrationRepository(), clock)
    assert [b.source_port for b in await other.bindings("alice")] == [5070]
