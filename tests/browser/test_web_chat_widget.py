"""The embeddable web chat widget in headless Chromium: a website visitor and an agent, each in
their own browser, talk through ``/chat/widget.js`` on a page of another origin (the "site"),
with tokens its backend minted with the twilio SDK: history, sending, typing, read state."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from twilio.rest import Client

from tests.browser.support import DESKTOP, sign_in
from tests.support.chat_client import ChatClient, mint
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client

pytestmark = pytest.mark.slow

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<script src="{openline}/chat/widget.js"></script></head>
<body><h1>{title}</h1><div id="chat"></div>
<script>
  window.chat = OpenlineChat.init({config});
</script></body></html>"""


class Site:
    """The customer's website on its own origin; its backend mints a token per page."""

    def __init__(self, openline: str, tokens: dict[str, str], conversation: str) -> None:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                identity = self.path.strip("/")
                if identity not in site.tokens:
                    self.send_error(404)
                    return
                config = json.dumps({"server": site.openline, "token": site.tokens[identity],
                                     "conversation": site.conversation, "container": "#chat",
                                     "title": f"Chat ({identity})"})
                body = PAGE.format(title=identity, openline=site.openline, config=config).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.openline, self.tokens, self.conversation = openline, tokens, conversation
        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def url(self, identity: str) -> str:
        # "localhost" rather than 127.0.0.1: another origin than Openline's.
        return f"http://localhost:{self.http.server_address[1]}/{identity}"

    def close(self) -> None:
        self.http.shutdown()
        self.http.server_close()


@pytest.fixture
def site(server: OpenlineServer) -> Iterator[tuple[Site, Client, str]]:
    client = host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    v1 = client.conversations.v1
    conv = v1.conversations.create(friendly_name="Website visitor", unique_name="visitor-1001")
    for identity in ("visitor", "agent"):
        v1.conversations(conv.sid).participants.create(identity=identity)
    v1.conversations(conv.sid).messages.create(author="system", body="Welcome! An agent will be with you shortly.")
    key = client.new_keys.create(friendly_name="website backend")
    service = v1.configuration().fetch().default_chat_service_sid
    tokens = {identity: mint(client.account_sid, key.sid, key.secret, identity, service)
              for identity in ("visitor", "agent")}
    app = Site(server.url, tokens, "visitor-1001")
    yield app, client, conv.sid
    app.close()


def open_widget(browser: Browser, url: str) -> Page:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.goto(url)
    expect(page.locator("[data-olc=status]")).to_have_text(
        "connected as " + url.rsplit("/", 1)[1])
    return page


def bodies(page: Page) -> Any:
    return page.locator("[data-olc=messages] [data-olc=body]")


def test_visitor_and_agent_talk_through_the_widget(browser: Browser, site: tuple[Site, Client, str]) -> None:
    app, client, conversation_sid = site
    visitor = open_widget(browser, app.url("visitor"))
    agent = open_widget(browser, app.url("agent"))
    try:
        # History on join.
        for page in (visitor, agent):
            expect(bodies(page)).to_have_text(["Welcome! An agent will be with you shortly."])

        # The visitor types: the agent sees the typing indicator, then the message.
        visitor.locator("[data-olc=input]").press_sequentially("Hi, is my order shipped?")
        expect(agent.locator("[data-olc=typing]")).to_have_text("visitor is typing…")
        visitor.locator("[data-olc=send]").click()
        expect(bodies(agent)).to_have_text(["Welcome! An agent will be with you shortly.", "Hi, is my order shipped?"])
        expect(agent.locator("[data-olc=typing]")).to_have_text("")
        expect(visitor.locator("[data-olc=input]")).to_have_value("")

        # The agent's widget is open and visible, so the visitor's message shows as read.
        mine = visitor.locator("[data-olc-author=visitor] [data-olc=state]")
        expect(mine).to_have_text("Read")

        # The agent answers; the visitor gets it live.
        agent.locator("[data-olc=input]").fill("Yes, it left this morning.")
        agent.locator("[data-olc=input]").press("Enter")
        expect(bodies(visitor)).to_have_text(["Welcome! An agent will be with you shortly.",
                                              "Hi, is my order shipped?", "Yes, it left this morning."])
        expect(agent.locator("[data-olc-author=agent] [data-olc=state]")).to_have_text("Read")

        # A message added over REST (another system) reaches both widgets; markup is shown as text.
        client.conversations.v1.conversations(conversation_sid).messages.create(
            author="system", body="<b>Rate</b> this chat")
        for page in (visitor, agent):
            expect(bodies(page).last).to_have_text("<b>Rate</b> this chat")
            assert page.locator("[data-olc=messages] b").count() == 0

        # What the browsers did is in the conversation, with the participants' read horizons.
        v1 = client.conversations.v1
        messages = list(v1.conversations(conversation_sid).messages.list())
        assert [(m.author, m.body) for m in messages][1:3] == [("visitor", "Hi, is my order shipped?"),
                                                               ("agent", "Yes, it left this morning.")]
        participants = {p.identity: p for p in v1.conversations(conversation_sid).participants.list()}
        assert participants["agent"].last_read_message_index is not None
        assert participants["agent"].last_read_message_index >= 1
    finally:
        visitor.context.close()
        agent.context.close()


def test_agent_chats_from_the_console(page: Page, server: OpenlineServer) -> None:
    """The console's agent view: the widget on the thread page, as a chat participant, under the
    console's strict Content-Security-Policy; a visitor on a socket talks with it."""
    client = host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    v1 = client.conversations.v1
    conv = v1.conversations.create(friendly_name="Order 77")
    for identity in ("guest-77", "agent-7"):
        v1.conversations(conv.sid).participants.create(identity=identity)
    key = client.new_keys.create(friendly_name="site")
    service = v1.configuration().fetch().default_chat_service_sid
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)  # CSP violations land here
    sign_in(page, server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    page.goto(f"{server.url}/console/conversations/{conv.sid}")
    page.get_by_role("link", name="chat as agent-7").click()
    expect(page.get_by_role("heading", name="Chat as agent-7")).to_be_visible()
    expect(page.locator("[data-olc=status]")).to_have_text("connected as agent-7")

    with ChatClient(server.url) as visitor:
        visitor.auth(mint(client.account_sid, key.sid, key.secret, "guest-77", service))
        visitor.join(conv.sid)
        visitor.call({"type": "send", "conversation": conv.sid, "body": "Where is order 77?"})
        expect(bodies(page)).to_have_text(["Where is order 77?"])
        page.locator("[data-olc=input]").fill("On the truck, arriving today.")
        page.locator("[data-olc=send]").click()
        pushed = visitor.wait(lambda f: f.get("type") == "message" and f["message"]["author"] == "agent-7")
        assert pushed["message"]["body"] == "On the truck, arriving today."
        assert visitor.event("read", conversation=conv.sid)["identity"] == "agent-7"  # the agent saw it
    assert errors == []
    # Only the conversation's chat participants can be spoken for.
    response = page.goto(f"{server.url}/console/conversations/{conv.sid}/chat?identity=someone-else")
    assert response is not None and response.status == 404
