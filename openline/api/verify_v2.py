"""Verify v2: Services (VA…), Verifications (VE…), VerificationCheck, RateLimits (RK…) with Buckets (BL…).

Served under the ``verify`` product (``https://verify.twilio.com/v2/...`` or ``/verify/v2/...``);
``/v2/Services`` is also Chat's path, so only the product tells them apart (compatibility brief
§1). There is no AccountSid in v2 paths: the account is the caller's. Dates are ISO 8601, lists
use the ``meta`` envelope, ``url`` and ``links`` are absolute.

Invalid parameters answer Verify's 60200 rather than the platform's 20001. A response never
carries a code: the code exists only in the SMS (see ``openline.core.verify``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from openline.api.envelopes import PageRequest
from openline.api.framework import Call, Operation, empty_response, json_response
from openline.api.params import Field, boolean, integer, optional_sid, read_fields, text
from openline.api.services import ApiServices, principal
from openline.core.dates import iso8601
from openline.core.errors import TwilioError
from openline.core.verify import Bucket, RateLimit, VerificationStatus, VerifyService
from openline.services.verify import CheckRequest, StartRequest, VerificationView, Verifier, parse_rate_limits


def _optional_text(name: str, value: str) -> str | None:
    return value or None


SERVICE_FIELDS: dict[str, Field] = {
    "FriendlyName": Field("friendly_name", text),
    "CodeLength": Field("code_length", integer),
    "LookupEnabled": Field("lookup_enabled", boolean),
    "SkipSmsToLandlines": Field("skip_sms_to_landlines", boolean),
    "DtmfInputRequired": Field("dtmf_input_required", boolean),
    "TtsName": Field("tts_name", _optional_text),
    "Psd2Enabled": Field("psd2_enabled", boolean),
    "DoNotShareWarningEnabled": Field("do_not_share_warning_enabled", boolean),
    "CustomCodeEnabled": Field("custom_code_enabled", boolean),
    "DefaultTemplateSid": Field("default_template_sid", optional_sid("HJ")),
    "VerifyEventSubscriptionEnabled": Field("verify_event_subscription_enabled", boolean),
}
VERIFICATION_PARAMETERS = ("To", "Channel", "Locale", "CustomFriendlyName", "CustomMessage", "CustomCode",
                           "AppHash", "RateLimits")
CHECK_PARAMETERS = ("Code", "To", "VerificationSid")
PAGING = ("PageSize", "Page", "PageToken")

ROOT = "/v2/Services"


def _read(call: Call, table: Mapping[str, Field]) -> dict[str, Any]:
    """The form's fields, with a malformed value answering Verify's 60200 (not 20001)."""
    try:
        return read_fields(call.form, table)
    except TwilioError as error:
        raise TwilioError(60200, error.message) from None


def _integer(call: Call, name: str) -> int | None:
    raw = call.form.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise TwilioError(60200, f"{name} must be an integer") from None


def service_json(call: Call, s: VerifyService) -> dict[str, Any]:
    base = f"{call.links.external_base}{ROOT}/{s.sid}"
    return {
        "sid": s.sid,
        "account_sid": s.account_sid,
        "friendly_name": s.friendly_name,
        "code_length": s.code_length,
        "lookup_enabled": s.lookup_enabled,
        "psd2_enabled": s.psd2_enabled,
        "skip_sms_to_landlines": s.skip_sms_to_landlines,
        "dtmf_input_required": s.dtmf_input_required,
        "tts_name": s.tts_name,
        "do_not_share_warning_enabled": s.do_not_share_warning_enabled,
        "custom_code_enabled": s.custom_code_enabled,
        # Push, TOTP, WhatsApp and passkey factors are not served: Twilio's defaults, read-only.
        "push": {"include_date": True, "apn_credential_sid": None, "fcm_credential_sid": None},
        "totp": {"issuer": s.friendly_name, "time_step": 30, "code_length": 6, "skew": 1},
        "default_template_sid": s.default_template_sid,
        "whatsapp": {"msg_service_sid": None, "from": None},
        "passkeys": None,
        "verify_event_subscription_enabled": s.verify_event_subscription_enabled,
        "date_created": iso8601(s.date_created),
        "date_updated": iso8601(s.date_updated),
        "url": base,
        # Only the subresources Openline serves.
        "links": {"verifications": f"{base}/Verifications", "verification_checks": f"{base}/VerificationCheck",
                  "rate_limits": f"{base}/RateLimits"},
    }


def _lookup(view: VerificationView) -> dict[str, Any]:
    v = view.verification
    if v.carrier_type is None:  # the service had LookupEnabled off when the verification started
        return {}
    return {"carrier": {"error_code": None, "name": v.carrier_name, "mobile_country_code": None,
                        "mobile_network_code": None, "type": v.carrier_type}}


def verification_json(call: Call, view: VerificationView) -> dict[str, Any]:
    v = view.verification
    return {
        "sid": v.sid,
        "service_sid": v.service_sid,
        "account_sid": v.account_sid,
        "to": v.to_addr,
        "channel": v.channel,
        "status": view.status.value,
        "valid": view.status is VerificationStatus.APPROVED,
        "lookup": _lookup(view),
        "amount": None,
        "payee": None,
        "send_code_attempts": [{"attempt_sid": a.sid, "channel": a.channel, "time": iso8601(a.date_created)}
                               for a in view.attempts],
        "date_created": iso8601(v.date_created),
        "date_updated": iso8601(v.date_updated),
        "sna": None,
        "url": f"{call.links.external_base}{ROOT}/{v.service_sid}/Verifications/{v.sid}",
    }


def check_json(view: VerificationView) -> dict[str, Any]:
    v = view.verification
    return {
        "sid": v.sid,  # a check echoes its verification's SID
        "service_sid": v.service_sid,
        "account_sid": v.account_sid,
        "to": v.to_addr,
        "channel": v.channel,
        "status": view.status.value,
        "valid": view.status is VerificationStatus.APPROVED,
        "amount": None,
        "payee": None,
        "date_created": iso8601(v.date_created),
        "date_updated": iso8601(v.date_updated),
        "sna_attempts_error_codes": None,  # null unless the last channel was sna
    }


def rate_limit_json(call: Call, r: RateLimit) -> dict[str, Any]:
    base = f"{call.links.external_base}{ROOT}/{r.service_sid}/RateLimits/{r.sid}"
    return {
        "sid": r.sid,
        "service_sid": r.service_sid,
        "account_sid": r.account_sid,
        "unique_name": r.unique_name,
        "description": r.description,
        "date_created": iso8601(r.date_created),
        "date_updated": iso8601(r.date_updated),
        "url": base,
        "links": {"buckets": f"{base}/Buckets"},
    }


def bucket_json(call: Call, b: Bucket) -> dict[str, Any]:
    return {
        "sid": b.sid,
        "rate_limit_sid": b.rate_limit_sid,
        "service_sid": b.service_sid,
        "account_sid": b.account_sid,
        "max": b.max_requests,
        "interval": b.interval_seconds,
        "date_created": iso8601(b.date_created),
        "date_updated": iso8601(b.date_updated),
        "url": f"{call.links.external_base}{ROOT}/{b.service_sid}/RateLimits/{b.rate_limit_sid}/Buckets/{b.sid}",
    }


def operations(s: ApiServices, verify: Verifier) -> list[Operation]:
    del s  # v2 paths carry no AccountSid; the caller's own account is the only one in reach
    limits_admin = verify.rate_limits

    # --- services ---------------------------------------------------------------------------

    async def create_service(call: Call) -> Any:
        service = await verify.create_service(principal(call).account, _read(call, SERVICE_FIELDS))
        return json_response(service_json(call, service), 201)

    async def list_services(call: Call) -> Any:
        paging = PageRequest(call)
        page = await verify.list_services(principal(call).account, paging.size, paging.cursor)
        return json_response(paging.envelope_meta("services", [service_json(call, x) for x in page.items], page))

    async def fetch_service(call: Call) -> Any:
        return json_response(service_json(call, await verify.get_service(principal(call).account, call.path("Sid"))))

    async def update_service(call: Call) -> Any:
        service = await verify.update_service(principal(call).account, call.path("Sid"),
                                              _read(call, SERVICE_FIELDS))
        return json_response(service_json(call, service))

    async def delete_service(call: Call) -> Any:
        await verify.delete_service(principal(call).account, call.path("Sid"))
        return empty_response()

    # --- verifications ----------------------------------------------------------------------

    async def create_verification(call: Call) -> Any:
        form = call.form
        raw_limits = form.get("RateLimits")
        request = StartRequest(
            to=form.get("To"), channel=form.get("Channel"), locale=form.get("Locale") or None,
            custom_friendly_name=form.get("CustomFriendlyName") or None,
            custom_message=form.get("CustomMessage") or None, custom_code=form.get("CustomCode") or None,
            app_hash=form.get("AppHash") or None,
            rate_limits=parse_rate_limits(raw_limits) if raw_limits else {})
        view = await verify.start(principal(call).account, call.path("ServiceSid"), request)
        return json_response(verification_json(call, view), 201)

    async def fetch_verification(call: Call) -> Any:
        view = await verify.get_verification(principal(call).account, call.path("ServiceSid"), call.path("Sid"))
        return json_response(verification_json(call, view))

    async def update_verification(call: Call) -> Any:
        view = await verify.update_verification(principal(call).account, call.path("ServiceSid"),
                                                call.path("Sid"), call.form.get("Status"))
        return json_response(verification_json(call, view))

    async def check(call: Call) -> Any:
        form = call.form
        view = await verify.check(principal(call).account, call.path("ServiceSid"), CheckRequest(
            code=form.get("Code"), to=form.get("To") or None, verification_sid=form.get("VerificationSid") or None))
        return json_response(check_json(view))

    # --- rate limits and buckets ------------------------------------------------------------

    async def create_rate_limit(call: Call) -> Any:
        item = await limits_admin.create_rate_limit(principal(call).account, call.path("ServiceSid"),
                                                    call.form.get("UniqueName"), call.form.get("Description"))
        return json_response(rate_limit_json(call, item), 201)

    async def list_rate_limits(call: Call) -> Any:
        paging = PageRequest(call)
        page = await limits_admin.list_rate_limits(principal(call).account, call.path("ServiceSid"),
                                                   paging.size, paging.cursor)
        items = [rate_limit_json(call, x) for x in page.items]
        return json_response(paging.envelope_meta("rate_limits", items, page))

    async def fetch_rate_limit(call: Call) -> Any:
        item = await limits_admin.get_rate_limit(principal(call).account, call.path("ServiceSid"),
                                                 call.path("Sid"))
        return json_response(rate_limit_json(call, item))

    async def update_rate_limit(call: Call) -> Any:
        item = await limits_admin.update_rate_limit(principal(call).account, call.path("ServiceSid"),
                                                    call.path("Sid"), call.form.get("Description"))
        return json_response(rate_limit_json(call, item))

    async def delete_rate_limit(call: Call) -> Any:
        await limits_admin.delete_rate_limit(principal(call).account, call.path("ServiceSid"), call.path("Sid"))
        return empty_response()

    async def create_bucket(call: Call) -> Any:
        bucket = await limits_admin.create_bucket(principal(call).account, call.path("ServiceSid"),
                                                  call.path("RateLimitSid"), _integer(call, "Max"),
                                                  _integer(call, "Interval"))
        return json_response(bucket_json(call, bucket), 201)

    async def list_buckets(call: Call) -> Any:
        paging = PageRequest(call)
        page = await limits_admin.list_buckets(principal(call).account, call.path("ServiceSid"),
                                               call.path("RateLimitSid"), paging.size, paging.cursor)
        return json_response(paging.envelope_meta("buckets", [bucket_json(call, x) for x in page.items], page))

    async def fetch_bucket(call: Call) -> Any:
        bucket = await limits_admin.get_bucket(principal(call).account, call.path("ServiceSid"),
                                               call.path("RateLimitSid"), call.path("Sid"))
        return json_response(bucket_json(call, bucket))

    async def update_bucket(call: Call) -> Any:
        bucket = await limits_admin.update_bucket(principal(call).account, call.path("ServiceSid"),
                                                  call.path("RateLimitSid"), call.path("Sid"),
                                                  _integer(call, "Max"), _integer(call, "Interval"))
        return json_response(bucket_json(call, bucket))

    async def delete_bucket(call: Call) -> Any:
        await limits_admin.delete_bucket(principal(call).account, call.path("ServiceSid"),
                                         call.path("RateLimitSid"), call.path("Sid"))
        return empty_response()

    fields = tuple(SERVICE_FIELDS)
    one = f"{ROOT}/{{Sid}}"
    verifications = f"{ROOT}/{{ServiceSid}}/Verifications"
    limits = f"{ROOT}/{{ServiceSid}}/RateLimits"
    buckets = f"{limits}/{{RateLimitSid}}/Buckets"
    svc, ver, chk = ("VerifyServices",), ("VerifyVerifications",), ("VerifyVerificationChecks",)
    rl, bl = ("VerifyRateLimits",), ("VerifyBuckets",)
    return [
        Operation("POST", ROOT, create_service, "CreateVerifyService", "Create a Verify service", 201,
                  "verify_service", parameters=fields, tags=svc),
        Operation("GET", ROOT, list_services, "ListVerifyService", "List the account's Verify services",
                  schema="verify_service", list_key="services", parameters=PAGING, tags=svc),
        Operation("GET", one, fetch_service, "FetchVerifyService", "Fetch a Verify service",
                  schema="verify_service", tags=svc),
        Operation("POST", one, update_service, "UpdateVerifyService", "Configure a Verify service",
                  schema="verify_service", parameters=fields, tags=svc),
        Operation("DELETE", one, delete_service, "DeleteVerifyService",
                  "Delete a Verify service with its verifications and rate limits", 204, tags=svc),
        Operation("POST", verifications, create_verification, "CreateVerification",
                  "Send a one-time code (again, within its lifetime)", 201, "verification",
                  parameters=VERIFICATION_PARAMETERS, tags=ver),
        Operation("GET", f"{verifications}/{{Sid}}", fetch_verification, "FetchVerification",
                  "Fetch a verification", schema="verification", tags=ver),
        Operation("POST", f"{verifications}/{{Sid}}", update_verification, "UpdateVerification",
                  "Approve or cancel a verification", schema="verification", parameters=("Status",), tags=ver),
        Operation("POST", f"{ROOT}/{{ServiceSid}}/VerificationCheck", check, "CreateVerificationCheck",
                  "Check a code (five attempts per verification)", 200, "verification_check",
                  parameters=CHECK_PARAMETERS, tags=chk),
        Operation("POST", limits, create_rate_limit, "CreateRateLimit", "Create a rate limit of the service", 201,
                  "verify_rate_limit", parameters=("UniqueName", "Description"), tags=rl),
        Operation("GET", limits, list_rate_limits, "ListRateLimit", "List the service's rate limits",
                  schema="verify_rate_limit", list_key="rate_limits", parameters=PAGING, tags=rl),
        Operation("GET", f"{limits}/{{Sid}}", fetch_rate_limit, "FetchRateLimit", "Fetch a rate limit",
                  schema="verify_rate_limit", tags=rl),
        Operation("POST", f"{limits}/{{Sid}}", update_rate_limit, "UpdateRateLimit", "Describe a rate limit",
                  schema="verify_rate_limit", parameters=("Description",), tags=rl),
        Operation("DELETE", f"{limits}/{{Sid}}", delete_rate_limit, "DeleteRateLimit",
                  "Delete a rate limit with its buckets", 204, tags=rl),
        Operation("POST", buckets, create_bucket, "CreateBucket", "Limit a rate limit's key: Max per Interval", 201,
                  "verify_rate_limit_bucket", parameters=("Max", "Interval"), tags=bl),
        Operation("GET", buckets, list_buckets, "ListBucket", "List a rate limit's buckets",
                  schema="verify_rate_limit_bucket", list_key="buckets", parameters=PAGING, tags=bl),
        Operation("GET", f"{buckets}/{{Sid}}", fetch_bucket, "FetchBucket", "Fetch a bucket",
                  schema="verify_rate_limit_bucket", tags=bl),
        Operation("POST", f"{buckets}/{{Sid}}", update_bucket, "UpdateBucket", "Change a bucket's Max or Interval",
                  schema="verify_rate_limit_bucket", parameters=("Max", "Interval"), tags=bl),
        Operation("DELETE", f"{buckets}/{{Sid}}", delete_bucket, "DeleteBucket", "Delete a bucket", 204, tags=bl),
    ]
