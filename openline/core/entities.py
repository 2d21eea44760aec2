"""The platform's own aggregates as plain values: accounts, keys, applications, phone numbers.

Field names are Python names; the API layer maps them to Twilio's wire names.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AccountStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CLOSED = "closed"


class KeyType(StrEnum):
    # Twilio's key types: a main key may manage accounts and keys, a standard key may not.
    STANDARD = "standard"
    MAIN = "main"


@dataclass(frozen=True, slots=True)
class Account:
    sid: str
    owner_account_sid: str
    friendly_name: str
    status: AccountStatus
    auth_token: str
    date_created: datetime
    date_updated: datetime
    media_auth_required: bool = False
    alpha_sender_enabled: bool = True
    # Rotation without downtime: both tokens authenticate until the secondary is promoted or
    # deleted; webhooks are signed with the primary one, as Twilio signs them.
    secondary_auth_token: str | None = None
    secondary_token_created: datetime | None = None

    def token_matches(self, candidate: str) -> bool:
        primary = hmac.compare_digest(self.auth_token, candidate)
        secondary = self.secondary_auth_token is not None and hmac.compare_digest(self.secondary_auth_token, candidate)
        return primary or secondary

    @property
    def is_subaccount(self) -> bool:
        return self.owner_account_sid != self.sid


@dataclass(frozen=True, slots=True)
class ApiKey:
    sid: str
    account_sid: str
    friendly_name: str
    key_type: KeyType
    secret_hash: str
    secret_encrypted: bytes
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class Application:
    sid: str
    account_sid: str
    friendly_name: str
    api_version: str
    voice_url: str | None
    voice_method: str
    voice_fallback_url: str | None
    voice_fallback_method: str
    voice_caller_id_lookup: bool
    status_callback: str | None
    status_callback_method: str
    sms_url: str | None
    sms_method: str
    sms_fallback_url: str | None
    sms_fallback_method: str
    sms_status_callback: str | None
    message_status_callback: str | None
    public_application_connect_enabled: bool
    date_created: datetime
    date_updated: datetime


class NumberType(StrEnum):
    LOCAL = "local"
    MOBILE = "mobile"
    TOLL_FREE = "tollfree"


@dataclass(frozen=True, slots=True)
class IncomingPhoneNumber:
    sid: str
    account_sid: str
    phone_number: str
    friendly_name: str
    number_type: NumberType
    iso_country: str
    origin: str
    api_version: str
    voice_capable: bool
    sms_capable: bool
    mms_capable: bool
    fax_capable: bool
    sms_url: str | None
    sms_method: str
    sms_fallback_url: str | None
    sms_fallback_method: str
    sms_application_sid: str | None
    voice_url: str | None
    voice_method: str
    voice_fallback_url: str | None
    voice_fallback_method: str
    voice_application_sid: str | None
    voice_caller_id_lookup: bool
    voice_receive_mode: str
    status_callback: str | None
    status_callback_method: str
    trunk_sid: str | None
    identity_sid: str | None
    address_sid: str | None
    bundle_sid: str | None
    emergency_status: str
    emergency_address_sid: str | None
    date_created: datetime
    date_updated: datetime
