"""Issue #12's acceptance scenario in headless Chromium: two browser chat participants, each in
the widget on the customer's site, and a WhatsApp participant on the sandbox, in one
conversation. Every message reaches the other two; an onMessageAdd pre-event blocks one message
from each origin and nobody receives it; the post-event sees the allowed ones; edits and
removals show in place."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.browser.test_web_chat_widget import Site, bodies, open_widget
from tests.integration.test_sms_basic import inbox, wait_for
from tests.support.chat_client import mint
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client
from tests.support.webhook_receiver import Received, Reply, WebhookReceiver

pytestmark = pytest.mark.slow


def moderate(request: Received) -> Reply:
    if "BLOCKED" in (request.get("Body") or ""):
        return 403, "text/plain", b"no"
    return 200, "text/plain", b""


def whatsapp_user_sends(server: OpenlineServer, from_: str, to: str, body: str) -> None:
    response = httpx.post(f"{server.url}/sandbox/v1/Messages",
                          content=urlencode({"From": from_, "To": to, "Body": body}),
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text


def test_two_widgets_and_whatsapp(browser: Browser, server: OpenlineServer, receiver: WebhookReceiver) -> None:
    client = host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    v1 = client.conversations.v1
    receiver.on("/pre", moderate)
    v1.configuration.webhooks().update(pre_webhook_url=receiver.url("/pre"), post_webhook_url=receiver.url("/post"),
                                       method="POST", filters=["onMessageAdd", "onMessageAdded"], target="webhook")
    number = client.incoming_phone_numbers.create(phone_number="+15555550951").phone_number
    wa_user, wa_proxy = "whatsapp:+15558670951", f"whatsapp:{number}"
    conv = v1.conversations.create(friendly_name="Shop", unique_name="shop-chat")
    parts = v1.conversations(conv.sid).participants
    for identity in ("visitor", "agent"):
        parts.create(identity=identity)
    p_wa = parts.create(messaging_binding_address=wa_user, messaging_binding_proxy_address=wa_proxy)
    key = client.new_keys.create(friendly_name="shop backend")
    service = v1.configuration().fetch().default_chat_service_sid
    tokens = {identity: mint(client.account_sid, key.sid, key.secret, identity, service)
              for identity in ("visitor", "agent")}
    site = Site(server.url, tokens, "shop-chat")
    visitor = open_widget(browser, site.url("visitor"))
    agent = open_widget(browser, site.url("agent"))
    try:
        # The WhatsApp user writes first (its 24-hour window opens): both widgets show it.
        whatsapp_user_sends(server, wa_user, wa_proxy, "Hi from WhatsApp")
        for page in (visitor, agent):
            expect(bodies(page)).to_have_text(["Hi from WhatsApp"])
            expect(page.locator(f"[data-olc-author='{wa_user}']")).to_have_count(1)

        # The visitor writes in the widget: the agent's widget and the WhatsApp handset get it.
        visitor.locator("[data-olc=input]").fill("Hi from the visitor")
        visitor.locator("[data-olc=send]").click()
        expect(bodies(agent)).to_have_text(["Hi from WhatsApp", "Hi from the visitor"])
        got = wait_for(lambda: [m for m in inbox(server, wa_user) if m["body"] == "Hi from the visitor"])
        assert got[0]["from"] == wa_proxy  # type: ignore[index]

        # The agent answers: the visitor and WhatsApp get it.
        agent.locator("[data-olc=input]").fill("Hello both, the agent here")
        agent.locator("[data-olc=input]").press("Enter")
        expect(bodies(visitor)).to_have_text(["Hi from WhatsApp", "Hi from the visitor",
                                              "Hello both, the agent here"])
        wait_for(lambda: "Hello both, the agent here" in [m["body"] for m in inbox(server, wa_user)])

        # Blocked from a widget: the sender sees the refusal, nobody gets the message.
        visitor.locator("[data-olc=input]").fill("BLOCKED from the visitor")
        visitor.locator("[data-olc=send]").click()
        expect(visitor.locator("[data-olc=status]")).to_contain_text("error 20403")
        # Blocked from WhatsApp, then an allowed one: the widgets get only the allowed one.
        whatsapp_user_sends(server, wa_user, wa_proxy, "BLOCKED from WhatsApp")
        whatsapp_user_sends(server, wa_user, wa_proxy, "Allowed again from WhatsApp")
        final = ["Hi from WhatsApp", "Hi from the visitor", "Hello both, the agent here", "Allowed again from WhatsApp"]
        for page in (visitor, agent):
            expect(bodies(page)).to_have_text(final)
        # The WhatsApp handset got the two browser messages only (inbox: newest first).
        assert [m["body"] for m in inbox(server, wa_user)][::-1] == ["Hi from the visitor",
                                                                    "Hello both, the agent here"]
        assert [m.body for m in v1.conversations(conv.sid).messages.list()] == final
        # A fresh page load (history) shows no trace of the blocked ones either.
        visitor.reload()
        expect(visitor.locator("[data-olc=status]")).to_have_text("connected as visitor")
        expect(bodies(visitor)).to_have_text(final)

        post = receiver.wait("/post", 4)
        assert sorted((r.form["Body"], r.form["Source"]) for r in post) == sorted([
            ("Hi from WhatsApp", "WHATSAPP"), ("Hi from the visitor", "SDK"), ("Hello both, the agent here", "SDK"),
            ("Allowed again from WhatsApp", "WHATSAPP")])
        assert next(r for r in post if r.form["Source"] == "WHATSAPP").form["ParticipantSid"] == p_wa.sid
        blocked = [r.form["Body"] for r in receiver.received if r.path == "/pre" and "BLOCKED" in r.form["Body"]]
        assert sorted(blocked) == ["BLOCKED from WhatsApp", "BLOCKED from the visitor"]

        # Edits and removals show in place in every widget: the visitor edits its own message in
        # the page, the agent's edit of another's is refused by its role, a REST removal drops one.
        messages = v1.conversations(conv.sid).messages.list()
        mine = next(m for m in messages if m.body == "Hi from the visitor")
        visitor.evaluate("sid => window.chat.edit(sid, 'Hi from the visitor (fixed)')", mine.sid)
        edited = ["Hi from WhatsApp", "Hi from the visitor (fixed)", "Hello both, the agent here",
                  "Allowed again from WhatsApp"]
        for page in (visitor, agent):
            expect(bodies(page)).to_have_text(edited)
            expect(page.locator(f"[data-olc-sid='{mine.sid}']")).to_have_attribute("data-olc-edited", "true")
        agent.evaluate("sid => window.chat.edit(sid, 'not yours')", mine.sid)
        expect(agent.locator("[data-olc=status]")).to_contain_text("error 50107")
        v1.conversations(conv.sid).messages(messages[0].sid).delete()
        for page in (visitor, agent):
            expect(bodies(page)).to_have_text(edited[1:])
        agent.reload()
        expect(agent.locator("[data-olc=status]")).to_have_text("connected as agent")
        expect(bodies(agent)).to_have_text(edited[1:])
    finally:
        visitor.context.close()
        agent.context.close()
        site.close()
