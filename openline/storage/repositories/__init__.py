"""Repositories, one per aggregate. SQL lives only under ``openline.storage``."""

from openline.storage.repositories.accounts import AccountRepository, ApiKeyRepository
from openline.storage.repositories.numbers import ApplicationRepository, IncomingPhoneNumberRepository

__all__ = ["AccountRepository", "ApiKeyRepository", "ApplicationRepository", "IncomingPhoneNumberRepository"]
