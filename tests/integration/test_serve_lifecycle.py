"""`openline serve` as a newcomer runs it: bootstrap, restart, CLI, config, PostgreSQL schema checks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests.conftest import new_credentials
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client, rest_error


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "openline", *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_generated_account_and_restart_keeps_everything(data_dir: Path) -> None:
    server = OpenlineServer(data_dir).start()
    try:
        sid, token = server.banner_value("Account SID"), server.banner_value("Auth Token")
        assert server.banner[0] == f"Openline is running at {server.url}"
        client = host_style_client(server.url, sid, token)
        sub = client.api.v2010.accounts.create(friendly_name="kept")
        key = client.new_keys.create(friendly_name="kept key")
        app = client.applications.create(friendly_name="kept app", sms_url="https://example.com/sms")
        number = client.incoming_phone_numbers.create(phone_number="+15555550199")
    finally:
        server.stop()

    again = OpenlineServer(data_dir).start()
    try:
        # Same account (nothing configured, so the existing one is kept), same data.
        assert again.banner_value("Account SID") == sid and again.banner_value("Auth Token") == token
        client = host_style_client(again.url, sid, token)
        assert client.api.v2010.accounts(sub.sid).fetch().friendly_name == "kept"
        assert client.applications(app.sid).fetch().sms_url == "https://example.com/sms"
        assert client.incoming_phone_numbers(number.sid).fetch().phone_number == "+15555550199"
        # The key secret still authenticates: the sealing key persisted in the data dir.
        keyed = host_style_client(again.url, key.sid, key.secret, account_sid=sid)
        assert keyed.applications(app.sid).fetch().sid == app.sid
    finally:
        again.stop()
    listed = run_cli("accounts", "list", "--json", "--data-dir", str(data_dir))
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {r["sid"] for r in rows} == {sid, sub.sid}
    assert all(set(r) == {"sid", "friendly_name", "status", "auth_token", "owner_account_sid"} for r in rows)


def test_configured_credentials_are_enforced(data_dir: Path) -> None:
    sid, token = new_credentials()
    server = OpenlineServer(data_dir, env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}).start()
    try:
        assert server.banner_value("Account SID") == sid
        host_style_client(server.url, sid, token).applications.create(friendly_name="before")
    finally:
        server.stop()
    _, new_token = new_credentials()
    server = OpenlineServer(data_dir, env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": new_token}).start()
    try:
        assert rest_error(lambda: host_style_client(server.url, sid, token).applications.list()) == (401, 20003)
        apps = host_style_client(server.url, sid, new_token).applications.list()
        assert [a.friendly_name for a in apps] == ["before"]
    finally:
        server.stop()
    # A second configured account joins the first; the first stays.
    other_sid, other_token = new_credentials()
    server = OpenlineServer(data_dir, env={"OPENLINE_ACCOUNT_SID": other_sid,
                                           "OPENLINE_AUTH_TOKEN": other_token}).start()
    try:
        assert host_style_client(server.url, other_sid, other_token).applications.list() == []
        assert len(host_style_client(server.url, sid, new_token).applications.list()) == 1
    finally:
        server.stop()


def test_cli_accounts_create(data_dir: Path) -> None:
    created = run_cli("accounts", "create", "--json", "--friendly-name", "from cli", "--data-dir", str(data_dir))
    assert created.returncode == 0, created.stderr
    account = json.loads(created.stdout)
    assert account["friendly_name"] == "from cli" and account["sid"].startswith("AC")
    assert account["owner_account_sid"] == account["sid"] and account["status"] == "active"
    child = run_cli("accounts", "create", "--json", "--parent", account["sid"], "--data-dir", str(data_dir))
    assert json.loads(child.stdout)["owner_account_sid"] == account["sid"]


@pytest.mark.parametrize(("args", "env", "names"), [
    (["--port", "99999"], {}, "port (OPENLINE_PORT)"),
    ([], {"OPENLINE_ACCOUNT_SID": "ACnothex"}, "OPENLINE_ACCOUNT_SID"),
    ([], {"OPENLINE_ACCOUNT_SID": "AC" + "0" * 32}, "auth_token"),
    ([], {"OPENLINE_DATABASE__SQLITE_SYNCHRONOUS": "SOMETIMES"}, "database.sqlite_synchronous"),
])
def test_config_errors_name_the_key(data_dir: Path, args: list[str], env: dict[str, str], names: str) -> None:
    result = run_cli("serve", "--data-dir", str(data_dir), *args, env=env)
    assert result.returncode == 2
    assert names in result.stderr


def test_config_file(data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('port = 8081\nbogus_key = 1\n')
    result = run_cli("serve", "--config", str(bad), "--data-dir", str(data_dir))
    assert result.returncode == 2 and "bogus_key" in result.stderr
    sid, token = new_credentials()
    good = tmp_path / "good.toml"
    good.write_text(f'account_sid = "{sid}"\nauth_token = "{token}"\n[database]\nsqlite_synchronous = "NORMAL"\n')
    server = OpenlineServer(data_dir, args=["--config", str(good)]).start()
    try:
        assert server.banner_value("Account SID") == sid
    finally:
        server.stop()


@pytest.mark.postgres
def test_postgres_needs_migrate_then_serves(postgres_url: str, data_dir: Path) -> None:
    sid, token = new_credentials()
    env = {"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}
    refused = run_cli("serve", "--database-url", postgres_url, "--data-dir", str(data_dir), "--port", "0", env=env)
    assert refused.returncode == 1 and "openline migrate" in refused.stderr

    migrated = run_cli("migrate", "--database-url", postgres_url, "--data-dir", str(data_dir))
    assert migrated.returncode == 0, migrated.stderr
    assert "current" in migrated.stdout
    server = OpenlineServer(data_dir, env=env, args=["--database-url", postgres_url]).start()
    try:
        client = host_style_client(server.url, sid, token)
        client.incoming_phone_numbers.create(phone_number="+15555550111")
    finally:
        server.stop()
    server = OpenlineServer(data_dir, env=env, args=["--database-url", postgres_url]).start()
    try:
        numbers = host_style_client(server.url, sid, token).incoming_phone_numbers.list()
        assert [n.phone_number for n in numbers] == ["+15555550111"]
    finally:
        server.stop()

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    ahead = run_cli("serve", "--database-url", postgres_url, "--data-dir", str(data_dir), "--port", "0", env=env)
    assert ahead.returncode == 1 and "ahead" in ahead.stderr
    refuse_down = run_cli("migrate", "--database-url", postgres_url, "--data-dir", str(data_dir))
    assert refuse_down.returncode == 1 and "ahead" in refuse_down.stderr


def test_concurrency_limit_answers_20429(data_dir: Path) -> None:
    import threading
    import time

    import httpx

    sid, token = new_credentials()
    server = OpenlineServer(data_dir, env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token,
                                           "OPENLINE_API__MAX_CONCURRENT_REQUESTS_PER_ACCOUNT": "1"}).start()
    release = threading.Event()

    def slow_body():  # type: ignore[no-untyped-def]
        yield b"FriendlyName="
        release.wait(10)
        yield b"slow"

    try:
        url = f"{server.url}/2010-04-01/Accounts/{sid}/Applications.json"
        holder = threading.Thread(target=lambda: httpx.post(
            url, auth=(sid, token), content=slow_body(),
            headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=20))
        holder.start()
        time.sleep(0.5)
        refused = httpx.get(url, auth=(sid, token))
        assert refused.status_code == 429 and refused.json()["code"] == 20429
        release.set()
        holder.join()
        assert httpx.get(url, auth=(sid, token)).status_code == 200
    finally:
        release.set()
        server.stop()
