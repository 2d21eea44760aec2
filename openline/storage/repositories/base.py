"""One generic table-backed repository; each aggregate's repository narrows it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from enum import Enum
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import ColumnElement, Table, bindparam, delete, func, insert, select, update

from openline.storage.database import Conn
from openline.storage.fastpath import Prepared
from openline.storage.paging import Cursor, Page, after_token, before_token

E = TypeVar("E")


def _to_db(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


class TableRepository(Generic[E]):
    table: ClassVar[Table]
    entity: ClassVar[type[Any]]
    enums: ClassVar[Mapping[str, type[Enum]]] = {}

    def __init__(self) -> None:
        self._fields = [f.name for f in dataclasses.fields(self.entity)]
        # Statements are built once and take their values as parameters: SQLAlchemy then
        # reuses the compiled form instead of walking literal values on every call.
        c = self.table.c
        self._insert = Prepared(insert(self.table))
        self._by_sid = Prepared(select(self.table).where(c.sid == bindparam("p_sid")))
        if "account_sid" in c:
            # One account is the common case: an equality the fast lane can run, unlike IN.
            self._by_sid_one = Prepared(select(self.table).where(
                c.sid == bindparam("p_sid"), c.account_sid == bindparam("p_account")))
            self._by_sid_in = Prepared(select(self.table).where(
                c.sid == bindparam("p_sid"), c.account_sid.in_(bindparam("p_accounts", expanding=True))))
        self._update = Prepared(update(self.table).where(c.sid == bindparam("p_sid")))
        self._delete = Prepared(delete(self.table).where(c.sid == bindparam("p_sid")))

    def _entity(self, row: Any) -> E:
        data = row._mapping
        values = {name: data[name] for name in self._fields}
        for name, enum in self.enums.items():
            values[name] = enum(values[name])
        return self.entity(**values)  # type: ignore[no-any-return]

    async def insert(self, conn: Conn, item: E) -> E:
        values = {name: _to_db(getattr(item, name)) for name in self._fields}
        await conn.execute(self._insert, values)
        return item

    async def get(self, conn: Conn, sid: str, *, account_sids: Iterable[str] | None = None) -> E | None:
        if account_sids is None:
            row = (await conn.execute(self._by_sid, {"p_sid": sid})).first()
        else:
            accounts = list(account_sids)
            if len(accounts) == 1:
                row = (await conn.execute(self._by_sid_one, {"p_sid": sid, "p_account": accounts[0]})).first()
            else:
                row = (await conn.execute(self._by_sid_in, {"p_sid": sid, "p_accounts": accounts})).first()
        return self._entity(row) if row else None

    async def find(self, conn: Conn, *where: ColumnElement[bool]) -> E | None:
        row = (await conn.execute(select(self.table).where(*where).limit(1))).first()
        return self._entity(row) if row else None

    async def update(self, conn: Conn, sid: str, values: Mapping[str, Any]) -> E | None:
        if values:
            await self.change(conn, sid, values)
        return await self.get(conn, sid)

    async def change(self, conn: Conn, sid: str, values: Mapping[str, Any]) -> None:
        """UPDATE the row's columns named in ``values`` (no read back)."""
        await conn.execute(self._update, {"p_sid": sid, **{key: _to_db(value) for key, value in values.items()}})

    async def delete(self, conn: Conn, sid: str) -> bool:
        result = await conn.execute(self._delete, {"p_sid": sid})
        return bool(result.rowcount)

    async def count(self, conn: Conn, *where: ColumnElement[bool]) -> int:
        value = (await conn.execute(select(func.count()).select_from(self.table).where(*where))).scalar_one()
        return int(value)

    async def page(
        self, conn: Conn, where: Sequence[ColumnElement[bool]], size: int, cursor: Cursor
    ) -> Page[E]:
        """Newest first. Fetches one extra row to know whether another page follows."""
        row_id = self.table.c.id
        query = select(self.table).where(*where)
        if cursor.before_id is not None:
            rows = list((await conn.execute(
                query.where(row_id > cursor.before_id).order_by(row_id.asc()).limit(size + 1))).all())
            has_more_newer = len(rows) > size
            rows = rows[:size][::-1]
            has_more_older = True
        else:
            if cursor.after_id is not None:
                query = query.where(row_id < cursor.after_id)
            rows = list((await conn.execute(query.order_by(row_id.desc()).limit(size + 1))).all())
            has_more_older = len(rows) > size
            rows = rows[:size]
            has_more_newer = cursor.after_id is not None
        items = [self._entity(row) for row in rows]
        next_token = after_token(rows[-1].id) if rows and has_more_older else None
        previous_token = before_token(rows[0].id) if rows and has_more_newer else None
        return Page(items, next_token, previous_token)
