"""Twilio's reserved test numbers (+1 500 555 00xx), which answer exactly as they do on Twilio.

One table per use, so the behaviour of a magic number is decided here and nowhere else.
"""

from __future__ import annotations

# Buying a number (IncomingPhoneNumbers create) with test credentials.
PROVISIONING_ERRORS: dict[str, int] = {
    "+15005550000": 21422,  # number unavailable
    "+15005550001": 21421,  # number invalid
}


def is_magic(e164: str) -> bool:
    return e164.startswith("+1500555")
