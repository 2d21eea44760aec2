"""Calls (CA…): place, list, fetch, redirect or end, delete."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from openline.api.envelopes import PageRequest
from openline.api.framework import Call as ApiCall
from openline.api.framework import Operation, empty_response, json_response
from openline.api.params import boolean, http_method, integer, url
from openline.api.services import ApiServices
from openline.api.v2010 import ROOT, account_uri
from openline.core.calls import Call, CallStatus
from openline.core.dates import parse_filter_date, rfc2822
from openline.core.errors import TwilioError
from openline.services.voice import CallUpdate, CreateCall, VoiceService
from openline.storage.repositories.voice import CallFilter

DAY = timedelta(days=1)


def call_json(c: Call) -> dict[str, Any]:
    uri = f"{account_uri(c.account_sid)}/Calls/{c.sid}"
    return {
        "sid": c.sid, "date_created": rfc2822(c.date_created), "date_updated": rfc2822(c.date_updated),
        "parent_call_sid": c.parent_call_sid, "account_sid": c.account_sid, "to": c.to_addr,
        "to_formatted": c.to_addr, "from": c.from_addr, "from_formatted": c.from_addr,
        "phone_number_sid": c.phone_number_sid, "status": c.status.value, "start_time": rfc2822(c.start_time),
        "end_time": rfc2822(c.end_time), "duration": None if c.duration is None else str(c.duration),
        "price": None, "price_unit": "USD", "direction": c.direction.value, "answered_by": c.answered_by,
        "api_version": "2010-04-01", "forwarded_from": None, "group_sid": None, "caller_name": c.caller_name,
        "queue_time": "0", "trunk_sid": None, "uri": f"{uri}.json",
        "subresource_uris": {
            "notifications": f"{uri}/Notifications.json", "recordings": f"{uri}/Recordings.json",
            "payments": f"{uri}/Payments.json", "events": f"{uri}/Events.json",
            "siprec": f"{uri}/Siprec.json", "streams": f"{uri}/Streams.json",
            "transcriptions": f"{uri}/Transcriptions.json",
            "user_defined_message_subscriptions": f"{uri}/UserDefinedMessageSubscriptions.json",
            "user_defined_messages": f"{uri}/UserDefinedMessages.json",
        },
    }


def _url(form_value: str | None, name: str, code: int) -> str | None:
    if not form_value:
        return None
    try:
        return url(name, form_value)
    except TwilioError:
        raise TwilioError(code, f"{name} {form_value} is not a valid http(s) URL") from None


def _method(call: ApiCall, name: str) -> str:
    raw = call.form.get(name)
    return http_method(name, raw) if raw else "POST"


def create_request(call: ApiCall) -> CreateCall:
    form = call.form
    events: list[str] = []
    for value in form.getlist("StatusCallbackEvent"):
        events += value.split()  # the SDK sends one value per parameter; a space-separated list also works
    timeout = form.get("Timeout")
    record = form.get("Record")
    return CreateCall(
        to=form.get("To"), from_=form.get("From") or form.get("CallerId"),
        url=_url(form.get("Url"), "Url", 21205), method=_method(call, "Method"), twiml=form.get("Twiml") or None,
        application_sid=form.get("ApplicationSid") or None,
        fallback_url=_url(form.get("FallbackUrl"), "FallbackUrl", 21205),
        fallback_method=_method(call, "FallbackMethod"),
        status_callback=_url(form.get("StatusCallback"), "StatusCallback", 21609),
        status_callback_method=_method(call, "StatusCallbackMethod"), status_callback_events=events,
        timeout=integer("Timeout", timeout) if timeout else 60,
        record=boolean("Record", record) if record else False,
        send_digits=form.get("SendDigits") or None)


def _date(call: ApiCall, name: str) -> tuple[datetime, bool] | None:
    raw = call.form.get(name)
    if not raw:
        return None
    try:
        return parse_filter_date(raw), len(raw.strip()) == 10
    except ValueError:
        raise TwilioError(20001, f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 date and time") from None


def _range(call: ApiCall, name: str) -> tuple[datetime | None, datetime | None]:
    """Twilio's ``X``, ``X<`` and ``X>`` filters as [after, before); a bare day covers that day."""
    after: datetime | None = None
    before: datetime | None = None
    on = _date(call, name)
    if on is not None:
        after, before = on[0], on[0] + DAY if on[1] else on[0] + timedelta(seconds=1)
    lt = _date(call, f"{name}<")
    if lt is not None:
        before = lt[0] + DAY if lt[1] else lt[0]
    gt = _date(call, f"{name}>")
    if gt is not None:
        after = gt[0]
    return after, before


