"""The sandbox phone network's own API: play the handsets, and move the sandbox clock.

* ``POST /sandbox/v1/Messages`` (From = a handset, To = an Openline number, Body, MediaUrl…)
  injects an inbound message as if that phone sent it; 201 with the inbound Message. Chat
  addresses work the same way: From ``whatsapp:+…`` To ``whatsapp:+<your number>``, From
  ``telegram:<chat id>`` To ``telegram:<bot id>``, ``messenger:…``, ``line:…``; ``ProfileName``
  names the chat user (WhatsApp's ``ProfileName`` webhook parameter).
* ``GET /sandbox/v1/Handsets/{address}/Messages``: what the handset received from the calling
  account (and its subaccounts), newest first.
* ``POST /sandbox/v1/Clock`` (Advance=<seconds>): only with ``openline serve --sandbox-clock``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from openline.api.framework import Call, Operation, json_response
from openline.api.params import page_number, page_size
from openline.api.services import ApiServices, principal
from openline.api.v2010.messages import message_json
from openline.core.channels import parse_address
from openline.core.clock import OffsetClock
from openline.core.dates import iso8601, rfc2822
from openline.core.errors import TwilioError
from openline.services.queue import Wakeup
from openline.services.sandbox_handsets import Handsets
from openline.storage.paging import clamp_page_size

MAX_ADVANCE_SECONDS = 400 * 24 * 3600  # more than any validity or schedule window


def operations(s: ApiServices, handsets: Handsets, clock: OffsetClock | None, wakeup: Wakeup) -> list[Operation]:
    async def inject(call: Call) -> Any:
        who = principal(call)
        # The caller's own account first: in the sandbox it owns the chat senders it writes to.
        accounts = [who.account.sid, *(sid for sid in await s.accounts.visible_sids(who) if sid != who.account.sid)]
        form = call.form
        message = await handsets.send(accounts, form.get("From"), form.get("To"), form.get("Body") or "",
                                      [u for u in form.getlist("MediaUrl") if u], form.get("ProfileName") or None)
        return json_response(message_json(message), 201)

    async def inbox(call: Call) -> Any:
        who = principal(call)
        raw = call.path("address")
        parsed = parse_address(raw)
        address = str(parsed) if parsed else raw
        size = clamp_page_size(page_size(call.form))
        number = page_number(call.form)
        accounts = await s.accounts.visible_sids(who)
        items, more = await handsets.inbox(address, accounts, size, number * size)
        base = f"{call.links.external_base}{call.request.url.path}"
        return json_response({
            "messages": [{
                "sid": item.message_sid, "from": item.from_addr, "to": item.handset, "body": item.body,
                "media": [{"url": url, "content_type": content_type} for url, content_type in media],
                "status": item.status, "date_sent": rfc2822(item.date_sent),
            } for item, media in items],
            "meta": {"page": number, "page_size": size, "key": "messages",
                     "next_page_url": f"{base}?{urlencode({'PageSize': size, 'Page': number + 1})}" if more else None},
        })

    ops = [
        Operation("POST", "/sandbox/v1/Messages", inject, "CreateSandboxMessage",
                  "A simulated handset sends a message to an Openline number", 201, "message",
                  parameters=("From", "To", "Body", "MediaUrl", "ProfileName"), tags=("Sandbox",)),
        Operation("GET", "/sandbox/v1/Handsets/{address}/Messages", inbox, "ListHandsetMessage",
                  "Messages a simulated handset received from the calling account",
                  parameters=("PageSize", "Page"), tags=("Sandbox",)),
    ]
    if clock is not None:
        async def advance(call: Call) -> Any:
            raw = call.form.get("Advance")
            try:
                seconds = float(raw or "")
            except ValueError:
                raise TwilioError(20001, "Advance must be a number of seconds") from None
            if not 0 <= seconds <= MAX_ADVANCE_SECONDS:
                raise TwilioError(20001, f"Advance must be between 0 and {MAX_ADVANCE_SECONDS} seconds")
            clock.advance(seconds)
            wakeup.notify()
            return json_response({"now": iso8601(clock.now()), "offset_seconds": clock.offset_seconds})

        ops.append(Operation("POST", "/sandbox/v1/Clock", advance, "UpdateSandboxClock",
                             "Move Openline's clock forward (serve --sandbox-clock)",
                             parameters=("Advance",), tags=("Sandbox",)))
    return ops
