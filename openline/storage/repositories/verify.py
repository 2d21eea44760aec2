"""Repositories for Verify v2: services, verifications and their send attempts, rate limits and
buckets, and the sliding-window counters every Verify limit is counted with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from openline.core.verify import Bucket, RateLimit, SendAttempt, Verification, VerificationStatus, VerifyService
from openline.storage import schema
from openline.storage.database import Conn
from openline.storage.paging import Cursor, Page
from openline.storage.repositories.base import TableRepository


class VerifyServiceRepository(TableRepository[VerifyService]):
    table = schema.verify_services
    entity = VerifyService

    async def page_for(self, conn: Conn, account_sid: str, size: int, cursor: Cursor) -> Page[VerifyService]:
        return await self.page(conn, [self.table.c.account_sid == account_sid], size, cursor)

    async def get_for_update(self, conn: Conn, sid: str, account_sid: str) -> VerifyService | None:
        """The account's service, row-locked until the transaction ends (PostgreSQL; SQLite
        transactions are already serialised by its write lock)."""
        c = self.table.c
        row = (await conn.execute(select(self.table).where(c.sid == sid, c.account_sid == account_sid)
                                  .with_for_update())).first()
        return self._entity(row) if row else None

    async def delete_with_children(self, conn: Conn, sid: str) -> None:
        """The service and everything under it: verifications, attempts, rate limits, buckets."""
        v, a = schema.verifications, schema.verification_attempts
        await conn.execute(delete(a).where(a.c.service_sid == sid))
        await conn.execute(delete(v).where(v.c.service_sid == sid))
        b, r = schema.verify_buckets, schema.verify_rate_limits
        await conn.execute(delete(b).where(b.c.service_sid == sid))
        await conn.execute(delete(r).where(r.c.service_sid == sid))
        await self.delete(conn, sid)


class VerificationRepository(TableRepository[Verification]):
    table = schema.verifications
    entity = Verification
    enums: ClassVar[Mapping[str, type[Enum]]] = {"status": VerificationStatus}

    def __init__(self) -> None:
        super().__init__()
        c = self.table.c
        # A check takes one attempt only while the verification is pending, unexpired and under
        # its limit; the UPDATE row-locks it (PostgreSQL), so concurrent checks cannot share a slot.
        self._take_attempt = (
            update(self.table)
            .where(c.sid == bindparam("p_sid"), c.status == VerificationStatus.PENDING.value,
                   c.check_attempts < bindparam("p_max"), c.expires_at > bindparam("p_now"))
            .values(check_attempts=c.check_attempts + 1, date_updated=bindparam("p_now")))
        self._move = (update(self.table)
                      .where(c.sid == bindparam("p_sid"), c.status == bindparam("p_from"))
                      .values(status=bindparam("p_to"), date_updated=bindparam("p_at")))
        self._latest = (select(self.table)
                        .where(c.service_sid == bindparam("p_service"), c.to_addr == bindparam("p_to"),
                               c.status.in_(bindparam("p_statuses", expanding=True)))
                        .order_by(c.id.desc()).limit(1))

    async def in_service(self, conn: Conn, service_sid: str, sid: str) -> Verification | None:
        found = await self.get(conn, sid)
        return found if found is not None and found.service_sid == service_sid else None

    async def latest_for(self, conn: Conn, service_sid: str, to: str,
                         statuses: Iterable[VerificationStatus]) -> Verification | None:
        row = (await conn.execute(self._latest, {"p_service": service_sid, "p_to": to,
                                                 "p_statuses": [s.value for s in statuses]})).first()
        return self._entity(row) if row else None

    async def take_check_attempt(self, conn: Conn, sid: str, now: datetime, max_attempts: int) -> bool:
        result = await conn.execute(self._take_attempt, {"p_sid": sid, "p_max": max_attempts, "p_now": now})
        return bool(result.rowcount)

    async def move(self, conn: Conn, sid: str, from_: VerificationStatus, to: VerificationStatus,
                   at: datetime) -> bool:
        """Change the status only if it still is ``from_`` (so two requests cannot both win)."""
        result = await conn.execute(self._move, {"p_sid": sid, "p_from": from_.value, "p_to": to.value,
                                                 "p_at": at})
        return bool(result.rowcount)


class SendAttemptRepository(TableRepository[SendAttempt]):
    table = schema.verification_attempts
    entity = SendAttempt

    def __init__(self) -> None:
        super().__init__()
        c = self.table.c
        self._for = select(self.table).where(c.verification_sid == bindparam("p_sid")).order_by(c.id)
        v = schema.verifications.c
        closed = [VerificationStatus.APPROVED.value, VerificationStatus.CANCELED.value]
        self._open_sends = (
            select(func.count()).select_from(self.table.join(schema.verifications, v.sid == c.verification_sid))
            .where(v.service_sid == bindparam("p_service"), v.to_addr == bindparam("p_to"),
                   v.status.not_in(closed), c.date_created > bindparam("p_since")))

    async def for_verification(self, conn: Conn, verification_sid: str) -> list[SendAttempt]:
        rows = await conn.execute(self._for, {"p_sid": verification_sid})
        return [self._entity(row) for row in rows]

    async def open_sends_since(self, conn: Conn, service_sid: str, to: str, since: datetime) -> int:
        """Sends to ``to`` since ``since`` whose verification was not completed (approved or
        canceled): Twilio's 60203 counts only lifecycles that were left open."""
        return int((await conn.execute(self._open_sends, {"p_service": service_sid, "p_to": to,
                                                          "p_since": since})).scalar_one())


