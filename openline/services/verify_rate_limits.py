"""Verify v2 RateLimits (RK…) and their Buckets (BL…): the limits a service sets on its own keys.

A rate limit names a key the application passes when it starts a verification
(``RateLimits={"end_user_ip": "203.0.113.7"}``); each bucket allows ``Max`` verifications per key
value in ``Interval`` seconds (Twilio: "Service Rate Limits"). ``openline.services.verify``
enforces them; this module manages them. Errors: 60207 (too many rate limits), 60208 (duplicate
UniqueName), 60210 (too many buckets), 60211 (duplicate Interval), 60200 (invalid values).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.exc import IntegrityError

from openline.core.clock import Clock
from openline.core.entities import Account
from openline.core.errors import TwilioError
from openline.core.sids import SidPrefix, is_sid, new_sid
from openline.core.verify import Bucket, RateLimit, VerifyService
from openline.services.accounts import not_found
from openline.storage.database import Conn, Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories.verify import VerifyRepositories

MAX_RATE_LIMITS = 10  # per service (60207)
MAX_BUCKETS = 5  # per rate limit (60210)
MAX_UNIQUE_NAME = 64
MAX_DESCRIPTION = 1024
MAX_BUCKET_INTERVAL = 86_400  # also the longest window Verify's counters remember


def invalid(message: str) -> TwilioError:
    """Verify's invalid-parameter answer (60200), rather than the platform's 20001."""
    return TwilioError(60200, message)


async def service_in_account(conn: Conn, repos: VerifyRepositories, account: Account, sid: str) -> VerifyService:
    """The account's service; unknown and foreign SIDs answer alike (20404)."""
    service = await repos.services.get(conn, sid, account_sids=[account.sid]) \
        if is_sid(sid, SidPrefix.VERIFY_SERVICE) else None
    if service is None:
        raise not_found(f"The requested resource {sid} was not found")
    return service


