from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import settings
from twilio.rest import Client

from tests.support.schemas import ERROR_KEYS, SPEC_FILES, validate
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client

# Property tests check correctness, not speed (timing lives in bench/): no per-example deadline,
# which a loaded CI machine would otherwise trip at random.
settings.register_profile("openline", deadline=None)
settings.load_profile("openline")

ADMIN_URL = os.environ.get("OPENLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    try:
        with psycopg.connect(ADMIN_URL, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        pytest.fail(f"PostgreSQL is required for these tests ({ADMIN_URL}): {exc}")
    return ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty database on the shared server, dropped afterwards."""
    name = f"openline_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin_url.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def new_credentials() -> tuple[str, str]:
    return "AC" + secrets.token_hex(16), secrets.token_hex(16)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    """One real `openline serve` per test module, with known credentials."""
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("openline") / "data",
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def validate_exchanges(client: Client) -> int:
    """Every JSON body the client received matches Twilio's schema (or the error envelope)."""
    checked = 0
    for method, product, path, response in client.http_client.exchanges:  # type: ignore[attr-defined]
        body = json.loads(response.text) if response.text else None
        if response.status_code >= 400:
            assert body is not None and set(body) == ERROR_KEYS, (method, path, body)
            continue
        if product in SPEC_FILES:
            validate(product, method, path, response.status_code, body)
        elif isinstance(body, dict) and "meta" in body:  # no spec shipped (monitor): the v1 envelope
            assert {"page", "page_size", "first_page_url", "previous_page_url", "url", "next_page_url",
                    "key"} <= set(body["meta"]) and body["meta"]["key"] in body, body["meta"]
        checked += 1
    return checked


@pytest.fixture
def client(server: OpenlineServer) -> Iterator[Client]:
    """The official SDK, pointed at the module's server; its responses are schema-checked."""
    sdk = host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    yield sdk
    validate_exchanges(sdk)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@contextlib.contextmanager
def postgres_server(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[OpenlineServer]:
    """A real `openline serve` on a fresh PostgreSQL database (migrated with `openline migrate`)."""
    name = f"openline_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{postgres_admin_url.rsplit('/', 1)[0]}/{name}"
    data = tmp_path_factory.mktemp("pg") / "data"
    try:
        subprocess.run([sys.executable, "-m", "openline", "migrate", "--database-url", url, "--data-dir", str(data)],
                       check=True, capture_output=True)
        sid, token = new_credentials()
        srv = OpenlineServer(data, args=["--database-url", url],
                             env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
        srv.start()
        srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
        try:
            yield srv
        finally:
            srv.stop()
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
