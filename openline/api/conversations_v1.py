"""Conversations v1: Conversations (CH…), Participants (MB…), Messages (IM…) with their delivery
Receipts (DY…), and conversation-scoped Webhooks (WH…).

Served under the ``conversations`` product. Every resource exists twice, as on Twilio: under
the account's default conversation service (``/v1/Conversations/...``) and under a named one
(``/v1/Services/{ChatServiceSid}/Conversations/...``); ``url`` fields follow the form the client
used. A conversation can be named by its SID or its ``UniqueName``, a participant by its SID or
``Identity``. Requests with ``X-Twilio-Webhook-Enabled: true`` fire webhooks (see
``openline.services.conversation_events``).
"""

from __future__ import annotations

import json
from typing import Any

from openline.api.envelopes import PageRequest
from openline.api.framework import Call, Operation, empty_response, json_response
from openline.api.params import Field, Form, integer, one_of, read_fields, text, url
from openline.api.services import principal
from openline.core.conversations import (
    ChatService,
    Conversation,
    Participant,
    ReceiptView,
    ScopedWebhook,
    json_list,
)
from openline.core.dates import iso8601, parse_filter_date
from openline.core.errors import TwilioError
from openline.services.conversation_admin import ConversationAdmin
from openline.services.conversation_messages import ConversationMessages, MessageView
from openline.services.conversations import Conversations

PAGING = ("PageSize", "Page", "PageToken")


def date(name: str, value: str) -> Any:
    try:
        return parse_filter_date(value)
    except ValueError:
        raise TwilioError(20001, f"{name} must be an ISO 8601 date and time") from None


def optional(name: str, value: str) -> str | None:
    return value or None


def method(name: str, value: str) -> str:
    upper = value.upper()
    if upper not in ("GET", "POST"):
        raise TwilioError(20001, f"{name} must be GET or POST")
    return upper


CONVERSATION_FIELDS = {
    "FriendlyName": Field("friendly_name", optional),
    "UniqueName": Field("unique_name", optional),
    "DateCreated": Field("date_created", date),
    "DateUpdated": Field("date_updated", date),
    "MessagingServiceSid": Field("messaging_service_sid", optional),
    "Attributes": Field("attributes", text),
    "State": Field("state", one_of("active", "inactive", "closed")),
    "Timers.Inactive": Field("timer_inactive", text),
    "Timers.Closed": Field("timer_closed", text),
}
PARTICIPANT_FIELDS = {
    "Identity": Field("identity", optional),
    "MessagingBinding.Address": Field("address", optional),
    "MessagingBinding.ProxyAddress": Field("proxy_address", optional),
    "DateCreated": Field("date_created", date),
    "DateUpdated": Field("date_updated", date),
    "Attributes": Field("attributes", text),
    "RoleSid": Field("role_sid", optional),
}
PARTICIPANT_UPDATE_FIELDS = {
    "DateCreated": Field("date_created", date),
    "DateUpdated": Field("date_updated", date),
    "Attributes": Field("attributes", text),
    "RoleSid": Field("role_sid", optional),
    "Identity": Field("identity", optional),
    "LastReadMessageIndex": Field("last_read_message_index", integer),
    "LastReadTimestamp": Field("last_read_timestamp", optional),
}
MESSAGE_FIELDS = {
    "Author": Field("author", optional),
    "Body": Field("body", text),
    "DateCreated": Field("date_created", date),
    "DateUpdated": Field("date_updated", date),
    "Attributes": Field("attributes", text),
    "MediaSid": Field("media_sid", optional),
    "ContentSid": Field("content_sid", optional),
}
MESSAGE_UPDATE_FIELDS = {k: v for k, v in MESSAGE_FIELDS.items() if k not in ("MediaSid", "ContentSid")}
WEBHOOK_FIELDS = {
    "Configuration.Url": Field("url", url),
    "Configuration.Method": Field("method", method),
    "Configuration.ReplayAfter": Field("replay_after", integer),
}


def webhooks_enabled(call: Call) -> bool:
    return call.request.headers.get("x-twilio-webhook-enabled", "").lower() == "true"


