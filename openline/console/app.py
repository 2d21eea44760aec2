"""The console as one ASGI app, mounted by ``openline.app`` at ``/console``."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import OperationalError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from openline.console import (
    alerts,
    calls,
    conversations,
    dashboard,
    inbox,
    keys,
    messages,
    messaging_services,
    numbers,
    phone,
    signin,
    verify,
)
from openline.console.deps import ConsoleServices
from openline.console.web import Console, not_found_response, store_unavailable_response

STATIC = Path(__file__).parent / "static"


def console_app(services: ConsoleServices) -> Starlette:
    console = Console(services)
    routes = [
        *signin.routes(console),
        *dashboard.routes(console),
        *messages.routes(console),
        *calls.routes(console),
        *numbers.routes(console),
        *messaging_services.routes(console),
        *conversations.routes(console),
        *verify.routes(console),
        *keys.routes(console),
        *alerts.routes(console),
        *inbox.routes(console),
        *phone.routes(console),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]

    async def store_unavailable(request: Request, exc: Exception) -> Response:
        return store_unavailable_response(console, request)

    app = Starlette(routes=routes, exception_handlers={OperationalError: store_unavailable})

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        response: Response = not_found_response(console, Request(scope, receive))
        await response(scope, receive, send)

    app.router.default = not_found
    return app
