"""Twilio's 2010-04-01 REST API: /2010-04-01/Accounts/{AccountSid}/<Resource>.json."""

API_VERSION = "2010-04-01"
ROOT = f"/{API_VERSION}"


def account_uri(account_sid: str) -> str:
    return f"{ROOT}/Accounts/{account_sid}"