class RateLimitRepository(TableRepository[RateLimit]):
    table = schema.verify_rate_limits
    entity = RateLimit

    async def page_for(self, conn: Conn, service_sid: str, size: int, cursor: Cursor) -> Page[RateLimit]:
        return await self.page(conn, [self.table.c.service_sid == service_sid], size, cursor)

    async def in_service(self, conn: Conn, service_sid: str, sid: str) -> RateLimit | None:
        c = self.table.c
        return await self.find(conn, c.service_sid == service_sid, c.sid == sid)

    async def by_names(self, conn: Conn, service_sid: str, names: Sequence[str]) -> dict[str, RateLimit]:
        if not names:
            return {}
        c = self.table.c
        rows = await conn.execute(select(self.table).where(c.service_sid == service_sid,
                                                           c.unique_name.in_(list(names))))
        return {item.unique_name: item for item in (self._entity(row) for row in rows)}

    async def count_for(self, conn: Conn, service_sid: str) -> int:
        return await self.count(conn, self.table.c.service_sid == service_sid)

    async def delete_with_buckets(self, conn: Conn, sid: str) -> None:
        b = schema.verify_buckets
        await conn.execute(delete(b).where(b.c.rate_limit_sid == sid))
        await self.delete(conn, sid)


class BucketRepository(TableRepository[Bucket]):
    table = schema.verify_buckets
    entity = Bucket

    async def page_for(self, conn: Conn, rate_limit_sid: str, size: int, cursor: Cursor) -> Page[Bucket]:
        return await self.page(conn, [self.table.c.rate_limit_sid == rate_limit_sid], size, cursor)

    async def in_rate_limit(self, conn: Conn, rate_limit_sid: str, sid: str) -> Bucket | None:
        c = self.table.c
        return await self.find(conn, c.rate_limit_sid == rate_limit_sid, c.sid == sid)

    async def for_rate_limits(self, conn: Conn, rate_limit_sids: Sequence[str]) -> list[Bucket]:
        if not rate_limit_sids:
            return []
        c = self.table.c
        rows = await conn.execute(select(self.table).where(c.rate_limit_sid.in_(list(rate_limit_sids)))
                                  .order_by(c.id))
        return [self._entity(row) for row in rows]


_INSERT_EVENT = insert(schema.verify_rate_events)
_COUNT_SINCE = (select(func.count()).select_from(schema.verify_rate_events)
                .where(schema.verify_rate_events.c.scope == bindparam("p_scope"),
                       schema.verify_rate_events.c.at > bindparam("p_since")))
_PRUNE = delete(schema.verify_rate_events).where(and_(schema.verify_rate_events.c.scope == bindparam("p_scope"),
                                                      schema.verify_rate_events.c.at <= bindparam("p_before")))
_LOCK = (select(schema.verify_rate_scopes.c.scope)
         .where(schema.verify_rate_scopes.c.scope == bindparam("p_scope")).with_for_update())


class RateCounterRepository:
    """Sliding-window counters: one row per counted event, under a scope string.

    :meth:`lock` makes the count-then-record sequence atomic per scope on PostgreSQL (a row lock
    on the scope's row until commit); on SQLite the single writer already serialises it.
    """

    async def lock(self, conn: Conn, scopes: Iterable[str]) -> None:
        ordered = sorted(set(scopes))  # one global order, so two transactions never deadlock
        if not ordered:
            return
        table = schema.verify_rate_scopes
        make: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        for scope in ordered:
            await conn.execute(make(table).values(scope=scope).on_conflict_do_nothing(index_elements=["scope"]))
            await conn.execute(_LOCK, {"p_scope": scope})

    async def count_since(self, conn: Conn, scope: str, since: datetime) -> int:
        return int((await conn.execute(_COUNT_SINCE, {"p_scope": scope, "p_since": since})).scalar_one())

    async def record(self, conn: Conn, scopes: Iterable[str], at: datetime, forget_before: datetime) -> None:
        """Count one event under each scope, and drop events too old for any window."""
        for scope in scopes:
            await conn.execute(_PRUNE, {"p_scope": scope, "p_before": forget_before})
            await conn.execute(_INSERT_EVENT, {"scope": scope, "at": at})


@dataclass(frozen=True, slots=True)
class VerifyRepositories:
    """Everything Verify stores, as one collaborator."""

    services: VerifyServiceRepository = field(default_factory=VerifyServiceRepository)
    verifications: VerificationRepository = field(default_factory=VerificationRepository)
    attempts: SendAttemptRepository = field(default_factory=SendAttemptRepository)
    rate_limits: RateLimitRepository = field(default_factory=RateLimitRepository)
    buckets: BucketRepository = field(default_factory=BucketRepository)
    counters: RateCounterRepository = field(default_factory=RateCounterRepository)
