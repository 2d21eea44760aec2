"""Alerts: Openline's debugger — failed webhooks, TwiML that did not parse, callbacks that failed."""

from __future__ import annotations

import json

from starlette.responses import Response
from starlette.routing import Route

from openline.console.web import Console, Ctx, guard
from openline.core.errors import TwilioError, lookup
from openline.services.insight import Cursor

PAGE_SIZE = 50


def _variables(raw: str | None) -> list[tuple[str, str]]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        return []
    return [(str(p[0]), str(p[1])) for p in value if isinstance(p, list) and len(p) == 2]


def routes(console: Console) -> list[Route]:
    async def alerts(ctx: Ctx) -> Response:
        try:
            cursor = Cursor.parse(ctx.query("page"))
        except ValueError:
            cursor = Cursor()
        level = ctx.query("level") if ctx.query("level") in ("error", "warning") else None
        page = await ctx.s.alerts.list(ctx.account.sid, PAGE_SIZE, cursor, level)
        return await ctx.render("alerts.html", title="Alerts", nav="alerts", alerts=page.items, level=level or "",
                                next_token=page.next_token)

    async def alert(ctx: Ctx) -> Response:
        found = await ctx.s.alerts.get(ctx.account.sid, ctx.path_param("sid"))
        if found is None:
            raise TwilioError(20404)
        return await ctx.render("alert.html", title=f"Alert {found.sid}", nav="alerts", a=found,
                                spec=lookup(found.error_code), variables=_variables(found.request_variables))

    return [
        Route("/alerts", guard(console, alerts), methods=["GET"]),
        Route("/alerts/{sid}", guard(console, alert), methods=["GET"]),
    ]
