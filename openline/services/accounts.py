"""Accounts, subaccounts and API keys."""

from __future__ import annotations

from dataclasses import dataclass

from openline.core.clock import Clock
from openline.core.crypto import SecretBox, secret_digest
from openline.core.entities import Account, AccountStatus, ApiKey, KeyType
from openline.core.errors import TwilioError
from openline.core.sids import SidPrefix, new_auth_token, new_key_secret, new_sid
from openline.services.auth import Authenticator, Principal, require_management
from openline.storage.database import Database
from openline.storage.paging import Cursor, Page
from openline.storage.repositories import AccountRepository, ApiKeyRepository

MAX_FRIENDLY_NAME = 255
MAX_KEY_NAME = 64


@dataclass(frozen=True, slots=True)
class NewKey:
    key: ApiKey
    secret: str  # shown once, at creation


@dataclass(frozen=True, slots=True)
class BootstrapResult:
    account: Account
    created: bool


class AccountService:
    def __init__(
        self, db: Database, accounts: AccountRepository, keys: ApiKeyRepository, clock: Clock,
        secrets: SecretBox, authenticator: Authenticator,
    ) -> None:
        self._db = db
        self._accounts = accounts
        self._keys = keys
        self._clock = clock
        self._secrets = secrets
        self._auth = authenticator

    # --- accounts -------------------------------------------------------------------------

    async def bootstrap(self, account_sid: str | None, auth_token: str | None) -> BootstrapResult | None:
        """Make sure the configured account exists with that token, or that some account exists.

        Returns what was created or changed, or None when nothing needed doing.
        """
        now = self._clock.now()
        async with self._db.transaction() as conn:
            if account_sid and auth_token:
                existing = await self._accounts.get(conn, account_sid)
                if existing is None:
                    account = Account(account_sid, account_sid, "Openline account", AccountStatus.ACTIVE,
                                      auth_token, now, now)
                    await self._accounts.insert(conn, account)
                    return BootstrapResult(account, created=True)
                if existing.auth_token != auth_token or existing.status is not AccountStatus.ACTIVE:
                    updated = await self._accounts.update(
                        conn, account_sid, {"auth_token": auth_token, "status": AccountStatus.ACTIVE,
                                            "date_updated": now})
                    self._auth.forget()
                    assert updated is not None
                    return BootstrapResult(updated, created=False)
                return None
            if await self._accounts.any_exists(conn):
                return None
            sid = new_sid(SidPrefix.ACCOUNT)
            account = Account(sid, sid, "Openline account", AccountStatus.ACTIVE, new_auth_token(), now, now)
            await self._accounts.insert(conn, account)
            return BootstrapResult(account, created=True)

    # --- auth token rotation (accounts v1 AuthTokens) ---------------------------------------

    async def create_secondary_token(self, principal: Principal) -> Account:
        """A new secondary token (replacing any earlier one); both tokens work until promotion."""
        require_management(principal)
        now = self._clock.now()
        async with self._db.transaction() as conn:
            updated = await self._accounts.update(conn, principal.account.sid, {
                "secondary_auth_token": new_auth_token(), "secondary_token_created": now, "date_updated": now})
        self._auth.forget()
        assert updated is not None
        return updated

    async def delete_secondary_token(self, principal: Principal) -> None:
        require_management(principal)
        async with self._db.transaction() as conn:
            current = await self._accounts.get(conn, principal.account.sid)
            if current is None or current.secondary_auth_token is None:
                raise TwilioError(20404, "This account has no secondary Auth Token")
            await self._accounts.update(conn, current.sid, {
                "secondary_auth_token": None, "secondary_token_created": None, "date_updated": self._clock.now()})
        self._auth.forget()

    async def promote_secondary_token(self, principal: Principal) -> Account:
        """The secondary token becomes the primary one; the old primary stops working at once."""
        require_management(principal)
        async with self._db.transaction() as conn:
            current = await self._accounts.get(conn, principal.account.sid)
            if current is None or current.secondary_auth_token is None:
                raise TwilioError(20404, "This account has no secondary Auth Token to promote")
            updated = await self._accounts.update(conn, current.sid, {
                "auth_token": current.secondary_auth_token, "secondary_auth_token": None,
                "secondary_token_created": None, "date_updated": self._clock.now()})
        self._auth.forget()
        assert updated is not None
        return updated

    async def create_main_account(self, friendly_name: str) -> Account:
        now = self._clock.now()
        sid = new_sid(SidPrefix.ACCOUNT)
        account = Account(sid, sid, friendly_name, AccountStatus.ACTIVE, new_auth_token(), now, now)
        async with self._db.transaction() as conn:
            await self._accounts.insert(conn, account)
        return account

    async def visible_sids(self, principal: Principal) -> list[str]:
        """The caller's account and, for a parent, its subaccounts."""
        async with self._db.read() as conn:
            page = await self._accounts.page_visible_to(conn, principal.account.sid, 100_000, Cursor())
        return [a.sid for a in page.items]

    async def all_accounts(self) -> list[Account]:
        async with self._db.read() as conn:
            return await self._accounts.all(conn)

    async def default_account(self) -> Account | None:
        accounts = [a for a in await self.all_accounts() if not a.is_subaccount]
        return accounts[0] if accounts else None

    async def create_subaccount(self, principal: Principal, friendly_name: str | None) -> Account:
        parent = principal.account
        if parent.is_subaccount:
            raise TwilioError(20003, "Authenticate: subaccounts cannot create subaccounts")
        if parent.status is not AccountStatus.ACTIVE:
            raise TwilioError(20005)
        now = self._clock.now()
        name = friendly_name or f"SubAccount Created at {now:%Y-%m-%d %I:%M %p}"
        _check_name(name, "FriendlyName", MAX_FRIENDLY_NAME)
        account = Account(new_sid(SidPrefix.ACCOUNT), parent.sid, name, AccountStatus.ACTIVE,
                          new_auth_token(), now, now)
        async with self._db.transaction() as conn:
            await self._accounts.insert(conn, account)
        return account

    async def list_accounts(
        self, principal: Principal, size: int, cursor: Cursor, friendly_name: str | None,
        status: AccountStatus | None,
    ) -> Page[Account]:
        async with self._db.read() as conn:
            return await self._accounts.page_visible_to(
                conn, principal.account.sid, size, cursor, friendly_name, status)

    async def update_account(
        self, principal: Principal, target: Account, friendly_name: str | None, status: AccountStatus | None,
        settings: dict[str, bool] | None = None,
    ) -> Account:
        changes: dict[str, object] = dict(settings or {})
        if friendly_name is not None:
            _check_name(friendly_name, "FriendlyName", MAX_FRIENDLY_NAME)
            changes["friendly_name"] = friendly_name
        if status is not None and status is not target.status:
            if target.sid == principal.account.sid:
                raise TwilioError(20001, "An account cannot change its own Status; its parent account can")
            if target.status is AccountStatus.CLOSED:
                raise TwilioError(20001, "A closed account cannot be reopened")
            changes["status"] = status
        if not changes:
            return target
        changes["date_updated"] = self._clock.now()
        async with self._db.transaction() as conn:
            updated = await self._accounts.update(conn, target.sid, changes)
        self._auth.forget()
        assert updated is not None
        return updated

    # --- keys ---------------------------------------------------------------------------

    async def create_key(self, account: Account, friendly_name: str | None, key_type: KeyType) -> NewKey:
        if account.status is not AccountStatus.ACTIVE:
            raise TwilioError(20005)
        name = friendly_name or ""
        _check_name(name, "FriendlyName", MAX_KEY_NAME)
        now = self._clock.now()
        sid = new_sid(SidPrefix.API_KEY)
        secret = new_key_secret()
        key = ApiKey(sid, account.sid, name, key_type, secret_digest(secret), self._secrets.seal(secret, sid),
                     now, now)
        async with self._db.transaction() as conn:
            await self._keys.insert(conn, key)
        return NewKey(key, secret)

    async def key_secret(self, key: ApiKey) -> str:
        """The plaintext secret, for verifying tokens signed with it (never for the API)."""
        return self._secrets.open(key.secret_encrypted, key.sid)

    async def get_key(self, account: Account, sid: str) -> ApiKey:
        async with self._db.read() as conn:
            key = await self._keys.get(conn, sid, account_sids=[account.sid])
        if key is None:
            raise not_found()
        return key

    async def list_keys(self, account: Account, size: int, cursor: Cursor) -> Page[ApiKey]:
        async with self._db.read() as conn:
            return await self._keys.page_for(conn, account.sid, size, cursor)

    async def update_key(self, account: Account, sid: str, friendly_name: str | None) -> ApiKey:
        key = await self.get_key(account, sid)
        if friendly_name is None:
            return key
        _check_name(friendly_name, "FriendlyName", MAX_KEY_NAME)
        async with self._db.transaction() as conn:
            updated = await self._keys.update(conn, sid, {"friendly_name": friendly_name,
                                                         "date_updated": self._clock.now()})
        assert updated is not None
        return updated

    async def delete_key(self, account: Account, sid: str) -> None:
        async with self._db.transaction() as conn:
            if await self._keys.get(conn, sid, account_sids=[account.sid]) is None:
                raise not_found()
            await self._keys.delete(conn, sid)
        self._auth.forget()


def not_found(message: str = "The requested resource was not found") -> TwilioError:
    return TwilioError(20404, message)


def _check_name(value: str, parameter: str, limit: int) -> None:
    if len(value) > limit:
        raise TwilioError(20001, f"{parameter} must be at most {limit} characters")

