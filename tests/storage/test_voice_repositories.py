"""Calls, recordings and sandbox handset history on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openline.core.calls import Call, CallDirection, CallStatus, Recording
from openline.core.sids import SidPrefix, new_sid
from openline.storage import dialect as dialects
from openline.storage import jobs, migrate
from openline.storage.database import Database
from openline.storage.dialect import SqliteOptions
from openline.storage.paging import Cursor
from openline.storage.repositories.voice import (
    DEFAULT_BEHAVIOR,
    CallFilter,
    CallRepository,
    HandsetBehavior,
    HandsetCall,
    HandsetVoiceRepository,
    RecordingRepository,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ACCOUNT = "AC" + "1" * 32


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'voice.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    engine = dialects.create_sync(dialects.resolve(database_url), SqliteOptions())
    assert migrate.upgrade(engine).status is migrate.SchemaStatus.CURRENT
    engine.dispose()
    database = Database.open(database_url)
    yield database
    await database.close()


def a_call(**changes: object) -> Call:
    call = Call(sid=new_sid(SidPrefix.CALL), account_sid=ACCOUNT, parent_call_sid=None,
                direction=CallDirection.OUTBOUND_API, from_addr="+15555550100", to_addr="+15558675310",
                status=CallStatus.QUEUED, start_time=None, end_time=None, duration=None, answered_by=None,
                caller_name=None, phone_number_sid=None, url="https://app.example/v", method="POST", twiml=None,
                fallback_url=None, fallback_method="POST", status_callback=None, status_callback_method="POST",
                status_callback_events="completed", timeout=60, record=False, send_digits=None,
                application_sid=None, dial_at=T0, date_created=T0, date_updated=T0)
    return dataclasses.replace(call, **changes)  # type: ignore[arg-type]


async def test_calls_round_trip_filter_and_dial_slots(db: Database) -> None:
    repo = CallRepository()
    first = a_call(status=CallStatus.COMPLETED, start_time=T0, end_time=T0 + timedelta(seconds=5), duration=5)
    second = a_call(to_addr="+15558675311", dial_at=T0 + timedelta(seconds=1))
    child = a_call(direction=CallDirection.OUTBOUND_DIAL, parent_call_sid=first.sid, dial_at=T0 + timedelta(hours=1))
    async with db.transaction() as conn:
        for call in (first, second, child):
            await repo.insert(conn, call)
    async with db.read() as conn:
        assert await repo.get(conn, first.sid, account_sids=[ACCOUNT]) == first
        assert await repo.get(conn, first.sid, account_sids=["AC" + "2" * 32]) is None
        page = await repo.page_for(conn, ACCOUNT, 10, Cursor())
        assert [c.sid for c in page.items] == [child.sid, second.sid, first.sid]
        only = await repo.page_for(conn, ACCOUNT, 10, Cursor(), CallFilter(status=CallStatus.COMPLETED))
        assert [c.sid for c in only.items] == [first.sid]
        to = await repo.page_for(conn, ACCOUNT, 10, Cursor(), CallFilter(to="+15558675311"))
        assert [c.sid for c in to.items] == [second.sid]
        kids = await repo.page_for(conn, ACCOUNT, 10, Cursor(), CallFilter(parent_call_sid=first.sid))
        assert [c.sid for c in kids.items] == [child.sid]
        started = await repo.page_for(conn, ACCOUNT, 10, Cursor(), CallFilter(started_after=T0 - timedelta(1)))
        assert [c.sid for c in started.items] == [first.sid]
        # Only outbound-api calls take dial slots: the child's later slot does not count.
        assert await repo.last_dial_slot(conn, ACCOUNT) == T0 + timedelta(seconds=1)
        assert await repo.last_dial_slot(conn, "AC" + "3" * 32) is None
        assert [c.sid for c in await repo.unfinished(conn)] == []
    async with db.transaction() as conn:
        moved = await repo.set_fields(conn, second, {"status": CallStatus.IN_PROGRESS, "start_time": T0})
    async with db.read() as conn:
        assert await repo.get(conn, second.sid) == moved
        assert [c.sid for c in await repo.unfinished(conn)] == [second.sid]


async def test_orphaned_queued_calls_are_those_without_a_dial_job(db: Database) -> None:
    repo = CallRepository()
    waiting, orphan = a_call(), a_call()
    answered = a_call(status=CallStatus.IN_PROGRESS)
    async with db.transaction() as conn:
        for call in (waiting, orphan, answered):
            await repo.insert(conn, call)
        await jobs.enqueue(conn, "voice_dial", {"sid": waiting.sid}, T0, T0)
        await jobs.enqueue(conn, "other_kind", {"sid": orphan.sid}, T0, T0)
    async with db.read() as conn:
        assert [c.sid for c in await repo.orphaned(conn, "voice_dial")] == [orphan.sid]


async def test_recordings_by_account_and_call(db: Database) -> None:
    repo = RecordingRepository()
    call_sid = new_sid(SidPrefix.CALL)
    item = Recording(new_sid(SidPrefix.RECORDING), ACCOUNT, call_sid, "completed", "RecordVerb", 1, 3,
                     "recordings/x.wav", T0, T0, T0)
    other = dataclasses.replace(item, sid=new_sid(SidPrefix.RECORDING), call_sid=new_sid(SidPrefix.CALL))
    async with db.transaction() as conn:
        await repo.insert(conn, item)
        await repo.insert(conn, other)
    async with db.read() as conn:
        assert [r.sid for r in (await repo.page_for(conn, ACCOUNT, 10, Cursor())).items] == [other.sid, item.sid]
        assert [r.sid for r in (await repo.page_for(conn, ACCOUNT, 10, Cursor(), call_sid)).items] == [item.sid]


async def test_handset_behaviour_upserts_and_history_is_newest_first(db: Database) -> None:
    repo = HandsetVoiceRepository()
    async with db.transaction() as conn:
        assert await repo.behavior(conn, ACCOUNT, "+15558675310") == DEFAULT_BEHAVIOR
        await repo.set_behavior(conn, ACCOUNT, "+15558675310", HandsetBehavior("busy", 2, None, None), T0)
        await repo.set_behavior(conn, ACCOUNT, "+15558675310", HandsetBehavior("answer", 1, "w1#", None), T0)
        assert await repo.behavior(conn, ACCOUNT, "+15558675310") == HandsetBehavior("answer", 1, "w1#", None)
        assert await repo.behavior(conn, "AC" + "2" * 32, "+15558675310") == DEFAULT_BEHAVIOR
        older = HandsetCall("+15558675310", new_sid(SidPrefix.CALL), ACCOUNT, ("Hello",), "1", None, T0)
        newer = HandsetCall("+15558675310", new_sid(SidPrefix.CALL), ACCOUNT, ("A", "B"), "", "k.wav", T0)
        await repo.add_call(conn, older)
        await repo.add_call(conn, newer)
    async with db.read() as conn:
        items, more = await repo.calls(conn, "+15558675310", [ACCOUNT], 1, 0)
        assert items == [newer] and more
        items, more = await repo.calls(conn, "+15558675310", [ACCOUNT], 1, 1)
        assert items == [older] and not more
        assert await repo.calls(conn, "+15558675310", ["AC" + "2" * 32], 5, 0) == ([], False)
        assert await repo.call(conn, older.call_sid) == older
