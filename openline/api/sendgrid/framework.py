"""The SendGrid v3 API's conventions: JSON bodies, Bearer keys with scopes, errors as
``{"errors": [{"message", "field", "help"}]}`` with SendGrid's status codes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from openline.api.framework import basic_credentials
from openline.core.email import MAX_BODY_BYTES, SendGridError
from openline.core.errors import TwilioError
from openline.services.auth import Authenticator
from openline.services.email_keys import EmailKeys, EmailPrincipal, unauthorized
from openline.storage.database import DatabaseBusy

log = logging.getLogger("openline.api.sendgrid")

JSON_TYPE = "application/json"


def sg_json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=JSON_TYPE, headers=headers)


def sg_error(error: SendGridError) -> Response:
    return sg_json(error.payload(), error.status)


@dataclass(slots=True)
class SgCall:
    request: Request
    principal: EmailPrincipal
    body: Any
    params: dict[str, str]

    @property
    def account_sid(self) -> str:
        return self.principal.account.sid

    def obj(self) -> dict[str, Any]:
        if not isinstance(self.body, dict):
            raise SendGridError(400, "The request body must be a JSON object", None)
        return self.body

    def query(self, name: str) -> str | None:
        return self.request.query_params.get(name)

    def int_query(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.query(name)
        if raw is None:
            return default
        if not raw.lstrip("-").isdigit() or not low <= int(raw) <= high:
            raise SendGridError(400, f"{name} must be an integer between {low} and {high}", name)
        return int(raw)


SgHandler = Callable[[SgCall], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class SgOperation:
    method: str
    path: str
    handler: SgHandler
    scope: str
    basic_auth: bool = False  # also accepts the Account SID + Auth Token (the first key is made so)


async def read_json(request: Request) -> Any:
    body = await _read(request)
    if request.method in ("GET", "HEAD"):
        return None  # a GET's body means nothing; query parameters carry its options
    if not body.strip():
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise SendGridError(400, "Bad Request: the body is not valid JSON", None) from None


async def _read(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise SendGridError(413, "The JSON payload you have included in your request is too large.", None)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise SendGridError(413, "The JSON payload you have included in your request is too large.", None)
    return bytes(body)


async def authenticate(request: Request, op: SgOperation, keys: EmailKeys, accounts: Authenticator
                       ) -> EmailPrincipal:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise SendGridError(401, "authorization required")
    if scheme.lower() == "bearer" and value.strip():
        return await keys.authenticate(value.strip())
    if scheme.lower() == "basic" and op.basic_auth:
        try:
            principal = await accounts.authenticate(*basic_credentials(request))
        except TwilioError:
            raise unauthorized() from None
        if principal.key_type is not None:  # only the account's own Auth Token, not its Twilio keys
            raise unauthorized()
        return keys.account_principal(principal.account)
    raise unauthorized()


def build_sendgrid_routes(operations: Sequence[SgOperation], keys: EmailKeys, accounts: Authenticator
                          ) -> list[Route]:
    by_path: dict[str, dict[str, SgOperation]] = {}
    for op in operations:
        by_path.setdefault(op.path, {})[op.method] = op

    def endpoint_for(methods: dict[str, SgOperation]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            op = methods.get(request.method)
            if op is None:
                return sg_error(SendGridError(405, "method not allowed"))
            try:
                principal = await authenticate(request, op, keys, accounts)
                principal.require(op.scope)
                body = await read_json(request)
                return await op.handler(SgCall(request, principal, body, dict(request.path_params)))
            except SendGridError as error:
                return sg_error(error)
            except OperationalError as exc:  # the store is locked, full or unreachable: worth a retry
                log.warning("store unavailable in %s %s: %s", request.method, request.url.path, exc.orig)
                return sg_json(SendGridError(503, "service temporarily unavailable; retry shortly").payload(),
                               503, {"Retry-After": "1"})
            except DatabaseBusy:  # no database connection came within database.pool_timeout_seconds
                return sg_error(SendGridError(429, "too many requests; retry shortly"))
            except Exception:
                log.exception("unhandled error in %s %s", request.method, request.url.path)
                return sg_error(SendGridError(500, "internal error"))

        return endpoint

    ordered = sorted(by_path.items(), key=lambda item: item[0].count("{"))
    return [Route(path, endpoint_for(methods), methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
            for path, methods in ordered]


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await sg_error(SendGridError(404, "resource not found"))(scope, receive, send)
