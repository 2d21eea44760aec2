"""Verify's repositories on SQLite and PostgreSQL: attempt slots and window counters stay exact
under concurrent transactions (the row locks that make Verify's limits hold)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from openline.core.entities import Account, AccountStatus
from openline.core.sids import SidPrefix, new_auth_token, new_sid
from openline.core.verify import (
    MAX_CHECK_ATTEMPTS,
    Bucket,
    RateLimit,
    SendAttempt,
    Verification,
    VerificationStatus,
    VerifyService,
)
from openline.services.verify import SERVICE_DEFAULTS
from openline.storage import dialect as dialects
from openline.storage import migrate
from openline.storage.database import Database
from openline.storage.dialect import SqliteOptions
from openline.storage.paging import Cursor
from openline.storage.repositories import AccountRepository
from openline.storage.repositories.verify import VerifyRepositories

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'verify.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    engine = dialects.create_sync(dialects.resolve(database_url), SqliteOptions())
    assert migrate.upgrade(engine).status is migrate.SchemaStatus.CURRENT
    engine.dispose()
    database = Database.open(database_url)
    yield database
    await database.close()


async def _service(db: Database, repos: VerifyRepositories) -> VerifyService:
    sid = new_sid(SidPrefix.ACCOUNT)
    account = Account(sid, sid, "a", AccountStatus.ACTIVE, new_auth_token(), T0, T0)
    service = VerifyService(sid=new_sid(SidPrefix.VERIFY_SERVICE), account_sid=sid, friendly_name="Acme",
                            date_created=T0, date_updated=T0, **SERVICE_DEFAULTS)
    async with db.transaction() as conn:
        await AccountRepository().insert(conn, account)
        await repos.services.insert(conn, service)
    return service


def _verification(service: VerifyService, to: str, at: datetime = T0) -> Verification:
    return Verification(new_sid(SidPrefix.VERIFICATION), service.sid, service.account_sid, to, "sms",
                        VerificationStatus.PENDING, "0" * 64, "1" * 32, 6, None, None, None, 0,
                        at + timedelta(minutes=10), at, at)


async def test_round_trip_attempt_slots_and_moves(db: Database) -> None:
    repos = VerifyRepositories()
    service = await _service(db, repos)
    v = _verification(service, "+15558675310")
    async with db.transaction() as conn:
        await repos.verifications.insert(conn, v)
        await repos.attempts.insert(conn, SendAttempt(new_sid(SidPrefix.VERIFICATION_ATTEMPT), v.sid, service.sid,
                                                      service.account_sid, "sms", None, T0))
    async with db.read() as conn:
        assert await repos.verifications.get(conn, v.sid) == v
        assert await repos.verifications.latest_for(conn, service.sid, v.to_addr, [VerificationStatus.PENDING]) == v
        assert await repos.verifications.in_service(conn, "VA" + "0" * 32, v.sid) is None
        assert [a.verification_sid for a in await repos.attempts.for_verification(conn, v.sid)] == [v.sid]
        assert await repos.attempts.open_sends_since(conn, service.sid, v.to_addr, T0 - timedelta(minutes=10)) == 1
        assert await repos.attempts.open_sends_since(conn, service.sid, v.to_addr, T0) == 0  # outside the window
    async with db.transaction() as conn:
        taken = [await repos.verifications.take_check_attempt(conn, v.sid, T0, MAX_CHECK_ATTEMPTS)
                 for _ in range(MAX_CHECK_ATTEMPTS + 2)]
        assert taken == [True] * MAX_CHECK_ATTEMPTS + [False, False]
        # Expired: no attempt even under the limit.
        other = _verification(service, "+15558675311")
        await repos.verifications.insert(conn, other)
        assert not await repos.verifications.take_check_attempt(conn, other.sid, other.expires_at, 5)
        assert await repos.verifications.move(conn, v.sid, VerificationStatus.PENDING,
                                              VerificationStatus.MAX_ATTEMPTS_REACHED, T0)
        assert not await repos.verifications.move(conn, v.sid, VerificationStatus.PENDING,
                                                  VerificationStatus.APPROVED, T0)
        assert await repos.verifications.move(conn, other.sid, VerificationStatus.PENDING,
                                              VerificationStatus.CANCELED, T0)
        await repos.attempts.insert(conn, SendAttempt(new_sid(SidPrefix.VERIFICATION_ATTEMPT), other.sid,
                                                      service.sid, service.account_sid, "sms", None, T0))
    async with db.read() as conn:
        stored = await repos.verifications.get(conn, v.sid)
        assert stored is not None and stored.check_attempts == MAX_CHECK_ATTEMPTS
        assert stored.status is VerificationStatus.MAX_ATTEMPTS_REACHED
        # A canceled verification's sends no longer count against the destination.
        assert await repos.attempts.open_sends_since(conn, service.sid, other.to_addr, T0 - timedelta(hours=1)) == 0


async def test_rate_limits_buckets_and_cascade(db: Database) -> None:
    repos = VerifyRepositories()
    service = await _service(db, repos)
    limit = RateLimit(new_sid(SidPrefix.RATE_LIMIT), service.sid, service.account_sid, "ip", None, T0, T0)
    bucket = Bucket(new_sid(SidPrefix.RATE_LIMIT_BUCKET), limit.sid, service.sid, service.account_sid, 3, 60, T0, T0)
    v = _verification(service, "+15558675312")
    async with db.transaction() as conn:
        await repos.rate_limits.insert(conn, limit)
        await repos.buckets.insert(conn, bucket)
        await repos.verifications.insert(conn, v)
    async with db.read() as conn:
        assert await repos.rate_limits.by_names(conn, service.sid, ["ip", "nope"]) == {"ip": limit}
        assert await repos.buckets.for_rate_limits(conn, [limit.sid]) == [bucket]
        assert (await repos.rate_limits.page_for(conn, service.sid, 10, Cursor())).items == [limit]
        assert (await repos.buckets.page_for(conn, limit.sid, 10, Cursor())).items == [bucket]
    async with db.transaction() as conn:
        await repos.services.delete_with_children(conn, service.sid)
    async with db.read() as conn:
        assert await repos.services.get(conn, service.sid) is None
        assert await repos.verifications.get(conn, v.sid) is None
        assert await repos.rate_limits.get(conn, limit.sid) is None and await repos.buckets.get(conn, bucket.sid) is None


async def test_counters_slide_and_forget(db: Database) -> None:
    counters = VerifyRepositories().counters
    async with db.transaction() as conn:
        await counters.lock(conn, ["a", "b", "a"])
        for i in range(5):
            await counters.record(conn, ["a"], T0 + timedelta(seconds=i), T0 - timedelta(days=1))
    async with db.read() as conn:
        assert await counters.count_since(conn, "a", T0 - timedelta(seconds=1)) == 5
        assert await counters.count_since(conn, "a", T0 + timedelta(seconds=2)) == 2
        assert await counters.count_since(conn, "b", T0 - timedelta(days=1)) == 0
    async with db.transaction() as conn:  # events older than the longest window are dropped
        await counters.record(conn, ["a"], T0 + timedelta(days=2), T0 + timedelta(days=1))
    async with db.read() as conn:
        assert await counters.count_since(conn, "a", T0 - timedelta(days=9)) == 1


async def test_concurrent_checks_share_five_slots(db: Database) -> None:
    repos = VerifyRepositories()
    service = await _service(db, repos)
    v = _verification(service, "+15558675313")
    async with db.transaction() as conn:
        await repos.verifications.insert(conn, v)

    async def guess() -> bool:
        async with db.transaction() as conn:
            took = await repos.verifications.take_check_attempt(conn, v.sid, T0, MAX_CHECK_ATTEMPTS)
            await asyncio.sleep(0.01)  # hold the row while others try
            return took

    results = await asyncio.gather(*(guess() for _ in range(20)))
    assert sum(results) == MAX_CHECK_ATTEMPTS


async def test_concurrent_counted_sends_respect_the_limit(db: Database) -> None:
    counters = VerifyRepositories().counters
    limit = 3

    async def send() -> bool:
        async with db.transaction() as conn:
            await counters.lock(conn, ["send:x"])
            if await counters.count_since(conn, "send:x", T0 - timedelta(minutes=10)) >= limit:
                return False
            await asyncio.sleep(0.01)  # a slow send: without the lock, others would count too early
            await counters.record(conn, ["send:x"], T0, T0 - timedelta(days=1))
            return True

    results = await asyncio.gather(*(send() for _ in range(12)))
    assert sum(results) == limit
