"""Twilio-style resource identifiers: a two-letter prefix and 32 lowercase hex digits."""

from __future__ import annotations

import re
import secrets
from enum import StrEnum


class SidPrefix(StrEnum):
    ACCOUNT = "AC"
    API_KEY = "SK"
    APPLICATION = "AP"
    INCOMING_PHONE_NUMBER = "PN"
    MESSAGE = "SM"
    MMS = "MM"
    MEDIA = "ME"
    MESSAGING_SERVICE = "MG"
    ALPHA_SENDER = "AI"
    ALERT = "NO"
    CALL = "CA"
    RECORDING = "RE"
    VERIFY_SERVICE = "VA"
    VERIFICATION = "VE"
    VERIFICATION_ATTEMPT = "VL"
    RATE_LIMIT = "RK"
    RATE_LIMIT_BUCKET = "BL"
    CHAT_SERVICE = "IS"
    CONVERSATION = "CH"
    PARTICIPANT = "MB"
    CONVERSATION_MESSAGE = "IM"
    DELIVERY_RECEIPT = "DY"
    CONVERSATION_WEBHOOK = "WH"
    CHAT_USER = "US"
    ROLE = "RL"
    ADDRESS_CONFIGURATION = "IG"
    CONTENT = "HX"


_SID_RE = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")


def new_sid(prefix: SidPrefix) -> str:
    return prefix.value + secrets.token_hex(16)


def is_sid(value: str, prefix: SidPrefix | None = None) -> bool:
    if not _SID_RE.match(value):
        return False
    return prefix is None or value[:2] == prefix.value


def new_auth_token() -> str:
    return secrets.token_hex(16)




def new_key_secret() -> str:
    # Twilio key secrets are 32 alphanumeric characters.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(32))