def prefix(call: Call) -> str:
    """Links follow the form the client used: default service or a named one."""
    sid = call.params.get("ChatServiceSid")
    return f"{call.links.external_base}/v1/Services/{sid}" if sid else f"{call.links.external_base}/v1"


def conversation_json(call: Call, c: Conversation) -> dict[str, Any]:
    base = f"{prefix(call)}/Conversations/{c.sid}"
    timers = {k: iso8601(v) for k, v in (("date_inactive", c.date_inactive), ("date_closed", c.date_closed)) if v}
    return {
        "account_sid": c.account_sid, "chat_service_sid": c.chat_service_sid,
        "messaging_service_sid": c.messaging_service_sid, "sid": c.sid, "friendly_name": c.friendly_name,
        "unique_name": c.unique_name, "attributes": c.attributes, "state": c.state.value,
        "date_created": iso8601(c.date_created), "date_updated": iso8601(c.date_updated), "timers": timers,
        "url": base, "links": {"participants": f"{base}/Participants", "messages": f"{base}/Messages",
                               "webhooks": f"{base}/Webhooks"},
        "bindings": {},
    }


def participant_json(call: Call, p: Participant) -> dict[str, Any]:
    binding = {"type": p.channel.value, "address": p.address, "proxy_address": p.proxy_address} \
        if p.address else None
    return {
        "account_sid": p.account_sid, "chat_service_sid": p.chat_service_sid, "conversation_sid": p.conversation_sid,
        "sid": p.sid, "identity": p.identity, "attributes": p.attributes, "messaging_binding": binding,
        "role_sid": p.role_sid, "date_created": iso8601(p.date_created), "date_updated": iso8601(p.date_updated),
        "url": f"{prefix(call)}/Conversations/{p.conversation_sid}/Participants/{p.sid}",
        "last_read_message_index": p.last_read_message_index, "last_read_timestamp": p.last_read_timestamp,
    }


def message_json(call: Call, view: MessageView) -> dict[str, Any]:
    m = view.message
    base = f"{prefix(call)}/Conversations/{m.conversation_sid}/Messages/{m.sid}"
    media = [{k: v for k, v in item.items() if k != "message_sid"} for item in json.loads(m.media)] \
        if m.media else None
    return {
        "account_sid": m.account_sid, "chat_service_sid": m.chat_service_sid, "conversation_sid": m.conversation_sid,
        "sid": m.sid, "index": m.idx, "author": m.author, "body": m.body, "media": media,
        "attributes": m.attributes, "participant_sid": m.participant_sid, "date_created": iso8601(m.date_created),
        "date_updated": iso8601(m.date_updated), "url": base, "delivery": view.delivery,
        "links": {"delivery_receipts": f"{base}/Receipts"}, "content_sid": None,
    }


def receipt_json(call: Call, view: ReceiptView) -> dict[str, Any]:
    r = view.receipt
    return {
        "account_sid": r.account_sid, "chat_service_sid": r.chat_service_sid, "conversation_sid": r.conversation_sid,
        "sid": r.sid, "message_sid": r.message_sid, "channel_message_sid": r.channel_message_sid,
        "participant_sid": r.participant_sid, "status": view.status, "error_code": view.error_code,
        "date_created": iso8601(r.date_created), "date_updated": iso8601(view.date_updated),
        "url": f"{prefix(call)}/Conversations/{r.conversation_sid}/Messages/{r.message_sid}/Receipts/{r.sid}",
    }


def webhook_json(call: Call, w: ScopedWebhook) -> dict[str, Any]:
    configuration: dict[str, Any] = {"url": w.url, "method": w.method.lower(), "filters": json_list(w.filters)}
    if w.target == "trigger":
        configuration["triggers"] = json_list(w.triggers)
    if w.replay_after is not None:
        configuration["replay_after"] = w.replay_after
    return {
        "sid": w.sid, "account_sid": w.account_sid, "chat_service_sid": w.chat_service_sid,
        "conversation_sid": w.conversation_sid, "target": w.target,
        "url": f"{prefix(call)}/Conversations/{w.conversation_sid}/Webhooks/{w.sid}",
        "configuration": configuration, "date_created": iso8601(w.date_created),
        "date_updated": iso8601(w.date_updated),
    }


