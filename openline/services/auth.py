"""Who is calling, and what they may touch.

Credentials are HTTP basic: an Account SID with its Auth Token, or an API key SID with its
secret. Standard keys act for their account but may not manage accounts or keys (Twilio's
rule); main keys and the Auth Token may. A parent account acts on its subaccounts; a
subaccount never reaches its parent or siblings.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from openline.core.crypto import digests_match
from openline.core.entities import Account, AccountStatus, KeyType
from openline.core.errors import TwilioError
from openline.core.sids import SidPrefix, is_sid
from openline.storage.database import Database
from openline.storage.repositories import AccountRepository, ApiKeyRepository

CACHE_SECONDS = 2.0  # bounds how long another process's revocation takes to reach this one
CACHE_ENTRIES = 10_000
FAILURE_WINDOW_SECONDS = 60.0
FAILURE_SOURCES = 100_000  # sources remembered at once; the oldest are forgotten first


class FailureThrottle:
    """Failed authentications per source address in a sliding minute.

    A source past the limit is refused (20429) for every attempt, right or wrong, until its
    older failures leave the window: guessing tokens or key secrets from one address then runs
    at a few attempts a minute. Counted per process.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = per_minute
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}

    def check(self, source: str | None) -> None:
        if source is None or self._limit <= 0:
            return
        recent = self._recent(source)
        if recent is not None and len(recent) >= self._limit:
            retry = max(1, int(recent[0] + FAILURE_WINDOW_SECONDS - self._clock()) + 1)
            raise TwilioError(20429, f"Too many failed authentications from this address; retry in {retry} s")

    def failed(self, source: str | None) -> None:
        if source is None or self._limit <= 0:
            return
        recent = self._recent(source)
        if recent is None:
            if len(self._failures) >= FAILURE_SOURCES:
                del self._failures[next(iter(self._failures))]
            recent = self._failures[source] = deque()
        recent.append(self._clock())

    def _recent(self, source: str) -> deque[float] | None:
        recent = self._failures.get(source)
        if recent is None:
            return None
        horizon = self._clock() - FAILURE_WINDOW_SECONDS
        while recent and recent[0] <= horizon:
            recent.popleft()
        if not recent:
            del self._failures[source]
            return None
        return recent


@dataclass(frozen=True, slots=True)
class Principal:
    account: Account
    key_sid: str | None = None
    key_type: KeyType | None = None  # None: the account's own Auth Token

    @property
    def can_manage(self) -> bool:
        return self.key_type is not KeyType.STANDARD


def _denied(message: str = "Authenticate") -> TwilioError:
    return TwilioError(20003, message)


class Authenticator:
    def __init__(self, db: Database, accounts: AccountRepository, keys: ApiKeyRepository,
                 throttle: FailureThrottle | None = None) -> None:
        self._db = db
        self._throttle = throttle or FailureThrottle(0)
        self._accounts = accounts
        self._keys = keys
        self._cache: dict[tuple[str, str], tuple[float, Principal]] = {}

    def forget(self) -> None:
        """Drop cached credentials after accounts or keys change here."""
        self._cache.clear()

    async def authenticate(self, username: str, password: str, source: str | None = None) -> Principal:
        """The principal for these credentials; ``source`` (the client address) is throttled on failures."""
        self._throttle.check(source)
        cache_key = (username, hashlib.sha256(password.encode()).hexdigest())
        hit = self._cache.get(cache_key)
        now = time.monotonic()
        if hit and hit[0] > now:
            return hit[1]
        try:
            principal = await self._lookup(username, password)
        except TwilioError:
            self._throttle.failed(source)
            raise
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()
        self._cache[cache_key] = (now + CACHE_SECONDS, principal)
        return principal

    async def _lookup(self, username: str, password: str) -> Principal:
        async with self._db.read() as conn:
            if is_sid(username, SidPrefix.ACCOUNT):
                account = await self._accounts.get(conn, username)
                if account is None or not account.token_matches(password):
                    raise _denied()
                principal = Principal(account)
            elif is_sid(username, SidPrefix.API_KEY):
                key = await self._keys.get(conn, username)
                if key is None or not digests_match(password, key.secret_hash):
                    raise _denied()
                account = await self._accounts.get(conn, key.account_sid)
                if account is None:
                    raise _denied()
                principal = Principal(account, key.sid, key.key_type)
            else:
                raise _denied()
        if principal.account.status is AccountStatus.CLOSED:
            raise _denied("Authenticate: this account is closed")
        return principal


async def authorize(db: Database, accounts: AccountRepository, principal: Principal, account_sid: str) -> Account:
    """The account named in the path, if the caller may act on it; 20003 otherwise."""
    if account_sid == principal.account.sid:
        return principal.account
    if not is_sid(account_sid, SidPrefix.ACCOUNT):
        raise _denied()
    async with db.read() as conn:
        account = await accounts.get(conn, account_sid)
    # Unknown and foreign accounts answer alike, so SIDs cannot be probed.
    if account is None or account.owner_account_sid != principal.account.sid:
        raise _denied()
    if account.status is AccountStatus.CLOSED:
        raise _denied("Authenticate: this account is closed")
    return account


def require_management(principal: Principal) -> None:
    if not principal.can_manage:
        raise _denied("Authenticate: standard API keys cannot manage accounts or keys")
