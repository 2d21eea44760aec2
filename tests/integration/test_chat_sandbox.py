"""Chat channels on the sandbox, with the official SDK: whatsapp:/telegram:/line:/messenger: addresses,
the 24-hour window (63016), Content templates (ContentSid), read receipts, channel webhooks, and a
conversation between an SMS participant and a WhatsApp participant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import inbox, wait_for
from tests.support.server import OpenlineServer
from tests.support.twilio_client import rest_error
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("chat") / "data",
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


def user_sends(server: OpenlineServer, from_: str, to: str, body: str, **extra: str) -> httpx.Response:
    return httpx.post(f"{server.url}/sandbox/v1/Messages",
                      content=urlencode({"From": from_, "To": to, "Body": body, **extra}),
                      headers={"Content-Type": "application/x-www-form-urlencoded"},
                      auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]


def test_whatsapp_window_inbound_webhook_and_read(client: Client, server: OpenlineServer,
                                                  receiver: WebhookReceiver) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550601", sms_url=receiver.url("/wa"))
    business, user = f"whatsapp:{number.phone_number}", "whatsapp:+15558670601"

    # Nobody wrote yet: a free-form message fails with 63016, as on Twilio.
    early = client.messages.create(from_=business, to=user, body="Hi there")
    assert early.status == "queued" and early.to == user and early.from_ == business
    failed = wait_for(lambda: (m := client.messages(early.sid).fetch()).status == "failed" and m)
    assert failed.error_code == 63016  # type: ignore[union-attr]
    assert inbox(server, user) == []

    # The user writes: the number's SmsUrl gets Twilio's WhatsApp parameters.
    sent = user_sends(server, user, business, "hello business", ProfileName="Ada Lovelace")
    assert sent.status_code == 201, sent.text
    assert sent.json()["from"] == user and sent.json()["to"] == business
    hook = wait_for(lambda: receiver.received)[0]  # type: ignore[index]
    assert hook.signature_valid
    assert (hook.get("From"), hook.get("To"), hook.get("Body"), hook.get("WaId")) == (
        user, business, "hello business", "15558670601")
    assert hook.get("ProfileName") == "Ada Lovelace"
    assert hook.get("MessageType") == "text"

    # Within the window the reply goes, and is delivered then read (status callbacks include read).
    reply = client.messages.create(from_=business, to=user, body="Thanks!", status_callback=receiver.url("/status"))
    read = wait_for(lambda: (m := client.messages(reply.sid).fetch()).status == "read" and m)
    assert read.error_code is None  # type: ignore[union-attr]
    got = inbox(server, user)
    assert [(m["from"], m["body"]) for m in got] == [(business, "Thanks!")]
    statuses = wait_for(lambda: (s := [r.get("MessageStatus") for r in receiver.received if r.path == "/status"])
                        and "read" in s and s)
    assert statuses[-2:] == ["delivered", "read"]  # type: ignore[index]


def test_address_errors(client: Client) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550602").phone_number
    assert rest_error(lambda: client.messages.create(from_=f"whatsapp:{number}", to="whatsapp:12", body="x")) \
        == (400, 21211)
    assert rest_error(lambda: client.messages.create(from_=f"whatsapp:{number}", to="line:nope", body="x")) \
        == (400, 21211)
    assert rest_error(lambda: client.messages.create(from_=number, to="whatsapp:+15558670602", body="x")) \
        == (400, 21910)
    assert rest_error(lambda: client.messages.create(from_="whatsapp:+15555550699", to="whatsapp:+15558670602",
                                                     body="x")) == (400, 63007)
    assert rest_error(lambda: client.messages.create(from_=f"whatsapp:{number}", to="telegram:42", body="x")) \
        == (400, 21910)


def test_content_templates(client: Client, server: OpenlineServer) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550603").phone_number
    business, user, stranger = f"whatsapp:{number}", "whatsapp:+15558670603", "whatsapp:+15558670613"
    request = ContentList.ContentCreateRequest({
        "friendly_name": "order_update", "language": "en", "variables": {"1": "customer", "2": "soon"},
        "types": {"twilio/text": {"body": "Hello {{1}}, your order ships {{2}}."}}})
    content = client.content.v1.contents.create(request)
    assert content.sid.startswith("HX") and content.language == "en"
    assert content.types == {"twilio/text": {"body": "Hello {{1}}, your order ships {{2}}."}}
    assert client.content.v1.contents(content.sid).fetch().friendly_name == "order_update"
    assert content.sid in [c.sid for c in client.content.v1.contents.list()]

    # In the window, the content goes as its text with the variables filled in.
    assert user_sends(server, user, business, "where is my order?").status_code == 201
    msg = client.messages.create(from_=business, to=user, content_sid=content.sid,
                                 content_variables=json.dumps({"1": "Ada"}))
    assert msg.body == "Hello Ada, your order ships soon."
    wait_for(lambda: client.messages(msg.sid).fetch().status in ("delivered", "read"))

    # Outside the window: free-form content fails 63016; once approved as a template it goes.
    outside = client.messages.create(from_=business, to=stranger, content_sid=content.sid)
    assert wait_for(lambda: (m := client.messages(outside.sid).fetch()).status == "failed" and m).error_code \
        == 63016  # type: ignore[union-attr]
    client.content.v1.contents(content.sid).approval_create.create(
        ApprovalCreateList.ContentApprovalRequest({"name": "order_update", "category": "UTILITY"}))
    approval = client.content.v1.contents(content.sid).approval_fetch().fetch()
    assert approval.whatsapp["name"] == "order_update" and approval.whatsapp["status"] == "approved"
    template = client.messages.create(from_=business, to=stranger, content_sid=content.sid)
    wait_for(lambda: client.messages(template.sid).fetch().status in ("delivered", "read"))

    assert rest_error(lambda: client.messages.create(from_=business, to=user,
                                                     content_sid="HX" + "0" * 32)) == (400, 21655)
    assert rest_error(lambda: client.messages.create(from_=business, to=user, content_sid=content.sid,
                                                     content_variables="{nope")) == (400, 21656)


@pytest.mark.parametrize(("user", "sender", "reads"), [
    ("telegram:123456789", "telegram:987654", False),
    ("line:U4af4980629" + "0" * 22, "line:U" + "1" * 32, False),
    ("messenger:24601", "messenger:1122334455", True),
])
def test_other_channels(client: Client, server: OpenlineServer, user: str, sender: str, reads: bool) -> None:
    msg = client.messages.create(from_=sender, to=user, body=f"hi {user}")
    final = "read" if reads else "delivered"
    wait_for(lambda: client.messages(msg.sid).fetch().status == final)
    assert [m["body"] for m in inbox(server, user)] == [f"hi {user}"]
    answer = user_sends(server, user, sender, "hello back")
    assert answer.status_code == 201 and answer.json()["direction"] == "inbound"
    assert any(m.body == "hello back" for m in client.messages.list(to=sender))


def test_conversation_sms_and_whatsapp(client: Client, server: OpenlineServer, receiver: WebhookReceiver) -> None:
    v1 = client.conversations.v1
    proxy = client.incoming_phone_numbers.create(phone_number="+15555550604", sms_url=receiver.url("/sms")).phone_number
    sms_user, wa_user = "+15558670604", "whatsapp:+15558670614"
    conv = v1.conversations.create(friendly_name="sms and whatsapp")
    parts = v1.conversations(conv.sid).participants
    p_sms = parts.create(messaging_binding_address=sms_user, messaging_binding_proxy_address=proxy)
    p_wa = parts.create(messaging_binding_address=wa_user, messaging_binding_proxy_address=f"whatsapp:{proxy}")
    assert p_wa.messaging_binding["type"] == "whatsapp"
    assert p_wa.messaging_binding["address"] == wa_user

    # The WhatsApp user writes first (opening its window): the SMS user gets it by SMS.
    assert user_sends(server, wa_user, f"whatsapp:{proxy}", "hi from whatsapp").status_code == 201
    got = wait_for(lambda: inbox(server, sms_user))
    assert got[0]["body"] == "hi from whatsapp" and got[0]["from"] == proxy  # type: ignore[index]
    # The SMS user answers: it reaches WhatsApp from the WhatsApp proxy.
    assert user_sends(server, sms_user, proxy, "hi from sms").status_code == 201
    wa_got = wait_for(lambda: inbox(server, wa_user))
    assert wa_got[0]["body"] == "hi from sms" and wa_got[0]["from"] == f"whatsapp:{proxy}"  # type: ignore[index]
    messages = v1.conversations(conv.sid).messages.list()
    assert [(m.body, m.participant_sid) for m in messages] == [
        ("hi from whatsapp", p_wa.sid), ("hi from sms", p_sms.sid)]
    assert not [r for r in receiver.received if r.path == "/sms"]  # the conversation took both


def test_console_log_shows_channel_messages(client: Client, server: OpenlineServer) -> None:
    from tests.integration.test_console import ConsoleClient

    msg = client.messages.create(from_="telegram:4242", to="telegram:777", body="console sees telegram")
    wait_for(lambda: client.messages(msg.sid).fetch().status == "delivered")
    console = ConsoleClient(server.url)
    try:
        assert console.sign_in(server.account_sid, server.auth_token).status_code == 303  # type: ignore[attr-defined]
        page = console.get("/messages", params={"to": "Telegram:777"})
        assert page.status_code == 200
        assert "console sees telegram" in page.text and "telegram:4242" in page.text and "telegram:777" in page.text
        detail = console.get(f"/messages/{msg.sid}")
        assert detail.status_code == 200 and "delivered" in detail.text
    finally:
        console.http.close()


def test_whatsapp_address_configuration_opens_conversations(client: Client, server: OpenlineServer,
                                                            receiver: WebhookReceiver) -> None:
    v1 = client.conversations.v1
    number = client.incoming_phone_numbers.create(phone_number="+15555550605", sms_url=receiver.url("/sms")).phone_number
    config = v1.address_configurations.create(type="whatsapp", address=f"whatsapp:{number}",
                                              auto_creation_enabled=True, auto_creation_type="default")
    assert (config.type, config.address) == ("whatsapp", f"whatsapp:{number}")
    before = {c.sid for c in v1.conversations.list()}
    user = "whatsapp:+15558670605"
    assert user_sends(server, user, f"whatsapp:{number}", "I need help").status_code == 201
    opened = wait_for(lambda: [c for c in v1.conversations.list() if c.sid not in before])
    conv = opened[0]  # type: ignore[index]
    participants = v1.conversations(conv.sid).participants.list()
    assert [(p.messaging_binding["type"], p.messaging_binding["address"], p.messaging_binding["proxy_address"])
            for p in participants] == [("whatsapp", user, f"whatsapp:{number}")]
    wait_for(lambda: [m.body for m in v1.conversations(conv.sid).messages.list()] == ["I need help"])
    # An agent answers in the conversation: the reply reaches WhatsApp, within the window.
    v1.conversations(conv.sid).participants.create(identity="agent")
    v1.conversations(conv.sid).messages.create(author="agent", body="How can I help?")
    got = wait_for(lambda: inbox(server, user))
    assert got[0]["body"] == "How can I help?" and got[0]["from"] == f"whatsapp:{number}"  # type: ignore[index]
    assert not [r for r in receiver.received if r.path == "/sms"]


def test_messaging_service_picks_a_whatsapp_sender(client: Client, server: OpenlineServer) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550606")
    service = client.messaging.v1.services.create(friendly_name="WhatsApp pool")
    client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number.sid)
    user = "whatsapp:+15558670606"
    assert user_sends(server, user, f"whatsapp:{number.phone_number}", "hi").status_code == 201
    msg = client.messages.create(messaging_service_sid=service.sid, to=user, body="From the pool")
    assert msg.status == "accepted" and msg.from_ is None
    done = wait_for(lambda: (m := client.messages(msg.sid).fetch()).status == "read" and m)
    assert done.from_ == f"whatsapp:{number.phone_number}"  # type: ignore[union-attr]
    assert rest_error(lambda: client.messages.create(messaging_service_sid=service.sid, to="telegram:5",
                                                     body="x")) == (400, 63007)


def test_twiml_reply_on_whatsapp(client: Client, server: OpenlineServer,
                                              receiver: WebhookReceiver) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550607", sms_url=receiver.url("/twiml"))
    receiver.routes["/twiml"] = lambda r: (200, "text/xml",
                                           b"<Response><Message>Got it: " + (r.get("Body") or "").encode()
                                           + b"</Message></Response>")
    user = "whatsapp:+15558670607"
    assert user_sends(server, user, f"whatsapp:{number.phone_number}", "order 7").status_code == 201
    got = wait_for(lambda: inbox(server, user))
    assert (got[0]["body"], got[0]["from"]) == ("Got it: order 7", f"whatsapp:{number.phone_number}")  # type: ignore[index]
    reply = client.messages.list(to=user)[0]
    assert reply.direction == "outbound-reply"
