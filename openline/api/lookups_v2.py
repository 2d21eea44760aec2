"""Lookup v2: ``GET /v2/PhoneNumbers/{PhoneNumber}`` on the ``lookups`` product.

``client.lookups.v2.phone_numbers(n).fetch(fields="line_type_intelligence", country_code=...)``
sends ``Fields`` (comma-separated) and ``CountryCode`` (for a national-format number) in the
query. An invalid number is not an error: it answers 200 with ``valid: false`` and Twilio's
``validation_errors`` (TOO_SHORT, TOO_LONG, INVALID_BUT_POSSIBLE, INVALID_COUNTRY_CODE,
INVALID_LENGTH, NOT_A_NUMBER). Packages that need live carrier data answer ``null``
(see ``openline.services.lookup``). Twilio's spec for Lookup is not vendored: no schema.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from openline.api.framework import Call, Operation, json_response
from openline.api.services import ApiServices
from openline.core.errors import TwilioError
from openline.services.lookup import LookupRequestError, LookupResult, LookupService


def phone_number_json(call: Call, r: LookupResult) -> dict[str, Any]:
    line = r.line_type
    return {
        "calling_country_code": r.calling_country_code,
        "country_code": r.country_code,
        "phone_number": r.phone_number,
        "national_format": r.national_format,
        "valid": r.valid,
        "validation_errors": list(r.validation_errors),
        "caller_name": None,
        "sim_swap": None,
        "call_forwarding": None,
        "line_type_intelligence": None if line is None else {
            "carrier_name": line.carrier_name, "error_code": None, "mobile_country_code": None,
            "mobile_network_code": None, "type": line.type},
        "line_status": None,
        "identity_match": None,
        "reassigned_number": None,
        "sms_pumping_risk": None,
        "phone_number_quality_score": None,
        "pre_fill": None,
        "url": f"{call.links.external_base}/v2/PhoneNumbers/{quote(r.phone_number, safe='+')}",
    }


def operations(s: ApiServices, lookup: LookupService) -> list[Operation]:
    del s  # a lookup reads no account data

    async def fetch(call: Call) -> Any:
        raw_fields = call.form.get("Fields") or ""
        fields = frozenset(f.strip() for f in raw_fields.split(",") if f.strip())
        try:
            result = lookup.lookup(call.path("PhoneNumber"), call.form.get("CountryCode") or None, fields)
        except LookupRequestError as exc:
            raise TwilioError(20001, str(exc)) from None
        return json_response(phone_number_json(call, result))

    return [
        Operation("GET", "/v2/PhoneNumbers/{PhoneNumber}", fetch, "FetchLookupPhoneNumber",
                  "Validate and format a phone number; Fields=line_type_intelligence adds its line type",
                  parameters=("Fields", "CountryCode"), tags=("LookupPhoneNumbers",)),
    ]
