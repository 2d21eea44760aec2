"""SIP registrar bindings (RFC 3261 §10.3): one row per (username, contact URI)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from openline.storage import schema
from openline.storage.database import Conn

__all__ = ["Binding", "SipRegistrationRepository"]

table = schema.sip_registrations


@dataclass(frozen=True, slots=True)
class Binding:
    username: str
    contact: str  # the Contact URI as the device registered it
    source_host: str  # where the REGISTER came from: requests go there (devices behind NAT)
    source_port: int
    transport: str  # UDP | TCP
    call_id: str
    cseq: int
    expires_at: datetime


def _binding(row: Any) -> Binding:
    return Binding(row.username, row.contact, row.source_host, row.source_port, row.transport, row.call_id,
                   row.cseq, row.expires_at)


class SipRegistrationRepository:
    async def for_user(self, conn: Conn, username: str) -> list[Binding]:
        rows = await conn.execute(select(table).where(table.c.username == username).order_by(table.c.id))
        return [_binding(row) for row in rows]

    async def put(self, conn: Conn, binding: Binding, now: datetime) -> None:
        values = {"username": binding.username, "contact": binding.contact, "source_host": binding.source_host,
                  "source_port": binding.source_port, "transport": binding.transport,
                  "call_id": binding.call_id, "cseq": binding.cseq, "expires_at": binding.expires_at,
                  "date_updated": now}
        make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        statement = make(table).values(**values)
        await conn.execute(statement.on_conflict_do_update(
            index_elements=["username", "contact"],
            set_={k: v for k, v in values.items() if k not in ("username", "contact")}))

    async def remove(self, conn: Conn, username: str, contact: str) -> None:
        await conn.execute(delete(table).where(table.c.username == username, table.c.contact == contact))

    async def remove_all(self, conn: Conn, username: str) -> None:
        await conn.execute(delete(table).where(table.c.username == username))

    async def purge_expired(self, conn: Conn, now: datetime) -> int:
        result = await conn.execute(delete(table).where(table.c.expires_at <= now))
        return int(result.rowcount or 0)
