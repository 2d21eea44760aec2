"""Accounts (with subaccounts) and API keys."""

from __future__ import annotations

from typing import Any

from openline.api.envelopes import PageRequest
from openline.api.framework import Call, Operation, empty_response, json_response
from openline.api.params import Field, boolean, one_of, read_fields, text
from openline.api.services import ApiServices, principal
from openline.api.v2010 import ROOT, account_uri
from openline.core.dates import rfc2822
from openline.core.entities import Account, AccountStatus, ApiKey, KeyType
from openline.services.auth import require_management

# Only what Openline serves: each link must answer.
ACCOUNT_SUBRESOURCES = {
    "available_phone_numbers": "AvailablePhoneNumbers",
    "incoming_phone_numbers": "IncomingPhoneNumbers",
    "applications": "Applications",
    "keys": "Keys",
}

_STATUS = one_of(*(s.value for s in AccountStatus))


def account_json(account: Account) -> dict[str, Any]:
    base = account_uri(account.sid)
    return {
        "auth_token": account.auth_token,
        "date_created": rfc2822(account.date_created),
        "date_updated": rfc2822(account.date_updated),
        "friendly_name": account.friendly_name,
        "owner_account_sid": account.owner_account_sid,
        "sid": account.sid,
        "status": account.status.value,
        "subresource_uris": {key: f"{base}/{name}.json" for key, name in ACCOUNT_SUBRESOURCES.items()},
        "type": "Full",
        "uri": f"{base}.json",
    }


def key_json(key: ApiKey, secret: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "sid": key.sid,
        "friendly_name": key.friendly_name,
        "date_created": rfc2822(key.date_created),
        "date_updated": rfc2822(key.date_updated),
    }
    if secret is not None:
        payload["secret"] = secret
    return payload


def operations(s: ApiServices) -> list[Operation]:
    async def create_account(call: Call) -> Any:
        who = principal(call)
        require_management(who)
        values = read_fields(call.form, {"FriendlyName": Field("friendly_name", text)})
        account = await s.accounts.create_subaccount(who, values.get("friendly_name"))
        return json_response(account_json(account), 201)

    async def list_accounts(call: Call) -> Any:
        who = principal(call)
        require_management(who)
        paging = PageRequest(call)
        status = call.form.get("Status")
        page = await s.accounts.list_accounts(
            who, paging.size, paging.cursor, call.form.get("FriendlyName"),
            AccountStatus(_STATUS("Status", status)) if status else None)
        return json_response(paging.envelope_2010("accounts", [account_json(a) for a in page.items], page))

    async def fetch_account(call: Call) -> Any:
        require_management(principal(call))
        return json_response(account_json(await s.path_account(call, "Sid")))

    async def update_account(call: Call) -> Any:
        who = principal(call)
        require_management(who)
        target = await s.path_account(call, "Sid")
        values = read_fields(call.form, {
            "FriendlyName": Field("friendly_name", text),
            "Status": Field("status", _STATUS),
            # Openline extensions (Twilio sets these in its console):
            "MediaAuthRequired": Field("media_auth_required", boolean),
            "AlphaSenderEnabled": Field("alpha_sender_enabled", boolean),
        })
        status = values.pop("status", None)
        friendly_name = values.pop("friendly_name", None)
        account = await s.accounts.update_account(
            who, target, friendly_name, AccountStatus(status) if status else None, values)
        return json_response(account_json(account))

    async def create_key(call: Call) -> Any:
        who = principal(call)
        require_management(who)
        account = await s.path_account(call)
        values = read_fields(call.form, {
            "FriendlyName": Field("friendly_name", text),
            # Openline extension: Twilio makes main keys only in its console.
            "KeyType": Field("key_type", one_of(*(k.value for k in KeyType))),
        })
        created = await s.accounts.create_key(
            account, values.get("friendly_name"), KeyType(values.get("key_type", KeyType.STANDARD.value)))
        return json_response(key_json(created.key, created.secret), 201)

    async def list_keys(call: Call) -> Any:
        require_management(principal(call))
        account = await s.path_account(call)
        paging = PageRequest(call)
        page = await s.accounts.list_keys(account, paging.size, paging.cursor)
        return json_response(paging.envelope_2010("keys", [key_json(k) for k in page.items], page))

    async def fetch_key(call: Call) -> Any:
        require_management(principal(call))
        account = await s.path_account(call)
        return json_response(key_json(await s.accounts.get_key(account, call.path("Sid"))))

    async def update_key(call: Call) -> Any:
        require_management(principal(call))
        account = await s.path_account(call)
        values = read_fields(call.form, {"FriendlyName": Field("friendly_name", text)})
        key = await s.accounts.update_key(account, call.path("Sid"), values.get("friendly_name"))
        return json_response(key_json(key))

    async def delete_key(call: Call) -> Any:
        require_management(principal(call))
        account = await s.path_account(call)
        await s.accounts.delete_key(account, call.path("Sid"))
        return empty_response()

    accounts = f"{ROOT}/Accounts"
    keys = f"{ROOT}/Accounts/{{AccountSid}}/Keys"
    tags = ("Accounts",)
    return [
        Operation("POST", f"{accounts}.json", create_account, "CreateAccount", "Create a subaccount", 201,
                  "account", parameters=("FriendlyName",), tags=tags),
        Operation("GET", f"{accounts}.json", list_accounts, "ListAccount",
                  "The calling account and its subaccounts", schema="account", list_key="accounts",
                  parameters=("FriendlyName", "Status", "PageSize", "Page", "PageToken"), tags=tags),
        Operation("GET", f"{accounts}/{{Sid}}.json", fetch_account, "FetchAccount", "Fetch an account",
                  schema="account", tags=tags),
        Operation("POST", f"{accounts}/{{Sid}}.json", update_account, "UpdateAccount",
                  "Rename, suspend, reactivate or close a subaccount", schema="account",
                  parameters=("FriendlyName", "Status", "MediaAuthRequired", "AlphaSenderEnabled"), tags=tags),
        Operation("POST", f"{keys}.json", create_key, "CreateNewKey",
                  "Create an API key; the secret is returned only here", 201, "new_key",
                  parameters=("FriendlyName", "KeyType"), tags=("Keys",)),
        Operation("GET", f"{keys}.json", list_keys, "ListKey", "List API keys", schema="key", list_key="keys",
                  parameters=("PageSize", "Page", "PageToken"), tags=("Keys",)),
        Operation("GET", f"{keys}/{{Sid}}.json", fetch_key, "FetchKey", "Fetch an API key", schema="key",
                  tags=("Keys",)),
        Operation("POST", f"{keys}/{{Sid}}.json", update_key, "UpdateKey", "Rename an API key", schema="key",
                  parameters=("FriendlyName",), tags=("Keys",)),
        Operation("DELETE", f"{keys}/{{Sid}}.json", delete_key, "DeleteKey", "Revoke an API key", 204,
                  tags=("Keys",)),
    ]

