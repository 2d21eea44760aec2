"""The calls log: the account's calls, newest first, filtered by status (a read-only view)."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from openline.console.web import Console, Ctx, guard
from openline.core.calls import CallStatus
from openline.services.insight import Cursor
from openline.services.voice import CallFilter

PAGE_SIZE = 50


def routes(console: Console) -> list[Route]:
    async def calls(ctx: Ctx) -> Response:
        voice = ctx.s.voice
        try:
            cursor = Cursor.parse(ctx.query("page"))
        except ValueError:
            cursor = Cursor()
        raw = ctx.query("status")
        status = CallStatus(raw) if raw in {s.value for s in CallStatus} else None
        items = []
        next_token = None
        if voice is not None:
            page = await voice.search(ctx.account, PAGE_SIZE, cursor, CallFilter(status=status))
            items, next_token = page.items, page.next_token
        return await ctx.render("calls.html", title="Calls", nav="calls", calls=items,
                                selected=status.value if status else "", statuses=[s.value for s in CallStatus],
                                next_token=next_token)

    return [Route("/calls", guard(console, calls), methods=["GET"])]