class RateLimitAdmin:
    """Create, list, change and remove a service's rate limits and their buckets."""

    def __init__(self, db: Database, clock: Clock, repositories: VerifyRepositories) -> None:
        self._db = db
        self._clock = clock
        self._repos = repositories

    async def create_rate_limit(self, account: Account, service_sid: str, unique_name: str | None,
                                description: str | None) -> RateLimit:
        name = _check_unique_name(unique_name)
        _check_description(description)
        now = self._clock.now()
        try:
            async with self._db.transaction() as conn:
                service = await self._repos.services.get_for_update(conn, service_sid, account.sid)
                if service is None:
                    raise not_found()
                if await self._repos.rate_limits.by_names(conn, service.sid, [name]):
                    raise TwilioError(60208, f"The service already has a rate limit named {name}")
                if await self._repos.rate_limits.count_for(conn, service.sid) >= MAX_RATE_LIMITS:
                    raise TwilioError(60207, f"A service can have at most {MAX_RATE_LIMITS} rate limits")
                item = RateLimit(new_sid(SidPrefix.RATE_LIMIT), service.sid, account.sid, name, description, now, now)
                await self._repos.rate_limits.insert(conn, item)
        except IntegrityError as exc:  # a concurrent request took the name first
            raise TwilioError(60208, f"The service already has a rate limit named {name}") from exc
        return item

    async def list_rate_limits(self, account: Account, service_sid: str, size: int, cursor: Cursor
                               ) -> Page[RateLimit]:
        async with self._db.read() as conn:
            await service_in_account(conn, self._repos, account, service_sid)
            return await self._repos.rate_limits.page_for(conn, service_sid, size, cursor)

    async def get_rate_limit(self, account: Account, service_sid: str, sid: str) -> RateLimit:
        async with self._db.read() as conn:
            return await self._rate_limit(conn, account, service_sid, sid)

    async def update_rate_limit(self, account: Account, service_sid: str, sid: str,
                                description: str | None) -> RateLimit:
        _check_description(description)
        async with self._db.transaction() as conn:
            item = await self._rate_limit(conn, account, service_sid, sid)
            changes: dict[str, Any] = {"date_updated": self._clock.now()}
            if description is not None:
                changes["description"] = description
            await self._repos.rate_limits.change(conn, sid, changes)
        return dataclasses.replace(item, **changes)

    async def delete_rate_limit(self, account: Account, service_sid: str, sid: str) -> None:
        async with self._db.transaction() as conn:
            await self._rate_limit(conn, account, service_sid, sid)
            await self._repos.rate_limits.delete_with_buckets(conn, sid)

    async def create_bucket(self, account: Account, service_sid: str, rate_limit_sid: str,
                            max_requests: int | None, interval: int | None) -> Bucket:
        if max_requests is None:
            raise invalid("Missing required parameter Max in the post body")
        if interval is None:
            raise invalid("Missing required parameter Interval in the post body")
        _check_bucket(max_requests, interval)
        now = self._clock.now()
        try:
            async with self._db.transaction() as conn:
                rate_limit = await self._rate_limit(conn, account, service_sid, rate_limit_sid)
                existing = await self._repos.buckets.for_rate_limits(conn, [rate_limit.sid])
                if any(item.interval_seconds == interval for item in existing):
                    raise TwilioError(60211, f"The rate limit already has a bucket with Interval {interval}")
                if len(existing) >= MAX_BUCKETS:
                    raise TwilioError(60210, f"A rate limit can have at most {MAX_BUCKETS} buckets")
                bucket = Bucket(new_sid(SidPrefix.RATE_LIMIT_BUCKET), rate_limit.sid, rate_limit.service_sid,
                                account.sid, max_requests, interval, now, now)
                await self._repos.buckets.insert(conn, bucket)
        except IntegrityError as exc:
            raise TwilioError(60211, f"The rate limit already has a bucket with Interval {interval}") from exc
        return bucket

    async def list_buckets(self, account: Account, service_sid: str, rate_limit_sid: str, size: int,
                           cursor: Cursor) -> Page[Bucket]:
        async with self._db.read() as conn:
            await self._rate_limit(conn, account, service_sid, rate_limit_sid)
            return await self._repos.buckets.page_for(conn, rate_limit_sid, size, cursor)

    async def get_bucket(self, account: Account, service_sid: str, rate_limit_sid: str, sid: str) -> Bucket:
        async with self._db.read() as conn:
            return await self._bucket(conn, account, service_sid, rate_limit_sid, sid)

    async def update_bucket(self, account: Account, service_sid: str, rate_limit_sid: str, sid: str,
                            max_requests: int | None, interval: int | None) -> Bucket:
        try:
            async with self._db.transaction() as conn:
                bucket = await self._bucket(conn, account, service_sid, rate_limit_sid, sid)
                changes: dict[str, Any] = {"date_updated": self._clock.now()}
                if max_requests is not None:
                    changes["max_requests"] = max_requests
                if interval is not None:
                    changes["interval_seconds"] = interval
                updated = dataclasses.replace(bucket, **changes)
                _check_bucket(updated.max_requests, updated.interval_seconds)
                if interval is not None and any(
                        item.interval_seconds == interval and item.sid != sid
                        for item in await self._repos.buckets.for_rate_limits(conn, [rate_limit_sid])):
                    raise TwilioError(60211, f"The rate limit already has a bucket with Interval {interval}")
                await self._repos.buckets.change(conn, sid, changes)
        except IntegrityError as exc:
            raise TwilioError(60211, f"The rate limit already has a bucket with Interval {interval}") from exc
        return updated

    async def delete_bucket(self, account: Account, service_sid: str, rate_limit_sid: str, sid: str) -> None:
        async with self._db.transaction() as conn:
            await self._bucket(conn, account, service_sid, rate_limit_sid, sid)
            await self._repos.buckets.delete(conn, sid)

    async def _rate_limit(self, conn: Conn, account: Account, service_sid: str, sid: str) -> RateLimit:
        service = await service_in_account(conn, self._repos, account, service_sid)
        found = await self._repos.rate_limits.in_service(conn, service.sid, sid)
        if found is None:
            raise not_found(f"The requested resource {sid} was not found")
        return found

    async def _bucket(self, conn: Conn, account: Account, service_sid: str, rate_limit_sid: str,
                      sid: str) -> Bucket:
        await self._rate_limit(conn, account, service_sid, rate_limit_sid)
        found = await self._repos.buckets.in_rate_limit(conn, rate_limit_sid, sid)
        if found is None:
            raise not_found(f"The requested resource {sid} was not found")
        return found


def _check_unique_name(value: str | None) -> str:
    if not value:
        raise invalid("Missing required parameter UniqueName in the post body")
    if len(value) > MAX_UNIQUE_NAME or not all(c.isascii() and (c.isalnum() or c in "_-.") for c in value):
        raise invalid(f"UniqueName must be 1 to {MAX_UNIQUE_NAME} letters, digits, '_', '-' or '.'")
    return value


def _check_description(value: str | None) -> None:
    if value is not None and len(value) > MAX_DESCRIPTION:
        raise invalid(f"Description must be at most {MAX_DESCRIPTION} characters")


def _check_bucket(max_requests: int, interval: int) -> None:
    if max_requests < 1:
        raise invalid("Max must be a positive integer")
    if not 1 <= interval <= MAX_BUCKET_INTERVAL:
        raise invalid(f"Interval must be an integer from 1 to {MAX_BUCKET_INTERVAL} seconds")
