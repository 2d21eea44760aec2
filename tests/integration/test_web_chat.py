"""Web chat end to end: tokens minted by the official twilio SDK, a real WebSocket client, and the
Conversations REST API, SMS handsets and webhooks on the same conversations."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from twilio.rest import Client

from tests.conftest import new_credentials
from tests.integration.test_console import ConsoleClient
from tests.integration.test_sms_basic import inbox, wait_for
from tests.support.chat_client import ChatClient, mint
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client
from tests.support.webhook_receiver import Received, Reply, WebhookReceiver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("webchat") / "data",
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


@pytest.fixture
def receiver(server: OpenlineServer) -> Iterator[WebhookReceiver]:
    app = WebhookReceiver(server.auth_token).start()  # type: ignore[attr-defined]
    yield app
    app.stop()


class Keys:
    def __init__(self, client: Client) -> None:
        key = client.new_keys.create(friendly_name="web chat")
        self.account_sid, self.sid, self.secret = client.account_sid, key.sid, key.secret
        self.service_sid = client.conversations.v1.configuration().fetch().default_chat_service_sid

    def token(self, identity: str, **kwargs: object) -> str:
        return mint(self.account_sid, self.sid, self.secret, identity, kwargs.pop("service_sid", self.service_sid),
                    **kwargs)  # type: ignore[arg-type]


@pytest.fixture
def keys(client: Client) -> Keys:
    return Keys(client)


def chat_conversation(client: Client, *identities: str, unique_name: str | None = None) -> str:
    v1 = client.conversations.v1
    conv = v1.conversations.create(friendly_name="web chat", unique_name=unique_name)
    for identity in identities:
        v1.conversations(conv.sid).participants.create(identity=identity)
    return str(conv.sid)


def error(frame: dict) -> int:  # type: ignore[type-arg]
    assert frame["type"] == "error", frame
    assert set(frame) >= {"code", "message", "status"}
    return int(frame["code"])


def test_widget_script_is_served(server: OpenlineServer) -> None:
    response = httpx.get(f"{server.url}/chat/widget.js")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/javascript")
    assert "OpenlineChat" in response.text and "/conversations/v1/Chat/ws" in response.text


def test_token_is_checked(server: OpenlineServer, client: Client, keys: Keys) -> None:
    chat_conversation(client, "alice")
    with ChatClient(server.url) as chat:
        assert error(chat.call({"type": "join", "conversation": "x"})) == 20101  # nothing before auth
        ready = chat.auth(keys.token("alice"))
        assert ready["type"] == "ready" and ready["identity"] == "alice"
        assert ready["account_sid"] == keys.account_sid and ready["service_sid"] == keys.service_sid
        assert ready["expires"] > time.time() + 3000
        # A fresh token for the same identity refreshes the socket; another identity is refused.
        assert chat.auth(keys.token("alice"))["type"] == "ready"
        assert error(chat.auth(keys.token("bob"))) == 20103

    def refused(token: str) -> int:
        with ChatClient(server.url) as chat:
            return error(chat.auth(token))

    other_sid, _ = new_credentials()
    assert refused(mint(keys.account_sid, keys.sid, "x" * 32, "alice", keys.service_sid)) == 20107  # bad signature
    assert refused(keys.token("alice", ttl=-10)) == 20104  # expired
    assert refused(keys.token("alice", nbf=int(time.time()) + 3600)) == 20105  # not yet valid
    assert refused(keys.token("alice", ttl=3 * 86400)) == 20104  # longer than Twilio's 24 hours
    assert refused(mint(other_sid, keys.sid, keys.secret, "alice", keys.service_sid)) == 20103  # wrong account
    assert refused(mint(keys.account_sid, keys.sid, keys.secret, None, keys.service_sid)) == 20106  # no identity
    assert refused(mint(keys.account_sid, keys.sid, keys.secret, "alice", None)) == 20106  # no service
    assert refused(keys.token("alice", service_sid="IS" + "0" * 32)) == 20106  # not the account's service
    assert refused("not.a.jwt") == 20101
    now = int(time.time())
    no_cty = jwt.encode({"iss": keys.sid, "sub": keys.account_sid, "exp": now + 60,
                         "grants": {"identity": "alice", "chat": {"service_sid": keys.service_sid}}},
                        keys.secret, algorithm="HS256")
    assert refused(no_cty) == 20102
    # The console's own tokens are signed with a key only the server holds.
    forged = jwt.encode({"iss": "openline-console", "sub": keys.account_sid, "exp": now + 60,
                         "grants": {"identity": "alice", "chat": {"service_sid": keys.service_sid}}},
                        "guessed-" * 4, algorithm="HS256", headers={"cty": "twilio-fpa;v=1"})
    assert refused(forged) == 20107
    # A subaccount's key cannot speak for its parent, nor the parent's for the subaccount.
    sub = client.api.v2010.accounts.create(friendly_name="sub")
    assert refused(mint(sub.sid, keys.sid, keys.secret, "alice", keys.service_sid)) == 20103

    # A revoked key's tokens stop working at once, also on a socket that re-authenticates.
    token = keys.token("alice")
    assert client.keys(keys.sid).delete() is True
    assert refused(token) == 20103

    # Three wrong tokens close the socket (4401).
    with ChatClient(server.url) as chat:
        for _ in range(3):
            assert error(chat.auth("garbage")) == 20101
        assert chat.closed_code() == 4401


def test_join_send_history_typing_read(server: OpenlineServer, client: Client, keys: Keys) -> None:
    v1 = client.conversations.v1
    sid = chat_conversation(client, "alice", "bob", unique_name="support-42")
    chat_conversation(client, "carol")
    with ChatClient(server.url) as alice, ChatClient(server.url) as bob, ChatClient(server.url) as carol:
        alice.auth(keys.token("alice"))
        bob.auth(keys.token("bob"))
        carol.auth(keys.token("carol"))
        joined = alice.join("support-42")  # by unique name
        assert joined["type"] == "joined" and joined["conversation"]["sid"] == sid
        assert joined["conversation"]["unique_name"] == "support-42"
        assert joined["participant"]["identity"] == "alice"
        assert {p["identity"] for p in joined["participants"]} == {"alice", "bob"}
        assert bob.join(sid)["type"] == "joined"
        assert error(carol.join(sid)) == 20403  # not a participant
        assert error(carol.join("CH" + "0" * 32)) == 20404
        assert error(carol.call({"type": "send", "conversation": sid, "body": "x"})) == 20001  # not joined

        sent = alice.call({"type": "send", "conversation": "support-42", "body": "Hello Bob",
                           "attributes": {"page": "/pricing"}})
        assert sent["type"] == "sent" and sent["message"]["index"] == 0
        assert sent["message"]["author"] == "alice" and sent["message"]["attributes"] == {"page": "/pricing"}
        pushed = bob.event("message", conversation=sid)
        assert pushed["message"]["body"] == "Hello Bob" and pushed["message"]["sid"] == sent["message"]["sid"]
        alice.event("message", conversation=sid)  # the author's own sockets follow too
        rest = v1.conversations(sid).messages(sent["message"]["sid"]).fetch()
        assert rest.author == "alice" and json.loads(rest.attributes) == {"page": "/pricing"}
        assert rest.participant_sid == joined["participant"]["sid"]
        # Bob's socket got it: his delivery receipt says delivered.
        bob_sid = next(p["sid"] for p in joined["participants"] if p["identity"] == "bob")
        receipts = wait_for(lambda: v1.conversations(sid).messages(rest.sid).delivery_receipts.list())
        assert [(r.participant_sid, r.status) for r in receipts] == [(bob_sid, "delivered")]  # type: ignore[union-attr]

        # Messages added over REST reach both sockets.
        for n in range(4):
            v1.conversations(sid).messages.create(author="system", body=f"rest {n}")
        for chat in (alice, bob):
            assert [chat.event("message", conversation=sid)["message"]["body"] for _ in range(4)] == [
                f"rest {n}" for n in range(4)]

        # History, newest page first, then older pages with `before`.
        page = bob.call({"type": "history", "conversation": sid, "limit": 2})
        assert [m["index"] for m in page["messages"]] == [3, 4] and page["has_more"] is True
        older = bob.call({"type": "history", "conversation": sid, "limit": 10, "before": 3})
        assert [m["body"] for m in older["messages"]] == ["Hello Bob", "rest 0", "rest 1"]
        assert older["has_more"] is False

        # Typing goes to the others, not back to the typist.
        bob.request({"type": "typing", "conversation": sid})
        typing = alice.event("typing", conversation=sid)
        assert typing["identity"] == "bob" and typing["participant_sid"] == bob_sid
        bob.nothing("typing")

        # Read horizon: the participant's index, read receipts, and a read event for the others.
        ok = bob.call({"type": "read", "conversation": sid, "index": 4})
        assert ok["type"] == "ok" and ok["last_read_message_index"] == 4
        read = alice.event("read", conversation=sid)
        assert (read["identity"], read["index"]) == ("bob", 4)
        assert v1.conversations(sid).participants(bob_sid).fetch().last_read_message_index == 4
        statuses = [r.status for r in v1.conversations(sid).messages(rest.sid).delivery_receipts.list()]
        assert statuses == ["read"]
        assert v1.conversations(sid).messages(rest.sid).fetch().delivery["read"] == "all"
        assert error(bob.call({"type": "read", "conversation": sid, "index": 99})) == 20001
        # The console's thread shows what the browsers received and read.
        console = ConsoleClient(server.url)
        try:
            console.sign_in(server.account_sid, server.auth_token)  # type: ignore[attr-defined]
            assert "Web chat: delivered to 1, read by 1" in console.get(f"/conversations/{sid}").text
        finally:
            console.http.close()

        # A participant removed over REST loses the conversation at once.
        v1.conversations(sid).participants(bob_sid).delete()
        assert error(bob.call({"type": "send", "conversation": sid, "body": "still here?"})) == 20403
        assert error(bob.call({"type": "history", "conversation": sid})) == 20403
        # ...and its socket stops receiving: the next message tells it it left, and nothing more.
        v1.conversations(sid).messages.create(author="alice", body="after bob left")
        assert alice.wait(lambda f: f.get("type") == "message" and f["message"]["body"] == "after bob left")
        assert bob.event("left", conversation=sid)["reason"] == "removed"
        bob.nothing("message")
        # Added back, the same socket joins again and follows the conversation afresh.
        v1.conversations(sid).participants.create(identity="bob")
        assert bob.join(sid)["type"] == "joined"
        v1.conversations(sid).messages.create(author="alice", body="welcome back")
        assert bob.event("message", conversation=sid)["message"]["body"] == "welcome back"


def test_bad_frames_cost_one_frame(server: OpenlineServer, client: Client, keys: Keys) -> None:
    sid = chat_conversation(client, "dora")
    with ChatClient(server.url) as chat:
        chat.auth(keys.token("dora"))
        chat.join(sid)
        chat.send_raw("not json")
        assert error(chat.wait(lambda f: f["type"] == "error")) == 20001
        chat.send_raw(b"\x00binary")
        assert error(chat.wait(lambda f: f["type"] == "error")) == 20001
        chat.send_raw(json.dumps([1, 2]))
        assert error(chat.wait(lambda f: f["type"] == "error")) == 20001
        assert error(chat.call({"type": "shout"})) == 20001
        assert error(chat.call({"type": "send", "conversation": sid, "body": ""})) == 20001
        assert error(chat.call({"type": "send", "conversation": sid, "body": "x", "attributes": "{nope"})) == 20001
        assert error(chat.call({"type": "history", "conversation": sid, "limit": 1000})) == 20001
        assert error(chat.call({"type": "read", "conversation": sid, "index": -1})) == 20001
        chat.request({"type": "send", "conversation": sid, "body": "x" * 70_000})  # too large to be read: no id
        assert error(chat.wait(lambda f: f["type"] == "error")) == 20001
        assert chat.call({"type": "ping"})["type"] == "pong"  # still connected and working
        assert chat.call({"type": "send", "conversation": sid, "body": "after all that"})["type"] == "sent"

        # Frames beyond the rate limit are refused one by one; the socket stays.
        for n in range(150):
            chat.request({"type": "ping", "n": n})
        answers = [chat.wait(lambda f: f.get("type") in ("pong", "error")) for _ in range(150)]
        assert any(a["type"] == "error" and a["code"] == 20429 for a in answers)
        time.sleep(2.5)  # the bucket refills
        assert chat.call({"type": "ping"})["type"] == "pong"
    with ChatClient(server.url) as chat:  # a frame over 1 MiB is not even read: the socket closes (1009)
        chat.send_raw("x" * (1024 * 1024 + 1))
        assert chat.closed_code() == 1009


def test_pre_event_webhook_blocks_a_browser_message(server: OpenlineServer, client: Client, keys: Keys,
                                                     receiver: WebhookReceiver) -> None:
    v1 = client.conversations.v1
    service = v1.services.create(friendly_name="moderated chat")
    svc = v1.services(service.sid)

    def moderate(request: Received) -> Reply:
        if "forbidden" in (request.get("Body") or ""):
            return 403, "text/plain", b"no"
        return 200, "application/json", json.dumps({"body": (request.get("Body") or "").upper()}).encode()

    receiver.on("/pre", moderate)
    svc.configuration.webhooks().update(pre_webhook_url=receiver.url("/pre"), post_webhook_url=receiver.url("/post"),
                                        method="POST", filters=["onMessageAdd", "onMessageAdded"])
    conv = svc.conversations.create(friendly_name="moderated")
    svc.conversations(conv.sid).participants.create(identity="erin")
    token = mint(keys.account_sid, keys.sid, keys.secret, "erin", service.sid)
    with ChatClient(server.url) as chat:
        chat.auth(token)
        chat.join(conv.sid)
        assert error(chat.call({"type": "send", "conversation": conv.sid, "body": "something forbidden"})) == 20403
        (pre,) = receiver.wait("/pre")
        assert pre.signature_valid and pre.form["EventType"] == "onMessageAdd"
        assert (pre.form["Source"], pre.form["ClientIdentity"], pre.form["Author"]) == ("SDK", "erin", "erin")
        assert list(svc.conversations(conv.sid).messages.list()) == []
        chat.nothing("message")

        sent = chat.call({"type": "send", "conversation": conv.sid, "body": "fine"})
        assert sent["message"]["body"] == "FINE"
        (post,) = receiver.wait("/post")
        assert post.form["EventType"] == "onMessageAdded" and post.form["Source"] == "SDK"
        assert post.form["MessageSid"] == sent["message"]["sid"]


def handset_sends(server: OpenlineServer, from_: str, to: str, body: str) -> None:
    response = httpx.post(f"{server.url}/sandbox/v1/Messages", content=urlencode({"From": from_, "To": to,
                                                                                  "Body": body}),
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text


def test_browser_and_sms_participant(server: OpenlineServer, client: Client, keys: Keys) -> None:
    v1 = client.conversations.v1
    number = client.incoming_phone_numbers.create(phone_number="+15555550611").phone_number
    handset = "+15558670611"
    sid = chat_conversation(client, "visitor")
    v1.conversations(sid).participants.create(messaging_binding_address=handset,
                                              messaging_binding_proxy_address=number)
    with ChatClient(server.url) as chat:
        chat.auth(keys.token("visitor"))
        joined = chat.join(sid)
        assert {p["channel"] for p in joined["participants"]} == {"chat", "sms"}
        assert all("address" not in p for p in joined["participants"])  # browsers do not see phone numbers
        sent = chat.call({"type": "send", "conversation": sid, "body": "Hi from the website"})
        assert chat.event("message", conversation=sid)["message"]["sid"] == sent["message"]["sid"]
        got = wait_for(lambda: inbox(server, handset))
        assert (got[0]["body"], got[0]["from"]) == ("Hi from the website", number)  # type: ignore[index]
        receipts = v1.conversations(sid).messages(sent["message"]["sid"]).delivery_receipts.list()
        assert [r.channel_message_sid for r in receipts] == [got[0]["sid"]]  # type: ignore[index]

        handset_sends(server, handset, number, "Hello from my phone")
        pushed = chat.event("message", conversation=sid, timeout=15)
        assert (pushed["message"]["author"], pushed["message"]["body"]) == (handset, "Hello from my phone")
        assert pushed["message"]["index"] == 1


def test_an_expired_token_ends_the_socket(server: OpenlineServer, client: Client, keys: Keys) -> None:
    chat_conversation(client, "frank")
    with ChatClient(server.url) as chat:
        assert chat.auth(keys.token("frank", ttl=2))["type"] == "ready"
        expired = chat.wait(lambda f: f.get("type") == "error", timeout=10)
        assert expired["code"] == 20104
        assert chat.closed_code() == 4401
    with ChatClient(server.url) as chat:  # a token may be renewed on the socket before it runs out
        assert chat.auth(keys.token("frank", ttl=2))["type"] == "ready"
        assert chat.auth(keys.token("frank"))["type"] == "ready"
        time.sleep(3)
        assert chat.call({"type": "ping"})["type"] == "pong"


def test_tokens_stay_inside_their_account(server: OpenlineServer, client: Client, keys: Keys) -> None:
    """A subaccount's token reaches neither its parent's service nor its conversations."""
    parent_conv = chat_conversation(client, "gus")
    sub = client.api.v2010.accounts.create(friendly_name="tenant")
    sub_client = host_style_client(server.url, sub.sid, sub.auth_token)
    sub_key = sub_client.new_keys.create(friendly_name="tenant chat")
    sub_service = sub_client.conversations.v1.configuration().fetch().default_chat_service_sid
    sub_conv = chat_conversation(sub_client, "gus")
    with ChatClient(server.url) as chat:
        assert error(chat.auth(mint(sub.sid, sub_key.sid, sub_key.secret, "gus", keys.service_sid))) == 20106
        assert chat.auth(mint(sub.sid, sub_key.sid, sub_key.secret, "gus", sub_service))["type"] == "ready"
        assert error(chat.join(parent_conv)) == 20404  # same identity, other account: not found
        assert chat.join(sub_conv)["type"] == "joined"
    with ChatClient(server.url) as chat:  # and the parent's token does not reach the subaccount's service
        assert error(chat.auth(keys.token("gus", service_sid=sub_service))) == 20106


def handshake(server: OpenlineServer, path: str, host: str) -> str:
    """The status line a WebSocket upgrade request gets (RFC 6455 §4.1), by hand to set Host."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        return sock.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_socket_routing_by_host_and_prefix(server: OpenlineServer) -> None:
    assert " 101 " in handshake(server, "/v1/Chat/ws", "conversations.twilio.com")
    assert " 101 " in handshake(server, "/conversations/v1/Chat/ws", f"127.0.0.1:{server.port}")
    assert " 403 " in handshake(server, "/v1/Chat/ws", f"127.0.0.1:{server.port}")  # no product: no socket
    assert " 403 " in handshake(server, "/v1/Chat/ws", "verify.twilio.com")
    assert " 403 " in handshake(server, "/conversations/v1/Elsewhere", f"127.0.0.1:{server.port}")


def test_readme_snippet(server: OpenlineServer, client: Client) -> None:
    """README's web chat backend snippet, as written: its token opens the conversation."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "ChatGrant" in b]
    key = client.new_keys.create(friendly_name="readme")
    scope: dict[str, object] = {"client": client, "account_sid": client.account_sid, "key_sid": key.sid,
                                "key_secret": key.secret}
    exec(code, scope)  # the snippet as written, with this test's client and key
    with ChatClient(server.url) as chat:
        assert chat.auth(str(scope["jwt"]))["identity"] == "visitor-1001"
        assert chat.join("visitor-1001")["type"] == "joined"
