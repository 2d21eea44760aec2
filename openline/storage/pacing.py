"""Per-sender pacing in the database: one row per paced sender (the moment its next message may
go, and how far slots are promised) and a ticket per queued message holding its promised slot.
Every worker process reserves from the same row (locked for the reservation), so N workers
together never send faster than the sender's rate."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from openline.storage import schema
from openline.storage.database import Conn

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
table = schema.sender_pacing
tickets = schema.pacing_tickets


class SenderPacing:
    async def cursors(self, conn: Conn, sender: str) -> tuple[datetime, datetime]:
        """(next_at, promised_at) of the sender's row, locked until the transaction ends."""
        make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        await conn.execute(make(table).values(sender=sender, next_at=_EPOCH, promised_at=_EPOCH)
                           .on_conflict_do_nothing(index_elements=["sender"]))
        row = (await conn.execute(select(table.c.next_at, table.c.promised_at).where(table.c.sender == sender)
                                  .with_for_update())).first()
        return (row.next_at, row.promised_at) if row else (_EPOCH, _EPOCH)

    async def set_cursors(self, conn: Conn, sender: str, next_at: datetime, promised_at: datetime) -> None:
        await conn.execute(update(table).where(table.c.sender == sender).values(
            next_at=next_at, promised_at=promised_at))

    async def ticket(self, conn: Conn, message_sid: str) -> datetime | None:
        return (await conn.execute(select(tickets.c.slot_at).where(tickets.c.message_sid == message_sid))).scalar()

    async def give_ticket(self, conn: Conn, message_sid: str, slot_at: datetime) -> None:
        await conn.execute(delete(tickets).where(tickets.c.message_sid == message_sid))
        await conn.execute(insert(tickets).values(message_sid=message_sid, slot_at=slot_at))

    async def use_ticket(self, conn: Conn, message_sid: str) -> None:
        await conn.execute(delete(tickets).where(tickets.c.message_sid == message_sid))

    async def all(self, conn: Conn) -> dict[str, datetime]:
        return {row.sender: row.next_at for row in await conn.execute(select(table))}
