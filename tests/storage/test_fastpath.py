"""The SQLite fast lane gives exactly what SQLAlchemy gives, and falls back where it cannot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from openline.storage import dialect as dialects
from openline.storage import migrate, schema
from openline.storage.database import Database
from openline.storage.dialect import SqliteOptions
from openline.storage.fastpath import Prepared

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
ACCOUNT = {"sid": "AC" + "1" * 32, "owner_account_sid": "AC" + "1" * 32, "friendly_name": "x", "status": "active",
           "auth_token": "0" * 32, "media_auth_required": True, "alpha_sender_enabled": False,
           "date_created": T0, "date_updated": T0}


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    url = f"sqlite:///{tmp_path / 'f.db'}"
    engine = dialects.create_sync(dialects.resolve(url), SqliteOptions())
    migrate.upgrade(engine)
    engine.dispose()
    database = Database.open(url)
    yield database
    await database.close()


async def test_same_rows_and_types_as_sqlalchemy(db: Database) -> None:
    accounts = schema.accounts
    by_sid = select(accounts).where(accounts.c.sid == bindparam("p_sid"))
    async with db.transaction() as conn:
        await conn.execute(Prepared(insert(accounts)), ACCOUNT)
    async with db.read() as conn:
        fast = (await conn.execute(Prepared(by_sid), {"p_sid": ACCOUNT["sid"]})).first()
        slow = (await conn.execute(by_sid, {"p_sid": ACCOUNT["sid"]})).first()
    assert fast is not None and slow is not None
    assert dict(fast._mapping) == dict(slow._mapping)
    assert fast.date_created == T0 and fast.date_created.tzinfo is not None
    assert fast.media_auth_required is True and fast.alpha_sender_enabled is False
    assert fast.sid == fast[1] == ACCOUNT["sid"]


async def test_literals_limits_and_fallbacks(db: Database) -> None:
    accounts = schema.accounts
    async with db.transaction() as conn:
        await conn.execute(Prepared(insert(accounts)), ACCOUNT)
        limited = Prepared(select(accounts.c.sid).where(accounts.c.status == "active").limit(1))
        assert (await conn.execute(limited, {})).scalar() == ACCOUNT["sid"]
        expanding = Prepared(select(accounts.c.sid).where(accounts.c.sid.in_(bindparam("p", expanding=True))))
        assert (await conn.execute(expanding, {"p": [ACCOUNT["sid"], "x"]})).scalar_one() == ACCOUNT["sid"]


async def test_errors_are_sqlalchemy_errors(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(Prepared(insert(schema.accounts)), ACCOUNT)
            await conn.execute(Prepared(insert(schema.accounts)), ACCOUNT)
    async with db.read() as conn:  # the failed transaction left nothing behind
        count = (await conn.execute(select(schema.accounts.c.id))).all()
    assert count == []
