"""Issue #12's acceptance scenario, end to end on a real `openline serve` (sandbox, no provider):
one conversation with an SMS participant, a WhatsApp participant and a browser chat participant
(an SDK-minted AccessToken + ChatGrant over the chat WebSocket). Every message reaches the other
two on their own channels; an onMessageAdd pre-event blocks one message from each origin and
nobody gets it; the onMessageAdded post-event sees the allowed ones with the right Source."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import inbox, wait_for
from tests.support.chat_client import ChatClient, mint
from tests.support.server import OpenlineServer
from tests.support.webhook_receiver import Received, Reply, WebhookReceiver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("accept") / "data",
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


def handset_sends(server: OpenlineServer, from_: str, to: str, body: str) -> None:
    response = httpx.post(f"{server.url}/sandbox/v1/Messages",
                          content=urlencode({"From": from_, "To": to, "Body": body}),
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text


def bodies(server: OpenlineServer, handset: str) -> list[str]:
    return [m["body"] for m in inbox(server, handset)]


def moderate(request: Received) -> Reply:
    """The customer's onMessageAdd handler: a 4xx answer blocks the message."""
    if "BLOCKED" in (request.get("Body") or ""):
        return 403, "text/plain", b"no"
    return 200, "text/plain", b""


def test_sms_whatsapp_and_browser_in_one_conversation(client: Client, server: OpenlineServer,
                                                      receiver: WebhookReceiver) -> None:
    v1 = client.conversations.v1
    receiver.on("/pre", moderate)
    v1.configuration.webhooks().update(pre_webhook_url=receiver.url("/pre"), post_webhook_url=receiver.url("/post"),
                                       method="POST", filters=["onMessageAdd", "onMessageAdded"], target="webhook")

    number = client.incoming_phone_numbers.create(phone_number="+15555550901",
                                                  sms_url=receiver.url("/sms")).phone_number
    sms_user, wa_user, wa_proxy = "+15558670901", "whatsapp:+15558670902", f"whatsapp:{number}"
    conv = v1.conversations.create(friendly_name="acceptance")
    parts = v1.conversations(conv.sid).participants
    p_sms = parts.create(messaging_binding_address=sms_user, messaging_binding_proxy_address=number)
    p_wa = parts.create(messaging_binding_address=wa_user, messaging_binding_proxy_address=wa_proxy)
    p_web = parts.create(identity="visitor")
    assert (p_sms.messaging_binding["type"], p_wa.messaging_binding["type"]) == ("sms", "whatsapp")

    key = client.new_keys.create(friendly_name="acceptance")
    service_sid = v1.configuration().fetch().default_chat_service_sid
    token = mint(client.account_sid, key.sid, key.secret, "visitor", service_sid)  # type: ignore[arg-type]

    with ChatClient(server.url) as web:
        assert web.auth(token)["type"] == "ready"
        assert web.join(conv.sid)["type"] == "joined"

        def web_gets(body: str) -> dict:  # type: ignore[type-arg]
            return web.event("message", conversation=conv.sid)["message"]  # type: ignore[no-any-return]

        # 1. From WhatsApp (first, as a WhatsApp user opens the 24-hour window).
        handset_sends(server, wa_user, wa_proxy, "hello from whatsapp")
        got = web_gets("hello from whatsapp")
        assert (got["body"], got["participant_sid"], got["author"]) == ("hello from whatsapp", p_wa.sid, wa_user)
        sms = wait_for(lambda: inbox(server, sms_user))
        assert (sms[0]["body"], sms[0]["from"]) == ("hello from whatsapp", number)  # type: ignore[index]

        # 2. From SMS: reaches WhatsApp (from the WhatsApp proxy) and the socket.
        handset_sends(server, sms_user, number, "hello from sms")
        got = web_gets("hello from sms")
        assert (got["body"], got["participant_sid"]) == ("hello from sms", p_sms.sid)
        wa = wait_for(lambda: inbox(server, wa_user))
        assert (wa[0]["body"], wa[0]["from"]) == ("hello from sms", wa_proxy)  # type: ignore[index]

        # 3. From the browser: reaches both handsets; the socket sees its own message once.
        sent = web.call({"type": "send", "conversation": conv.sid, "body": "hello from the browser"})
        assert sent["type"] == "sent" and sent["message"]["participant_sid"] == p_web.sid
        wait_for(lambda: "hello from the browser" in bodies(server, sms_user))
        wait_for(lambda: "hello from the browser" in bodies(server, wa_user))
        assert web.event("message", conversation=conv.sid)["message"]["sid"] == sent["message"]["sid"]

        # 4. One blocked message from each origin: nobody receives it.
        blocked = web.call({"type": "send", "conversation": conv.sid, "body": "BLOCKED browser"})
        assert blocked["type"] == "error" and blocked["code"] == 20403
        handset_sends(server, sms_user, number, "BLOCKED sms")
        handset_sends(server, wa_user, wa_proxy, "BLOCKED whatsapp")
        # A message allowed after them proves the blocked ones were judged (and dropped) first.
        handset_sends(server, sms_user, number, "after the blocks")
        got = web_gets("after the blocks")
        assert got["body"] == "after the blocks", got
        wait_for(lambda: "after the blocks" in bodies(server, wa_user))
        time.sleep(0.5)
        web.nothing("message", 0.5)
        everything = bodies(server, sms_user) + bodies(server, wa_user)
        assert not [b for b in everything if "BLOCKED" in b], everything
        stored = [m.body for m in v1.conversations(conv.sid).messages.list()]
        assert stored == ["hello from whatsapp", "hello from sms", "hello from the browser", "after the blocks"]

    # Every message reached exactly the other two: nothing echoed to its own sender (inboxes: newest first).
    assert bodies(server, sms_user)[::-1] == ["hello from whatsapp", "hello from the browser"]
    assert bodies(server, wa_user)[::-1] == ["hello from sms", "hello from the browser", "after the blocks"]
    # The bound number's SmsUrl stayed silent: the conversation took every inbound message.
    assert [r for r in receiver.received if r.path == "/sms"] == []

    pre = receiver.wait("/pre", 7)
    assert all(r.signature_valid and r.form["EventType"] == "onMessageAdd" for r in pre)
    assert sorted((r.form["Body"], r.form["Source"]) for r in pre) == sorted([
        ("hello from whatsapp", "WHATSAPP"), ("hello from sms", "SMS"), ("hello from the browser", "SDK"),
        ("BLOCKED browser", "SDK"), ("BLOCKED sms", "SMS"), ("BLOCKED whatsapp", "WHATSAPP"),
        ("after the blocks", "SMS")])
    post = receiver.wait("/post", 4)
    assert all(r.signature_valid and r.form["EventType"] == "onMessageAdded" for r in post)
    assert sorted((r.form["Body"], r.form["Source"], r.form["ParticipantSid"]) for r in post) == sorted([
        ("hello from whatsapp", "WHATSAPP", p_wa.sid), ("hello from sms", "SMS", p_sms.sid),
        ("hello from the browser", "SDK", p_web.sid), ("after the blocks", "SMS", p_sms.sid)])
    browser_hook = next(r for r in post if r.form["Source"] == "SDK")
    assert browser_hook.form["ClientIdentity"] == "visitor" and browser_hook.form["Author"] == "visitor"

    # The console shows the thread with each participant's channel.
    from tests.integration.test_console import ConsoleClient

    console = ConsoleClient(server.url)
    try:
        assert console.sign_in(server.account_sid, server.auth_token).status_code == 303  # type: ignore[attr-defined]
        page = console.get(f"/conversations/{conv.sid}").text
        assert f"{sms_user} (SMS through {number})" in page and f"{wa_user} (WhatsApp through {wa_proxy})" in page
        assert "visitor (chat" in page and "hello from the browser" in page and "BLOCKED" not in page
    finally:
        console.http.close()


PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082")


def test_whatsapp_photo_reaches_sms_and_browser(client: Client, server: OpenlineServer,
                                                receiver: WebhookReceiver) -> None:
    v1 = client.conversations.v1
    receiver.on("/photo.png", (200, "image/png", PNG))
    number = client.incoming_phone_numbers.create(phone_number="+15555550911").phone_number
    sms_user, wa_user, wa_proxy = "+15558670911", "whatsapp:+15558670912", f"whatsapp:{number}"
    conv = v1.conversations.create(friendly_name="photo")
    parts = v1.conversations(conv.sid).participants
    parts.create(messaging_binding_address=sms_user, messaging_binding_proxy_address=number)
    p_wa = parts.create(messaging_binding_address=wa_user, messaging_binding_proxy_address=wa_proxy)
    parts.create(identity="viewer")
    key = client.new_keys.create(friendly_name="photo")
    token = mint(client.account_sid, key.sid, key.secret, "viewer",  # type: ignore[arg-type]
                 v1.configuration().fetch().default_chat_service_sid)
    with ChatClient(server.url) as web:
        web.auth(token)
        web.join(conv.sid)
        response = httpx.post(f"{server.url}/sandbox/v1/Messages", content=urlencode(
            {"From": wa_user, "To": wa_proxy, "Body": "look", "MediaUrl": receiver.url("/photo.png")}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
        assert response.status_code == 201, response.text
        got = web.event("message", conversation=conv.sid)["message"]
        assert got["participant_sid"] == p_wa.sid and got["body"] == "look"
        assert [m["content_type"] for m in got["media"]] == ["image/png"], got
    stored = v1.conversations(conv.sid).messages.list()[0]
    assert stored.media and stored.media[0]["content_type"] == "image/png"
    # The SMS participant gets it as an MMS carrying the picture.
    mms = wait_for(lambda: inbox(server, sms_user))
    assert mms[0]["body"] == "look" and [m["content_type"] for m in mms[0]["media"]] == ["image/png"], mms  # type: ignore[index]
