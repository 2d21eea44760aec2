"""Repositories for email: API keys, mail (requests, built messages, sandbox mailboxes, batches),
templates, suppressions and groups, settings, DKIM domains. Rows come back as plain dicts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update

from openline.storage import schema_email as t
from openline.storage.database import Conn

Row = dict[str, Any]


def _rows(result: Any) -> list[Row]:
    return [dict(row._mapping) for row in result]


def _first(result: Any) -> Row | None:
    row = result.first()
    return dict(row._mapping) if row else None


class EmailKeyRepository:
    async def insert(self, conn: Conn, values: Row) -> None:
        await conn.execute(insert(t.email_api_keys), values)

    async def get(self, conn: Conn, key_id: str) -> Row | None:
        return _first(await conn.execute(select(t.email_api_keys).where(t.email_api_keys.c.key_id == key_id)))

    async def for_account(self, conn: Conn, account_sid: str, limit: int) -> list[Row]:
        c = t.email_api_keys.c
        return _rows(await conn.execute(select(t.email_api_keys).where(c.account_sid == account_sid)
                                        .order_by(c.id).limit(limit)))

    async def change(self, conn: Conn, key_id: str, values: Row) -> None:
        await conn.execute(update(t.email_api_keys).where(t.email_api_keys.c.key_id == key_id).values(**values))

    async def delete(self, conn: Conn, key_id: str) -> bool:
        result = await conn.execute(delete(t.email_api_keys).where(t.email_api_keys.c.key_id == key_id))
        return bool(result.rowcount)


class MailRepository:
    async def add_request(self, conn: Conn, values: Row) -> int:
        result = await conn.execute(insert(t.email_requests).returning(t.email_requests.c.id), values)
        return int(result.scalar_one())

    async def request(self, conn: Conn, request_id: int) -> Row | None:
        return _first(await conn.execute(select(t.email_requests).where(t.email_requests.c.id == request_id)))

    async def set_request_state(self, conn: Conn, request_id: int, state: str) -> None:
        await conn.execute(update(t.email_requests).where(t.email_requests.c.id == request_id).values(state=state))

    async def add_messages(self, conn: Conn, rows: Sequence[Row]) -> None:
        if rows:
            await conn.execute(insert(t.email_messages), list(rows))

    async def for_delivery(self, conn: Conn, sg_ids: Iterable[str]) -> list[Row]:
        """What a delivery job needs of each message, and no more (no dates to convert per row)."""
        c = t.email_messages.c
        return _rows(await conn.execute(select(c.sg_message_id, c.account_sid, c.from_addr, c.recipients, c.raw, c.meta)
                                        .where(c.sg_message_id.in_(list(sg_ids)))))

    async def message(self, conn: Conn, sg_message_id: str) -> Row | None:
        c = t.email_messages.c
        return _first(await conn.execute(select(t.email_messages).where(c.sg_message_id == sg_message_id)))

    async def set_message_state(self, conn: Conn, sg_ids: Sequence[str], state: str, detail: str | None,
                                now: datetime) -> None:
        c = t.email_messages.c
        await conn.execute(update(t.email_messages).where(c.sg_message_id.in_(list(sg_ids)))
                           .values(state=state, detail=detail, date_updated=now))

    async def deliver_to_mailboxes(self, conn: Conn, rows: Sequence[Row]) -> None:
        if rows:
            await conn.execute(insert(t.email_mailbox), list(rows))

    async def mailbox(self, conn: Conn, address: str, accounts: Sequence[str], limit: int, offset: int
                      ) -> list[Row]:
        c = t.email_mailbox.c
        return _rows(await conn.execute(select(t.email_mailbox).where(
            c.address == address, c.account_sid.in_(list(accounts))).order_by(c.id.desc()).limit(limit)
            .offset(offset)))

    async def mailbox_message(self, conn: Conn, address: str, accounts: Sequence[str], item_id: int
                              ) -> Row | None:
        c = t.email_mailbox.c
        return _first(await conn.execute(select(t.email_mailbox).where(
            c.id == item_id, c.address == address, c.account_sid.in_(list(accounts)))))

    async def recent_mail(self, conn: Conn, accounts: Sequence[str], limit: int) -> list[Row]:
        c = t.email_mailbox.c
        return _rows(await conn.execute(select(t.email_mailbox).where(c.account_sid.in_(list(accounts)))
                                        .order_by(c.id.desc()).limit(limit)))

    async def mailbox_by_id(self, conn: Conn, accounts: Sequence[str], item_id: int) -> Row | None:
        c = t.email_mailbox.c
        return _first(await conn.execute(select(t.email_mailbox).where(
            c.id == item_id, c.account_sid.in_(list(accounts)))))

    # Scheduled batches.
    async def add_batch(self, conn: Conn, batch_id: str, account_sid: str, now: datetime) -> None:
        await conn.execute(insert(t.email_batches), {"batch_id": batch_id, "account_sid": account_sid,
                                                     "status": None, "date_created": now})

    async def batch(self, conn: Conn, batch_id: str, account_sid: str) -> Row | None:
        c = t.email_batches.c
        return _first(await conn.execute(select(t.email_batches).where(
            c.batch_id == batch_id, c.account_sid == account_sid)))

    async def set_batch_status(self, conn: Conn, batch_id: str, status: str | None) -> None:
        await conn.execute(update(t.email_batches).where(t.email_batches.c.batch_id == batch_id)
                           .values(status=status))

    async def batches_with_status(self, conn: Conn, account_sid: str) -> list[Row]:
        c = t.email_batches.c
        return _rows(await conn.execute(select(t.email_batches).where(
            c.account_sid == account_sid, c.status.is_not(None)).order_by(c.id)))


class TemplateRepository:
    async def add(self, conn: Conn, values: Row) -> None:
        await conn.execute(insert(t.email_templates), values)

    async def get(self, conn: Conn, template_id: str, account_sid: str) -> Row | None:
        c = t.email_templates.c
        return _first(await conn.execute(select(t.email_templates).where(
            c.template_id == template_id, c.account_sid == account_sid)))

    async def page(self, conn: Conn, account_sid: str, generations: Sequence[str], limit: int,
                   after_id: int | None) -> list[Row]:
        c = t.email_templates.c
        query = select(t.email_templates).where(c.account_sid == account_sid, c.generation.in_(list(generations)))
        if after_id is not None:
            query = query.where(c.id > after_id)
        return _rows(await conn.execute(query.order_by(c.id).limit(limit)))

    async def change(self, conn: Conn, template_id: str, values: Row) -> None:
        await conn.execute(update(t.email_templates).where(t.email_templates.c.template_id == template_id)
                           .values(**values))

    async def delete(self, conn: Conn, template_id: str) -> None:
        v = t.email_template_versions.c
        await conn.execute(delete(t.email_template_versions).where(v.template_id == template_id))
        await conn.execute(delete(t.email_templates).where(t.email_templates.c.template_id == template_id))

    async def versions(self, conn: Conn, template_id: str) -> list[Row]:
        v = t.email_template_versions.c
        return _rows(await conn.execute(select(t.email_template_versions).where(v.template_id == template_id)
                                        .order_by(v.id)))

    async def version(self, conn: Conn, template_id: str, version_id: str) -> Row | None:
        v = t.email_template_versions.c
        return _first(await conn.execute(select(t.email_template_versions).where(
            v.template_id == template_id, v.version_id == version_id)))

    async def active_version(self, conn: Conn, template_id: str) -> Row | None:
        v = t.email_template_versions.c
        return _first(await conn.execute(select(t.email_template_versions).where(
            v.template_id == template_id, v.active.is_(True)).limit(1)))

    async def add_version(self, conn: Conn, values: Row) -> None:
        await conn.execute(insert(t.email_template_versions), values)

    async def change_version(self, conn: Conn, version_id: str, values: Row) -> None:
        v = t.email_template_versions.c
        await conn.execute(update(t.email_template_versions).where(v.version_id == version_id).values(**values))

    async def deactivate_all(self, conn: Conn, template_id: str) -> None:
        v = t.email_template_versions.c
        await conn.execute(update(t.email_template_versions).where(v.template_id == template_id)
                           .values(active=False))

    async def delete_version(self, conn: Conn, version_id: str) -> None:
        v = t.email_template_versions.c
        await conn.execute(delete(t.email_template_versions).where(v.version_id == version_id))


class SuppressionRepository:
    async def add(self, conn: Conn, account_sid: str, kind: str, group_id: int, email: str, reason: str,
                  status: str, created: int) -> bool:
        """Insert unless present; True when the row is new."""
        c = t.email_suppressions.c
        existing = (await conn.execute(select(c.id).where(
            c.account_sid == account_sid, c.kind == kind, c.group_id == group_id, c.email == email))).first()
        if existing:
            return False
        await conn.execute(insert(t.email_suppressions), {
            "account_sid": account_sid, "kind": kind, "group_id": group_id, "email": email, "reason": reason,
            "status": status, "created": created})
        return True

    async def entries(self, conn: Conn, account_sid: str, kind: str, group_id: int, limit: int, offset: int,
                   email: str | None = None, start: int | None = None, end: int | None = None) -> list[Row]:
        c = t.email_suppressions.c
        query = select(t.email_suppressions).where(c.account_sid == account_sid, c.kind == kind,
                                                   c.group_id == group_id)
        if email is not None:
            query = query.where(c.email == email)
        if start is not None:
            query = query.where(c.created >= start)
        if end is not None:
            query = query.where(c.created <= end)
        return _rows(await conn.execute(query.order_by(c.id).limit(limit).offset(offset)))

    async def remove(self, conn: Conn, account_sid: str, kind: str, group_id: int,
                     emails: Sequence[str] | None) -> int:
        c = t.email_suppressions.c
        stmt = delete(t.email_suppressions).where(c.account_sid == account_sid, c.kind == kind,
                                                  c.group_id == group_id)
        if emails is not None:
            stmt = stmt.where(c.email.in_(list(emails)))
        return int((await conn.execute(stmt)).rowcount or 0)

    async def matching(self, conn: Conn, account_sid: str, emails: Sequence[str], group_id: int | None
                       ) -> dict[str, str]:
        """Suppressed addresses among ``emails`` → the list that suppresses them (first found)."""
        if not emails:
            return {}
        c = t.email_suppressions.c
        scope = c.group_id == 0
        if group_id is not None:
            scope = or_(scope, and_(c.kind == "group", c.group_id == group_id))
        rows = await conn.execute(select(c.email, c.kind).where(
            c.account_sid == account_sid, c.email.in_(list(set(emails))), scope).order_by(c.id))
        found: dict[str, str] = {}
        table: list[Any] = list(rows)
        for row in table:
            found.setdefault(str(row[0]), str(row[1]))
        return found

    async def group_counts(self, conn: Conn, account_sid: str) -> dict[int, int]:
        c = t.email_suppressions.c
        rows = await conn.execute(select(c.group_id, func.count()).where(
            c.account_sid == account_sid, c.kind == "group").group_by(c.group_id))
        table: list[Any] = list(rows)
        return {int(row[0]): int(row[1]) for row in table}

    # Unsubscribe groups.
    async def add_group(self, conn: Conn, values: Row) -> int:
        result = await conn.execute(insert(t.email_asm_groups).returning(t.email_asm_groups.c.id), values)
        return int(result.scalar_one())

    async def group(self, conn: Conn, account_sid: str, group_id: int) -> Row | None:
        c = t.email_asm_groups.c
        return _first(await conn.execute(select(t.email_asm_groups).where(
            c.id == group_id, c.account_sid == account_sid)))

    async def groups(self, conn: Conn, account_sid: str) -> list[Row]:
        c = t.email_asm_groups.c
        return _rows(await conn.execute(select(t.email_asm_groups).where(c.account_sid == account_sid)
                                        .order_by(c.id)))

    async def change_group(self, conn: Conn, group_id: int, values: Row) -> None:
        await conn.execute(update(t.email_asm_groups).where(t.email_asm_groups.c.id == group_id).values(**values))

    async def delete_group(self, conn: Conn, account_sid: str, group_id: int) -> None:
        await self.remove(conn, account_sid, "group", group_id, None)
        await conn.execute(delete(t.email_asm_groups).where(t.email_asm_groups.c.id == group_id))


class EmailSettingsRepository:
    async def get(self, conn: Conn, account_sid: str, name: str) -> str | None:
        c = t.email_settings.c
        value = (await conn.execute(select(c.value).where(c.account_sid == account_sid, c.name == name))).scalar()
        return str(value) if value is not None else None

    async def put(self, conn: Conn, account_sid: str, name: str, value: str) -> None:
        c = t.email_settings.c
        result = await conn.execute(update(t.email_settings).where(c.account_sid == account_sid, c.name == name)
                                    .values(value=value))
        if not result.rowcount:
            await conn.execute(insert(t.email_settings), {"account_sid": account_sid, "name": name, "value": value})

    async def remove(self, conn: Conn, account_sid: str, name: str) -> bool:
        c = t.email_settings.c
        result = await conn.execute(delete(t.email_settings).where(c.account_sid == account_sid, c.name == name))
        return bool(result.rowcount)

    async def with_prefix(self, conn: Conn, account_sid: str | None, prefix: str) -> list[Row]:
        c = t.email_settings.c
        query = select(t.email_settings).where(c.name.startswith(prefix))
        if account_sid is not None:
            query = query.where(c.account_sid == account_sid)
        return _rows(await conn.execute(query.order_by(c.id)))


class DomainRepository:
    async def add(self, conn: Conn, values: Row) -> None:
        await conn.execute(insert(t.email_domains), values)

    async def get(self, conn: Conn, domain: str) -> Row | None:
        return _first(await conn.execute(select(t.email_domains).where(t.email_domains.c.domain == domain)))

    async def all(self, conn: Conn) -> list[Row]:
        return _rows(await conn.execute(select(t.email_domains).order_by(t.email_domains.c.id)))

    async def remove(self, conn: Conn, domain: str) -> bool:
        result = await conn.execute(delete(t.email_domains).where(t.email_domains.c.domain == domain))
        return bool(result.rowcount)
