"""Sandbox mailboxes (mail delivered while no relay or resolver is configured) and the tracking
endpoints that mail links to (open pixel, click redirect, RFC 8058 one-click unsubscribe).

* ``GET /sandbox/v1/Mailboxes/{address}/Messages``: what the address received from the calling
  account (and its subaccounts), newest first.
* ``GET /sandbox/v1/Mailboxes/{address}/Messages/{id}/raw``: the RFC 5322 message.
"""

from __future__ import annotations

import base64
import html
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from openline.api.framework import Call, Operation, json_response
from openline.api.params import page_number, page_size
from openline.api.services import ApiServices, principal
from openline.core.dates import iso8601
from openline.core.email_compose import parse_stored
from openline.core.errors import TwilioError
from openline.services.email import MailService
from openline.storage.paging import clamp_page_size

# The smallest transparent GIF (43 bytes), served for the open-tracking pixel.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def mailbox_item(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(row["id"]), **parse_stored(row["raw"].encode("ascii", "surrogateescape")),
            "date": iso8601(row["date_created"]), "sg_message_id": row["sg_message_id"]}


def operations(s: ApiServices, mail: MailService) -> list[Operation]:
    async def messages(call: Call) -> Any:
        accounts = await s.accounts.visible_sids(principal(call))
        size = clamp_page_size(page_size(call.form))
        number = page_number(call.form)
        rows = await mail.mailbox(call.path("address"), accounts, size + 1, number * size)
        more = len(rows) > size
        base = f"{call.links.external_base}{call.request.url.path}"
        return json_response({
            "messages": [mailbox_item(row) for row in rows[:size]],
            "meta": {"page": number, "page_size": size, "key": "messages",
                     "next_page_url": f"{base}?{urlencode({'PageSize': size, 'Page': number + 1})}" if more else None},
        })

    async def raw(call: Call) -> Any:
        accounts = await s.accounts.visible_sids(principal(call))
        item = call.path("id")
        row = await mail.mailbox_message(call.path("address"), accounts, int(item)) if item.isdigit() else None
        if row is None:
            raise TwilioError(20404)
        return Response(row["raw"].encode("ascii", "surrogateescape"), media_type="message/rfc822")

    return [
        Operation("GET", "/sandbox/v1/Mailboxes/{address}/Messages", messages, "ListMailboxMessage",
                  "Mail a sandbox mailbox received from the calling account, newest first",
                  parameters=("PageSize", "Page"), tags=("Sandbox",)),
        Operation("GET", "/sandbox/v1/Mailboxes/{address}/Messages/{id}/raw", raw, "FetchMailboxMessageRaw",
                  "The RFC 5322 message as delivered", tags=("Sandbox",)),
    ]


def tracking_routes(mail: MailService) -> list[Route]:
    def client(request: Request) -> tuple[str, str]:
        return request.headers.get("user-agent", ""), request.client.host if request.client else ""

    async def open_pixel(request: Request) -> Response:
        await mail.track(request.path_params["token"], "o", *client(request))
        return Response(PIXEL, media_type="image/gif", headers={"Cache-Control": "no-store"})

    async def click(request: Request) -> Response:
        hit = await mail.track(request.path_params["token"], "c", *client(request))
        if hit is None or not str(hit.get("url", "")).startswith(("http://", "https://")):
            return HTMLResponse("<h1>Link not found</h1>", 404)
        return RedirectResponse(str(hit["url"]), 302)

    async def unsubscribe(request: Request) -> Response:
        token = request.path_params["token"]
        if request.method == "POST":  # RFC 8058 §3.2: the one-click POST unsubscribes at once
            if await mail.track(token, "u", *client(request)) is None:
                return HTMLResponse("<h1>Link not found</h1>", 404)
            return HTMLResponse("<!doctype html><title>Unsubscribed</title><h1>You are unsubscribed.</h1>")
        # A GET never changes anything (mail scanners follow links): it shows a button that POSTs.
        return HTMLResponse("<!doctype html><title>Unsubscribe</title>"
                            f'<form method="post" action="{html.escape(str(request.url.path))}">'
                            '<button type="submit">Unsubscribe</button></form>')

    return [
        Route("/email/v1/o/{token}.gif", open_pixel, methods=["GET"]),
        Route("/email/v1/c/{token}", click, methods=["GET"]),
        Route("/email/v1/u/{token}", unsubscribe, methods=["GET", "POST"]),
    ]
