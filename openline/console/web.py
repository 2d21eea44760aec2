"""The console's small web layer: sessions on requests, CSRF checks, forms, templates, headers.

Pages are plain HTML rendered with Jinja2 (autoescaping on); scripts only enhance them (live
rows, the dev phone), so every page also works as a document. Every POST carries the
session's CSRF token and must come from this origin; every page answers with a strict
Content-Security-Policy (no inline script or style) and ``Cache-Control: no-store``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from openline.console.deps import ConsoleServices
from openline.console.session import COOKIE, SESSION_SECONDS, Session, Signer, same_token
from openline.core.entities import Account, AccountStatus
from openline.core.errors import TwilioError
from openline.services.auth import Principal
from openline.services.insight import ChangeFeed

log = logging.getLogger("openline.console")

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 64 * 1024  # the largest console form is a message body of 1,600 characters
MAX_FORM_FIELDS = 200
MAX_ACCOUNTS_LISTED = 200  # subaccounts offered in the account switcher

# What a redirect after a change says (``?done=<key>``): fixed texts, so a link cannot make the
# console say anything else.
NOTICES = {
    "bought": "The number is yours. Configure where its messages go below.",
    "saved": "Saved.",
    "released": "The number was released.",
    "created": "Created.",
    "deleted": "Deleted.",
    "added": "Added.",
    "removed": "Removed.",
    "revoked": "The key was revoked: requests signed with it now fail.",
    "switched": "Switched account.",
}

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


PAGE_DEFAULTS: dict[str, Any] = {"notice": None, "error": None, "nav": "", "accounts": [], "csrf": "", "back": None,
                                 "principal": None}


class FormError(Exception):
    """The request body is not a console form (too large, wrong type, not UTF-8)."""


class FormData:
    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._values: dict[str, list[str]] = {}
        for key, value in pairs:
            self._values.setdefault(key, []).append(value)

    def get(self, name: str, default: str = "") -> str:
        values = self._values.get(name)
        return values[-1].strip() if values else default

    def getlist(self, name: str) -> list[str]:
        return [v.strip() for v in self._values.get(name, ())]

    def __contains__(self, name: str) -> bool:
        return name in self._values


async def read_form(request: Request) -> FormData:
    if request.method != "POST":
        return FormData([])
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", ""):
        raise FormError("forms must be sent form-encoded")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError("the form is too large")
    try:
        pairs = parse_qsl(bytes(body).decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError("the form could not be read") from exc
    return FormData(pairs)


def format_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value else "—"


def same_origin(request: Request) -> bool:
    """A POST's Origin (or Referer), when the browser sends one, names this host."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin != "null"
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def secure_request(request: Request) -> bool:
    return request.url.scheme == "https"


def local_path(base: str, candidate: str | None) -> str:
    """Where to go after signing in: a console path only (never another site)."""
    if candidate and candidate.startswith(base + "/") and not candidate.startswith("//") \
            and "\\" not in candidate and "://" not in candidate:
        return candidate
    return base + "/"


class Console:
    """What every page handler reaches: services, templates, the session signer."""

    def __init__(self, services: ConsoleServices) -> None:
        self.services = services
        self.insight = services.insight
        self.signer = Signer(services.session_key)
        self.feed = ChangeFeed(services.insight)
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                               undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                               auto_reload=False)  # templates change only with the package
        self.env.filters["dt"] = format_time

    def html(self, template: str, values: Mapping[str, Any], status: int = 200) -> HTMLResponse:
        body = self.env.get_template(template).render(**{**PAGE_DEFAULTS, **values})
        return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)

    def fragment(self, template: str, values: Mapping[str, Any]) -> str:
        return self.env.get_template(template).render(**values)

    def set_session(self, response: Response, request: Request, session: Session) -> None:
        response.set_cookie(COOKIE, self.signer.session_cookie(session), max_age=SESSION_SECONDS,
                            path=base_path(request) + "/", httponly=True, samesite="lax",
                            secure=secure_request(request))

    def clear_session(self, response: Response, request: Request) -> None:
        response.delete_cookie(COOKIE, path=base_path(request) + "/", httponly=True, samesite="lax",
                               secure=secure_request(request))

    async def resume(self, request: Request) -> tuple[Session, Principal, Account] | None:
        """The signed-in session of this request, checked against the credential's current state."""
        session = self.signer.session(request.cookies.get(COOKIE), time.time())
        if session is None:
            return None
        found = await self.insight.session_principal(session.username)
        if found is None or not same_token(self.signer.fingerprint(found[1]), session.fingerprint):
            return None
        principal = found[0]
        try:
            account = await self.insight.act_as(principal, session.acting)
        except TwilioError:  # the subaccount was closed or moved: back to the session's own account
            account = principal.account
        return session, principal, account


