"""Phone numbers: the account's numbers, buying from the inventory, configuring their URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.routing import Route

from openline.console.web import Console, Ctx, guard
from openline.core.entities import NumberType
from openline.core.errors import TwilioError
from openline.core.numbering import countries
from openline.services.insight import Cursor

MAX_URL = 4096
LIST_SIZE = 200
SEARCH_SIZE = 20
URL_FIELDS = {"sms_url": "SMS URL", "sms_fallback_url": "SMS fallback URL", "status_callback": "Status callback URL",
              "voice_url": "Voice URL", "voice_fallback_url": "Voice fallback URL"}
METHOD_FIELDS = ("sms_method", "sms_fallback_method", "voice_method", "voice_fallback_method")
KINDS = {"local": NumberType.LOCAL, "mobile": NumberType.MOBILE, "tollfree": NumberType.TOLL_FREE}


def check_url(label: str, value: str) -> str | None:
    """An absolute http(s) URL, or None for an empty field (which clears the setting)."""
    if not value:
        return None
    parts = urlsplit(value)
    if len(value) > MAX_URL or parts.scheme not in ("http", "https") or not parts.hostname:
        raise TwilioError(20001, f"{label} must be an absolute http:// or https:// URL")
    return value


def number_values(ctx: Ctx) -> dict[str, Any]:
    values: dict[str, Any] = {name: check_url(label, ctx.form.get(name)) for name, label in URL_FIELDS.items()
                              if name in ctx.form}
    for name in METHOD_FIELDS:
        if name in ctx.form:
            method = ctx.form.get(name).upper()
            if method not in ("GET", "POST"):
                raise TwilioError(20001, "Methods are GET or POST")
            values[name] = method
    if "friendly_name" in ctx.form:
        values["friendly_name"] = ctx.form.get("friendly_name") or None
    return values


def routes(console: Console) -> list[Route]:
    async def list_numbers(ctx: Ctx) -> Response:
        page = await ctx.s.numbers.list(ctx.account, LIST_SIZE, Cursor())
        return await ctx.render("numbers.html", title="Phone numbers", nav="numbers", numbers=page.items)

    async def buy(ctx: Ctx) -> Response:
        if ctx.request.method == "POST":
            try:
                values = {"sms_url": check_url("SMS URL", ctx.form.get("sms_url"))}
                number = await ctx.s.numbers.provision(ctx.account, ctx.form.get("phone_number") or None, None,
                                                       {k: v for k, v in values.items() if v})
            except TwilioError as error:
                if error.code in (20404, 20003):
                    raise
                return await search_page(ctx, error=f"{error.message} (error {error.code})", status=400)
            return ctx.redirect(f"/numbers/{number.sid}", done="bought")
        return await search_page(ctx)

    async def search_page(ctx: Ctx, error: str | None = None, status: int = 200) -> Response:
        country = (ctx.query("country") or "US").upper()[:2]
        kind_name = ctx.query("type") or "local"
        area_code = ctx.query("area_code")[:6] or None
        contains = ctx.query("contains")[:16] or None
        results, problem = [], None
        searched = bool(ctx.query("country"))
        if searched:
            try:
                kind = KINDS.get(kind_name, NumberType.LOCAL)
                results = await ctx.s.numbers.search(country, kind, SEARCH_SIZE, area_code, contains)
            except TwilioError as exc:
                problem = exc.message
        return await ctx.render(
            "numbers_buy.html", status, title="Buy a number", nav="numbers", countries=countries(),
            country=country, kind=kind_name, kinds=list(KINDS), area_code=area_code or "", contains=contains or "",
            results=results, searched=searched, problem=problem, error=error)

    async def configure(ctx: Ctx) -> Response:
        sid = ctx.path_param("sid")
        number = await ctx.s.numbers.get(ctx.account, sid)
        if ctx.request.method == "POST":
            try:
                await ctx.s.numbers.update(ctx.account, sid, number_values(ctx))
            except TwilioError as error:
                if error.code in (20404, 20003):
                    raise
                return await ctx.render("number.html", 400, title=number.phone_number, nav="numbers", n=number,
                                        error=f"{error.message} (error {error.code})")
            return ctx.redirect(f"/numbers/{sid}", done="saved")
        return await ctx.render("number.html", title=number.phone_number, nav="numbers", n=number)

    async def release(ctx: Ctx) -> Response:
        await ctx.s.numbers.release(ctx.account, ctx.path_param("sid"))
        return ctx.redirect("/numbers", done="released")

    return [
        Route("/numbers", guard(console, list_numbers), methods=["GET"]),
        Route("/numbers/buy", guard(console, buy), methods=["GET", "POST"]),
        Route("/numbers/{sid}", guard(console, configure), methods=["GET", "POST"]),
        Route("/numbers/{sid}/release", guard(console, release), methods=["POST"]),
    ]
