"""An unchanged SendGrid app (the official `sendgrid` SDK, default host api.sendgrid.com) sends
mail through `openline serve --intercept`; the mail lands in Openline's sandbox mailbox.

Needs Openline's SendGrid v3 API (the email product): the API key is made with the account's
own credentials at ``/v3/api_keys``, and sandbox mailboxes are read at
``GET /sandbox/v1/Mailboxes/{address}/Messages``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import wait_for
from tests.support.intercept import PEERS, app_environment, intercepting_server
from tests.support.server import OpenlineServer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    with intercepting_server(tmp_path_factory.mktemp("intercept-sendgrid") / "data",
                             env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}) as srv:
        srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
        yield srv


def mailbox(server: OpenlineServer, address: str) -> list[dict]:  # type: ignore[type-arg]
    response = httpx.get(f"{server.url}/sandbox/v1/Mailboxes/{address}/Messages",
                         auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return response.json()["messages"]  # type: ignore[no-any-return]


def test_sendgrid_sdk_unchanged(server: OpenlineServer) -> None:
    credentials = (server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    created = httpx.post(f"{server.url}/v3/api_keys", auth=credentials, headers={"Host": "api.sendgrid.com"},
                         json={"name": "unchanged app", "scopes": ["mail.send"]})
    assert created.status_code == 201, created.text
    env = app_environment(server, SENDGRID_API_KEY=created.json()["api_key"])
    to = "someone@example.net"
    done = subprocess.run([sys.executable, str(PEERS / "sendgrid_app.py"), "app@example.com", to,
                           "Through the proxy", "Sent by an unchanged SendGrid app"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == 202 and answer["message_id"]
    (mail,) = wait_for(lambda: mailbox(server, to))  # type: ignore[misc]
    assert mail["subject"] == "Through the proxy" and len(mail["to"]) == 1
    assert "app@example.com" in str(mail["from"]) and to in str(mail["to"][0])
    assert mail["text"].strip() == "Sent by an unchanged SendGrid app"
