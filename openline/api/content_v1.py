"""Content v1 (``content.twilio.com``): message templates (HX…) and their WhatsApp approval.

JSON bodies, as Twilio's SDK sends them. Served subset: ``twilio/text`` and ``twilio/media``
types (see ``core.content``); ``POST /v1/Content/{Sid}/ApprovalRequests/whatsapp`` records the
name and category of the template as approved in WhatsApp Manager.
"""

from __future__ import annotations

import json
from typing import Any

from openline.api.envelopes import PageRequest
from openline.api.framework import Call, Operation, empty_response, json_response
from openline.api.services import principal
from openline.core.dates import iso8601
from openline.core.messaging import Content
from openline.services.content import ContentService


def content_json(call: Call, c: Content) -> dict[str, Any]:
    url = f"{call.links.external_base}/v1/Content/{c.sid}"
    return {
        "sid": c.sid, "account_sid": c.account_sid, "friendly_name": c.friendly_name, "language": c.language,
        "variables": json.loads(c.variables), "types": json.loads(c.types),
        "date_created": iso8601(c.date_created), "date_updated": iso8601(c.date_updated), "url": url,
        "links": {"approval_fetch": f"{url}/ApprovalRequests", "approval_create": f"{url}/ApprovalRequests/whatsapp"},
    }


def approval_json(c: Content) -> dict[str, Any]:
    approval = json.loads(c.whatsapp_approval) if c.whatsapp_approval else {}
    types = json.loads(c.types)
    return {"name": approval.get("name", ""), "category": approval.get("category", ""),
            "content_type": next(iter(types), ""), "status": approval.get("status", "unsubmitted"),
            "rejection_reason": "", "allow_category_change": True,
            # What the request said; bidding (Twilio's marketing-template auctions) is not served.
            "send_ttl_seconds": approval.get("send_ttl_seconds"), "bid_amount": None}


def operations(contents: ContentService) -> list[Operation]:
    async def create(call: Call) -> Any:
        return json_response(content_json(call, await contents.create(principal(call).account, call.json)), 201)

    async def list_(call: Call) -> Any:
        paging = PageRequest(call)
        page = await contents.page(principal(call).account, paging.size, paging.cursor)
        return json_response(paging.envelope_meta("contents", [content_json(call, c) for c in page.items], page))

    async def fetch(call: Call) -> Any:
        return json_response(content_json(call, await contents.get(principal(call).account, call.path("Sid"))))

    async def delete(call: Call) -> Any:
        await contents.delete(principal(call).account, call.path("Sid"))
        return empty_response()

    async def approve(call: Call) -> Any:
        item = await contents.request_whatsapp_approval(principal(call).account, call.path("Sid"), call.json)
        return json_response(approval_json(item), 201)

    async def approvals(call: Call) -> Any:
        item = await contents.get(principal(call).account, call.path("Sid"))
        return json_response({"sid": item.sid, "account_sid": item.account_sid, "whatsapp": approval_json(item),
                              "url": f"{call.links.external_base}/v1/Content/{item.sid}/ApprovalRequests"})

    tags = ("Content",)
    return [
        Operation("POST", "/v1/Content", create, "CreateContent", "Create a content template", 201,
                  tags=tags, json_body=True),
        Operation("GET", "/v1/Content", list_, "ListContent", "List content templates", list_key="contents",
                  parameters=("PageSize", "Page", "PageToken"), tags=tags),
        Operation("GET", "/v1/Content/{Sid}", fetch, "FetchContent", "Fetch a content template", tags=tags),
        Operation("DELETE", "/v1/Content/{Sid}", delete, "DeleteContent", "Delete a content template", 204,
                  tags=tags),
        Operation("POST", "/v1/Content/{Sid}/ApprovalRequests/whatsapp", approve, "CreateApprovalCreate",
                  "Name the WhatsApp template this content is approved as", 201, tags=tags, json_body=True),
        Operation("GET", "/v1/Content/{Sid}/ApprovalRequests", approvals, "FetchApprovalFetch",
                  "The content's WhatsApp approval", tags=tags),
    ]
