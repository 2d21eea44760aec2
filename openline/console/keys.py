"""API keys: list, create (the secret is shown once, in the answer to the create), revoke."""

from __future__ import annotations

from starlette.responses import Response
from starlette.routing import Route

from openline.console.web import Console, Ctx, guard
from openline.core.entities import KeyType
from openline.core.errors import TwilioError
from openline.services.accounts import NewKey
from openline.services.insight import Cursor

LIST_SIZE = 200
STANDARD_KEY_REFUSAL = "Signed in with a standard API key: only the Auth Token or a main key can manage keys."


def routes(console: Console) -> list[Route]:
    async def keys_page(ctx: Ctx, created: NewKey | None = None, error: str | None = None,
                        status: int = 200) -> Response:
        page = await ctx.s.accounts.list_keys(ctx.account, LIST_SIZE, Cursor())
        return await ctx.render("keys.html", status, title="API keys", nav="keys", keys=page.items,
                                created=created, error=error, can_manage=ctx.principal.can_manage)

    async def keys(ctx: Ctx) -> Response:
        if ctx.request.method == "GET":
            return await keys_page(ctx)
        if not ctx.principal.can_manage:
            return await keys_page(ctx, error=STANDARD_KEY_REFUSAL, status=403)
        kind = KeyType.MAIN if ctx.form.get("key_type") == "main" else KeyType.STANDARD
        try:
            created = await ctx.s.accounts.create_key(ctx.account, ctx.form.get("friendly_name"), kind)
        except TwilioError as exc:
            if exc.code in (20404, 20003):
                raise
            return await keys_page(ctx, error=f"{exc.message} (error {exc.code})", status=400)
        return await keys_page(ctx, created=created, status=201)

    async def revoke(ctx: Ctx) -> Response:
        if not ctx.principal.can_manage:
            return await keys_page(ctx, error=STANDARD_KEY_REFUSAL, status=403)
        await ctx.s.accounts.delete_key(ctx.account, ctx.path_param("sid"))
        return ctx.redirect("/keys", done="revoked")

    return [
        Route("/keys", guard(console, keys), methods=["GET", "POST"]),
        Route("/keys/{sid}/revoke", guard(console, revoke), methods=["POST"]),
    ]
