"""IncomingPhoneNumbers (the account's numbers) and AvailablePhoneNumbers (the inventory)."""

from __future__ import annotations

import re
from typing import Any

from openline.api.envelopes import PageRequest
from openline.api.framework import Call, Operation, empty_response, json_response
from openline.api.params import Field, boolean, http_method, one_of, optional_sid, read_fields, text, url
from openline.api.services import ApiServices, principal
from openline.api.v2010 import ROOT, account_uri
from openline.core.dates import rfc2822
from openline.core.entities import IncomingPhoneNumber, NumberType
from openline.core.errors import TwilioError
from openline.core.numbering import AvailableNumber, contains_pattern, countries, country_kinds
from openline.storage.paging import Page

NUMBER_FIELDS: dict[str, Field] = {
    "FriendlyName": Field("friendly_name", text),
    "ApiVersion": Field("api_version", text),
    "SmsUrl": Field("sms_url", url),
    "SmsMethod": Field("sms_method", http_method),
    "SmsFallbackUrl": Field("sms_fallback_url", url),
    "SmsFallbackMethod": Field("sms_fallback_method", http_method),
    "SmsApplicationSid": Field("sms_application_sid", optional_sid("AP")),
    "VoiceUrl": Field("voice_url", url),
    "VoiceMethod": Field("voice_method", http_method),
    "VoiceFallbackUrl": Field("voice_fallback_url", url),
    "VoiceFallbackMethod": Field("voice_fallback_method", http_method),
    "VoiceApplicationSid": Field("voice_application_sid", optional_sid("AP")),
    "VoiceCallerIdLookup": Field("voice_caller_id_lookup", boolean),
    "VoiceReceiveMode": Field("voice_receive_mode", one_of("voice", "fax")),
    "StatusCallback": Field("status_callback", url),
    "StatusCallbackMethod": Field("status_callback_method", http_method),
    "TrunkSid": Field("trunk_sid", optional_sid("TK")),
    "IdentitySid": Field("identity_sid", optional_sid("RI")),
    "AddressSid": Field("address_sid", optional_sid("AD")),
    "BundleSid": Field("bundle_sid", optional_sid("BU")),
    "EmergencyStatus": Field("emergency_status", one_of("Active", "Inactive")),
    "EmergencyAddressSid": Field("emergency_address_sid", optional_sid("AD")),
}

# URL segment ↔ number type, as in /IncomingPhoneNumbers/TollFree.json
KIND_SEGMENTS = {"Local": NumberType.LOCAL, "Mobile": NumberType.MOBILE, "TollFree": NumberType.TOLL_FREE}
KIND_KEYS = {NumberType.LOCAL: "local", NumberType.MOBILE: "mobile", NumberType.TOLL_FREE: "toll_free"}
SEGMENT_OF = {kind: segment for segment, kind in KIND_SEGMENTS.items()}


def number_json(n: IncomingPhoneNumber) -> dict[str, Any]:
    return {
        "account_sid": n.account_sid,
        "address_sid": n.address_sid,
        "address_requirements": "none",
        "api_version": n.api_version,
        "beta": False,
        "capabilities": {"voice": n.voice_capable, "sms": n.sms_capable, "mms": n.mms_capable, "fax": n.fax_capable},
        "date_created": rfc2822(n.date_created),
        "date_updated": rfc2822(n.date_updated),
        "friendly_name": n.friendly_name,
        "identity_sid": n.identity_sid,
        "phone_number": n.phone_number,
        "origin": n.origin,
        "sid": n.sid,
        "sms_application_sid": n.sms_application_sid,
        "sms_fallback_method": n.sms_fallback_method,
        "sms_fallback_url": n.sms_fallback_url,
        "sms_method": n.sms_method,
        "sms_url": n.sms_url,
        "status_callback": n.status_callback,
        "status_callback_method": n.status_callback_method,
        "trunk_sid": n.trunk_sid,
        "uri": f"{account_uri(n.account_sid)}/IncomingPhoneNumbers/{n.sid}.json",
        "voice_receive_mode": n.voice_receive_mode,
        "voice_application_sid": n.voice_application_sid,
        "voice_caller_id_lookup": n.voice_caller_id_lookup,
        "voice_fallback_method": n.voice_fallback_method,
        "voice_fallback_url": n.voice_fallback_url,
        "voice_method": n.voice_method,
        "voice_url": n.voice_url,
        "emergency_status": n.emergency_status,
        "emergency_address_sid": n.emergency_address_sid,
        "emergency_address_status": "unregistered",
        "bundle_sid": n.bundle_sid,
        "status": "in-use",
        "type": n.number_type.value,
    }


