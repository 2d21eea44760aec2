"""The services the API handlers work through (wired in ``openline.app``)."""

from __future__ import annotations

from dataclasses import dataclass

from openline.api.framework import Call
from openline.core.entities import Account
from openline.core.errors import TwilioError
from openline.services.accounts import AccountService
from openline.services.auth import Authenticator, Principal, authorize
from openline.services.numbers import ApplicationService, PhoneNumberService
from openline.storage.database import Database
from openline.storage.repositories import AccountRepository


@dataclass(frozen=True, slots=True)
class ApiServices:
    db: Database
    account_repository: AccountRepository
    authenticator: Authenticator
    accounts: AccountService
    applications: ApplicationService
    numbers: PhoneNumberService

    async def path_account(self, call: Call, parameter: str = "AccountSid") -> Account:
        """The account named in the path, checked against the caller's credentials."""
        return await self.account(principal(call), call.path(parameter))

    async def account(self, who: Principal, account_sid: str) -> Account:
        return await authorize(self.db, self.account_repository, who, account_sid)


def principal(call: Call) -> Principal:
    if call.principal is None:  # only unauthenticated operations get here without one
        raise TwilioError(20003)
    return call.principal
