"""Conversations v1 set-up: Services (IS…), the account's Configuration with its global Webhooks
and Address Configurations (IG…), each service's Configuration and Webhooks, Users (US…) and
Roles (RL…), under the default service (``/v1/Users``) and a named one
(``/v1/Services/{ChatServiceSid}/Users``). Users are named by SID or identity.
"""

from __future__ import annotations

from typing import Any

from openline.api.conversations_v1 import PAGING, method, optional, prefix
from openline.api.envelopes import PageRequest
from openline.api.framework import Call, Operation, empty_response, json_response
from openline.api.params import Field, Form, boolean, one_of, read_fields, text, url
from openline.api.services import principal
from openline.core.conversations import AccountConfig, AddressConfig, ChatService, ChatUser, Role, json_list
from openline.core.dates import iso8601
from openline.core.errors import TwilioError
from openline.services.conversation_admin import ConversationAdmin

CONFIG_FIELDS = {
    "DefaultChatServiceSid": Field("default_chat_service_sid", text),
    "DefaultMessagingServiceSid": Field("default_messaging_service_sid", optional),
    "DefaultInactiveTimer": Field("default_inactive_timer", optional),
    "DefaultClosedTimer": Field("default_closed_timer", optional),
}
ACCOUNT_WEBHOOK_FIELDS = {
    "Method": Field("webhook_method", method),
    "PreWebhookUrl": Field("pre_webhook_url", url),
    "PostWebhookUrl": Field("post_webhook_url", url),
    "Target": Field("webhook_target", one_of("webhook", "flex")),
}
SERVICE_WEBHOOK_FIELDS = {k: v for k, v in ACCOUNT_WEBHOOK_FIELDS.items() if k != "Target"}
SERVICE_CONFIG_FIELDS = {
    "DefaultConversationCreatorRoleSid": Field("default_conversation_creator_role_sid", text),
    "DefaultConversationRoleSid": Field("default_conversation_role_sid", text),
    "DefaultChatServiceRoleSid": Field("default_chat_service_role_sid", text),
    "ReachabilityEnabled": Field("reachability_enabled", boolean),
}
USER_FIELDS = {
    "Identity": Field("identity", text),
    "FriendlyName": Field("friendly_name", optional),
    "Attributes": Field("attributes", text),
    "RoleSid": Field("role_sid", optional),
}
ADDRESS_FIELDS = {
    "Type": Field("type", text),
    "Address": Field("address", text),
    "FriendlyName": Field("friendly_name", optional),
    "AutoCreation.Enabled": Field("auto_creation_enabled", boolean),
    "AutoCreation.Type": Field("auto_creation_type", text),
    "AutoCreation.ConversationServiceSid": Field("conversation_service_sid", optional),
    "AutoCreation.WebhookUrl": Field("webhook_url", url),
    "AutoCreation.WebhookMethod": Field("webhook_method", method),
}


def _filters(form: Form, name: str, values: dict[str, Any], key: str) -> dict[str, Any]:
    if name in form:
        values[key] = [f for f in form.getlist(name) if f]
    return values


def service_json(call: Call, s: ChatService) -> dict[str, Any]:
    base = f"{call.links.external_base}/v1/Services/{s.sid}"
    return {
        "account_sid": s.account_sid, "sid": s.sid, "friendly_name": s.friendly_name,
        "date_created": iso8601(s.date_created), "date_updated": iso8601(s.date_updated), "url": base,
        "links": {"conversations": f"{base}/Conversations", "users": f"{base}/Users", "roles": f"{base}/Roles",
                  "configuration": f"{base}/Configuration"},
    }


def config_json(call: Call, c: AccountConfig) -> dict[str, Any]:
    base = f"{call.links.external_base}/v1/Configuration"
    return {
        "account_sid": c.account_sid, "default_chat_service_sid": c.default_chat_service_sid,
        "default_messaging_service_sid": c.default_messaging_service_sid,
        "default_inactive_timer": c.default_inactive_timer, "default_closed_timer": c.default_closed_timer,
        "url": base, "links": {"addresses": f"{base}/Addresses", "webhooks": f"{base}/Webhooks"},
    }


def account_webhooks_json(call: Call, c: AccountConfig) -> dict[str, Any]:
    return {
        "account_sid": c.account_sid, "method": c.webhook_method, "filters": json_list(c.webhook_filters),
        "pre_webhook_url": c.pre_webhook_url, "post_webhook_url": c.post_webhook_url, "target": c.webhook_target,
        "url": f"{call.links.external_base}/v1/Configuration/Webhooks",
    }


