"""Verify v2 aggregates, and the rules that keep one-time codes secret and hard to guess. No I/O.

How a code is kept (nothing stores it, nothing logs it):

* A verification holds a random 128-bit seed drawn from :mod:`secrets` and the keyed hash of
  its code. The code is a keyed pseudorandom function of the seed (HMAC-SHA256 under a key
  derived from the installation's master key), so a second create within the lifetime re-sends
  the same code — as Twilio does — without the code being written anywhere. Without the key,
  neither the seed nor the hash tells anything about the code.
* A check hashes the candidate the same way and compares in constant time (``hmac.compare_digest``).
  The hash binds the verification SID, so a hash copied onto another row never matches.

Limits, as Twilio documents them (Verify "Rate limits and timeouts"; errors 60202, 60203): five
check attempts per verification, five sends to one destination per service in ten minutes,
codes valid for ten minutes. Counters live in the database, so a restart forgets nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

MIN_CODE_LENGTH, MAX_CODE_LENGTH = 4, 10  # Twilio: CodeLength "between 4 and 10, inclusive"
DEFAULT_CODE_LENGTH = 6
MAX_CHECK_ATTEMPTS = 5  # the sixth check answers 60202 and ends the verification
MAX_SENDS = 5  # per destination and service within SEND_WINDOW; the sixth answers 60203
SEND_WINDOW = timedelta(minutes=10)
SEED_BYTES = 16  # 128 bits: the code's entropy is bounded by its length, not by the seed

MAX_FRIENDLY_NAME = 32  # Twilio: "It can be up to 32 characters long"
MAX_FRIENDLY_NAME_DIGITS = 4  # Twilio: "It cannot contain more than 4 (…) digits"
_LINK = re.compile(r"(https?://|www\.|\.(com|net|org|io)\b)", re.IGNORECASE)
_CUSTOM_CODE = re.compile(r"^[A-Za-z0-9]{4,10}$")  # Twilio: "between 4 and 10 characters"


class VerificationStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    CANCELED = "canceled"
    MAX_ATTEMPTS_REACHED = "max_attempts_reached"
    DELETED = "deleted"
    FAILED = "failed"
    EXPIRED = "expired"


class Channel(StrEnum):
    SMS = "sms"
    CALL = "call"
    EMAIL = "email"
    WHATSAPP = "whatsapp"
    SNA = "sna"


SUPPORTED_CHANNELS = frozenset({Channel.SMS, Channel.CALL, Channel.EMAIL})


@dataclass(frozen=True, slots=True)
class VerifyService:
    sid: str
    account_sid: str
    friendly_name: str
    code_length: int
    lookup_enabled: bool
    skip_sms_to_landlines: bool
    dtmf_input_required: bool
    tts_name: str | None
    psd2_enabled: bool
    do_not_share_warning_enabled: bool
    custom_code_enabled: bool
    default_template_sid: str | None
    verify_event_subscription_enabled: bool
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class Verification:
    sid: str
    service_sid: str
    account_sid: str
    to_addr: str
    channel: str
    status: VerificationStatus
    code_hash: str  # hex HMAC-SHA256 of "sid:code" under the hash key
    code_seed: str | None  # hex seed of a generated code; None for a CustomCode
    code_length: int
    locale: str | None
    carrier_type: str | None  # line type found by the lookup (LookupEnabled), else None
    carrier_name: str | None
    check_attempts: int
    expires_at: datetime
    date_created: datetime
    date_updated: datetime

    def status_at(self, now: datetime) -> VerificationStatus:
        """The status as the API shows it: a pending verification past its lifetime is expired."""
        if self.status is VerificationStatus.PENDING and now >= self.expires_at:
            return VerificationStatus.EXPIRED
        return self.status

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at and self.status in (VerificationStatus.PENDING,
                                                         VerificationStatus.MAX_ATTEMPTS_REACHED)


@dataclass(frozen=True, slots=True)
class SendAttempt:
    """One delivery of a verification's code (Twilio's ``send_code_attempts`` entries)."""

    sid: str
    verification_sid: str
    service_sid: str
    account_sid: str
    channel: str
    message_sid: str | None
    date_created: datetime


@dataclass(frozen=True, slots=True)
class RateLimit:
    sid: str
    service_sid: str
    account_sid: str
    unique_name: str
    description: str | None
    date_created: datetime
    date_updated: datetime


@dataclass(frozen=True, slots=True)
class Bucket:
    sid: str
    rate_limit_sid: str
    service_sid: str
    account_sid: str
    max_requests: int
    interval_seconds: int
    date_created: datetime
    date_updated: datetime


# --- codes -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CodeKeys:
    """Two unrelated keys from one derived key: one makes codes, one hashes them."""

    prf: bytes
    hash: bytes

    @classmethod
    def from_key(cls, key: bytes) -> CodeKeys:
        return cls(hmac.new(key, b"code prf", hashlib.sha256).digest(),
                   hmac.new(key, b"code hash", hashlib.sha256).digest())


def new_seed() -> str:
    return secrets.token_hex(SEED_BYTES)


def code_from_seed(keys: CodeKeys, seed: str, length: int) -> str:
    """``length`` decimal digits, uniform to within 10**length / 2**256 (negligible bias)."""
    if not MIN_CODE_LENGTH <= length <= MAX_CODE_LENGTH:
        raise ValueError(f"code length {length} outside {MIN_CODE_LENGTH}..{MAX_CODE_LENGTH}")
    digest = hmac.new(keys.prf, bytes.fromhex(seed), hashlib.sha256).digest()
    return str(int.from_bytes(digest, "big") % 10**length).zfill(length)


def code_hash(keys: CodeKeys, verification_sid: str, code: str) -> str:
    return hmac.new(keys.hash, f"{verification_sid}:{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(keys: CodeKeys, verification_sid: str, candidate: str, stored_hash: str) -> bool:
    return hmac.compare_digest(code_hash(keys, verification_sid, candidate), stored_hash)


# --- input rules -----------------------------------------------------------------------------


def friendly_name_problem(name: str) -> str | None:
    """Why a FriendlyName cannot go into a verification message (None if it can)."""
    if not name.strip():
        return "FriendlyName must not be empty"
    if len(name) > MAX_FRIENDLY_NAME:
        return f"FriendlyName must be at most {MAX_FRIENDLY_NAME} characters"
    if sum(c.isdigit() for c in name) > MAX_FRIENDLY_NAME_DIGITS:
        return f"FriendlyName may contain at most {MAX_FRIENDLY_NAME_DIGITS} digits"
    if _LINK.search(name):
        return "FriendlyName must not contain a link"
    return None


def is_valid_custom_code(code: str) -> bool:
    return bool(_CUSTOM_CODE.match(code))


def is_valid_code_length(length: int) -> bool:
    return MIN_CODE_LENGTH <= length <= MAX_CODE_LENGTH
