"""Composition root: configuration → storage → services → API. The only place that wires."""

from __future__ import annotations

import asyncio
import logging
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.routing import Router

from openline.api import openapi, system
from openline.api.framework import Operation, build_routes
from openline.api.limits import ConcurrencyLimiter
from openline.api.products import PRODUCTS, ProductRouter
from openline.api.services import ApiServices
from openline.api.v2010 import accounts as accounts_api
from openline.api.v2010 import applications as applications_api
from openline.api.v2010 import phone_numbers as phone_numbers_api
from openline.config import Settings
from openline.core.clock import Clock, SystemClock
from openline.core.crypto import SecretBox, new_master_key, parse_master_key
from openline.services.accounts import AccountService, BootstrapResult
from openline.services.auth import Authenticator
from openline.services.numbers import ApplicationService, PhoneNumberService
from openline.storage import dialect as dialects
from openline.storage import migrate
from openline.storage.blobs import BlobStore, DatabaseBlobStore, FileBlobStore
from openline.storage.database import Database
from openline.storage.dialect import SqliteOptions
from openline.storage.repositories import (
    AccountRepository,
    ApiKeyRepository,
    ApplicationRepository,
    IncomingPhoneNumberRepository,
)

log = logging.getLogger("openline")

MASTER_KEY_FILE = "secret.key"


class StartupError(RuntimeError):
    """A condition that stops `serve` with a clear message (schema mismatch, bad key...)."""


def sqlite_options(settings: Settings) -> SqliteOptions:
    return SqliteOptions(settings.database.sqlite_synchronous, settings.database.sqlite_busy_timeout_ms)


def prepare_schema(settings: Settings, *, migrate_now: bool) -> migrate.SchemaState:
    """Migrate (embedded SQLite, or on request) or check that the schema matches this code."""
    dialect = dialects.resolve(settings.resolved_database_url)
    if dialect.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = dialects.create_sync(dialect, sqlite_options(settings))
    try:
        if migrate_now or dialect.migrates_on_start:
            try:
                return migrate.upgrade(engine)
            except migrate.SchemaMismatchError as exc:
                raise StartupError(str(exc)) from None
        state = migrate.inspect(engine)
        if state.status is not migrate.SchemaStatus.CURRENT:
            raise StartupError(state.describe())
        return state
    finally:
        engine.dispose()


def load_master_key(settings: Settings) -> bytes:
    if settings.secret_key is not None:
        try:
            return parse_master_key(settings.secret_key.get_secret_value())
        except ValueError as exc:
            raise StartupError(f"secret_key (OPENLINE_SECRET_KEY): {exc}") from None
    path = settings.data_dir / MASTER_KEY_FILE
    if path.exists():
        try:
            return parse_master_key(path.read_text())
        except ValueError as exc:
            raise StartupError(f"{path}: {exc}") from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = new_master_key()
    # Created owner-only in one step, so the key is never readable by others even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key.hex() + "\n")
    return key


@dataclass
class Openline:
    """Everything one process runs, built from settings."""

    settings: Settings
    db: Database
    clock: Clock
    blobs: BlobStore
    services: ApiServices
    asgi: ProductRouter
    operations: dict[str, list[Operation]]

    async def bootstrap(self) -> BootstrapResult | None:
        token = self.settings.auth_token.get_secret_value().lower() if self.settings.auth_token else None
        return await self.services.accounts.bootstrap(self.settings.account_sid, token)

    async def close(self) -> None:
        await self.db.close()


def build(settings: Settings, clock: Clock | None = None) -> Openline:
    clock = clock or SystemClock()
    db = Database.open(settings.resolved_database_url, sqlite_options(settings), settings.database.pool_size)
    secrets = SecretBox(load_master_key(settings))
    account_repo, key_repo = AccountRepository(), ApiKeyRepository()
    app_repo, number_repo = ApplicationRepository(), IncomingPhoneNumberRepository()
    authenticator = Authenticator(db, account_repo, key_repo)
    services = ApiServices(
        db=db,
        account_repository=account_repo,
        authenticator=authenticator,
        accounts=AccountService(db, account_repo, key_repo, clock, secrets, authenticator),
        applications=ApplicationService(db, app_repo, clock),
        numbers=PhoneNumberService(db, number_repo, app_repo, clock, random.Random()),
    )
    blobs: BlobStore = (FileBlobStore(settings.data_dir / "blobs") if db.dialect.is_sqlite
                        else DatabaseBlobStore(db))

    product_operations: dict[str, list[Operation]] = {
        "api": [*accounts_api.operations(services), *applications_api.operations(services),
                *phone_numbers_api.operations(services)],
    }
    errors_base = settings.base_url

    async def health() -> dict[str, Any]:
        async with db.read() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=5)
        return {"database": db.dialect.name}

    limiter = ConcurrencyLimiter(settings.api.max_concurrent_requests_per_account)
    products = {
        name: Router(routes=build_routes(product_operations.get(name, []), authenticator, limiter),
                     default=system.not_found)
        for name in PRODUCTS
    }
    root = Starlette(routes=system.routes(health, lambda: openapi.build(product_operations), errors_base))
    root.router.default = system.not_found
    asgi = ProductRouter(products, root, errors_base)
    asgi.public_base = settings.public_url
    return Openline(settings, db, clock, blobs, services, asgi, product_operations)


def data_dir_path(settings: Settings) -> Path:
    return settings.data_dir.resolve()
