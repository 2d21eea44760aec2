"""Signing in (Account SID + Auth Token, or API key SID + secret), signing out, switching account."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from openline.console.session import SIGNIN_COOKIE, SIGNIN_SECONDS, Session, new_csrf, same_token
from openline.console.web import (
    SECURITY_HEADERS,
    Console,
    Ctx,
    FormError,
    base_path,
    guard,
    local_path,
    read_form,
    same_origin,
    secure_request,
)
from openline.core.errors import TwilioError

MAX_CREDENTIAL = 128  # a SID is 34 characters, a token 32, a key secret 32


def routes(console: Console) -> list[Route]:
    def signin_page(request: Request, status: int = 200, error: str | None = None, username: str = "",
                    next_path: str | None = None) -> Response:
        now = time.time()
        csrf = console.signer.signin_token(request.cookies.get(SIGNIN_COOKIE), now) or new_csrf()
        base = base_path(request)
        response = console.html("signin.html", {
            "base": base, "title": "Sign in", "account": None, "csrf": csrf, "error": error, "username": username,
            "next": local_path(base, next_path or request.query_params.get("next"))}, status)
        response.set_cookie(SIGNIN_COOKIE, console.signer.signin_cookie(csrf, now), max_age=SIGNIN_SECONDS,
                            path=base + "/", httponly=True, samesite="lax", secure=secure_request(request))
        return response

    async def signin(request: Request) -> Response:
        if request.method == "GET":
            if await console.resume(request) is not None:
                return RedirectResponse(base_path(request) + "/", status_code=303, headers=SECURITY_HEADERS)
            return signin_page(request)
        try:
            form = await read_form(request)
        except FormError as exc:
            return signin_page(request, 400, str(exc))
        expected = console.signer.signin_token(request.cookies.get(SIGNIN_COOKIE), time.time())
        if expected is None or not same_token(form.get("csrf"), expected) or not same_origin(request):
            return signin_page(request, 403, "The sign-in form expired. Please try again.", next_path=form.get("next"))
        username, password, target = form.get("username"), form.get("password"), form.get("next")
        if not username or not password or len(username) > MAX_CREDENTIAL or len(password) > MAX_CREDENTIAL:
            return signin_page(request, 400, "Enter an Account SID (or API key SID) and its token.",
                               username[:MAX_CREDENTIAL], target)
        try:
            principal = await console.services.authenticator.authenticate(
                username, password, request.client.host if request.client else None)
        except TwilioError as error:
            if error.code == 20429:
                return signin_page(request, 429, "Too many failed sign-ins from this address. Wait a minute.",
                                   username, target)
            return signin_page(request, 401, "Those credentials are not valid.", username, target)
        found = await console.insight.session_principal(username)
        if found is None:
            return signin_page(request, 401, "Those credentials are not valid.", username, target)
        session = Session(username, console.signer.fingerprint(found[1]), principal.account.sid, new_csrf(),
                          int(time.time()))
        base = base_path(request)
        response = RedirectResponse(local_path(base, form.get("next")), status_code=303, headers=SECURITY_HEADERS)
        console.set_session(response, request, session)
        response.delete_cookie(SIGNIN_COOKIE, path=base + "/")
        return response

    async def signout(ctx: Ctx) -> Response:
        response = RedirectResponse(ctx.base + "/signin", status_code=303, headers=SECURITY_HEADERS)
        ctx.console.clear_session(response, ctx.request)
        return response

    async def switch(ctx: Ctx) -> Response:
        target = await ctx.console.insight.act_as(ctx.principal, ctx.form.get("account"))
        session = Session(ctx.session.username, ctx.session.fingerprint, target.sid, ctx.session.csrf,
                          ctx.session.issued)
        response = ctx.redirect("/", done="switched")
        ctx.console.set_session(response, ctx.request, session)
        return response

    return [
        Route("/signin", signin, methods=["GET", "POST"]),
        Route("/signout", guard(console, signout), methods=["POST"]),
        Route("/switch", guard(console, switch), methods=["POST"]),
    ]
