"""Conversations across channels on the sandbox network: a chat participant and two SMS handsets,
inbound replies joining the conversation, pre-event webhooks that block or change a message,
post-events, and address configurations that open conversations by themselves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import inbox, wait_for
from tests.support.server import OpenlineServer
from tests.support.twilio_client import rest_error
from tests.support.webhook_receiver import Received, Reply, WebhookReceiver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("convch") / "data",
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


def handset_sends(server: OpenlineServer, from_: str, to: str, body: str) -> dict:  # type: ignore[type-arg]
    response = httpx.post(f"{server.url}/sandbox/v1/Messages", content=urlencode({"From": from_, "To": to,
                                                                                  "Body": body}),
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def bodies(server: OpenlineServer, handset: str) -> list[str]:
    return [m["body"] for m in inbox(server, handset)]


def test_chat_and_two_handsets(client: Client, server: OpenlineServer, receiver: WebhookReceiver) -> None:
    v1 = client.conversations.v1
    # Two numbers of the account, each the proxy for one handset; their SmsUrl must stay silent.
    n1 = client.incoming_phone_numbers.create(phone_number="+15555550401", sms_url=receiver.url("/sms")).phone_number
    n2 = client.incoming_phone_numbers.create(phone_number="+15555550402", sms_url=receiver.url("/sms")).phone_number
    h1, h2 = "+15558670401", "+15558670402"
    conv = v1.conversations.create(friendly_name="three channels")
    parts = v1.conversations(conv.sid).participants
    agent = parts.create(identity="agent")
    p1 = parts.create(messaging_binding_address=h1, messaging_binding_proxy_address=n1)
    p2 = parts.create(messaging_binding_address=h2, messaging_binding_proxy_address=n2)

    # The chat participant writes: each handset gets an SMS from its own proxy number.
    hello = v1.conversations(conv.sid).messages.create(author="agent", body="Hello from the agent")
    assert hello.participant_sid == agent.sid
    assert hello.delivery["total"] == 2
    got1 = wait_for(lambda: inbox(server, h1))
    got2 = wait_for(lambda: inbox(server, h2))
    assert (got1[0]["body"], got1[0]["from"]) == ("Hello from the agent", n1)  # type: ignore[index]
    assert (got2[0]["body"], got2[0]["from"]) == ("Hello from the agent", n2)  # type: ignore[index]
    receipts = v1.conversations(conv.sid).messages(hello.sid).delivery_receipts.list()
    assert {r.participant_sid for r in receipts} == {p1.sid, p2.sid}
    assert {r.channel_message_sid for r in receipts} == {m[0]["sid"] for m in (got1, got2)}  # type: ignore[index]
    wait_for(lambda: all(r.status == "delivered" for r in
                         v1.conversations(conv.sid).messages(hello.sid).delivery_receipts.list()))
    one = receipts[0]
    fetched = v1.conversations(conv.sid).messages(hello.sid).delivery_receipts(one.sid).fetch()
    assert fetched.message_sid == hello.sid and fetched.error_code == 0
    assert wait_for(lambda: v1.conversations(conv.sid).messages(hello.sid).fetch().delivery["delivered"] == "all")

    # A handset replies: the SMS joins the conversation and goes on to the other handset only.
    handset_sends(server, h1, n1, "Thanks, from handset one")
    reply = wait_for(lambda: [m for m in v1.conversations(conv.sid).messages.list() if m.index == 1])[0]  # type: ignore[index]
    assert (reply.author, reply.body, reply.participant_sid) == (h1, "Thanks, from handset one", p1.sid)
    wait_for(lambda: "Thanks, from handset one" in bodies(server, h2))
    assert "Thanks, from handset one" not in bodies(server, h1)
    assert [r.participant_sid for r in v1.conversations(conv.sid).messages(reply.sid).delivery_receipts.list()] == [
        p2.sid]
    # As on Twilio, a message that joins a conversation is not also sent to the number's SmsUrl.
    assert [r for r in receiver.received if r.path == "/sms"] == []

    # A closed conversation lets go of its bindings: the next SMS goes to the SmsUrl again.
    v1.conversations(conv.sid).update(state="closed")
    handset_sends(server, h2, n2, "anyone there?")
    (hook,) = receiver.wait("/sms")
    assert hook.form["Body"] == "anyone there?"


def test_pre_event_blocks_and_modifies(client: Client, server: OpenlineServer, receiver: WebhookReceiver) -> None:
    v1 = client.conversations.v1
    service = v1.services.create(friendly_name="Moderated")
    svc = v1.services(service.sid)

    def moderate(request: Received) -> Reply:
        body = request.get("Body") or ""
        if "forbidden" in body:
            return 403, "text/plain", b"no"
        if "shout" in body:
            return 200, "application/json", json.dumps({"body": body.upper(), "author": "moderator"}).encode()
        return 200, "text/plain", b""

    receiver.on("/pre", moderate)
    hooks = svc.configuration.webhooks().update(pre_webhook_url=receiver.url("/pre"),
                                                post_webhook_url=receiver.url("/post"), method="POST",
                                                filters=["onMessageAdd", "onMessageAdded", "onParticipantAdded"])
    assert hooks.filters == ["onMessageAdd", "onMessageAdded", "onParticipantAdded"]
    assert svc.configuration.webhooks().fetch().pre_webhook_url == receiver.url("/pre")

    number = client.incoming_phone_numbers.create(phone_number="+15555550403").phone_number
    handset = "+15558670403"
    conv = svc.conversations.create(friendly_name="moderated")
    msgs = svc.conversations(conv.sid).messages
    svc.conversations(conv.sid).participants.create(messaging_binding_address=handset,
                                                    messaging_binding_proxy_address=number,
                                                    x_twilio_webhook_enabled="true")
    (added,) = receiver.wait("/post")
    assert added.form["EventType"] == "onParticipantAdded" and added.signature_valid
    assert added.form["MessagingBinding.Address"] == handset

    # Without X-Twilio-Webhook-Enabled the REST API fires no webhooks, as on Twilio.
    quiet = msgs.create(author="agent", body="forbidden but quiet")
    assert quiet.body == "forbidden but quiet"
    assert [r for r in receiver.received if r.path == "/pre"] == []

    status, code = rest_error(lambda: msgs.create(author="agent", body="this is forbidden",
                                                  x_twilio_webhook_enabled="true"))
    assert (status, code) == (403, 20403)
    (pre,) = receiver.wait("/pre")
    assert pre.signature_valid and pre.form["EventType"] == "onMessageAdd"
    assert (pre.form["ConversationSid"], pre.form["Author"], pre.form["Source"]) == (conv.sid, "agent", "API")
    assert "this is forbidden" not in [m.body for m in msgs.list()]

    changed = msgs.create(author="agent", body="please shout this", x_twilio_webhook_enabled="true")
    assert (changed.body, changed.author) == ("PLEASE SHOUT THIS", "moderator")
    wait_for(lambda: "PLEASE SHOUT THIS" in bodies(server, handset))
    assert "this is forbidden" not in bodies(server, handset)
    post = [r for r in receiver.wait("/post", 2) if r.form["EventType"] == "onMessageAdded"]
    assert post[0].signature_valid and post[0].form["MessageSid"] == changed.sid
    assert post[0].form["Body"] == "PLEASE SHOUT THIS" and post[0].form["Index"] == str(changed.index)

    # An SMS from the handset meets the same pre-event: blocked ones never join.
    handset_sends(server, handset, number, "forbidden words by sms")
    handset_sends(server, handset, number, "shout by sms")
    got = wait_for(lambda: [m for m in msgs.list() if m.body == "SHOUT BY SMS"])
    assert got[0].author == "moderator"  # type: ignore[index]
    sources = [r.form["Source"] for r in receiver.wait("/pre", 4)]
    assert sources.count("SMS") == 2
    assert "forbidden words by sms" not in [m.body for m in msgs.list()]


def test_address_configuration_opens_conversations(client: Client, server: OpenlineServer,
                                                   receiver: WebhookReceiver) -> None:
    v1 = client.conversations.v1
    number = client.incoming_phone_numbers.create(phone_number="+15555550404", sms_url=receiver.url("/sms"))
    config = v1.address_configurations.create(
        type="sms", address=number.phone_number, friendly_name="front desk", auto_creation_enabled=True,
        auto_creation_type="webhook", auto_creation_webhook_url=receiver.url("/auto"),
        auto_creation_webhook_method="POST", auto_creation_webhook_filters=["onMessageAdded"])
    assert config.sid.startswith("IG") and config.auto_creation["enabled"] is True
    assert config.auto_creation["webhook_filters"] == ["onMessageAdded"] and config.address_country == "US"
    assert v1.address_configurations(number.phone_number).fetch().sid == config.sid
    assert [a.sid for a in v1.address_configurations.list(type="sms")] == [config.sid]
    assert rest_error(lambda: v1.address_configurations.create(type="sms", address=number.phone_number)) == (
        400, 20001)
    assert rest_error(lambda: v1.address_configurations.create(type="sms", address="+15555559998")) == (400, 21606)
    # WhatsApp is served (a number of the account, see test_chat_sandbox); Google Business Messages is not.
    assert rest_error(lambda: v1.address_configurations.create(type="whatsapp", address="+15555559998")) == (
        400, 21606)
    assert rest_error(lambda: v1.address_configurations.create(type="gbm", address="+15555559998")) == (400, 20001)

    handset = "+15558670404"
    before = {c.sid for c in v1.conversations.list()}
    handset_sends(server, handset, number.phone_number, "I need help")
    (hook,) = receiver.wait("/auto")
    assert hook.signature_valid and hook.form["EventType"] == "onMessageAdded"
    assert hook.form["Body"] == "I need help" and hook.form["Author"] == handset and hook.form["Source"] == "SMS"
    new = [c for c in v1.conversations.list() if c.sid not in before]
    assert len(new) == 1 and new[0].sid == hook.form["ConversationSid"]
    (participant,) = v1.conversations(new[0].sid).participants.list()
    assert participant.messaging_binding["address"] == handset
    # The next message from the same handset joins that conversation, not a new one.
    handset_sends(server, handset, number.phone_number, "still there?")
    receiver.wait("/auto", 2)
    assert [m.body for m in v1.conversations(new[0].sid).messages.list()] == ["I need help", "still there?"]
    assert len([c for c in v1.conversations.list() if c.sid not in before]) == 1
    assert [r for r in receiver.received if r.path == "/sms"] == []

    updated = v1.address_configurations(config.sid).update(auto_creation_enabled=False)
    assert updated.auto_creation["enabled"] is False
    assert v1.address_configurations(config.sid).delete() is True
    assert rest_error(lambda: v1.address_configurations(config.sid).fetch()) == (404, 20404)


def test_console_shows_threads(client: Client, server: OpenlineServer) -> None:
    from tests.browser.support import create_main_account
    from tests.integration.test_console import ConsoleClient

    v1 = client.conversations.v1
    number = client.incoming_phone_numbers.create(phone_number="+15555550405").phone_number
    handset = "+15558670405"
    conv = v1.conversations.create(friendly_name="Console <thread>")
    v1.conversations(conv.sid).participants.create(identity="agent-c")
    v1.conversations(conv.sid).participants.create(messaging_binding_address=handset,
                                                   messaging_binding_proxy_address=number)
    v1.conversations(conv.sid).messages.create(author="agent-c", body="Hi from the console test")
    handset_sends(server, handset, number, "Reply from the handset")
    wait_for(lambda: len(v1.conversations(conv.sid).messages.list()) == 2)

    console, stranger = ConsoleClient(server.url), ConsoleClient(server.url)
    try:
        assert console.sign_in(server.account_sid, server.auth_token).status_code == 303  # type: ignore[attr-defined]
        listing = console.get("/conversations")
        assert listing.status_code == 200 and f"/console/conversations/{conv.sid}" in listing.text
        assert "Console &lt;thread&gt;" in listing.text and "<thread>" not in listing.text  # escaped
        page = console.get(f"/conversations/{conv.sid}")
        assert page.status_code == 200
        text = page.text
        assert text.index("Hi from the console test") < text.index("Reply from the handset")  # oldest first
        assert "agent-c" in text and handset in text and f"SMS through {number}" in text
        assert 'class="bubble received"' in text and 'class="bubble sent"' in text

        # Another account's console cannot open this conversation.
        sid, token = create_main_account(server, "Other")
        assert stranger.sign_in(sid, token).status_code == 303
        assert stranger.get(f"/conversations/{conv.sid}").status_code == 404
        assert conv.sid not in stranger.get("/conversations").text
    finally:
        console.http.close()
        stranger.http.close()
