from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import ClassVar

from sqlalchemy import ColumnElement, bindparam, select

from openline.core.entities import Application, IncomingPhoneNumber, NumberType
from openline.storage import schema
from openline.storage.database import Conn
from openline.storage.fastpath import Prepared
from openline.storage.paging import Cursor, Page
from openline.storage.repositories.base import TableRepository


class ApplicationRepository(TableRepository[Application]):
    table = schema.applications
    entity = Application

    async def page_for(
        self, conn: Conn, account_sid: str, size: int, cursor: Cursor, friendly_name: str | None = None
    ) -> Page[Application]:
        c = self.table.c
        where: list[ColumnElement[bool]] = [c.account_sid == account_sid]
        if friendly_name is not None:
            where.append(c.friendly_name == friendly_name)
        return await self.page(conn, where, size, cursor)


_BY_NUMBER = Prepared(select(schema.incoming_phone_numbers).where(
    schema.incoming_phone_numbers.c.phone_number == bindparam("p_number")))
# Sending checks only who owns a number and whether it takes SMS: two columns, not the whole row.
_SENDER_OF = Prepared(select(schema.incoming_phone_numbers.c.account_sid, schema.incoming_phone_numbers.c.sms_capable)
                      .where(schema.incoming_phone_numbers.c.phone_number == bindparam("p_number")))


class IncomingPhoneNumberRepository(TableRepository[IncomingPhoneNumber]):
    table = schema.incoming_phone_numbers
    entity = IncomingPhoneNumber
    enums: ClassVar[Mapping[str, type[Enum]]] = {"number_type": NumberType}

    async def sms_sender_of(self, conn: Conn, phone_number: str) -> str | None:
        """The account that owns ``phone_number`` if the number takes SMS, else None."""
        row = (await conn.execute(_SENDER_OF, {"p_number": phone_number})).first()
        return str(row.account_sid) if row is not None and row.sms_capable else None

    async def by_number(self, conn: Conn, phone_number: str) -> IncomingPhoneNumber | None:
        row = (await conn.execute(_BY_NUMBER, {"p_number": phone_number})).first()
        return self._entity(row) if row else None

    async def taken_among(self, conn: Conn, candidates: list[str]) -> set[str]:
        if not candidates:
            return set()
        column = self.table.c.phone_number
        rows = await conn.execute(select(column).where(column.in_(candidates)))
        return {row[0] for row in rows}

    async def page_for(
        self, conn: Conn, account_sid: str, size: int, cursor: Cursor, *,
        friendly_name: str | None = None, phone_number: str | None = None,
        number_type: NumberType | None = None, origin: str | None = None,
    ) -> Page[IncomingPhoneNumber]:
        c = self.table.c
        where: list[ColumnElement[bool]] = [c.account_sid == account_sid]
        if friendly_name is not None:
            where.append(c.friendly_name == friendly_name)
        if phone_number is not None:
            # Twilio matches a partial number ("555") anywhere in the E.164 form.
            where.append(c.phone_number.contains(phone_number, autoescape=True))
        if number_type is not None:
            where.append(c.number_type == number_type.value)
        if origin is not None:
            where.append(c.origin == origin)
        return await self.page(conn, where, size, cursor)