def operations(s: ApiServices, voice: VoiceService) -> list[Operation]:
    async def create(call: ApiCall) -> Any:
        account = await s.path_account(call)
        return json_response(call_json(await voice.create(account, create_request(call))), 201)

    async def list_(call: ApiCall) -> Any:
        account = await s.path_account(call)
        paging = PageRequest(call)
        form = call.form
        status = form.get("Status")
        if status and status not in {st.value for st in CallStatus}:
            raise TwilioError(20001, f"Status must be one of {', '.join(st.value for st in CallStatus)}")
        started = _range(call, "StartTime")
        ended = _range(call, "EndTime")
        where = CallFilter(to=form.get("To") or None, from_=form.get("From") or None,
                           status=CallStatus(status) if status else None,
                           parent_call_sid=form.get("ParentCallSid") or None, started_after=started[0],
                           started_before=started[1], ended_after=ended[0], ended_before=ended[1])
        page = await voice.search(account, paging.size, paging.cursor, where)
        return json_response(paging.envelope_2010("calls", [call_json(c) for c in page.items], page))

    async def fetch(call: ApiCall) -> Any:
        account = await s.path_account(call)
        return json_response(call_json(await voice.get(account, call.path("Sid"))))

    async def update(call: ApiCall) -> Any:
        account = await s.path_account(call)
        form = call.form
        status = form.get("Status") or None
        if status is not None and status not in ("canceled", "completed"):
            raise TwilioError(20001, "Status can only be set to canceled or completed")
        change = CallUpdate(url=_url(form.get("Url"), "Url", 21205), method=_method(call, "Method"),
                            twiml=form.get("Twiml") or None, status=status)
        return json_response(call_json(await voice.update(account, call.path("Sid"), change)))

    async def delete(call: ApiCall) -> Any:
        account = await s.path_account(call)
        await voice.delete(account, call.path("Sid"))
        return empty_response()

    base = f"{ROOT}/Accounts/{{AccountSid}}/Calls"
    tags = ("Calls",)
    create_params = ("To", "From", "Url", "Method", "Twiml", "ApplicationSid", "FallbackUrl", "FallbackMethod",
                     "StatusCallback", "StatusCallbackEvent", "StatusCallbackMethod", "Timeout", "Record",
                     "SendDigits", "CallerId")
    return [
        Operation("POST", f"{base}.json", create, "CreateCall", "Place a call", 201, "call",
                  parameters=create_params, tags=tags),
        Operation("GET", f"{base}.json", list_, "ListCall", "List calls, newest first", schema="call",
                  list_key="calls",
                  parameters=("To", "From", "Status", "ParentCallSid", "StartTime", "StartTime<", "StartTime>",
                              "EndTime", "EndTime<", "EndTime>", "PageSize", "Page", "PageToken"), tags=tags),
        Operation("GET", f"{base}/{{Sid}}.json", fetch, "FetchCall", "Fetch a call", schema="call", tags=tags),
        Operation("POST", f"{base}/{{Sid}}.json", update, "UpdateCall",
                  "Redirect a live call (Url/Twiml) or end it (Status=canceled|completed)", schema="call",
                  parameters=("Url", "Method", "Twiml", "Status"), tags=tags),
        Operation("DELETE", f"{base}/{{Sid}}.json", delete, "DeleteCall", "Delete a call that has ended", 204,
                  tags=tags),
    ]
