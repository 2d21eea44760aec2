"""A 202 from /v3/mail/send is durable: kill -9 right after it, restart, and the mail goes out."""

from __future__ import annotations

import time

import pytest

from tests.conftest import new_credentials
from tests.support.sendgrid import create_key, mailbox, sdk
from tests.support.server import OpenlineServer

pytestmark = pytest.mark.slow


def test_accepted_mail_survives_kill_9(tmp_path_factory: pytest.TempPathFactory) -> None:
    sid, token = new_credentials()
    server = OpenlineServer(tmp_path_factory.mktemp("crash") / "data",
                            env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    server.start()
    server.account_sid, server.auth_token = sid, token  # type: ignore[attr-defined]
    try:
        sg = sdk(server, create_key(server))
        send_at = int(time.time()) + 3  # still queued when the process dies
        body = {"personalizations": [{"to": [{"email": f"crash{i}@example.org"}]} for i in range(50)],
                "from": {"email": "a@example.com"}, "subject": "survived", "send_at": send_at,
                "content": [{"type": "text/plain", "value": "x"}]}
        assert sg.client.mail.send.post(request_body=body).status_code == 202
        server.kill()
        assert time.time() < send_at
        server.start()
        for i in (0, 49):
            assert mailbox(server, f"crash{i}@example.org", timeout=30)[0]["subject"] == "survived"
    finally:
        server.stop()
