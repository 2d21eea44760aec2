"""The small amount of web framework Openline's API needs on top of Starlette.

An :class:`Operation` is one documented endpoint (method + path + handler). Routes are built
from operations so that ``/openapi.json`` describes exactly what is served, every answer is
JSON in Twilio's shape, and a wrong method or path gets Twilio's error envelope, not HTML.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from openline.api.limits import ConcurrencyLimiter
from openline.api.params import MAX_BODY_BYTES, Form
from openline.core.errors import TwilioError
from openline.services.auth import Authenticator, Principal
from openline.storage.database import DatabaseBusy

log = logging.getLogger("openline.api")

JSON_TYPE = "application/json; charset=utf-8"


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=JSON_TYPE, headers=headers)


def empty_response(status: int = 204) -> Response:
    return Response(b"", status_code=status)


@dataclass(frozen=True, slots=True)
class Links:
    """How to write links back to the client, which depends on how it reached us."""

    external_base: str  # absolute base for v1/v2 `meta` URLs ("https://verify.twilio.com", ".../verify")
    errors_base: str  # where /docs/errors lives


@dataclass(slots=True)
class Call:
    request: Request
    form: Form
    principal: Principal | None
    links: Links
    params: dict[str, str]
    json: Any = None  # the parsed body of an operation that takes JSON (Content v1)

    def path(self, name: str) -> str:
        return self.params[name]


Handler = Callable[[Call], Awaitable[Response]]


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    status: int = 200
    schema: str | None = None  # component schema of the resource returned
    list_key: str | None = None  # set for list operations
    parameters: Sequence[str] = ()  # query (GET) or form (POST) parameters accepted
    authenticated: bool = True
    tags: Sequence[str] = field(default_factory=tuple)
    json_body: bool = False  # the body is JSON (Content v1 takes JSON, as Twilio's SDK sends it)


def error_payload(error: TwilioError, errors_base: str) -> dict[str, Any]:
    # Never add "type"/"title": the SDK would then raise TwilioServiceException instead of
    # TwilioRestException (see the compatibility brief §8).
    return {
        "code": error.code,
        "message": error.message,
        "more_info": f"{errors_base}/docs/errors/{error.code}",
        "status": error.status,
    }


def error_response(error: TwilioError, errors_base: str) -> Response:
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if error.status == 401 else None
    return json_response(error_payload(error, errors_base), error.status, headers)


def links_for(request: Request) -> Links:
    state = request.scope.get("openline") or {}
    external, errors = state.get("external_base"), state.get("errors_base")
    if external is None or errors is None:  # building base_url costs a URL parse: only when needed
        base = str(request.base_url).rstrip("/")
        external, errors = external or base, errors or base
    return Links(external, errors)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def basic_credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise TwilioError(20003, "Authenticate: HTTP basic credentials are required")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise TwilioError(20003, "Authenticate: malformed credentials") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise TwilioError(20003, "Authenticate: malformed credentials")
    return username, password


async def read_json(request: Request) -> Any:
    """A JSON request body (operations with ``json_body``); empty is None."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise TwilioError(20413)
    if not body.strip():
        return None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return None  # the handler finds its resource first (404 before 400), then asks for JSON
    try:
        return orjson.loads(bytes(body))
    except orjson.JSONDecodeError:
        raise TwilioError(20001, "The request body is not valid JSON") from None


async def read_form(request: Request) -> Form:
    if request.method in ("GET", "DELETE", "HEAD"):
        return Form(list(request.query_params.multi_items()))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TwilioError(20413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise TwilioError(20413)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if body and content_type not in ("", "application/x-www-form-urlencoded"):
        raise TwilioError(20415)
    try:
        return Form.parse(bytes(body))
    except UnicodeDecodeError:
        raise TwilioError(20001, "The request body is not valid UTF-8") from None


def build_routes(
    operations: Sequence[Operation], authenticator: Authenticator, limiter: ConcurrencyLimiter
) -> list[Route]:
    """One Starlette route per path, dispatching on method, so a wrong method answers 20004."""
    by_path: dict[str, dict[str, Operation]] = {}
    for op in operations:
        by_path.setdefault(op.path, {})[op.method] = op

    def endpoint_for(methods: dict[str, Operation]) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            links = links_for(request)
            op = methods.get(request.method)
            if op is None:
                return error_response(TwilioError(20004, f"Method {request.method} is not allowed here"),
                                      links.errors_base)
            try:
                if not op.authenticated:
                    form = await read_form(request)
                    return await op.handler(Call(request, form, None, links, dict(request.path_params)))
                principal = await authenticator.authenticate(*basic_credentials(request), client_address(request))
                with limiter.slot(principal.account.sid):
                    if op.json_body and request.method == "POST":
                        payload = await read_json(request)
                        return await op.handler(Call(request, Form([]), principal, links,
                                                     dict(request.path_params), payload))
                    form = await read_form(request)
                    return await op.handler(Call(request, form, principal, links, dict(request.path_params)))
            except TwilioError as error:
                return error_response(error, links.errors_base)
            except OperationalError as exc:  # the store is locked, full or unreachable: worth a retry
                log.warning("store unavailable in %s %s: %s", request.method, request.url.path, exc.orig)
                response = error_response(TwilioError(20503), links.errors_base)
                response.headers["Retry-After"] = "1"
                return response
            except DatabaseBusy:  # no database connection came within database.pool_timeout_seconds
                return error_response(TwilioError(20429, "The server is busy; retry shortly"), links.errors_base)
            except Exception:
                log.exception("unhandled error in %s %s", request.method, request.url.path)
                return error_response(TwilioError(20500), links.errors_base)

        return endpoint

    # Literal segments win over parameters: /IncomingPhoneNumbers/Local.json before /{Sid}.json.
    ordered = sorted(by_path.items(), key=lambda item: item[0].count("{"))
    return [Route(path, endpoint_for(methods), methods=["GET", "POST", "DELETE", "PUT", "PATCH"])
            for path, methods in ordered]
