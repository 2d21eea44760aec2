"""Carrier-side records: message parts and their receipts, unmatched receipts, inbound parts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update

from openline.storage import schema
from openline.storage.database import Conn
from openline.storage.fastpath import Prepared

parts = schema.message_parts
unmatched = schema.unmatched_receipts
inbound = schema.inbound_parts


@dataclass(frozen=True, slots=True)
class MessagePart:
    message_sid: str
    part_index: int
    part_count: int
    carrier: str
    carrier_message_id: str
    id_key: str
    state: str  # submitted | delivered | undelivered | enroute | accepted
    error_code: int | None
    submitted_at: datetime
    receipt_at: datetime | None


def _part(row: Any) -> MessagePart:
    return MessagePart(row.message_sid, row.part_index, row.part_count, row.carrier, row.carrier_message_id,
                       row.id_key, row.state, row.error_code, row.submitted_at, row.receipt_at)


@dataclass(frozen=True, slots=True)
class UnmatchedReceipt:
    id: int
    carrier: str
    id_key: str
    receipt_id: str
    state: str
    error: str | None
    raw: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class InboundPart:
    part_index: int
    part_count: int
    from_addr: str
    to_addr: str
    text: str
    received_at: datetime


_INSERT_PART = Prepared(insert(parts))
_PARTS_OF = Prepared(select(parts).where(parts.c.message_sid == bindparam("p_sid")).order_by(parts.c.part_index))
_PART_BY_KEY = select(parts).where(parts.c.carrier == bindparam("p_carrier"),
                                   parts.c.id_key.in_(bindparam("p_keys", expanding=True)))
_ANY_UNMATCHED = Prepared(select(unmatched.c.id).where(unmatched.c.carrier == bindparam("p_carrier")).limit(1))
_UNMATCHED = (select(unmatched)
              .where(unmatched.c.carrier == bindparam("p_carrier"),
                     unmatched.c.id_key.in_(bindparam("p_keys", expanding=True)))
              .order_by(unmatched.c.id))
_SET_PART = Prepared(update(parts).where(parts.c.message_sid == bindparam("p_sid"),
                                         parts.c.part_index == bindparam("p_index")))


class CarrierRecords:
    async def add_part(self, conn: Conn, part: MessagePart) -> None:
        await conn.execute(_INSERT_PART, {
            "message_sid": part.message_sid, "part_index": part.part_index, "part_count": part.part_count,
            "carrier": part.carrier, "carrier_message_id": part.carrier_message_id, "id_key": part.id_key,
            "state": part.state, "error_code": part.error_code, "submitted_at": part.submitted_at,
            "receipt_at": part.receipt_at})

    async def parts_of(self, conn: Conn, message_sid: str) -> list[MessagePart]:
        return [_part(row) for row in await conn.execute(_PARTS_OF, {"p_sid": message_sid})]

    async def part_by_keys(self, conn: Conn, carrier: str, keys: Sequence[str]) -> MessagePart | None:
        """The part whose carrier id matches the first of ``keys`` that matches any (keys in preference order)."""
        rows = [_part(row) for row in await conn.execute(_PART_BY_KEY, {"p_carrier": carrier, "p_keys": list(keys)})]
        for key in keys:
            for row in rows:
                if row.id_key == key:
                    return row
        return None

    async def set_part_state(self, conn: Conn, part: MessagePart, state: str, error_code: int | None,
                             at: datetime) -> None:
        await conn.execute(_SET_PART, {"p_sid": part.message_sid, "p_index": part.part_index, "state": state,
                                       "error_code": error_code, "receipt_at": at})

    # --- receipts that matched no part (yet) -------------------------------------------------

    async def keep_unmatched(self, conn: Conn, carrier: str, id_key: str, receipt_id: str, state: str,
                             error: str | None, raw: str, at: datetime) -> None:
        await conn.execute(insert(unmatched), {"carrier": carrier, "id_key": id_key, "receipt_id": receipt_id,
                                               "state": state, "error": error, "raw": raw, "received_at": at})

    async def take_unmatched(self, conn: Conn, carrier: str, keys: Sequence[str]) -> list[UnmatchedReceipt]:
        # Almost always there are none: an indexed existence check first, the IN query only then.
        if (await conn.execute(_ANY_UNMATCHED, {"p_carrier": carrier})).first() is None:
            return []
        rows = list(await conn.execute(_UNMATCHED, {"p_carrier": carrier, "p_keys": list(keys)}))
        if rows:
            await conn.execute(delete(unmatched).where(unmatched.c.id.in_([r.id for r in rows])))
        return [UnmatchedReceipt(r.id, r.carrier, r.id_key, r.receipt_id, r.state, r.error, r.raw, r.received_at)
                for r in rows]

    async def unmatched_counts(self, conn: Conn) -> dict[str, int]:
        rows: list[Any] = list(await conn.execute(
            select(unmatched.c.carrier, func.count()).group_by(unmatched.c.carrier)))
        return {str(carrier): int(count) for carrier, count in rows}

    # --- inbound concatenated parts ----------------------------------------------------------

    async def add_inbound_part(self, conn: Conn, carrier: str, group_key: str, part: InboundPart) -> None:
        existing = (await conn.execute(select(inbound.c.id).where(
            inbound.c.carrier == carrier, inbound.c.group_key == group_key,
            inbound.c.part_index == part.part_index))).first()
        if existing is not None:
            return  # the SMSC repeated a part we already hold
        await conn.execute(insert(inbound), {
            "carrier": carrier, "group_key": group_key, "part_index": part.part_index,
            "part_count": part.part_count, "from_addr": part.from_addr, "to_addr": part.to_addr,
            "text": part.text, "received_at": part.received_at})

    async def inbound_group(self, conn: Conn, carrier: str, group_key: str) -> list[InboundPart]:
        rows = await conn.execute(select(inbound).where(inbound.c.carrier == carrier,
                                                        inbound.c.group_key == group_key)
                                  .order_by(inbound.c.part_index))
        return [InboundPart(r.part_index, r.part_count, r.from_addr, r.to_addr, r.text, r.received_at)
                for r in rows]

    async def drop_inbound_group(self, conn: Conn, carrier: str, group_key: str) -> None:
        await conn.execute(delete(inbound).where(inbound.c.carrier == carrier, inbound.c.group_key == group_key))

    async def stale_inbound_groups(self, conn: Conn, older_than: datetime) -> list[tuple[str, str]]:
        rows: list[Any] = list(await conn.execute(
            select(inbound.c.carrier, inbound.c.group_key).where(inbound.c.received_at < older_than)
            .group_by(inbound.c.carrier, inbound.c.group_key)))
        return [(str(c), str(g)) for c, g in rows]
