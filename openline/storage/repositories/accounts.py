from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import ClassVar

from sqlalchemy import bindparam, or_, select

from openline.core.entities import Account, AccountStatus, ApiKey, KeyType
from openline.storage import schema
from openline.storage.database import Conn
from openline.storage.fastpath import Prepared
from openline.storage.paging import Cursor, Page
from openline.storage.repositories.base import TableRepository

_STATUS_OF = Prepared(select(schema.accounts.c.status).where(schema.accounts.c.sid == bindparam("p_sid")))


class AccountRepository(TableRepository[Account]):
    table = schema.accounts
    entity = Account
    enums: ClassVar[Mapping[str, type[Enum]]] = {"status": AccountStatus}

    async def status_of(self, conn: Conn, sid: str) -> AccountStatus | None:
        """Only the status (what dispatch checks per message), not the whole row."""
        row = (await conn.execute(_STATUS_OF, {"p_sid": sid})).first()
        return AccountStatus(row.status) if row is not None else None

    async def page_visible_to(
        self, conn: Conn, account_sid: str, size: int, cursor: Cursor,
        friendly_name: str | None = None, status: AccountStatus | None = None,
    ) -> Page[Account]:
        """The account itself and the subaccounts it owns."""
        c = self.table.c
        where = [or_(c.sid == account_sid, c.owner_account_sid == account_sid)]
        if friendly_name is not None:
            where.append(c.friendly_name == friendly_name)
        if status is not None:
            where.append(c.status == status.value)
        return await self.page(conn, where, size, cursor)

    async def any_exists(self, conn: Conn) -> bool:
        return (await conn.execute(select(self.table.c.id).limit(1))).first() is not None

    async def all(self, conn: Conn) -> list[Account]:
        rows = (await conn.execute(select(self.table).order_by(self.table.c.id))).all()
        return [self._entity(row) for row in rows]


class ApiKeyRepository(TableRepository[ApiKey]):
    table = schema.api_keys
    entity = ApiKey
    enums: ClassVar[Mapping[str, type[Enum]]] = {"key_type": KeyType}

    async def page_for(self, conn: Conn, account_sid: str, size: int, cursor: Cursor) -> Page[ApiKey]:
        return await self.page(conn, [self.table.c.account_sid == account_sid], size, cursor)