def service_config_json(call: Call, s: ChatService) -> dict[str, Any]:
    base = f"{call.links.external_base}/v1/Services/{s.sid}/Configuration"
    return {
        "chat_service_sid": s.sid, "default_conversation_creator_role_sid": s.default_conversation_creator_role_sid,
        "default_conversation_role_sid": s.default_conversation_role_sid,
        "default_chat_service_role_sid": s.default_chat_service_role_sid, "url": base,
        "links": {"webhooks": f"{base}/Webhooks"}, "reachability_enabled": s.reachability_enabled,
    }


def service_webhooks_json(call: Call, s: ChatService) -> dict[str, Any]:
    return {
        "account_sid": s.account_sid, "chat_service_sid": s.sid, "pre_webhook_url": s.pre_webhook_url,
        "post_webhook_url": s.post_webhook_url, "filters": json_list(s.webhook_filters), "method": s.webhook_method,
        "url": f"{call.links.external_base}/v1/Services/{s.sid}/Configuration/Webhooks",
    }


def user_json(call: Call, u: ChatUser) -> dict[str, Any]:
    return {
        "sid": u.sid, "account_sid": u.account_sid, "chat_service_sid": u.chat_service_sid, "role_sid": u.role_sid,
        "identity": u.identity, "friendly_name": u.friendly_name, "attributes": u.attributes,
        "is_online": None, "is_notifiable": None,  # presence comes with web chat
        "date_created": iso8601(u.date_created), "date_updated": iso8601(u.date_updated),
        "url": f"{prefix(call)}/Users/{u.sid}", "links": {},
    }


def role_json(call: Call, r: Role) -> dict[str, Any]:
    return {
        "sid": r.sid, "account_sid": r.account_sid, "chat_service_sid": r.chat_service_sid,
        "friendly_name": r.friendly_name, "type": r.type, "permissions": json_list(r.permissions),
        "date_created": iso8601(r.date_created), "date_updated": iso8601(r.date_updated),
        "url": f"{prefix(call)}/Roles/{r.sid}",
    }


def address_json(call: Call, a: AddressConfig) -> dict[str, Any]:
    return {
        "sid": a.sid, "account_sid": a.account_sid, "type": a.type, "address": a.address,
        "friendly_name": a.friendly_name,
        "auto_creation": {"enabled": a.auto_creation_enabled, "type": a.auto_creation_type,
                          "conversation_service_sid": a.conversation_service_sid, "webhook_url": a.webhook_url,
                          "webhook_method": a.webhook_method, "webhook_filters": json_list(a.webhook_filters)},
        "date_created": iso8601(a.date_created), "date_updated": iso8601(a.date_updated),
        "url": f"{call.links.external_base}/v1/Configuration/Addresses/{a.sid}", "address_country": a.address_country,
    }


