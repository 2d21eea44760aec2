"""TwiML applications (AP…)."""

from __future__ import annotations

from typing import Any

from openline.api.envelopes import PageRequest
from openline.api.framework import Call, Operation, empty_response, json_response
from openline.api.params import Field, boolean, http_method, read_fields, text, url
from openline.api.services import ApiServices
from openline.api.v2010 import ROOT, account_uri
from openline.core.dates import rfc2822
from openline.core.entities import Application

APPLICATION_FIELDS: dict[str, Field] = {
    "FriendlyName": Field("friendly_name", text),
    "ApiVersion": Field("api_version", text),
    "VoiceUrl": Field("voice_url", url),
    "VoiceMethod": Field("voice_method", http_method),
    "VoiceFallbackUrl": Field("voice_fallback_url", url),
    "VoiceFallbackMethod": Field("voice_fallback_method", http_method),
    "VoiceCallerIdLookup": Field("voice_caller_id_lookup", boolean),
    "StatusCallback": Field("status_callback", url),
    "StatusCallbackMethod": Field("status_callback_method", http_method),
    "SmsUrl": Field("sms_url", url),
    "SmsMethod": Field("sms_method", http_method),
    "SmsFallbackUrl": Field("sms_fallback_url", url),
    "SmsFallbackMethod": Field("sms_fallback_method", http_method),
    "SmsStatusCallback": Field("sms_status_callback", url),
    "MessageStatusCallback": Field("message_status_callback", url),
    "PublicApplicationConnectEnabled": Field("public_application_connect_enabled", boolean),
}


def application_json(app: Application) -> dict[str, Any]:
    return {
        "account_sid": app.account_sid,
        "api_version": app.api_version,
        "date_created": rfc2822(app.date_created),
        "date_updated": rfc2822(app.date_updated),
        "friendly_name": app.friendly_name,
        "message_status_callback": app.message_status_callback,
        "sid": app.sid,
        "sms_fallback_method": app.sms_fallback_method,
        "sms_fallback_url": app.sms_fallback_url,
        "sms_method": app.sms_method,
        "sms_status_callback": app.sms_status_callback,
        "sms_url": app.sms_url,
        "status_callback": app.status_callback,
        "status_callback_method": app.status_callback_method,
        "uri": f"{account_uri(app.account_sid)}/Applications/{app.sid}.json",
        "voice_caller_id_lookup": app.voice_caller_id_lookup,
        "voice_fallback_method": app.voice_fallback_method,
        "voice_fallback_url": app.voice_fallback_url,
        "voice_method": app.voice_method,
        "voice_url": app.voice_url,
        "public_application_connect_enabled": app.public_application_connect_enabled,
    }


def operations(s: ApiServices) -> list[Operation]:
    async def create(call: Call) -> Any:
        account = await s.path_account(call)
        app = await s.applications.create(account, read_fields(call.form, APPLICATION_FIELDS))
        return json_response(application_json(app), 201)

    async def list_(call: Call) -> Any:
        account = await s.path_account(call)
        paging = PageRequest(call)
        page = await s.applications.list(account, paging.size, paging.cursor, call.form.get("FriendlyName"))
        return json_response(paging.envelope_2010("applications", [application_json(a) for a in page.items], page))

    async def fetch(call: Call) -> Any:
        account = await s.path_account(call)
        return json_response(application_json(await s.applications.get(account, call.path("Sid"))))

    async def update(call: Call) -> Any:
        account = await s.path_account(call)
        app = await s.applications.update(account, call.path("Sid"), read_fields(call.form, APPLICATION_FIELDS))
        return json_response(application_json(app))

    async def delete(call: Call) -> Any:
        account = await s.path_account(call)
        await s.applications.delete(account, call.path("Sid"))
        return empty_response()

    base = f"{ROOT}/Accounts/{{AccountSid}}/Applications"
    fields = tuple(APPLICATION_FIELDS)
    tags = ("Applications",)
    return [
        Operation("POST", f"{base}.json", create, "CreateApplication", "Create a TwiML application", 201,
                  "application", parameters=fields, tags=tags),
        Operation("GET", f"{base}.json", list_, "ListApplication", "List TwiML applications",
                  schema="application", list_key="applications",
                  parameters=("FriendlyName", "PageSize", "Page", "PageToken"), tags=tags),
        Operation("GET", f"{base}/{{Sid}}.json", fetch, "FetchApplication", "Fetch a TwiML application",
                  schema="application", tags=tags),
        Operation("POST", f"{base}/{{Sid}}.json", update, "UpdateApplication", "Update a TwiML application",
                  schema="application", parameters=fields, tags=tags),
        Operation("DELETE", f"{base}/{{Sid}}.json", delete, "DeleteApplication", "Delete a TwiML application",
                  204, tags=tags),
    ]
