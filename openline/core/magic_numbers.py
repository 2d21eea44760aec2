"""Twilio's reserved test numbers (+1 500 555 00xx), which answer exactly as they do on Twilio.

One table per use, so the behaviour of a magic number is decided here and nowhere else.
"""

from __future__ import annotations

# Buying a number (IncomingPhoneNumbers create) with test credentials.
PROVISIONING_ERRORS: dict[str, int] = {
    "+15005550000": 21422,  # number unavailable
    "+15005550001": 21421,  # number invalid
}



# Sending a message: refused at the API, as with Twilio's test credentials.
TO_ERRORS: dict[str, int] = {
    "+15005550001": 21211,  # invalid 'To'
    "+15005550002": 21612,  # cannot route to this number
    "+15005550003": 21408,  # no international permission
    "+15005550004": 21610,  # recipient opted out (blacklisted)
    "+15005550009": 21614,  # not a mobile number
}
# Placing a call: Twilio's test-credentials numbers for calls answer these codes.
CALL_TO_ERRORS: dict[str, int] = {
    "+15005550001": 21217,  # phone number does not appear to be valid
    "+15005550002": 21214,  # 'To' number cannot be reached
    "+15005550003": 21215,  # no international permission
    "+15005550004": 21216,  # number blocked for this account
}
FROM_ERRORS: dict[str, int] = {
    "+15005550001": 21212,  # invalid 'From'
    "+15005550007": 21606,  # not owned by the account
    "+15005550008": 21611,  # sender queue full
}
# The one magic From that always works, owned or not (Twilio's test-credentials sender).
VALID_FROM = "+15005550006"

# Failures after acceptance: the sandbox carrier ends these messages so, with these codes.
TO_OUTCOMES: dict[str, tuple[str, int]] = {
    "+15005550010": ("undelivered", 30003),  # unreachable handset
    "+15005550011": ("undelivered", 30005),  # unknown handset
    "+15005550012": ("undelivered", 30006),  # landline or unreachable carrier
    "+15005550013": ("failed", 30008),  # carrier refused the message
}
