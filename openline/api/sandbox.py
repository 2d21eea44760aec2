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

from starlette.responses import Response

from openline.api.framework import Call, Operation, json_response
from openline.api.params import integer, page_number, page_size, url
from openline.api.services import ApiServices, principal
from openline.api.v2010.calls import call_json
from openline.api.v2010.messages import message_json
from openline.core.channels import parse_address
from openline.core.clock import OffsetClock
from openline.core.dates import iso8601, rfc2822
from openline.core.errors import TwilioError
from openline.core.numbering import parse_e164
from openline.services.queue import Wakeup
from openline.services.sandbox_handsets import Handsets
from openline.services.sandbox_voice import ANSWERS, SandboxVoice, check_digits, handset_address, make_incoming
from openline.services.voice import VoiceService
from openline.storage.paging import clamp_page_size
from openline.storage.repositories.voice import HandsetBehavior

MAX_ADVANCE_SECONDS = 400 * 24 * 3600  # more than any validity or schedule window


MAX_ANSWER_AFTER = 600  # seconds; Twilio's longest Timeout
MAX_CALL_SECONDS = 14_400  # Twilio's longest call


def operations(s: ApiServices, handsets: Handsets, clock: OffsetClock | None, wakeup: Wakeup,
               voice: VoiceService | None = None, phones: SandboxVoice | None = None) -> list[Operation]:
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
    if voice is not None and phones is not None:
        ops += _voice_operations(s, voice, phones)
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


def _hangup_after(raw: str | None) -> int | None:
    if not raw:
        return None
    seconds = integer("HangupAfter", raw)
    if not 0 <= seconds <= MAX_CALL_SECONDS:
        raise TwilioError(20001, f"HangupAfter must be between 0 and {MAX_CALL_SECONDS} seconds")
    return seconds


def _voice_operations(s: ApiServices, voice: VoiceService, phones: SandboxVoice) -> list[Operation]:
    async def behavior(call: Call) -> Any:
        who = principal(call)
        address = handset_address(call.path("address"))
        form = call.form
        answer = form.get("Answer") or "answer"
        if answer not in ANSWERS:
            raise TwilioError(20001, f"Answer must be one of {', '.join(ANSWERS)}")
        after = integer("AnswerAfter", form.get("AnswerAfter") or "0")
        if not 0 <= after <= MAX_ANSWER_AFTER:
            raise TwilioError(20001, f"AnswerAfter must be between 0 and {MAX_ANSWER_AFTER} seconds")
        play_url = url("PlayUrl", form.get("PlayUrl") or "")
        chosen = HandsetBehavior(answer, after, check_digits(form.get("Digits")), play_url,
                                 _hangup_after(form.get("HangupAfter")))
        await phones.set_behavior(who.account.sid, address, chosen)
        return json_response({"address": address, "answer": chosen.answer, "answer_after": chosen.answer_after,
                              "digits": chosen.digits, "play_url": chosen.play_url,
                              "hangup_after": chosen.hangup_after})

    async def place(call: Call) -> Any:
        who = principal(call)
        form = call.form
        from_ = form.get("From")
        to = form.get("To")
        if not from_:
            raise TwilioError(21213, "From (the handset that calls) is required")
        if not to:
            raise TwilioError(21201, "To (an Openline number) is required")
        play_url = url("PlayUrl", form.get("PlayUrl") or "")
        accounts = await s.accounts.visible_sids(who)
        leg = phones.incoming_leg(handset_address(from_), who.account.sid, check_digits(form.get("Digits")), play_url,
                                  _hangup_after(form.get("HangupAfter")))
        parsed = parse_e164(to)
        placed = await voice.accept_incoming(make_incoming(leg, parsed.e164 if parsed else to,
                                                           handset_address(from_)), accounts)
        await phones.attach(leg, placed)
        return json_response(call_json(placed), 201)

    async def calls(call: Call) -> Any:
        who = principal(call)
        address = handset_address(call.path("address"))
        size = clamp_page_size(page_size(call.form))
        number = page_number(call.form)
        accounts = await s.accounts.visible_sids(who)
        items, more = await phones.calls(address, accounts, size, number * size)
        base = f"{call.links.external_base}{call.request.url.path}"
        rows = []
        for item in items:
            try:
                placed = await voice.get(await s.account(who, item.account_sid), item.call_sid)
            except TwilioError:
                continue  # the call was deleted
            rows.append({
                "sid": placed.sid, "from": placed.from_addr, "to": placed.to_addr, "status": placed.status.value,
                "duration": placed.duration, "heard": list(item.heard), "digits_sent": item.digits_sent,
                "recording_url": f"{call.links.external_base}/sandbox/v1/Handsets/{address}/Calls/{placed.sid}.wav"
                if item.blob_key else None,
            })
        return json_response({
            "calls": rows,
            "meta": {"page": number, "page_size": size, "key": "calls",
                     "next_page_url": f"{base}?{urlencode({'PageSize': size, 'Page': number + 1})}" if more else None},
        })

    async def heard(call: Call) -> Any:
        who = principal(call)
        accounts = await s.accounts.visible_sids(who)
        item = await phones.call(call.path("sid"))
        if item is None or item.account_sid not in accounts or item.handset != handset_address(call.path("address")) \
                or item.blob_key is None:
            raise TwilioError(20404)
        data = await phones.audio(item.blob_key)
        if data is None:
            raise TwilioError(20404, "The recording is no longer stored")
        return Response(data, media_type="audio/wav")

    tags = ("Sandbox",)
    return [
        Operation("POST", "/sandbox/v1/Handsets/{address}/Behavior", behavior, "UpdateHandsetBehavior",
                  "How a simulated handset answers its next calls",
                  parameters=("Answer", "AnswerAfter", "Digits", "PlayUrl", "HangupAfter"), tags=tags),
        Operation("POST", "/sandbox/v1/Calls", place, "CreateSandboxCall",
                  "A simulated handset calls an Openline number", 201, "call",
                  parameters=("From", "To", "Digits", "PlayUrl", "HangupAfter"), tags=tags),
        Operation("GET", "/sandbox/v1/Handsets/{address}/Calls", calls, "ListHandsetCall",
                  "Calls a simulated handset took part in, newest first", parameters=("PageSize", "Page"), tags=tags),
        Operation("GET", "/sandbox/v1/Handsets/{address}/Calls/{sid}.wav", heard, "FetchHandsetCallAudio",
                  "A WAV of what the handset heard on one call", tags=tags),
    ]
