"""Messaging v1: Services (MG…) with their PhoneNumbers (PN…) and AlphaSenders (AI…).

Served under the ``messaging`` product (``https://messaging.twilio.com/v1/...`` or
``/messaging/v1/...``). There is no AccountSid in v1 paths: the account is the caller's, and
every lookup is scoped to it. Dates are ISO 8601, lists use the ``meta`` envelope, and ``url``
and ``links`` are absolute, written the way the client reached us (compatibility brief §1, §3).

Openline extensions to the Service resource (form parameters on create and update, echoed
as snake_case fields in the JSON, which the twilio SDK ignores):

* ``OptOutEnabled`` (bool, default true): handle STOP/START/HELP keywords for the service's
  senders, as Twilio's Advanced Opt-Out does.
* ``StopReply``, ``StartReply``, ``HelpReply`` (text, at most 1600 characters): the replies
  sent for those keywords. Unset, or set to the empty string, means Openline's default text.
"""

from __future__ import annotations

from typing import Any

from openline.api.envelopes import PageRequest
from openline.api.framework import Call, Operation, empty_response, json_response
from openline.api.params import Field, boolean, http_method, integer, one_of, read_fields, text, url
from openline.api.services import ApiServices, principal
from openline.core.dates import iso8601
from openline.core.errors import TwilioError
from openline.core.messaging import MessagingService, ServiceSender
from openline.core.numbering import parse_e164
from openline.services.messaging_services import MessagingServiceAdmin, PhoneSender

USECASES = ("notifications", "marketing", "verification", "discussion", "poll", "undeclared")


def _reply(name: str, value: str) -> str | None:
    """An opt-out reply text; the empty string goes back to Openline's default."""
    return value or None


SERVICE_FIELDS: dict[str, Field] = {
    "FriendlyName": Field("friendly_name", text),
    "InboundRequestUrl": Field("inbound_request_url", url),
    "InboundMethod": Field("inbound_method", http_method),
    "FallbackUrl": Field("fallback_url", url),
    "FallbackMethod": Field("fallback_method", http_method),
    "StatusCallback": Field("status_callback", url),
    "StickySender": Field("sticky_sender", boolean),
    "MmsConverter": Field("mms_converter", boolean),
    "SmartEncoding": Field("smart_encoding", boolean),
    "ScanMessageContent": Field("scan_message_content", one_of("inherit", "enable", "disable")),
    "FallbackToLongCode": Field("fallback_to_long_code", boolean),
    "AreaCodeGeomatch": Field("area_code_geomatch", boolean),
    "ValidityPeriod": Field("validity_period", integer),
    "SynchronousValidation": Field("synchronous_validation", boolean),
    "Usecase": Field("usecase", one_of(*USECASES)),
    "UseInboundWebhookOnNumber": Field("use_inbound_webhook_on_number", boolean),
    # Openline extensions (see the module docstring)
    "OptOutEnabled": Field("opt_out_enabled", boolean),
    "StopReply": Field("stop_reply", _reply),
    "StartReply": Field("start_reply", _reply),
    "HelpReply": Field("help_reply", _reply),
}

ROOT = "/v1/Services"


def service_json(call: Call, s: MessagingService) -> dict[str, Any]:
    base = f"{call.links.external_base}{ROOT}/{s.sid}"
    return {
        "sid": s.sid,
        "account_sid": s.account_sid,
        "friendly_name": s.friendly_name,
        "date_created": iso8601(s.date_created),
        "date_updated": iso8601(s.date_updated),
        "inbound_request_url": s.inbound_request_url,
        "inbound_method": s.inbound_method,
        "fallback_url": s.fallback_url,
        "fallback_method": s.fallback_method,
        "status_callback": s.status_callback,
        "sticky_sender": s.sticky_sender,
        "mms_converter": s.mms_converter,
        "smart_encoding": s.smart_encoding,
        "scan_message_content": s.scan_message_content,
        "fallback_to_long_code": s.fallback_to_long_code,
        "area_code_geomatch": s.area_code_geomatch,
        "synchronous_validation": s.synchronous_validation,
        "validity_period": s.validity_period,
        "url": base,
        # Only the subresources Openline serves.
        "links": {"phone_numbers": f"{base}/PhoneNumbers", "alpha_senders": f"{base}/AlphaSenders"},
        "usecase": s.usecase,
        "us_app_to_person_registered": False,
        "use_inbound_webhook_on_number": s.use_inbound_webhook_on_number,
        "opt_out_enabled": s.opt_out_enabled,
        "stop_reply": s.stop_reply,
        "start_reply": s.start_reply,
        "help_reply": s.help_reply,
    }


