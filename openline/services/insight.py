"""What the web console reads: message logs and details, chart series, conversations with sandbox
handsets, Verify status, session credentials, and a feed that notices new rows for live views.

Read-only. Every method takes the account the caller may act for (checked with
:func:`openline.services.auth.authorize`) and every query is filtered by it, so a guessed SID
of another account reads as "not found". Concealed messages (Verify codes) never show.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from openline.core.clock import Clock
from openline.core.entities import Account, AccountStatus
from openline.core.lifecycle import Direction, MessageStatus
from openline.core.messaging import Alert, HandsetMessage, Media, Message
from openline.core.sids import SidPrefix, is_sid
from openline.core.verify import VerificationStatus
from openline.services.accounts import not_found
from openline.services.auth import Principal, authorize
from openline.storage.database import Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories import AccountRepository, ApiKeyRepository
from openline.storage.repositories.carriers import MessagePart
from openline.storage.repositories.insight import (
    InsightRepositories,
    Marks,
    MessageFilter,
    StatusChange,
    WebhookAttempt,
)

log = logging.getLogger("openline.console")

CHART_SCAN_LIMIT = 50_000  # newest messages a chart looks at: a dashboard must stay cheap
FINAL_FAILURES = (MessageStatus.UNDELIVERED.value, MessageStatus.FAILED.value)
FEED_INTERVAL = 0.5  # seconds between two looks at the newest row ids (one query for all streams)
MAX_STREAMS = 64  # live views open at once in one process; each holds a connection

# Value types the console needs from below the services, re-exported so it never imports storage.
__all__ = ["ChangeFeed", "Cursor", "InsightService", "Marks", "MessageFilter", "Page", "StatusChange",
           "WebhookAttempt"]


@dataclass(frozen=True, slots=True)
class LogRow:
    row_id: int
    message: Message


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    status: str
    error_code: int | None
    detail: str | None
    at: datetime


@dataclass(frozen=True, slots=True)
class MessageDetail:
    message: Message
    timeline: list[TimelineEntry]
    attempts: list[WebhookAttempt]
    alerts: list[Alert]
    parts: list[MessagePart]
    media: list[Media]


@dataclass(frozen=True, slots=True)
class VolumeBucket:
    start: datetime
    outbound: int
    inbound: int
    delivered: int
    failed: int  # undelivered or failed

    @property
    def delivery_rate(self) -> float | None:
        """Delivered share of the outbound messages that reached an end (None: none did)."""
        ended = self.delivered + self.failed
        return self.delivered / ended if ended else None


@dataclass(frozen=True, slots=True)
class VerificationSummary:
    """What the console may show of a verification: never its code, seed or hash."""

    sid: str
    to: str
    channel: str
    status: VerificationStatus
    check_attempts: int
    date_created: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class ChatItem:
    """One bubble of a dev-phone conversation, seen from the handset."""

    sid: str
    sent_by_handset: bool
    body: str
    status: str
    at: datetime
    row_id: int


class InsightService:
    def __init__(self, db: Database, clock: Clock, repositories: InsightRepositories,
                 accounts: AccountRepository, keys: ApiKeyRepository) -> None:
        self._db = db
        self._clock = clock
        self._repos = repositories
        self._accounts = accounts
        self._keys = keys

    def now(self) -> datetime:
        return self._clock.now()

    # --- sessions -----------------------------------------------------------------------------

    async def session_principal(self, username: str) -> tuple[Principal, str] | None:
        """The principal a console session names, and a digest of its current credential: a new
        Auth Token or a revoked key changes or removes it, which ends the sessions made with it."""
        async with self._db.read() as conn:
            if is_sid(username, SidPrefix.ACCOUNT):
                account = await self._accounts.get(conn, username)
                if account is None:
                    return None
                principal, material = Principal(account), "token:" + account.auth_token
            elif is_sid(username, SidPrefix.API_KEY):
                key = await self._keys.get(conn, username)
                owner = await self._accounts.get(conn, key.account_sid) if key else None
                if key is None or owner is None:
                    return None
                principal, material = Principal(owner, key.sid, key.key_type), "key:" + key.secret_hash
            else:
                return None
        if principal.account.status is AccountStatus.CLOSED:
            return None
        return principal, hashlib.sha256(material.encode()).hexdigest()

    async def visible_accounts(self, principal: Principal, limit: int) -> list[Account]:
        """The principal's own account and its subaccounts (for the account switcher)."""
        async with self._db.read() as conn:
            page = await self._accounts.page_visible_to(conn, principal.account.sid, limit, Cursor())
        return sorted(page.items, key=lambda a: (a.sid != principal.account.sid, a.friendly_name.lower(), a.sid))

    async def act_as(self, principal: Principal, account_sid: str) -> Account:
        """The account the session works in: its own, or one of its subaccounts (20003 otherwise)."""
        return await authorize(self._db, self._accounts, principal, account_sid)

    # --- messages -----------------------------------------------------------------------------

    async def messages(self, account: Account, f: MessageFilter, size: int, older_than: int | None = None
                       ) -> tuple[list[LogRow], bool]:
        async with self._db.read() as conn:
            rows, more = await self._repos.messages.search(conn, account.sid, f, size, older_than)
        return [LogRow(i, m) for i, m in rows], more

    async def newer_messages(self, account: Account, f: MessageFilter, after_id: int, limit: int
                             ) -> list[LogRow]:
        async with self._db.read() as conn:
            return [LogRow(i, m) for i, m in await self._repos.messages.newer(conn, account.sid, f, after_id, limit)]

    async def status_changes(self, account: Account, after_event_id: int, limit: int) -> list[StatusChange]:
        async with self._db.read() as conn:
            return await self._repos.messages.status_changes(conn, account.sid, after_event_id, limit)

    async def message_detail(self, account: Account, sid: str) -> MessageDetail:
        async with self._db.read() as conn:
            message = await self._repos.messages.get(conn, sid, account_sids=[account.sid]) if is_sid(sid) else None
            if message is None or message.concealed:
                raise not_found(f"The requested resource {sid} was not found")
            timeline = [TimelineEntry(str(e["status"]), e["error_code"], e["detail"], e["at"])
                        for e in await self._repos.messages.timeline(conn, sid)]
            attempts = await self._repos.attempts.for_resource(conn, account.sid, sid)
            alerts = await self._repos.alerts.for_resource(conn, account.sid, sid)
            parts = await self._repos.parts_of(conn, sid)
            media = await self._repos.media.for_message(conn, sid)
        return MessageDetail(message, timeline, attempts, alerts, parts, media)

    async def marks(self) -> Marks:
        async with self._db.read() as conn:
            return await self._repos.marks(conn)

    # --- dashboard ----------------------------------------------------------------------------

    async def volume(self, account: Account, bucket: timedelta, count: int) -> list[VolumeBucket]:
        """``count`` buckets of ``bucket`` each, ending with the current one."""
        now = self._clock.now()
        step = int(bucket.total_seconds())
        last_start = datetime.fromtimestamp(int(now.timestamp()) // step * step, tz=now.tzinfo)
        edges = [last_start - bucket * (count - 1 - i) for i in range(count)] + [last_start + bucket]
        async with self._db.read() as conn:
            counts = await self._repos.messages.volume(conn, account.sid, edges, CHART_SCAN_LIMIT)
        table = {i: [0, 0, 0, 0] for i in range(count)}
        for row in counts:
            if row.bucket not in table:
                continue
            cell = table[row.bucket]
            if row.direction == Direction.INBOUND.value:
                cell[1] += row.count
                continue
            cell[0] += row.count
            if row.status == MessageStatus.DELIVERED.value:
                cell[2] += row.count
            elif row.status in FINAL_FAILURES:
                cell[3] += row.count
        return [VolumeBucket(edges[i], *table[i]) for i in range(count)]

    async def queue_depths(self, account: Account, limit: int = 20) -> list[tuple[str, int]]:
        async with self._db.read() as conn:
            return await self._repos.messages.queue_depths_of(conn, account.sid, limit)

    async def recent_alerts(self, account: Account, size: int) -> list[Alert]:
        async with self._db.read() as conn:
            return (await self._repos.alerts.page_for(conn, account.sid, size, Cursor())).items

    # --- Verify -------------------------------------------------------------------------------

    async def verifications(self, account: Account, service_sid: str, size: int, cursor: Cursor
                            ) -> Page[VerificationSummary]:
        now = self._clock.now()
        async with self._db.read() as conn:
            page = await self._repos.verifications.page_for_service(conn, account.sid, service_sid, size, cursor)
        items = [VerificationSummary(v.sid, v.to_addr, v.channel, v.status_at(now), v.check_attempts,
                                     v.date_created, v.expires_at) for v in page.items]
        return Page(items, page.next_token, page.previous_token)

    # --- the dev phone ------------------------------------------------------------------------

    async def conversation(self, account: Account, number: str, handset: str, limit: int) -> list[ChatItem]:
        """The latest of what the handset sent to the number and received from it, oldest first."""
        async with self._db.read() as conn:
            sent = await self._repos.messages.sent_by_handset(conn, account.sid, handset, number, 0, limit, True)
            got = await self._repos.handsets.received(conn, account.sid, handset, number, 0, limit, True)
        items = _chat(sent, got)
        return items[-limit:]

    async def conversation_since(self, account: Account, number: str, handset: str, after: Marks, limit: int
                                 ) -> list[ChatItem]:
        async with self._db.read() as conn:
            sent = await self._repos.messages.sent_by_handset(conn, account.sid, handset, number, after.messages,
                                                              limit)
            got = await self._repos.handsets.received(conn, account.sid, handset, number, after.handset, limit)
        return _chat(sent, got)


def _chat(sent: list[tuple[int, Message]], got: list[tuple[int, HandsetMessage]]) -> list[ChatItem]:
    items = [ChatItem(m.sid, True, m.body, m.status.value, m.date_created, i) for i, m in sent]
    for i, h in got:
        items.append(ChatItem(h.message_sid, False, h.body, h.status, h.date_sent, i))
    items.sort(key=lambda item: (item.at, item.row_id))
    return items


class ChangeFeed:
    """Notices that rows were added anywhere (messages, status steps, handset deliveries).

    One query of the newest row ids every ``interval`` seconds, shared by every open live view
    of this process and run only while one is open; each view then reads its own account's rows
    past its cursor. The rows are the database's, so this works across processes and restarts,
    and a view that reconnects resumes from its cursor (SSE ``Last-Event-ID``).
    """

    def __init__(self, insight: InsightService, interval: float = FEED_INTERVAL,
                 max_streams: int = MAX_STREAMS) -> None:
        self._insight = insight
        self._interval = interval
        self._max = max_streams
        self._subscribers = 0
        self._task: asyncio.Task[None] | None = None
        self._marks: Marks | None = None
        self._changed = asyncio.Event()

    @property
    def open_streams(self) -> int:
        return self._subscribers

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[bool]:
        """Yields False when ``max_streams`` views are already open (the caller should refuse)."""
        if self._subscribers >= self._max:
            yield False
            return
        self._subscribers += 1
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="console-change-feed")
        try:
            yield True
        finally:
            self._subscribers -= 1

    def signal(self) -> asyncio.Event:
        """Set at the next change; take it *before* reading, then wait on it (no lost wake-ups)."""
        return self._changed

    async def _run(self) -> None:
        try:
            while self._subscribers:
                marks: Marks | None
                try:
                    marks = await self._insight.marks()
                except Exception:  # the database is briefly unavailable: keep the views open
                    log.warning("console change feed: reading the newest ids failed", exc_info=True)
                    marks = self._marks
                if marks != self._marks:
                    self._marks = marks
                    changed, self._changed = self._changed, asyncio.Event()
                    changed.set()
                await asyncio.sleep(self._interval)
        finally:
            self._task = None