def available_json(a: AvailableNumber) -> dict[str, Any]:
    return {
        "friendly_name": a.friendly_name,
        "phone_number": a.e164,
        "lata": None,
        "locality": a.locality,
        "rate_center": None,
        "latitude": None,
        "longitude": None,
        "region": a.region,
        "postal_code": None,
        "iso_country": a.iso_country,
        "address_requirements": "none",
        "beta": False,
        "capabilities": {"voice": True, "sms": True, "mms": True, "fax": False},
    }


def country_json(account_sid: str, code: str, name: str, kinds: tuple[NumberType, ...]) -> dict[str, Any]:
    base = f"{account_uri(account_sid)}/AvailablePhoneNumbers/{code}"
    return {
        "country_code": code,
        "country": name,
        "uri": f"{base}.json",
        "beta": False,
        "subresource_uris": {KIND_KEYS[k]: f"{base}/{SEGMENT_OF[k]}.json" for k in kinds},
    }


_AREA_CODE = re.compile(r"^[2-9][0-9]{2}$")


def _area_code(call: Call) -> str | None:
    raw = call.form.get("AreaCode")
    if raw is None or raw == "":
        return None
    if not _AREA_CODE.match(raw):
        raise TwilioError(21451, f"AreaCode {raw} is not a valid area code")
    return raw


def _country(call: Call) -> str:
    code = call.path("CountryCode").upper()
    if country_kinds(code) is None:
        raise TwilioError(20404, f"Country {code} is not offered by this Openline's number inventory")
    return code