def _capabilities(item: PhoneSender) -> list[str]:
    n = item.number
    if n is None:
        return []
    flags = (("SMS", n.sms_capable), ("MMS", n.mms_capable), ("Voice", n.voice_capable))
    return [name for name, on in flags if on]


def phone_number_json(call: Call, item: PhoneSender) -> dict[str, Any]:
    s = item.sender
    if item.number is not None:
        country: str | None = item.number.iso_country
    else:
        parsed = parse_e164(s.address)
        country = parsed.iso_country if parsed else None
    return {
        "sid": s.sid,
        "account_sid": s.account_sid,
        "service_sid": s.service_sid,
        "date_created": iso8601(s.date_created),
        "date_updated": iso8601(s.date_updated),
        "phone_number": s.address,
        "country_code": country,
        "capabilities": _capabilities(item),
        "url": f"{call.links.external_base}{ROOT}/{s.service_sid}/PhoneNumbers/{s.sid}",
    }


def alpha_sender_json(call: Call, s: ServiceSender) -> dict[str, Any]:
    return {
        "sid": s.sid,
        "account_sid": s.account_sid,
        "service_sid": s.service_sid,
        "date_created": iso8601(s.date_created),
        "date_updated": iso8601(s.date_updated),
        "alpha_sender": s.address,
        "capabilities": ["SMS"],
        "url": f"{call.links.external_base}{ROOT}/{s.service_sid}/AlphaSenders/{s.sid}",
    }


def _required(call: Call, name: str) -> str:
    value = call.form.get(name)
    if not value:
        raise TwilioError(20001, f"Missing required parameter {name} in the post body")
    return value


