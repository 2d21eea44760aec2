"""Web chat on PostgreSQL across processes: a message added through one Openline process reaches
the chat sockets of another (LISTEN/NOTIFY on ``openline_chat``)."""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import new_credentials
from tests.support.chat_client import ChatClient, mint
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[tuple[OpenlineServer,
                                                                                               OpenlineServer]]:
    name = f"openline_test_{secrets.token_hex(6)}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"{postgres_admin_url.rsplit('/', 1)[0]}/{name}"
    sid, token = new_credentials()
    env = {"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}
    servers: list[OpenlineServer] = []
    try:
        subprocess.run([sys.executable, "-m", "openline", "migrate", "--database-url", url, "--data-dir",
                        str(tmp_path_factory.mktemp("pgchat") / "data")], check=True, capture_output=True)
        for label in ("a", "b"):
            srv = OpenlineServer(tmp_path_factory.mktemp(f"pgchat-{label}") / "data", args=["--database-url", url],
                                 env=env)
            srv.start()
            srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
            servers.append(srv)
        yield servers[0], servers[1]
    finally:
        for srv in servers:
            srv.stop()
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_messages_cross_processes(pair: tuple[OpenlineServer, OpenlineServer]) -> None:
    a, b = pair
    client_b = host_style_client(b.url, b.account_sid, b.auth_token)  # type: ignore[attr-defined]
    v1 = client_b.conversations.v1
    conv = v1.conversations.create(friendly_name="two processes")
    v1.conversations(conv.sid).participants.create(identity="ana")
    v1.conversations(conv.sid).participants.create(identity="ben")
    key = client_b.new_keys.create(friendly_name="chat")  # created through B, verified by A: one master key
    service = v1.configuration().fetch().default_chat_service_sid

    with ChatClient(a.url) as ana, ChatClient(b.url) as ben:
        assert ana.auth(mint(client_b.account_sid, key.sid, key.secret, "ana", service))["type"] == "ready"
        assert ben.auth(mint(client_b.account_sid, key.sid, key.secret, "ben", service))["type"] == "ready"
        ana.join(conv.sid)
        ben.join(conv.sid)
        # REST on B reaches a socket on A.
        rest = v1.conversations(conv.sid).messages.create(author="system", body="from process B")
        assert ana.event("message", conversation=conv.sid)["message"]["sid"] == rest.sid
        # A socket on B reaches a socket on A, and back; typing and read too.
        ben.call({"type": "send", "conversation": conv.sid, "body": "ben here"})
        assert ana.wait(lambda f: f.get("type") == "message" and f["message"]["body"] == "ben here")
        ana.call({"type": "send", "conversation": conv.sid, "body": "ana here"})
        assert ben.wait(lambda f: f.get("type") == "message" and f["message"]["body"] == "ana here")
        ben.request({"type": "typing", "conversation": conv.sid})
        assert ana.event("typing", conversation=conv.sid)["identity"] == "ben"
        ana.call({"type": "read", "conversation": conv.sid, "index": 2})
        assert ben.event("read", conversation=conv.sid)["index"] == 2
        # Edits and removals made through one process reach the sockets of the other.
        v1.conversations(conv.sid).messages(rest.sid).update(body="from process B, edited")
        assert ana.event("message_updated", conversation=conv.sid)["message"]["body"] == "from process B, edited"
        mine = ben.wait(lambda f: f.get("type") == "message" and f["message"]["body"] == "ben here")
        assert ben.call({"type": "remove", "conversation": conv.sid,
                         "message": mine["message"]["sid"]})["type"] == "removed"
        assert ana.event("message_removed", conversation=conv.sid)["message"]["sid"] == mine["message"]["sid"]
