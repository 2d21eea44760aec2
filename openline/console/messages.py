"""The messages log (filters, live rows over SSE) and a message's detail page."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlencode

from starlette.responses import Response
from starlette.routing import Route

from openline.console.streams import sse, stream
from openline.console.web import Console, Ctx, guard
from openline.core.channels import parse_address
from openline.core.lifecycle import Direction, MessageStatus
from openline.services.insight import MessageFilter

PAGE_SIZE = 50
STREAM_BATCH = 100  # rows (or status steps) one wake-up sends at most; the rest follow at once
LOOKBACK = 64  # ids re-read behind the cursor: PostgreSQL may commit a smaller id after a larger one
MAX_ADDRESS = 64
_CURSOR = re.compile(r"^m(\d{1,18})e(\d{1,18})$")
FILTER_NAMES = ("to", "from", "status", "direction", "date_from", "date_to")


def _address(raw: str) -> str | None:
    if not raw:
        return None
    parsed = parse_address(raw[:MAX_ADDRESS])  # a number, or a chat address (whatsapp:+…, telegram:…)
    return str(parsed) if parsed else raw[:MAX_ADDRESS]


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def parse_filter(query: dict[str, str]) -> tuple[MessageFilter, list[str]]:
    problems = []
    status = direction = None
    if query.get("status"):
        try:
            status = MessageStatus(query["status"])
        except ValueError:
            problems.append("Unknown status: showing every status.")
    if query.get("direction"):
        try:
            direction = Direction(query["direction"])
        except ValueError:
            problems.append("Unknown direction: showing both.")
    start, end = _day(query.get("date_from", "")), _day(query.get("date_to", ""))
    if (query.get("date_from") and start is None) or (query.get("date_to") and end is None):
        problems.append("Dates are written YYYY-MM-DD.")
    return MessageFilter(
        to=_address(query.get("to", "")), from_=_address(query.get("from", "")), status=status,
        direction=direction,
        created_from=datetime(start.year, start.month, start.day, tzinfo=UTC) if start else None,
        created_to=datetime(end.year, end.month, end.day, tzinfo=UTC) + timedelta(days=1) if end else None,
    ), problems


def parse_cursor(raw: str | None) -> tuple[int, int] | None:
    match = _CURSOR.match(raw or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def routes(console: Console) -> list[Route]:
    async def log_page(ctx: Ctx) -> Response:
        query = {name: ctx.query(name) for name in FILTER_NAMES}
        f, problems = parse_filter(query)
        before = ctx.query("before")
        older_than = int(before) if before.isdigit() and len(before) < 19 else None
        marks = await ctx.s.insight.marks()  # taken first: the live stream continues from here
        rows, more = await ctx.s.insight.messages(ctx.account, f, PAGE_SIZE, older_than)
        active = {k: v for k, v in query.items() if v}
        next_url = (f"{ctx.base}/messages?{urlencode({**active, 'before': str(rows[-1].row_id)})}"
                    if more and rows else None)
        stream_url = None
        if older_than is None:
            after = f"m{marks.messages}e{marks.events}"
            stream_url = f"{ctx.base}/messages/stream?{urlencode({**active, 'after': after})}"
        return await ctx.render(
            "messages.html", title="Messages", nav="messages", rows=rows, query=query, problems=problems,
            statuses=[s.value for s in MessageStatus], directions=[d.value for d in Direction],
            next_url=next_url, newest_url=f"{ctx.base}/messages?{urlencode(active)}" if older_than else None,
            stream_url=stream_url)

    async def log_stream(ctx: Ctx) -> Response:
        query = {name: ctx.query(name) for name in FILTER_NAMES}
        f, _ = parse_filter(query)
        start = parse_cursor(ctx.request.headers.get("last-event-id")) or parse_cursor(ctx.query("after"))
        if start is None:
            marks = await ctx.s.insight.marks()
            start = (marks.messages, marks.events)
        floor_m, floor_e = start
        state = {"m": floor_m, "e": floor_e}
        seen_rows: set[int] = set()
        seen_events: set[int] = set()
        insight, account, base = ctx.s.insight, ctx.account, ctx.base

        async def produce() -> list[str]:
            out: list[str] = []
            rows = await insight.newer_messages(account, f, max(floor_m, state["m"] - LOOKBACK), STREAM_BATCH)
            for row in rows:
                if row.row_id in seen_rows:
                    continue
                seen_rows.add(row.row_id)
                state["m"] = max(state["m"], row.row_id)
                html = console.fragment("_message_row.html", {"m": row.message, "base": base, "fresh": True})
                out.append(sse(html, "row", f"m{state['m']}e{state['e']}"))
            changes = await insight.status_changes(account, max(floor_e, state["e"] - LOOKBACK), STREAM_BATCH)
            for change in changes:
                if change.event_id in seen_events:
                    continue
                seen_events.add(change.event_id)
                state["e"] = max(state["e"], change.event_id)
                data = json.dumps({"sid": change.message_sid, "status": change.status,
                                   "error_code": change.error_code})
                out.append(sse(data, "status", f"m{state['m']}e{state['e']}"))
            _forget(seen_rows, state["m"] - LOOKBACK)
            _forget(seen_events, state["e"] - LOOKBACK)
            return out

        return stream(console.feed, produce)

    async def detail(ctx: Ctx) -> Response:
        found = await ctx.s.insight.message_detail(ctx.account, ctx.path_param("sid"))
        m = found.message
        return await ctx.render("message.html", title=f"Message {m.sid}", nav="messages", d=found, m=m)

    return [
        Route("/messages", guard(console, log_page), methods=["GET"]),
        Route("/messages/stream", guard(console, log_stream), methods=["GET"]),
        Route("/messages/{sid}", guard(console, detail), methods=["GET"]),
    ]


def _forget(seen: set[int], below: int) -> None:
    for item in [i for i in seen if i <= below]:
        seen.discard(item)
