"""Messaging services: list, create, configure, sender pool (numbers), delete."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from openline.console.numbers import check_url
from openline.console.web import Console, Ctx, guard
from openline.core.errors import TwilioError
from openline.services.insight import Cursor

LIST_SIZE = 200
SENDERS_SIZE = 400


def _settings(ctx: Ctx) -> dict[str, Any]:
    values: dict[str, Any] = {
        "friendly_name": ctx.form.get("friendly_name"),
        "inbound_request_url": check_url("Inbound request URL", ctx.form.get("inbound_request_url")),
        "fallback_url": check_url("Fallback URL", ctx.form.get("fallback_url")),
        "status_callback": check_url("Status callback URL", ctx.form.get("status_callback")),
        "sticky_sender": ctx.form.get("sticky_sender") == "on",
        "use_inbound_webhook_on_number": ctx.form.get("use_inbound_webhook_on_number") == "on",
    }
    method = ctx.form.get("inbound_method").upper() or "POST"
    if method not in ("GET", "POST"):
        raise TwilioError(20001, "Methods are GET or POST")
    values["inbound_method"] = method
    return values


def _problem(error: TwilioError) -> str:
    if error.code in (20404, 20003):
        raise error
    return f"{error.message} (error {error.code})"


def routes(console: Console) -> list[Route]:
    async def list_services(ctx: Ctx, error: str | None = None, status: int = 200) -> Response:
        page = await ctx.s.admin.list(ctx.account, LIST_SIZE, Cursor())
        return await ctx.render("services.html", status, title="Messaging services", nav="services",
                                services=page.items, error=error)

    async def services(ctx: Ctx) -> Response:
        if ctx.request.method == "POST":
            try:
                values = {"friendly_name": ctx.form.get("friendly_name"),
                          "inbound_request_url": check_url("Inbound request URL",
                                                           ctx.form.get("inbound_request_url"))}
                service = await ctx.s.admin.create(ctx.account, values)
            except TwilioError as error:
                return await list_services(ctx, _problem(error), 400)
            return ctx.redirect(f"/services/{service.sid}", done="created")
        return await list_services(ctx)

    async def service_page(ctx: Ctx, error: str | None = None, status: int = 200) -> Response:
        sid = ctx.path_param("sid")
        service = await ctx.s.admin.get(ctx.account, sid)
        senders = (await ctx.s.admin.list_phone_numbers(ctx.account, sid, SENDERS_SIZE, Cursor())).items
        alphas = (await ctx.s.admin.list_alpha_senders(ctx.account, sid, 10, Cursor())).items
        in_service = {s.sender.sid for s in senders}
        numbers = [n for n in (await ctx.s.numbers.list(ctx.account, SENDERS_SIZE, Cursor())).items
                   if n.sid not in in_service]
        return await ctx.render("service.html", status, title=service.friendly_name, nav="services", svc=service,
                                senders=senders, alphas=alphas, numbers=numbers, error=error)

    async def service(ctx: Ctx) -> Response:
        if ctx.request.method == "POST":
            sid = ctx.path_param("sid")
            try:
                await ctx.s.admin.update(ctx.account, sid, _settings(ctx))
            except TwilioError as error:
                return await service_page(ctx, _problem(error), 400)
            return ctx.redirect(f"/services/{sid}", done="saved")
        return await service_page(ctx)

    async def add_number(ctx: Ctx) -> Response:
        sid = ctx.path_param("sid")
        try:
            await ctx.s.admin.add_phone_number(ctx.account, sid, ctx.form.get("number_sid"))
        except TwilioError as error:
            return await service_page(ctx, _problem(error), 400)
        return ctx.redirect(f"/services/{sid}", done="added")

    async def remove_number(ctx: Ctx) -> Response:
        sid = ctx.path_param("sid")
        await ctx.s.admin.remove_phone_number(ctx.account, sid, ctx.path_param("number"))
        return ctx.redirect(f"/services/{sid}", done="removed")

    async def delete(ctx: Ctx) -> Response:
        await ctx.s.admin.delete(ctx.account, ctx.path_param("sid"))
        return ctx.redirect("/services", done="deleted")

    return [
        Route("/services", guard(console, services), methods=["GET", "POST"]),
        Route("/services/{sid}", guard(console, service), methods=["GET", "POST"]),
        Route("/services/{sid}/numbers", guard(console, add_number), methods=["POST"]),
        Route("/services/{sid}/numbers/{number}/remove", guard(console, remove_number), methods=["POST"]),
        Route("/services/{sid}/delete", guard(console, delete), methods=["POST"]),
    ]