def _webhook_values(form: Form) -> dict[str, Any]:
    values = read_fields(form, WEBHOOK_FIELDS)
    if "Configuration.Filters" in form:
        values["filters"] = [f for f in form.getlist("Configuration.Filters") if f]
    if "Configuration.Triggers" in form:
        values["triggers"] = form.getlist("Configuration.Triggers")
    if form.get("Configuration.FlowSid"):
        raise TwilioError(20001, "Configuration.FlowSid: Studio flows are not served")
    return values


def operations(admin: ConversationAdmin, convs: Conversations, messages: ConversationMessages) -> list[Operation]:
    async def service(call: Call) -> ChatService:
        return await admin.service(principal(call).account, call.params.get("ChatServiceSid"))

    def conv(call: Call) -> str:
        return call.path("ConversationSid")

    # --- conversations -----------------------------------------------------------------------

    async def create(call: Call) -> Any:
        svc = await service(call)
        item = await convs.create(principal(call).account, svc, read_fields(call.form, CONVERSATION_FIELDS),
                                  webhooks_enabled(call))
        return json_response(conversation_json(call, item), 201)

    async def list_(call: Call) -> Any:
        svc = await service(call)
        paging = PageRequest(call)
        page = await convs.list_conversations(svc, paging.size, paging.cursor, call.form.get("State") or None)
        return json_response(paging.envelope_meta("conversations",
                                                  [conversation_json(call, c) for c in page.items], page))

    async def fetch(call: Call) -> Any:
        return json_response(conversation_json(call, await convs.get(await service(call), call.path("Sid"))))

    async def update(call: Call) -> Any:
        svc = await service(call)
        item = await convs.update(svc, call.path("Sid"), read_fields(call.form, CONVERSATION_FIELDS),
                                  webhooks_enabled(call))
        return json_response(conversation_json(call, item))

    async def delete(call: Call) -> Any:
        await convs.delete(await service(call), call.path("Sid"), webhooks_enabled(call))
        return empty_response()

    # --- participants ------------------------------------------------------------------------

    async def add_participant(call: Call) -> Any:
        svc = await service(call)
        item = await convs.add_participant(principal(call).account, svc, conv(call),
                                           read_fields(call.form, PARTICIPANT_FIELDS), webhooks_enabled(call))
        return json_response(participant_json(call, item), 201)

    async def list_participants(call: Call) -> Any:
        paging = PageRequest(call)
        page = await convs.participants(await service(call), conv(call), paging.size, paging.cursor)
        return json_response(paging.envelope_meta("participants",
                                                  [participant_json(call, p) for p in page.items], page))

    async def fetch_participant(call: Call) -> Any:
        item = await convs.participant(await service(call), conv(call), call.path("Sid"))
        return json_response(participant_json(call, item))

    async def update_participant(call: Call) -> Any:
        item = await convs.update_participant(await service(call), conv(call), call.path("Sid"),
                                              read_fields(call.form, PARTICIPANT_UPDATE_FIELDS),
                                              webhooks_enabled(call))
        return json_response(participant_json(call, item))

    async def remove_participant(call: Call) -> Any:
        await convs.remove_participant(await service(call), conv(call), call.path("Sid"), webhooks_enabled(call))
        return empty_response()

    # --- messages ----------------------------------------------------------------------------

    async def add_message(call: Call) -> Any:
        svc = await service(call)
        view = await messages.add_message(principal(call).account, svc, conv(call),
                                       read_fields(call.form, MESSAGE_FIELDS), webhooks_enabled(call))
        return json_response(message_json(call, view), 201)

    async def list_messages(call: Call) -> Any:
        order = call.form.get("Order") or "asc"
        if order not in ("asc", "desc"):
            raise TwilioError(20001, "Order must be asc or desc")
        paging = PageRequest(call)
        page = await messages.messages(await service(call), conv(call), paging.size, paging.cursor, order == "asc")
        return json_response(paging.envelope_meta("messages", [message_json(call, m) for m in page.items], page))

    async def fetch_message(call: Call) -> Any:
        return json_response(message_json(call, await messages.message(await service(call), conv(call),
                                                                     call.path("Sid"))))

    async def update_message(call: Call) -> Any:
        view = await messages.update_message(await service(call), conv(call), call.path("Sid"),
                                          read_fields(call.form, MESSAGE_UPDATE_FIELDS), webhooks_enabled(call))
        return json_response(message_json(call, view))

    async def remove_message(call: Call) -> Any:
        await messages.remove_message(await service(call), conv(call), call.path("Sid"), webhooks_enabled(call))
        return empty_response()

    async def list_receipts(call: Call) -> Any:
        paging = PageRequest(call)
        page = await messages.receipts(await service(call), conv(call), call.path("MessageSid"), paging.size,
                                    paging.cursor)
        return json_response(paging.envelope_meta("delivery_receipts",
                                                  [receipt_json(call, r) for r in page.items], page))

    async def fetch_receipt(call: Call) -> Any:
        view = await messages.receipt(await service(call), conv(call), call.path("MessageSid"), call.path("Sid"))
        return json_response(receipt_json(call, view))

    # --- scoped webhooks ---------------------------------------------------------------------

    async def add_webhook(call: Call) -> Any:
        item = await convs.add_webhook(await service(call), conv(call), call.form.get("Target"),
                                       _webhook_values(call.form))
        return json_response(webhook_json(call, item), 201)

    async def list_webhooks(call: Call) -> Any:
        paging = PageRequest(call)
        page = await convs.webhooks(await service(call), conv(call), paging.size, paging.cursor)
        return json_response(paging.envelope_meta("webhooks", [webhook_json(call, w) for w in page.items], page))

    async def fetch_webhook(call: Call) -> Any:
        return json_response(webhook_json(call, await convs.webhook(await service(call), conv(call),
                                                                     call.path("Sid"))))

    async def update_webhook(call: Call) -> Any:
        item = await convs.update_webhook(await service(call), conv(call), call.path("Sid"),
                                          _webhook_values(call.form))
        return json_response(webhook_json(call, item))

    async def remove_webhook(call: Call) -> Any:
        await convs.remove_webhook(await service(call), conv(call), call.path("Sid"))
        return empty_response()

    ops: list[Operation] = []
    for root, scoped in (("/v1", False), ("/v1/Services/{ChatServiceSid}", True)):
        pre = "Service" if scoped else ""
        schema = "service_conversation" if scoped else "conversation"
        tags = (f"{pre}Conversations",)
        c = f"{root}/Conversations"
        p = f"{c}/{{ConversationSid}}/Participants"
        m = f"{c}/{{ConversationSid}}/Messages"
        r = f"{m}/{{MessageSid}}/Receipts"
        w = f"{c}/{{ConversationSid}}/Webhooks"
        conv_fields, part_fields = tuple(CONVERSATION_FIELDS), tuple(PARTICIPANT_FIELDS)
        ops += [
            Operation("POST", c, create, f"Create{pre}Conversation", "Create a conversation", 201, schema,
                      parameters=conv_fields, tags=tags),
            Operation("GET", c, list_, f"List{pre}Conversation", "List conversations", schema=schema,
                      list_key="conversations", parameters=(*PAGING, "State"), tags=tags),
            Operation("GET", f"{c}/{{Sid}}", fetch, f"Fetch{pre}Conversation",
                      "Fetch a conversation by SID or unique name", schema=schema, tags=tags),
            Operation("POST", f"{c}/{{Sid}}", update, f"Update{pre}Conversation", "Update a conversation",
                      schema=schema, parameters=conv_fields, tags=tags),
            Operation("DELETE", f"{c}/{{Sid}}", delete, f"Delete{pre}Conversation",
                      "Delete a conversation with its participants and messages", 204, tags=tags),
            Operation("POST", p, add_participant, f"Create{pre}ConversationParticipant", "Add a participant", 201,
                      f"{schema}_participant", parameters=part_fields, tags=tags),
            Operation("GET", p, list_participants, f"List{pre}ConversationParticipant", "List participants",
                      schema=f"{schema}_participant", list_key="participants", parameters=PAGING, tags=tags),
            Operation("GET", f"{p}/{{Sid}}", fetch_participant, f"Fetch{pre}ConversationParticipant",
                      "Fetch a participant by SID or identity", schema=f"{schema}_participant", tags=tags),
            Operation("POST", f"{p}/{{Sid}}", update_participant, f"Update{pre}ConversationParticipant",
                      "Update a participant", schema=f"{schema}_participant",
                      parameters=tuple(PARTICIPANT_UPDATE_FIELDS), tags=tags),
            Operation("DELETE", f"{p}/{{Sid}}", remove_participant, f"Delete{pre}ConversationParticipant",
                      "Remove a participant", 204, tags=tags),
            Operation("POST", m, add_message, f"Create{pre}ConversationMessage",
                      "Add a message (sent on to every other SMS participant)", 201, f"{schema}_message",
                      parameters=tuple(MESSAGE_FIELDS), tags=tags),
            Operation("GET", m, list_messages, f"List{pre}ConversationMessage", "List messages by index",
                      schema=f"{schema}_message", list_key="messages", parameters=(*PAGING, "Order"), tags=tags),
            Operation("GET", f"{m}/{{Sid}}", fetch_message, f"Fetch{pre}ConversationMessage", "Fetch a message",
                      schema=f"{schema}_message", tags=tags),
            Operation("POST", f"{m}/{{Sid}}", update_message, f"Update{pre}ConversationMessage", "Update a message",
                      schema=f"{schema}_message", parameters=tuple(MESSAGE_UPDATE_FIELDS), tags=tags),
            Operation("DELETE", f"{m}/{{Sid}}", remove_message, f"Delete{pre}ConversationMessage",
                      "Delete a message", 204, tags=tags),
            Operation("GET", r, list_receipts, f"List{pre}ConversationMessageReceipt",
                      "List a message's delivery receipts", schema=f"{schema}_message_receipt",
                      list_key="delivery_receipts", parameters=PAGING, tags=tags),
            Operation("GET", f"{r}/{{Sid}}", fetch_receipt, f"Fetch{pre}ConversationMessageReceipt",
                      "Fetch a delivery receipt", schema=f"{schema}_message_receipt", tags=tags),
            Operation("POST", w, add_webhook, f"Create{pre}ConversationScopedWebhook",
                      "Add a conversation-scoped webhook", 201, f"{schema}_scoped_webhook",
                      parameters=("Target", "Configuration.Url", "Configuration.Method", "Configuration.Filters",
                                  "Configuration.Triggers", "Configuration.ReplayAfter"), tags=tags),
            Operation("GET", w, list_webhooks, f"List{pre}ConversationScopedWebhook",
                      "List conversation-scoped webhooks", schema=f"{schema}_scoped_webhook", list_key="webhooks",
                      parameters=PAGING, tags=tags),
            Operation("GET", f"{w}/{{Sid}}", fetch_webhook, f"Fetch{pre}ConversationScopedWebhook",
                      "Fetch a conversation-scoped webhook", schema=f"{schema}_scoped_webhook", tags=tags),
            Operation("POST", f"{w}/{{Sid}}", update_webhook, f"Update{pre}ConversationScopedWebhook",
                      "Update a conversation-scoped webhook", schema=f"{schema}_scoped_webhook",
                      parameters=("Configuration.Url", "Configuration.Method", "Configuration.Filters",
                                  "Configuration.Triggers"), tags=tags),
            Operation("DELETE", f"{w}/{{Sid}}", remove_webhook, f"Delete{pre}ConversationScopedWebhook",
                      "Delete a conversation-scoped webhook", 204, tags=tags),
        ]
    return ops
