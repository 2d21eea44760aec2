"""The repository layer on both backends: SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from openline.core.entities import Account, AccountStatus, ApiKey, IncomingPhoneNumber, KeyType, NumberType
from openline.core.sids import SidPrefix, new_auth_token, new_sid
from openline.services.numbers import NUMBER_DEFAULTS
from openline.storage import dialect as dialects
from openline.storage import migrate
from openline.storage.blobs import BlobKeyError, DatabaseBlobStore, FileBlobStore
from openline.storage.database import Database
from openline.storage.dialect import SqliteOptions
from openline.storage.paging import Cursor
from openline.storage.repositories import AccountRepository, ApiKeyRepository, IncomingPhoneNumberRepository


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'repo.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    engine = dialects.create_sync(dialects.resolve(database_url), SqliteOptions())
    assert migrate.inspect(engine).status is migrate.SchemaStatus.EMPTY
    assert migrate.upgrade(engine).status is migrate.SchemaStatus.CURRENT
    assert migrate.upgrade(engine).status is migrate.SchemaStatus.CURRENT  # idempotent
    engine.dispose()
    database = Database.open(database_url)
    yield database
    await database.close()


T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def account(owner: str | None = None, name: str = "a", at: datetime = T0) -> Account:
    sid = new_sid(SidPrefix.ACCOUNT)
    return Account(sid, owner or sid, name, AccountStatus.ACTIVE, new_auth_token(), at, at)


async def test_accounts_round_trip_and_visibility(db: Database) -> None:
    repo = AccountRepository()
    parent = account(name="parent")
    async with db.transaction() as conn:
        await repo.insert(conn, parent)
        children = [await repo.insert(conn, account(parent.sid, f"child {i}", T0 + timedelta(seconds=i)))
                    for i in range(5)]
        stranger = await repo.insert(conn, account(name="stranger"))
    async with db.read() as conn:
        loaded = await repo.get(conn, parent.sid)
        assert loaded == parent and loaded.date_created.tzinfo is not None
        page = await repo.page_visible_to(conn, parent.sid, 4, Cursor())
        assert [a.sid for a in page.items] == [c.sid for c in children[::-1][:4]]
        assert page.next_token and page.previous_token is None
        rest = await repo.page_visible_to(conn, parent.sid, 4, Cursor.parse(page.next_token))
        assert [a.sid for a in rest.items] == [children[0].sid, parent.sid]
        assert rest.next_token is None and rest.previous_token
        back = await repo.page_visible_to(conn, parent.sid, 4, Cursor.parse(rest.previous_token))
        assert [a.sid for a in back.items] == [a.sid for a in page.items]
        # A stranger's page token does not open the parent's list to them.
        foreign = await repo.page_visible_to(conn, stranger.sid, 4, Cursor.parse(page.next_token))
        assert foreign.items == []
        named = await repo.page_visible_to(conn, parent.sid, 50, Cursor(), friendly_name="child 3")
        assert [a.sid for a in named.items] == [children[3].sid]
    async with db.transaction() as conn:
        updated = await repo.update(conn, children[0].sid, {"status": AccountStatus.SUSPENDED})
    assert updated is not None and updated.status is AccountStatus.SUSPENDED
    async with db.read() as conn:
        suspended = await repo.page_visible_to(conn, parent.sid, 50, Cursor(), status=AccountStatus.SUSPENDED)
        assert [a.sid for a in suspended.items] == [children[0].sid]


async def test_keys_and_rollback(db: Database) -> None:
    accounts, keys = AccountRepository(), ApiKeyRepository()
    owner = account()
    key = ApiKey(new_sid(SidPrefix.API_KEY), owner.sid, "k", KeyType.MAIN, "0" * 64, b"\x01sealed", T0, T0)
    async with db.transaction() as conn:
        await accounts.insert(conn, owner)
        await keys.insert(conn, key)
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await keys.delete(conn, key.sid)
            raise RuntimeError("rolled back")
    async with db.read() as conn:
        assert await keys.get(conn, key.sid) == key
        assert await keys.get(conn, key.sid, account_sids=["AC" + "0" * 32]) is None
    async with db.transaction() as conn:
        assert await keys.delete(conn, key.sid) is True
        assert await keys.delete(conn, key.sid) is False


async def test_phone_numbers_have_one_owner(db: Database) -> None:
    accounts, numbers = AccountRepository(), IncomingPhoneNumberRepository()
    a, b = account(), account()

    def number(owner: Account, e164: str) -> IncomingPhoneNumber:
        return IncomingPhoneNumber(sid=new_sid(SidPrefix.INCOMING_PHONE_NUMBER), account_sid=owner.sid,
                                   phone_number=e164, friendly_name=e164, number_type=NumberType.LOCAL,
                                   iso_country="US", date_created=T0, date_updated=T0, **NUMBER_DEFAULTS)

    async with db.transaction() as conn:
        await accounts.insert(conn, a)
        await accounts.insert(conn, b)
        first = await numbers.insert(conn, number(a, "+15555550100"))
        await numbers.insert(conn, number(a, "+15555550101"))
    with pytest.raises(IntegrityError):
        async with db.transaction() as conn:
            await numbers.insert(conn, number(b, "+15555550100"))
    async with db.read() as conn:
        assert await numbers.by_number(conn, "+15555550100") == first
        assert await numbers.taken_among(conn, ["+15555550100", "+15555550199"]) == {"+15555550100"}
        partial = await numbers.page_for(conn, a.sid, 50, Cursor(), phone_number="0101")
        assert [n.phone_number for n in partial.items] == ["+15555550101"]
        assert (await numbers.page_for(conn, b.sid, 50, Cursor())).items == []


async def test_concurrent_writers(db: Database) -> None:
    repo = AccountRepository()

    async def write(i: int) -> None:
        async with db.transaction() as conn:
            await repo.insert(conn, account(name=f"w{i}"))

    await asyncio.gather(*(write(i) for i in range(40)))
    async with db.read() as conn:
        assert len((await repo.page(conn, [], 100, Cursor())).items) == 40


async def test_database_blob_store(db: Database) -> None:
    store = DatabaseBlobStore(db)
    await store.put("ME0123/0", b"\x00binary\xff", "image/png")
    blob = await store.get("ME0123/0")
    assert blob is not None and (blob.data, blob.content_type) == (b"\x00binary\xff", "image/png")
    await store.put("ME0123/0", b"replaced", "text/plain")
    assert (await store.get("ME0123/0")).data == b"replaced"  # type: ignore[union-attr]
    assert await store.delete("ME0123/0") is True
    assert await store.get("ME0123/0") is None


async def test_file_blob_store(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    await store.put("RE1/recording.wav", b"RIFF", "audio/wav")
    blob = await store.get("RE1/recording.wav")
    assert blob is not None and blob.content_type == "audio/wav"
    assert await store.delete("RE1/recording.wav") is True
    assert await store.get("RE1/recording.wav") is None
    for bad in ("../etc/passwd", "/abs", "a/../../b", "", "a b"):
        with pytest.raises(BlobKeyError):
            await store.get(bad)


async def test_a_failing_writer_in_a_group_costs_only_its_own_work(db: Database) -> None:
    repo = AccountRepository()

    async def write(i: int) -> None:
        async with db.transaction() as conn:
            await repo.insert(conn, account(name=f"g{i}"))
            if i % 4 == 0:
                raise RuntimeError("this writer fails")

    results = await asyncio.gather(*(write(i) for i in range(20)), return_exceptions=True)
    assert sum(isinstance(r, RuntimeError) for r in results) == 5
    async with db.read() as conn:
        names = {a.friendly_name for a in (await repo.page(conn, [], 100, Cursor())).items}
    assert names == {f"g{i}" for i in range(20) if i % 4}
