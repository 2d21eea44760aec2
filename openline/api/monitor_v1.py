"""Monitor v1 Alerts: the debugger's record of failed webhooks and invalid TwiML."""

from __future__ import annotations

from typing import Any

from openline.api.envelopes import PageRequest
from openline.api.framework import Call, Operation, json_response
from openline.api.services import ApiServices, principal
from openline.core.dates import iso8601, parse_filter_date
from openline.core.errors import TwilioError
from openline.core.messaging import Alert
from openline.services.alerts import AlertService


def alert_json(alert: Alert, external_base: str, errors_base: str) -> dict[str, Any]:
    return {
        "account_sid": alert.account_sid,
        "alert_text": alert.alert_text,
        "api_version": "2010-04-01",
        "date_created": iso8601(alert.date_created),
        "date_generated": iso8601(alert.date_created),
        "date_updated": iso8601(alert.date_updated),
        "error_code": str(alert.error_code),
        "log_level": alert.log_level,
        "more_info": f"{errors_base}/docs/errors/{alert.error_code}",
        "request_method": alert.request_method,
        "request_url": alert.request_url,
        "request_variables": alert.request_variables,
        "resource_sid": alert.resource_sid,
        "response_body": alert.response_body,
        "response_headers": None,
        "request_headers": None,
        "service_sid": alert.service_sid,
        "sid": alert.sid,
        "url": f"{external_base}/v1/Alerts/{alert.sid}",
    }


def operations(s: ApiServices, alerts: AlertService) -> list[Operation]:
    def _date(call: Call, name: str) -> Any:
        raw = call.form.get(name)
        if not raw:
            return None
        try:
            return parse_filter_date(raw)
        except ValueError:
            raise TwilioError(20001, f"{name} must be an ISO 8601 date") from None

    async def list_(call: Call) -> Any:
        account = principal(call).account
        paging = PageRequest(call)
        page = await alerts.list(account.sid, paging.size, paging.cursor, call.form.get("LogLevel") or None,
                                 _date(call, "StartDate"), _date(call, "EndDate"))
        items = [alert_json(a, call.links.external_base, call.links.errors_base) for a in page.items]
        return json_response(paging.envelope_meta("alerts", items, page))

    async def fetch(call: Call) -> Any:
        account = principal(call).account
        alert = await alerts.get(account.sid, call.path("Sid"))
        if alert is None:
            raise TwilioError(20404)
        return json_response(alert_json(alert, call.links.external_base, call.links.errors_base))

    return [
        Operation("GET", "/v1/Alerts", list_, "ListAlert", "Alerts (debugger events), newest first",
                  list_key="alerts", parameters=("LogLevel", "StartDate", "EndDate", "PageSize", "Page", "PageToken"),
                  tags=("Alerts",)),
        Operation("GET", "/v1/Alerts/{Sid}", fetch, "FetchAlert", "Fetch an alert", tags=("Alerts",)),
    ]
