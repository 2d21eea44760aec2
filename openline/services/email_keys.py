"""SendGrid API keys: ``SG.<id>.<secret>``, stored as the id and a hash of the secret, with scopes.

A key belongs to an Openline account. Requests carry it as ``Authorization: Bearer``; the
first key is made with the account's own credentials (basic auth, Account SID + Auth Token).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

from openline.core.clock import Clock
from openline.core.crypto import digests_match, secret_digest
from openline.core.email import SendGridError
from openline.core.entities import Account, AccountStatus
from openline.storage.database import Database
from openline.storage.repositories import AccountRepository
from openline.storage.repositories.email import EmailKeyRepository

CACHE_SECONDS = 2.0  # bounds how long a revocation in another process takes to reach this one
MAX_KEYS_PER_ACCOUNT = 100  # SendGrid's limit
_KEY = re.compile(r"^SG\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$")

# The scopes Openline enforces (SendGrid names). A key created without scopes gets them all.
SCOPES: tuple[str, ...] = (
    "mail.send", "mail.batch.create", "mail.batch.read", "mail.batch.update", "mail.batch.delete",
    "user.scheduled_sends.create", "user.scheduled_sends.read", "user.scheduled_sends.update",
    "user.scheduled_sends.delete",
    "templates.create", "templates.read", "templates.update", "templates.delete",
    "templates.versions.create", "templates.versions.read", "templates.versions.update",
    "templates.versions.delete", "templates.versions.activate.create",
    "suppression.create", "suppression.read", "suppression.update", "suppression.delete",
    "asm.groups.create", "asm.groups.read", "asm.groups.update", "asm.groups.delete",
    "user.webhooks.event.settings.read", "user.webhooks.event.settings.update", "user.webhooks.event.test.create",
    "user.webhooks.parse.settings.create", "user.webhooks.parse.settings.read",
    "user.webhooks.parse.settings.update", "user.webhooks.parse.settings.delete",
    "api_keys.create", "api_keys.read", "api_keys.update", "api_keys.delete",
)


def unauthorized() -> SendGridError:
    return SendGridError(401, "The provided authorization grant is invalid, expired, or revoked")


def forbidden() -> SendGridError:
    return SendGridError(403, "access forbidden")


@dataclass(frozen=True, slots=True)
class EmailPrincipal:
    account: Account
    key_id: str | None  # None: the account's own credentials (basic auth)
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise forbidden()


def expand_scopes(requested: Any) -> list[str]:
    """Validate scopes; ``x.*`` stands for every scope under ``x``. None: full access."""
    if requested is None:
        return list(SCOPES)
    if not isinstance(requested, list) or not all(isinstance(s, str) for s in requested):
        raise SendGridError(400, "scopes must be an array of strings", "scopes")
    result: list[str] = []
    for scope in requested:
        if scope.endswith(".*"):
            matched = [s for s in SCOPES if s.startswith(scope[:-1])]
        else:
            matched = [scope] if scope in SCOPES else []
        if not matched:
            raise SendGridError(400, f"invalid scope: {scope}", "scopes")
        result += [s for s in matched if s not in result]
    return result


def key_json(row: dict[str, Any], with_scopes: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {"api_key_id": row["key_id"], "name": row["name"]}
    if with_scopes:
        data["scopes"] = json.loads(row["scopes"])
    return data


class EmailKeys:
    def __init__(self, db: Database, clock: Clock, keys: EmailKeyRepository, accounts: AccountRepository) -> None:
        self._db = db
        self._clock = clock
        self._keys = keys
        self._accounts = accounts
        self._cache: dict[str, tuple[float, EmailPrincipal]] = {}

    def account_principal(self, account: Account) -> EmailPrincipal:
        return EmailPrincipal(account, None, frozenset(SCOPES))

    async def authenticate(self, token: str) -> EmailPrincipal:
        cache_key = hashlib.sha256(token.encode()).hexdigest()
        now = time.monotonic()
        hit = self._cache.get(cache_key)
        if hit and hit[0] > now:
            return hit[1]
        match = _KEY.match(token)
        if not match:
            raise unauthorized()
        async with self._db.read() as conn:
            row = await self._keys.get(conn, match.group(1))
            if row is None or not digests_match(match.group(2), row["secret_hash"]):
                raise unauthorized()
            account = await self._accounts.get(conn, row["account_sid"])
        if account is None or account.status is AccountStatus.CLOSED:
            raise unauthorized()
        principal = EmailPrincipal(account, row["key_id"], frozenset(json.loads(row["scopes"])))
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[cache_key] = (now + CACHE_SECONDS, principal)
        return principal

    async def create(self, account: Account, name: Any, scopes: Any) -> tuple[dict[str, Any], str]:
        if not isinstance(name, str) or not name.strip() or len(name) > 100:
            raise SendGridError(400, "missing required argument", "name")
        granted = expand_scopes(scopes)
        key_id, secret = secrets.token_urlsafe(16)[:22], secrets.token_urlsafe(32)[:43]
        now = self._clock.now()
        row = {"key_id": key_id, "account_sid": account.sid, "name": name.strip(), "scopes": json.dumps(granted),
               "secret_hash": secret_digest(secret), "date_created": now, "date_updated": now}
        async with self._db.transaction() as conn:
            if len(await self._keys.for_account(conn, account.sid, MAX_KEYS_PER_ACCOUNT + 1)) >= MAX_KEYS_PER_ACCOUNT:
                raise SendGridError(400, "you have reached the maximum number of API keys", None)
            await self._keys.insert(conn, row)
        return row, f"SG.{key_id}.{secret}"

    async def list(self, account: Account, limit: int) -> list[dict[str, Any]]:
        async with self._db.read() as conn:
            return await self._keys.for_account(conn, account.sid, limit)

    async def get(self, account: Account, key_id: str) -> dict[str, Any]:
        async with self._db.read() as conn:
            row = await self._keys.get(conn, key_id)
        if row is None or row["account_sid"] != account.sid:
            raise SendGridError(404, "unable to find API Key")
        return row

    async def update(self, account: Account, key_id: str, name: Any, scopes: Any, replace: bool
                     ) -> dict[str, Any]:
        await self.get(account, key_id)
        changes: dict[str, Any] = {}
        if name is not None or replace:
            if not isinstance(name, str) or not name.strip() or len(name) > 100:
                raise SendGridError(400, "expected a name of 1 to 100 characters", "name")
            changes["name"] = name.strip()
        if replace and scopes is not None:
            changes["scopes"] = json.dumps(expand_scopes(scopes))
        if not changes:
            raise SendGridError(400, "expected a name", "name")
        changes["date_updated"] = self._clock.now()
        async with self._db.transaction() as conn:
            await self._keys.change(conn, key_id, changes)
            row = await self._keys.get(conn, key_id)
        self._cache.clear()
        assert row is not None
        return row

    async def delete(self, account: Account, key_id: str) -> None:
        await self.get(account, key_id)
        async with self._db.transaction() as conn:
            await self._keys.delete(conn, key_id)
        self._cache.clear()