def base_path(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


@dataclass
class Ctx:
    """One signed-in request."""

    request: Request
    console: Console
    session: Session
    principal: Principal
    account: Account
    form: FormData = field(default_factory=lambda: FormData([]))

    @property
    def base(self) -> str:
        return base_path(self.request)

    @property
    def s(self) -> ConsoleServices:
        return self.console.services

    def query(self, name: str) -> str:
        return self.request.query_params.get(name, "").strip()

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    async def render(self, template: str, status: int = 200, **values: Any) -> HTMLResponse:
        page = await self.layout()
        return self.console.html(template, {**page, **values}, status)

    async def layout(self) -> dict[str, Any]:
        accounts: list[Account] = [self.account]
        if not self.principal.account.is_subaccount:
            listed = await self.console.insight.visible_accounts(self.principal, MAX_ACCOUNTS_LISTED)
            accounts = [a for a in listed if a.status is not AccountStatus.CLOSED]
            if self.account.sid not in {a.sid for a in accounts}:
                accounts.insert(0, self.account)
        return {"base": self.base, "account": self.account, "principal": self.principal, "accounts": accounts,
                "csrf": self.session.csrf, "path": self.request.url.path, "error": None,
                "notice": NOTICES.get(self.query("done"))}

    def redirect(self, path: str, **query: str) -> RedirectResponse:
        target = self.base + path + (("?" + urlencode(query)) if query else "")
        return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


Handler = Callable[[Ctx], Awaitable[Response]]


def not_found_response(console: Console, request: Request) -> HTMLResponse:
    return console.html("error.html", {"base": base_path(request), "title": "Not found", "account": None,
                                       "message": "There is nothing here, or it belongs to another account."},
                        404)


def store_unavailable_response(console: Console, request: Request) -> HTMLResponse:
    """The database is locked, full or unreachable: a page that says so, and when to retry."""
    response = console.html("error.html", {"base": base_path(request), "title": "Temporarily unavailable",
                                           "account": None,
                                           "message": "Openline cannot reach its database right now. "
                                                      "Try again in a moment."}, 503)
    response.headers["Retry-After"] = "1"
    return response


def guard(console: Console, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Signed-in pages: resume the session (or go to sign-in), check CSRF on POST, map errors."""

    async def endpoint(request: Request) -> Response:
        resumed = await console.resume(request)
        base = base_path(request)
        if resumed is None:
            if request.method == "GET":
                target = base + "/signin?" + urlencode({"next": request.url.path})
                response: Response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
            else:
                response = console.html("error.html", {"base": base, "title": "Signed out", "account": None,
                                                       "message": "Your session has ended. Sign in again."}, 401)
            if request.cookies.get(COOKIE):
                console.clear_session(response, request)
            return response
        session, principal, account = resumed
        ctx = Ctx(request, console, session, principal, account)
        if request.method == "POST":
            try:
                ctx.form = await read_form(request)
            except FormError as exc:
                return console.html("error.html", {"base": base, "title": "Bad request", "account": None,
                                                   "message": str(exc)}, 400)
            if not same_token(ctx.form.get("csrf"), session.csrf) or not same_origin(request):
                return console.html("error.html", {"base": base, "title": "Refused", "account": None,
                                                   "message": "This form has expired or did not come from "
                                                              "this console. Reload the page and try again."},
                                    403)
        try:
            return await handler(ctx)
        except TwilioError as error:
            if error.code in (20404, 20003):
                return not_found_response(console, request)
            return await ctx.render("error.html", 400, title=f"Error {error.code}", message=error.message)

    return endpoint
