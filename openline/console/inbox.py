"""Sandbox inbox: the mail this account sent while no relay is configured, read in the console.

A message's HTML is shown in a sandboxed iframe (no scripts, no forms, no same-origin access),
served with its own Content-Security-Policy that forbids every remote load (images, styles,
fonts, frames): opening a mail never tells its sender or anyone else that it was read.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from openline.console.web import Console, Ctx, guard
from openline.core.email_compose import parse_stored
from openline.core.errors import TwilioError

PAGE_SIZE = 100
MAIL_HTML_HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                                "frame-ancestors 'self'; form-action 'none'; base-uri 'none'; sandbox"),
    "X-Frame-Options": "SAMEORIGIN",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    parsed = parse_stored(row["raw"].encode("ascii", "surrogateescape"))
    return {"id": row["id"], "address": row["address"], "date": row["date_created"], **parsed}


def routes(console: Console) -> list[Route]:
    async def inbox(ctx: Ctx) -> Response:
        mail = ctx.s.mail
        rows = await mail.recent_mail([ctx.account.sid], PAGE_SIZE) if mail else []
        return await ctx.render("inbox.html", title="Inbox", nav="inbox", messages=[_summary(r) for r in rows])

    async def _item(ctx: Ctx) -> dict[str, Any]:
        raw_id = ctx.path_param("id")
        row = await ctx.s.mail.mail_item([ctx.account.sid], int(raw_id)) if ctx.s.mail and raw_id.isdigit() else None
        if row is None:
            raise TwilioError(20404)
        return row

    async def message(ctx: Ctx) -> Response:
        item = _summary(await _item(ctx))
        return await ctx.render("inbox_message.html", title=item["subject"] or "(no subject)", nav="inbox", m=item)

    async def html_part(ctx: Ctx) -> Response:
        item = _summary(await _item(ctx))
        return HTMLResponse(item["html"] or "", headers=MAIL_HTML_HEADERS)

    return [
        Route("/inbox", guard(console, inbox), methods=["GET"]),
        Route("/inbox/{id}", guard(console, message), methods=["GET"]),
        Route("/inbox/{id}/html", guard(console, html_part), methods=["GET"]),
    ]
