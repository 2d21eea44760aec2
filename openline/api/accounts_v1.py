"""Accounts v1 AuthTokens: rotate an account's Auth Token without downtime.

Create a secondary token, move clients to it (both work meanwhile), then promote it: the old
primary stops working and webhooks are signed with the new one. Acts on the caller's own
account; only the Auth Token itself or a main key may do it (Twilio's rule for keys).
"""

from __future__ import annotations

from typing import Any

from openline.api.framework import Call, Operation, empty_response, json_response
from openline.api.services import ApiServices, principal
from openline.core.dates import iso8601
from openline.core.entities import Account


def secondary_json(account: Account, external_base: str) -> dict[str, Any]:
    return {
        "account_sid": account.sid,
        "date_created": iso8601(account.secondary_token_created),
        "date_updated": iso8601(account.date_updated),
        "secondary_auth_token": account.secondary_auth_token,
        "url": f"{external_base}/v1/AuthTokens/Secondary",
    }


def promotion_json(account: Account, external_base: str) -> dict[str, Any]:
    return {
        "account_sid": account.sid,
        "auth_token": account.auth_token,
        "date_created": iso8601(account.date_created),
        "date_updated": iso8601(account.date_updated),
        "url": f"{external_base}/v1/AuthTokens/Promote",
    }


def operations(s: ApiServices) -> list[Operation]:
    async def create_secondary(call: Call) -> Any:
        account = await s.accounts.create_secondary_token(principal(call))
        return json_response(secondary_json(account, call.links.external_base), 201)

    async def delete_secondary(call: Call) -> Any:
        await s.accounts.delete_secondary_token(principal(call))
        return empty_response()

    async def promote(call: Call) -> Any:
        account = await s.accounts.promote_secondary_token(principal(call))
        return json_response(promotion_json(account, call.links.external_base))

    return [
        Operation("POST", "/v1/AuthTokens/Secondary", create_secondary, "CreateSecondaryAuthToken",
                  "Create (or replace) the secondary Auth Token", status=201,
                  parameters=("SuppressEmailNotification",), tags=("AuthTokens",)),
        Operation("DELETE", "/v1/AuthTokens/Secondary", delete_secondary, "DeleteSecondaryAuthToken",
                  "Delete the secondary Auth Token", status=204, parameters=("SuppressEmailNotification",),
                  tags=("AuthTokens",)),
        Operation("POST", "/v1/AuthTokens/Promote", promote, "UpdateAuthTokenPromotion",
                  "Promote the secondary Auth Token to primary", parameters=("SuppressEmailNotification",),
                  tags=("AuthTokens",)),
    ]