def operations(admin: ConversationAdmin) -> list[Operation]:
    async def service(call: Call) -> ChatService:
        return await admin.service(principal(call).account, call.params.get("ChatServiceSid"))

    # --- services ----------------------------------------------------------------------------

    async def create_service(call: Call) -> Any:
        item = await admin.create_service(principal(call).account, call.form.get("FriendlyName"))
        return json_response(service_json(call, item), 201)

    async def list_services(call: Call) -> Any:
        paging = PageRequest(call)
        page = await admin.list_services(principal(call).account, paging.size, paging.cursor)
        return json_response(paging.envelope_meta("services", [service_json(call, s) for s in page.items], page))

    async def fetch_service(call: Call) -> Any:
        return json_response(service_json(call, await admin.service(principal(call).account, call.path("Sid"))))

    async def delete_service(call: Call) -> Any:
        await admin.delete_service(principal(call).account, call.path("Sid"))
        return empty_response()

    # --- configuration -----------------------------------------------------------------------

    async def fetch_config(call: Call) -> Any:
        return json_response(config_json(call, await admin.config(principal(call).account)))

    async def update_config(call: Call) -> Any:
        item = await admin.update_config(principal(call).account, read_fields(call.form, CONFIG_FIELDS))
        return json_response(config_json(call, item))

    async def fetch_account_webhooks(call: Call) -> Any:
        return json_response(account_webhooks_json(call, await admin.config(principal(call).account)))

    async def update_account_webhooks(call: Call) -> Any:
        values = _filters(call.form, "Filters", read_fields(call.form, ACCOUNT_WEBHOOK_FIELDS), "webhook_filters")
        item = await admin.update_config(principal(call).account, values)
        return json_response(account_webhooks_json(call, item))

    async def fetch_service_config(call: Call) -> Any:
        return json_response(service_config_json(call, await service(call)))

    async def update_service_config(call: Call) -> Any:
        item = await admin.update_service_config(principal(call).account, call.path("ChatServiceSid"),
                                                 read_fields(call.form, SERVICE_CONFIG_FIELDS))
        return json_response(service_config_json(call, item))

    async def fetch_service_webhooks(call: Call) -> Any:
        return json_response(service_webhooks_json(call, await service(call)))

    async def update_service_webhooks(call: Call) -> Any:
        values = _filters(call.form, "Filters", read_fields(call.form, SERVICE_WEBHOOK_FIELDS), "webhook_filters")
        item = await admin.update_service_webhooks(principal(call).account, call.path("ChatServiceSid"), values)
        return json_response(service_webhooks_json(call, item))

    # --- address configurations --------------------------------------------------------------

    def address_values(form: Form) -> dict[str, Any]:
        if form.get("AutoCreation.Type") == "studio" or form.get("AutoCreation.StudioFlowSid"):
            raise TwilioError(20001, "AutoCreation.Type=studio is not served: Openline runs no Studio flows")
        return _filters(form, "AutoCreation.WebhookFilters", read_fields(form, ADDRESS_FIELDS), "webhook_filters")

    async def create_address(call: Call) -> Any:
        item = await admin.create_address(principal(call).account, address_values(call.form))
        return json_response(address_json(call, item), 201)

    async def list_addresses(call: Call) -> Any:
        paging = PageRequest(call)
        page = await admin.list_addresses(principal(call).account, paging.size, paging.cursor,
                                          call.form.get("Type") or None)
        return json_response(paging.envelope_meta("address_configurations",
                                                  [address_json(call, a) for a in page.items], page))

    async def fetch_address(call: Call) -> Any:
        return json_response(address_json(call, await admin.address(principal(call).account, call.path("Sid"))))

    async def update_address(call: Call) -> Any:
        item = await admin.update_address(principal(call).account, call.path("Sid"), address_values(call.form))
        return json_response(address_json(call, item))

    async def delete_address(call: Call) -> Any:
        await admin.delete_address(principal(call).account, call.path("Sid"))
        return empty_response()

    # --- users and roles ---------------------------------------------------------------------

    async def create_user(call: Call) -> Any:
        item = await admin.create_user(await service(call), read_fields(call.form, USER_FIELDS))
        return json_response(user_json(call, item), 201)

    async def list_users(call: Call) -> Any:
        paging = PageRequest(call)
        page = await admin.list_users(await service(call), paging.size, paging.cursor)
        return json_response(paging.envelope_meta("users", [user_json(call, u) for u in page.items], page))

    async def fetch_user(call: Call) -> Any:
        return json_response(user_json(call, await admin.user(await service(call), call.path("Sid"))))

    async def update_user(call: Call) -> Any:
        item = await admin.update_user(await service(call), call.path("Sid"), read_fields(call.form, USER_FIELDS))
        return json_response(user_json(call, item))

    async def delete_user(call: Call) -> Any:
        await admin.delete_user(await service(call), call.path("Sid"))
        return empty_response()

    async def create_role(call: Call) -> Any:
        item = await admin.create_role(await service(call), call.form.get("FriendlyName"), call.form.get("Type"),
                                       [p for p in call.form.getlist("Permission") if p])
        return json_response(role_json(call, item), 201)

    async def list_roles(call: Call) -> Any:
        paging = PageRequest(call)
        page = await admin.list_roles(await service(call), paging.size, paging.cursor)
        return json_response(paging.envelope_meta("roles", [role_json(call, r) for r in page.items], page))

    async def fetch_role(call: Call) -> Any:
        return json_response(role_json(call, await admin.role(await service(call), call.path("Sid"))))

    async def update_role(call: Call) -> Any:
        item = await admin.update_role(await service(call), call.path("Sid"),
                                       [p for p in call.form.getlist("Permission") if p])
        return json_response(role_json(call, item))

    async def delete_role(call: Call) -> Any:
        await admin.delete_role(await service(call), call.path("Sid"))
        return empty_response()

    svc_tags, cfg_tags = ("ConversationServices",), ("ConversationConfiguration",)
    s = "/v1/Services"
    sc = f"{s}/{{ChatServiceSid}}/Configuration"
    a = "/v1/Configuration/Addresses"
    ops = [
        Operation("POST", s, create_service, "CreateConversationService", "Create a conversation service", 201,
                  "conversation_service", parameters=("FriendlyName",), tags=svc_tags),
        Operation("GET", s, list_services, "ListConversationService", "List conversation services",
                  schema="conversation_service", list_key="services", parameters=PAGING, tags=svc_tags),
        Operation("GET", f"{s}/{{Sid}}", fetch_service, "FetchConversationService", "Fetch a conversation service",
                  schema="conversation_service", tags=svc_tags),
        Operation("DELETE", f"{s}/{{Sid}}", delete_service, "DeleteConversationService",
                  "Delete a conversation service and everything in it", 204, tags=svc_tags),
        Operation("GET", "/v1/Configuration", fetch_config, "FetchConfiguration",
                  "The account's Conversations configuration", schema="conversation_configuration", tags=cfg_tags),
        Operation("POST", "/v1/Configuration", update_config, "UpdateConfiguration",
                  "Update the account's Conversations configuration", schema="conversation_configuration",
                  parameters=tuple(CONFIG_FIELDS), tags=cfg_tags),
        Operation("GET", "/v1/Configuration/Webhooks", fetch_account_webhooks, "FetchConfigurationWebhook",
                  "The account's global webhooks", schema="conversation_configuration_webhook", tags=cfg_tags),
        Operation("POST", "/v1/Configuration/Webhooks", update_account_webhooks, "UpdateConfigurationWebhook",
                  "Set the account's global webhooks", schema="conversation_configuration_webhook",
                  parameters=(*ACCOUNT_WEBHOOK_FIELDS, "Filters"), tags=cfg_tags),
        Operation("GET", sc, fetch_service_config, "FetchServiceConfiguration", "A service's configuration",
                  schema="conversation_service_configuration", tags=svc_tags),
        Operation("POST", sc, update_service_config, "UpdateServiceConfiguration",
                  "Update a service's configuration", schema="conversation_service_configuration",
                  parameters=tuple(SERVICE_CONFIG_FIELDS), tags=svc_tags),
        Operation("GET", f"{sc}/Webhooks", fetch_service_webhooks, "FetchServiceWebhookConfiguration",
                  "A service's webhooks", schema="conversation_service_webhook_configuration", tags=svc_tags),
        Operation("POST", f"{sc}/Webhooks", update_service_webhooks, "UpdateServiceWebhookConfiguration",
                  "Set a service's webhooks", schema="conversation_service_webhook_configuration",
                  parameters=(*SERVICE_WEBHOOK_FIELDS, "Filters"), tags=svc_tags),
        Operation("POST", a, create_address, "CreateConfigurationAddress",
                  "Configure an address to open conversations", 201, "conversation_address",
                  parameters=(*ADDRESS_FIELDS, "AutoCreation.WebhookFilters"), tags=cfg_tags),
        Operation("GET", a, list_addresses, "ListConfigurationAddress", "List address configurations",
                  schema="conversation_address", list_key="address_configurations", parameters=(*PAGING, "Type"),
                  tags=cfg_tags),
        Operation("GET", f"{a}/{{Sid}}", fetch_address, "FetchConfigurationAddress",
                  "Fetch an address configuration by SID or address", schema="conversation_address", tags=cfg_tags),
        Operation("POST", f"{a}/{{Sid}}", update_address, "UpdateConfigurationAddress",
                  "Update an address configuration", schema="conversation_address",
                  parameters=(*ADDRESS_FIELDS, "AutoCreation.WebhookFilters"), tags=cfg_tags),
        Operation("DELETE", f"{a}/{{Sid}}", delete_address, "DeleteConfigurationAddress",
                  "Delete an address configuration", 204, tags=cfg_tags),
    ]
    for root, pre in (("/v1", ""), ("/v1/Services/{ChatServiceSid}", "Service")):
        tags = (f"{pre}ConversationUsers",)
        user_schema, role_schema = ("conversation_service_user", "conversation_service_role") if pre \
            else ("conversation_user", "conversation_role")
        u, r = f"{root}/Users", f"{root}/Roles"
        ops += [
            Operation("POST", u, create_user, f"Create{pre}User", "Create a user", 201, user_schema,
                      parameters=tuple(USER_FIELDS), tags=tags),
            Operation("GET", u, list_users, f"List{pre}User", "List users", schema=user_schema, list_key="users",
                      parameters=PAGING, tags=tags),
            Operation("GET", f"{u}/{{Sid}}", fetch_user, f"Fetch{pre}User", "Fetch a user by SID or identity",
                      schema=user_schema, tags=tags),
            Operation("POST", f"{u}/{{Sid}}", update_user, f"Update{pre}User", "Update a user", schema=user_schema,
                      parameters=tuple(USER_FIELDS), tags=tags),
            Operation("DELETE", f"{u}/{{Sid}}", delete_user, f"Delete{pre}User", "Delete a user", 204, tags=tags),
            Operation("POST", r, create_role, f"Create{pre}Role", "Create a role", 201, role_schema,
                      parameters=("FriendlyName", "Type", "Permission"), tags=tags),
            Operation("GET", r, list_roles, f"List{pre}Role", "List roles", schema=role_schema, list_key="roles",
                      parameters=PAGING, tags=tags),
            Operation("GET", f"{r}/{{Sid}}", fetch_role, f"Fetch{pre}Role", "Fetch a role", schema=role_schema,
                      tags=tags),
            Operation("POST", f"{r}/{{Sid}}", update_role, f"Update{pre}Role", "Change a role's permissions",
                      schema=role_schema, parameters=("Permission",), tags=tags),
            Operation("DELETE", f"{r}/{{Sid}}", delete_role, f"Delete{pre}Role", "Delete a role", 204, tags=tags),
        ]
    return ops