def operations(s: ApiServices) -> list[Operation]:
    async def create(call: Call, kind: NumberType | None = None) -> Any:
        account = await s.path_account(call)
        number = await s.numbers.provision(account, call.form.get("PhoneNumber"), _area_code(call),
                                           read_fields(call.form, NUMBER_FIELDS), kind)
        return json_response(number_json(number), 201)

    async def list_(call: Call, kind: NumberType | None = None) -> Any:
        account = await s.path_account(call)
        paging = PageRequest(call)
        beta = call.form.get("Beta")
        if beta is not None:
            boolean("Beta", beta)  # validated; no Openline number is beta
        page = await s.numbers.list(
            account, paging.size, paging.cursor, friendly_name=call.form.get("FriendlyName"),
            phone_number=call.form.get("PhoneNumber"), number_type=kind, origin=call.form.get("Origin"))
        return json_response(
            paging.envelope_2010("incoming_phone_numbers", [number_json(n) for n in page.items], page))

    def for_kind(kind: NumberType, handler: Any) -> Any:
        async def bound(call: Call) -> Any:
            return await handler(call, kind)

        return bound

    async def fetch(call: Call) -> Any:
        account = await s.path_account(call)
        return json_response(number_json(await s.numbers.get(account, call.path("Sid"))))

    async def update(call: Call) -> Any:
        account = await s.path_account(call)
        values = read_fields(call.form, NUMBER_FIELDS)
        new_owner = None
        target_sid = call.form.get("AccountSid")
        if target_sid and target_sid != account.sid:
            # Moving a number between a parent and its subaccounts: the caller must own both.
            new_owner = await s.account(principal(call), target_sid)
        number = await s.numbers.update(account, call.path("Sid"), values, new_owner)
        return json_response(number_json(number))

    async def release(call: Call) -> Any:
        account = await s.path_account(call)
        await s.numbers.release(account, call.path("Sid"))
        return empty_response()

    async def list_countries(call: Call) -> Any:
        account = await s.path_account(call)
        items = [country_json(account.sid, code, name, kinds) for code, name, kinds in countries()]
        # The inventory answers in one page, in the 2010 envelope the spec gives it.
        return json_response(PageRequest(call).envelope_2010("countries", items, Page(items, None, None)))

    async def fetch_country(call: Call) -> Any:
        account = await s.path_account(call)
        code = _country(call)
        name = next(n for c, n, _k in countries() if c == code)
        return json_response(country_json(account.sid, code, name, country_kinds(code) or ()))

    def search(kind: NumberType) -> Any:
        async def handler(call: Call) -> Any:
            await s.path_account(call)
            code = _country(call)
            form = call.form
            size = PageRequest(call).size
            contains = None
            if form.get("Contains"):
                contains = contains_pattern(form.get("Contains") or "")
                if contains is None:
                    raise TwilioError(20001, "Contains must be digits, letters or '*', at most 16 of them")
            for flag in ("SmsEnabled", "MmsEnabled", "VoiceEnabled", "FaxEnabled"):
                if form.get(flag) is not None:
                    boolean(flag, form.get(flag) or "")
            if (form.get("FaxEnabled") or "").lower() == "true":
                found = []  # no number in the sandbox inventory takes faxes
            else:
                area = _area_code(call)
                if area is not None and code not in _NANP:
                    raise TwilioError(21451, "AreaCode applies only to North American numbers")
                found = await s.numbers.search(code, kind, size, area, contains)
            for name, attribute in (("InRegion", "region"), ("InLocality", "locality")):
                wanted = form.get(name)
                if wanted:
                    found = [a for a in found if (getattr(a, attribute) or "").lower() == wanted.lower()]
            items = [available_json(a) for a in found]
            return json_response(PageRequest(call).envelope_2010("available_phone_numbers", items,
                                                                 Page(items, None, None)))

        return handler

    base = f"{ROOT}/Accounts/{{AccountSid}}/IncomingPhoneNumbers"
    avail = f"{ROOT}/Accounts/{{AccountSid}}/AvailablePhoneNumbers"
    fields = ("PhoneNumber", "AreaCode", *NUMBER_FIELDS)
    list_params = ("Beta", "FriendlyName", "PhoneNumber", "Origin", "PageSize", "Page", "PageToken")
    search_params = ("AreaCode", "Contains", "SmsEnabled", "MmsEnabled", "VoiceEnabled", "FaxEnabled",
                     "InRegion", "InLocality", "PageSize")
    tags = ("IncomingPhoneNumbers",)
    ops = [
        Operation("POST", f"{base}.json", create, "CreateIncomingPhoneNumber",
                  "Provision a phone number from the inventory", 201, "incoming_phone_number",
                  parameters=fields, tags=tags),
        Operation("GET", f"{base}.json", list_, "ListIncomingPhoneNumber", "List the account's phone numbers",
                  schema="incoming_phone_number", list_key="incoming_phone_numbers", parameters=list_params,
                  tags=tags),
        Operation("GET", f"{base}/{{Sid}}.json", fetch, "FetchIncomingPhoneNumber", "Fetch a phone number",
                  schema="incoming_phone_number", tags=tags),
        Operation("POST", f"{base}/{{Sid}}.json", update, "UpdateIncomingPhoneNumber",
                  "Configure a phone number (or move it to a subaccount with AccountSid)",
                  schema="incoming_phone_number", parameters=("AccountSid", *NUMBER_FIELDS), tags=tags),
        Operation("DELETE", f"{base}/{{Sid}}.json", release, "DeleteIncomingPhoneNumber",
                  "Release a phone number", 204, tags=tags),
        Operation("GET", f"{avail}.json", list_countries, "ListAvailablePhoneNumberCountry",
                  "Countries with numbers in the inventory", schema="available_phone_number_country",
                  list_key="countries", tags=("AvailablePhoneNumbers",)),
        Operation("GET", f"{avail}/{{CountryCode}}.json", fetch_country, "FetchAvailablePhoneNumberCountry",
                  "One country of the inventory", schema="available_phone_number_country",
                  tags=("AvailablePhoneNumbers",)),
    ]
    for segment, kind in KIND_SEGMENTS.items():
        ops += [
            Operation("POST", f"{base}/{segment}.json", for_kind(kind, create),
                      f"CreateIncomingPhoneNumber{segment}", f"Provision a {kind.value} number", 201,
                      "incoming_phone_number", parameters=fields, tags=tags),
            Operation("GET", f"{base}/{segment}.json", for_kind(kind, list_), f"ListIncomingPhoneNumber{segment}",
                      f"List the account's {kind.value} numbers", schema="incoming_phone_number",
                      list_key="incoming_phone_numbers", parameters=list_params, tags=tags),
            Operation("GET", f"{avail}/{{CountryCode}}/{segment}.json", search(kind),
                      f"ListAvailablePhoneNumber{segment}", f"Search the inventory for {kind.value} numbers",
                      schema="available_phone_number", list_key="available_phone_numbers",
                      parameters=search_params, tags=("AvailablePhoneNumbers",)),
        ]
    return ops


# Countries sharing the North American Numbering Plan, where AreaCode has meaning.
_NANP = frozenset({"US", "CA", "AG", "AI", "AS", "BB", "BM", "BS", "DM", "DO", "GD", "GU", "JM", "KN", "KY",
                   "LC", "MP", "MS", "PR", "SX", "TC", "TT", "VC", "VG", "VI"})