def operations(s: ApiServices, admin: MessagingServiceAdmin) -> list[Operation]:
    del s  # v1 paths carry no AccountSid; the caller's own account is the only one in reach

    # --- services ---------------------------------------------------------------------------

    async def create(call: Call) -> Any:
        service = await admin.create(principal(call).account, read_fields(call.form, SERVICE_FIELDS))
        return json_response(service_json(call, service), 201)

    async def list_(call: Call) -> Any:
        paging = PageRequest(call)
        page = await admin.list(principal(call).account, paging.size, paging.cursor)
        return json_response(paging.envelope_meta("services", [service_json(call, x) for x in page.items], page))

    async def fetch(call: Call) -> Any:
        return json_response(service_json(call, await admin.get(principal(call).account, call.path("Sid"))))

    async def update(call: Call) -> Any:
        service = await admin.update(principal(call).account, call.path("Sid"),
                                     read_fields(call.form, SERVICE_FIELDS))
        return json_response(service_json(call, service))

    async def delete(call: Call) -> Any:
        await admin.delete(principal(call).account, call.path("Sid"))
        return empty_response()

    # --- phone numbers ----------------------------------------------------------------------

    async def add_number(call: Call) -> Any:
        item = await admin.add_phone_number(principal(call).account, call.path("ServiceSid"),
                                            _required(call, "PhoneNumberSid"))
        return json_response(phone_number_json(call, item), 201)

    async def list_numbers(call: Call) -> Any:
        paging = PageRequest(call)
        page = await admin.list_phone_numbers(principal(call).account, call.path("ServiceSid"),
                                              paging.size, paging.cursor)
        return json_response(paging.envelope_meta(
            "phone_numbers", [phone_number_json(call, x) for x in page.items], page))

    async def fetch_number(call: Call) -> Any:
        item = await admin.get_phone_number(principal(call).account, call.path("ServiceSid"), call.path("Sid"))
        return json_response(phone_number_json(call, item))

    async def remove_number(call: Call) -> Any:
        await admin.remove_phone_number(principal(call).account, call.path("ServiceSid"), call.path("Sid"))
        return empty_response()

    # --- alpha senders ----------------------------------------------------------------------

    async def add_alpha(call: Call) -> Any:
        sender = await admin.add_alpha_sender(principal(call).account, call.path("ServiceSid"),
                                              _required(call, "AlphaSender"))
        return json_response(alpha_sender_json(call, sender), 201)

    async def list_alpha(call: Call) -> Any:
        paging = PageRequest(call)
        page = await admin.list_alpha_senders(principal(call).account, call.path("ServiceSid"),
                                              paging.size, paging.cursor)
        return json_response(paging.envelope_meta(
            "alpha_senders", [alpha_sender_json(call, x) for x in page.items], page))

    async def fetch_alpha(call: Call) -> Any:
        sender = await admin.get_alpha_sender(principal(call).account, call.path("ServiceSid"), call.path("Sid"))
        return json_response(alpha_sender_json(call, sender))

    async def remove_alpha(call: Call) -> Any:
        await admin.remove_alpha_sender(principal(call).account, call.path("ServiceSid"), call.path("Sid"))
        return empty_response()

    paging_params = ("PageSize", "Page", "PageToken")
    fields = tuple(SERVICE_FIELDS)
    numbers = f"{ROOT}/{{ServiceSid}}/PhoneNumbers"
    alphas = f"{ROOT}/{{ServiceSid}}/AlphaSenders"
    svc_tags, pn_tags = ("MessagingServices",), ("MessagingServicePhoneNumbers",)
    ai_tags = ("MessagingServiceAlphaSenders",)
    return [
        Operation("POST", ROOT, create, "CreateService", "Create a messaging service", 201, "messaging_service",
                  parameters=fields, tags=svc_tags),
        Operation("GET", ROOT, list_, "ListService", "List the account's messaging services",
                  schema="messaging_service", list_key="services", parameters=paging_params, tags=svc_tags),
        Operation("GET", f"{ROOT}/{{Sid}}", fetch, "FetchService", "Fetch a messaging service",
                  schema="messaging_service", tags=svc_tags),
        Operation("POST", f"{ROOT}/{{Sid}}", update, "UpdateService", "Configure a messaging service",
                  schema="messaging_service", parameters=fields, tags=svc_tags),
        Operation("DELETE", f"{ROOT}/{{Sid}}", delete, "DeleteService",
                  "Delete a messaging service and its sender pool", 204, tags=svc_tags),
        Operation("POST", numbers, add_number, "CreatePhoneNumber", "Add one of the account's numbers to the service",
                  201, "messaging_service_phone_number", parameters=("PhoneNumberSid",), tags=pn_tags),
        Operation("GET", numbers, list_numbers, "ListPhoneNumber", "List the service's phone numbers",
                  schema="messaging_service_phone_number", list_key="phone_numbers", parameters=paging_params,
                  tags=pn_tags),
        Operation("GET", f"{numbers}/{{Sid}}", fetch_number, "FetchPhoneNumber", "Fetch a phone number of the service",
                  schema="messaging_service_phone_number", tags=pn_tags),
        Operation("DELETE", f"{numbers}/{{Sid}}", remove_number, "DeletePhoneNumber",
                  "Remove a phone number from the service (the number stays on the account)", 204, tags=pn_tags),
        Operation("POST", alphas, add_alpha, "CreateAlphaSender", "Add the service's alphanumeric sender ID", 201,
                  "messaging_service_alpha_sender", parameters=("AlphaSender",), tags=ai_tags),
        Operation("GET", alphas, list_alpha, "ListAlphaSender", "List the service's alpha senders",
                  schema="messaging_service_alpha_sender", list_key="alpha_senders", parameters=paging_params,
                  tags=ai_tags),
        Operation("GET", f"{alphas}/{{Sid}}", fetch_alpha, "FetchAlphaSender", "Fetch the service's alpha sender",
                  schema="messaging_service_alpha_sender", tags=ai_tags),
        Operation("DELETE", f"{alphas}/{{Sid}}", remove_alpha, "DeleteAlphaSender", "Remove an alpha sender",
                  204, tags=ai_tags),
    ]
