"""Console sessions: a signed cookie that names who signed in, never their secret.

The cookie holds the Account SID or API key SID that signed in, a keyed digest of that
credential as it was then, the account being worked in, the CSRF token and the time of
sign-in, signed with HMAC-SHA256 under a key derived from the installation's secret key.
Every request looks the credential up again: a rotated Auth Token, a revoked key or a closed
account ends the session at once. Sessions last at most ``SESSION_SECONDS``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Any

COOKIE = "openline_console"
SIGNIN_COOKIE = "openline_console_signin"  # carries the sign-in form's CSRF token (login CSRF)
SESSION_SECONDS = 12 * 3600
SIGNIN_SECONDS = 3600
MAX_COOKIE = 2048  # far above what we write; anything longer is not ours


@dataclass(frozen=True, slots=True)
class Session:
    username: str  # the Account SID or API key SID that signed in
    fingerprint: str  # keyed digest of the credential at sign-in
    acting: str  # the Account SID the session works in (its own or a subaccount)
    csrf: str
    issued: int  # unix seconds


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the session key must have at least 32 bytes")
        self._key = key

    def fingerprint(self, credential_digest: str) -> str:
        return hmac.new(self._key, b"credential:" + credential_digest.encode(), hashlib.sha256).hexdigest()[:32]

    def _mac(self, purpose: str, body: str) -> str:
        return _b64(hmac.new(self._key, f"{purpose}:{body}".encode(), hashlib.sha256).digest())

    def dumps(self, purpose: str, value: dict[str, Any]) -> str:
        body = _b64(json.dumps(value, separators=(",", ":")).encode())
        return f"{body}.{self._mac(purpose, body)}"

    def loads(self, purpose: str, token: str | None) -> dict[str, Any] | None:
        if not token or len(token) > MAX_COOKIE or "." not in token:
            return None
        body, _, mac = token.partition(".")
        if not hmac.compare_digest(mac, self._mac(purpose, body)):
            return None
        try:
            value = json.loads(_unb64(body))
        except (binascii.Error, ValueError):
            return None
        return value if isinstance(value, dict) else None

    def session(self, token: str | None, now: float) -> Session | None:
        value = self.loads("session", token)
        if value is None:
            return None
        try:
            session = Session(str(value["u"]), str(value["f"]), str(value["a"]), str(value["c"]), int(value["t"]))
        except (KeyError, TypeError, ValueError):
            return None
        if not 0 <= now - session.issued <= SESSION_SECONDS:
            return None
        return session

    def session_cookie(self, session: Session) -> str:
        return self.dumps("session", {"u": session.username, "f": session.fingerprint, "a": session.acting,
                                      "c": session.csrf, "t": session.issued})

    def signin_token(self, token: str | None, now: float) -> str | None:
        value = self.loads("signin", token)
        if value is None or not isinstance(value.get("c"), str) or not isinstance(value.get("t"), int):
            return None
        if not 0 <= now - value["t"] <= SIGNIN_SECONDS:
            return None
        return str(value["c"])

    def signin_cookie(self, csrf: str, now: float) -> str:
        return self.dumps("signin", {"c": csrf, "t": int(now)})


def same_token(given: str | None, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), expected.encode())
