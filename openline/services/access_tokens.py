"""Access tokens for chat clients: the JWTs the twilio SDK's ``AccessToken`` + ``ChatGrant`` mint.

A token is an HS256 JWT (RFC 7519) signed with an API key's secret: header ``cty:
twilio-fpa;v=1``; claims ``iss`` (the key SID), ``sub`` (the account SID), ``exp``, ``nbf``,
``jti`` and ``grants`` (``identity`` and ``chat.service_sid``). Openline keeps every key
secret sealed (``core.crypto``), so it can check the signature; a revoked (deleted) key's
tokens stop working at once. Times are checked against Openline's clock, so the sandbox
clock moves them too. Errors are Twilio's 2010x codes.

The console mints tokens of the same shape for its agent view, signed with a key derived from
the installation's secret key and issued by ``openline-console`` instead of an API key; they
never leave the signed-in console page and live an hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jwt

from openline.core.clock import Clock
from openline.core.conversations import MAX_NAME, ChatService
from openline.core.crypto import SecretBox, SecretBoxError
from openline.core.entities import Account, AccountStatus
from openline.core.errors import TwilioError
from openline.core.sids import SidPrefix, is_sid
from openline.services.conversation_admin import ConversationAdmin
from openline.storage.database import Database
from openline.storage.repositories import AccountRepository, ApiKeyRepository

TOKEN_CONTENT_TYPE = "twilio-fpa;v=1"
ALGORITHM = "HS256"
MAX_TTL_SECONDS = 24 * 3600  # Twilio refuses tokens valid for longer than 24 hours
CLOCK_SKEW_SECONDS = 60  # a site backend's clock may run a little ahead of ours (nbf)
CONSOLE_ISSUER = "openline-console"
CONSOLE_TOKEN_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class ChatIdentity:
    """Who a verified token speaks for."""

    account: Account
    service: ChatService
    identity: str
    issuer: str  # the API key SID, or the console
    expires: float  # epoch seconds (the token's exp)


class AccessTokens:
    def __init__(self, db: Database, accounts: AccountRepository, keys: ApiKeyRepository, secrets: SecretBox,
                 admin: ConversationAdmin, clock: Clock, console_key: bytes) -> None:
        self._db = db
        self._accounts = accounts
        self._keys = keys
        self._secrets = secrets
        self._admin = admin
        self._clock = clock
        self._console_key = console_key

    async def verify_chat(self, token: str) -> ChatIdentity:
        """The identity a chat token grants, or TwilioError 20101–20107."""
        try:
            header = jwt.get_unverified_header(token)
            unverified: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise TwilioError(20101, "The access token is not a JWT") from None
        if header.get("alg") != ALGORITHM or header.get("cty") != TOKEN_CONTENT_TYPE:
            raise TwilioError(20102, f"The access token header must have alg {ALGORITHM} and cty "
                                     f"{TOKEN_CONTENT_TYPE}")
        issuer, subject = unverified.get("iss"), unverified.get("sub")
        if not isinstance(issuer, str) or not (is_sid(issuer, SidPrefix.API_KEY) or issuer == CONSOLE_ISSUER) \
                or not isinstance(subject, str) or not is_sid(subject, SidPrefix.ACCOUNT):
            raise TwilioError(20103, "The access token's iss must be an API key SID and sub an Account SID")
        secret: str | bytes
        async with self._db.read() as conn:
            key = await self._keys.get(conn, issuer) if issuer != CONSOLE_ISSUER else None
            account = await self._accounts.get(conn, key.account_sid if key is not None else subject)
        if issuer == CONSOLE_ISSUER:
            if account is None:
                raise TwilioError(20103, "The access token's subject account does not exist")
            secret = self._console_key
        # A revoked key is deleted: its tokens die with it. Unknown and foreign keys answer alike.
        elif key is None or account is None or key.account_sid != subject:
            raise TwilioError(20103, "The access token's issuer is not an active API key of its subject account")
        else:
            try:
                secret = self._secrets.open(key.secret_encrypted, key.sid)
            except SecretBoxError:  # sealed under another master key: it cannot verify anything here
                raise TwilioError(20107, "The access token's API key secret cannot be read with this "
                                         "installation's secret key") from None
        if account.status is AccountStatus.CLOSED:
            raise TwilioError(20103, "The access token's account is closed")
        try:
            # Times are ours to check (the injected clock); the signature is PyJWT's.
            claims: dict[str, Any] = jwt.decode(token, secret, algorithms=[ALGORITHM], options={
                "verify_exp": False, "verify_nbf": False, "verify_iat": False, "verify_aud": False})
        except jwt.InvalidSignatureError:
            raise TwilioError(20107, "The access token's signature does not match its API key") from None
        except jwt.PyJWTError:
            raise TwilioError(20101, "The access token could not be decoded") from None
        now = self._clock.now().timestamp()
        expires, not_before = claims.get("exp"), claims.get("nbf")
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise TwilioError(20104, "The access token has no exp")
        if expires <= now:
            raise TwilioError(20104, "The access token has expired")
        if expires - now > MAX_TTL_SECONDS + CLOCK_SKEW_SECONDS:
            raise TwilioError(20104, "The access token is valid for more than 24 hours")
        if not_before is not None and (not isinstance(not_before, int | float) or isinstance(not_before, bool)
                                       or not_before > now + CLOCK_SKEW_SECONDS):
            raise TwilioError(20105, "The access token is not valid yet (nbf)")
        grants = claims.get("grants")
        if not isinstance(grants, dict):
            raise TwilioError(20106, "The access token has no grants")
        identity = grants.get("identity")
        if not isinstance(identity, str) or not identity or len(identity) > MAX_NAME:
            raise TwilioError(20106, "The access token's grants must name an identity")
        chat = grants.get("chat")
        service_sid = chat.get("service_sid") if isinstance(chat, dict) else None
        if not isinstance(service_sid, str) or not service_sid:
            raise TwilioError(20106, "The access token needs a chat grant with a service_sid")
        try:
            service = await self._admin.service(account, service_sid)
        except TwilioError:
            raise TwilioError(20106, f"The chat grant's service {service_sid} is not a conversation service of "
                                     "the account") from None
        return ChatIdentity(account, service, identity, issuer, float(expires))

    def mint_console(self, account_sid: str, service_sid: str, identity: str) -> str:
        """A chat token for the console's agent view (the signed-in user picked a chat participant)."""
        now = int(self._clock.now().timestamp())
        claims = {"jti": f"{CONSOLE_ISSUER}-{now}", "iss": CONSOLE_ISSUER, "sub": account_sid, "nbf": now,
                  "exp": now + CONSOLE_TOKEN_SECONDS,
                  "grants": {"identity": identity, "chat": {"service_sid": service_sid}}}
        return jwt.encode(claims, self._console_key, algorithm=ALGORITHM, headers={"cty": TOKEN_CONTENT_TYPE})
