"""Openline's own endpoints: health, the error catalogue pages, and the OpenAPI document."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from openline import __version__
from openline.api.framework import error_response, json_response
from openline.core.errors import CATALOGUE, TwilioError

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}}
table{{border-collapse:collapse}}td,th{{padding:.25rem .75rem;border-bottom:1px solid #ddd;text-align:left}}</style>
</head><body>{body}</body></html>"""


def _error_page(request: Request) -> Response:
    raw = request.path_params["code"]
    spec = CATALOGUE.get(int(raw)) if raw.isdigit() else None
    if spec is None:
        return HTMLResponse(_PAGE.format(title="Unknown error code",
                                         body=f"<h1>Unknown error code {html.escape(raw)}</h1>"
                                              '<p><a href="/docs/errors">All error codes</a></p>'), 404)
    if "application/json" in request.headers.get("accept", ""):
        return json_response({"code": spec.code, "status": spec.status, "title": spec.title,
                              "description": spec.description})
    body = (f"<h1>Error {spec.code}: {html.escape(spec.title)}</h1><p>{html.escape(spec.description)}</p>"
            f"<p>HTTP status: {spec.status}</p><p><a href=\"/docs/errors\">All error codes</a></p>")
    return HTMLResponse(_PAGE.format(title=f"Error {spec.code}", body=body))


def _error_index(_request: Request) -> Response:
    rows = "".join(f'<tr><td><a href="/docs/errors/{s.code}">{s.code}</a></td><td>{s.status}</td>'
                   f"<td>{html.escape(s.title)}</td></tr>" for s in CATALOGUE.values())
    body = f"<h1>Openline error codes</h1><table><tr><th>Code</th><th>HTTP</th><th>Meaning</th></tr>{rows}</table>"
    return HTMLResponse(_PAGE.format(title="Openline error codes", body=body))


Health = Callable[[], Awaitable[dict[str, Any]]]
MetricsText = Callable[[], Awaitable[tuple[bytes, str]]]


def monitoring_routes(health: Health, metrics: MetricsText) -> list[Route]:
    """/health (JSON) and /metrics (Prometheus text format): what every role answers."""
    async def health_endpoint(_request: Request) -> Response:
        try:
            payload = await health()
        except Exception as exc:  # the database is unreachable: say so, don't hang
            return json_response({"status": "unavailable", "error": str(exc), "version": __version__}, 503)
        return json_response({"status": "ok", "version": __version__, **payload})

    async def metrics_endpoint(_request: Request) -> Response:
        try:
            body, content_type = await metrics()
        except Exception as exc:  # the database is unreachable: a scrape failure, not a hang
            return Response(f"# metrics unavailable: {exc}\n", 503, media_type="text/plain")
        return Response(body, media_type=content_type)

    return [Route("/health", health_endpoint, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"])]


def routes(health: Health, openapi: Callable[[], dict[str, Any]], errors_base: str,
           metrics: MetricsText) -> list[Route]:
    async def openapi_endpoint(_request: Request) -> Response:
        return json_response(openapi())

    async def error_page(request: Request) -> Response:
        return _error_page(request)

    async def error_index(request: Request) -> Response:
        return _error_index(request)

    return [
        *monitoring_routes(health, metrics),
        Route("/openapi.json", openapi_endpoint, methods=["GET"]),
        Route("/docs/errors", error_index, methods=["GET"]),
        Route("/docs/errors/{code}", error_page, methods=["GET"]),
    ]


async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI default for every router: Twilio's 404 envelope, never an HTML page."""
    if scope["type"] == "websocket":  # no socket here: refuse the handshake (403 before accept)
        await send({"type": "websocket.close", "code": 1008})
        return
    request = Request(scope, receive)
    response = error_response(TwilioError(20404, f"The requested resource {request.url.path} was not found"),
                              (scope.get("openline") or {}).get("errors_base", ""))
    await response(scope, receive, send)
