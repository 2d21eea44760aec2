"""No secret reaches the logs: tokens, key secrets, Verify codes, carrier passwords (debug level)."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from tests.conftest import new_credentials
from tests.integration.test_verify import codes_received
from tests.support.reliability import record
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client


def test_debug_logs_hold_no_secret(tmp_path: Path) -> None:
    sid, token = new_credentials()
    config = tmp_path / "openline.toml"
    # An SMSC nobody answers on: the carrier's password must not appear in reconnect logs either.
    config.write_text('[[carriers]]\nname = "a"\nhost = "127.0.0.1"\nport = 9\n'
                      'system_id = "openline"\npassword = "pw7secrt"\n')
    server = OpenlineServer(tmp_path / "data", args=["--config", str(config)],
                            env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token,
                                 "OPENLINE_LOG_LEVEL": "debug"})
    server.account_sid, server.auth_token = sid, token  # type: ignore[attr-defined]
    server.start()
    try:
        client = host_style_client(server.url, sid, token)
        key = client.new_keys.create(friendly_name="k")
        keyed = host_style_client(server.url, key.sid, key.secret, account_sid=sid)
        keyed.messages.create(to="+15558675320", from_="+15005550006", body="hello")
        secondary = client.accounts.v1.secondary_auth_token().create().secondary_auth_token
        service = client.verify.v2.services.create(friendly_name="Shop")
        client.verify.v2.services(service.sid).verifications.create(to="+15558675321", channel="sms")
        (code,) = codes_received(server, "+15558675321")
        check = client.verify.v2.services(service.sid).verification_checks.create(to="+15558675321", code=code)
        assert check.status == "approved"
        httpx.get(f"{server.url}/2010-04-01/Accounts/{sid}.json", auth=(sid, "f" * 32))  # a failed login
    finally:
        server.stop()
    log = server.log_path.read_text() + server.output
    assert "POST /2010-04-01/Accounts" in log and "openline" in log, "debug logging produced almost nothing: the scan would prove nothing"
    secrets = {"auth token": token, "key secret": key.secret, "secondary token": secondary,
               "verify code": code, "carrier password": "pw7secrt", "wrong token tried": "f" * 32}
    leaked = {name for name, value in secrets.items() if value and value in log}
    record("secrets in debug logs (server log + access log scanned)", f"{len(secrets)} kinds of secret",
           f"{len(leaked)} found", "n/a")
    assert not leaked, f"found in the log: {sorted(leaked)}"
    # Nor their common encodings (basic auth headers carry base64 of "sid:token").
    assert not re.search(r"Basic [A-Za-z0-9+/=]{20,}", log)

