"""Verify services and their verifications: status only — a code is never stored, so never shown."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from openline.console.web import Console, Ctx, guard
from openline.core.errors import TwilioError
from openline.services.insight import Cursor

LIST_SIZE = 200
VERIFICATIONS_SIZE = 100


def routes(console: Console) -> list[Route]:
    async def services(ctx: Ctx) -> Response:
        error, status = None, 200
        if ctx.request.method == "POST":
            values: dict[str, object] = {"friendly_name": ctx.form.get("friendly_name")}
            length = ctx.form.get("code_length")
            if length:
                values["code_length"] = int(length) if length.isdigit() and len(length) < 3 else -1
            try:
                service = await ctx.s.verifier.create_service(ctx.account, values)
            except TwilioError as exc:
                if exc.code in (20404, 20003):
                    raise
                error, status = f"{exc.message} (error {exc.code})", 400
            else:
                return ctx.redirect(f"/verify/{service.sid}", done="created")
        page = await ctx.s.verifier.list_services(ctx.account, LIST_SIZE, Cursor())
        return await ctx.render("verify.html", status, title="Verify", nav="verify", services=page.items,
                                error=error)

    async def service(ctx: Ctx) -> Response:
        sid = ctx.path_param("sid")
        found = await ctx.s.verifier.get_service(ctx.account, sid)
        token = ctx.query("page")
        try:
            cursor = Cursor.parse(token)
        except ValueError:
            cursor = Cursor()
        page = await ctx.s.insight.verifications(ctx.account, found.sid, VERIFICATIONS_SIZE, cursor)
        return await ctx.render("verify_service.html", title=found.friendly_name, nav="verify", svc=found,
                                verifications=page.items, next_token=page.next_token)

    return [
        Route("/verify", guard(console, services), methods=["GET", "POST"]),
        Route("/verify/{sid}", guard(console, service), methods=["GET"]),
    ]
