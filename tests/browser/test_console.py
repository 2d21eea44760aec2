"""The web console in headless Chromium, against a real `openline serve`, driven like a person would.

What the issue asks to see: sign in; a message sent with the SDK appears live in the log (no
reload) and its detail shows the webhook attempts; the dev phone texts the app and the app's
TwiML answer arrives in it; an API key is created and revoked; a wrong token fails sign-in.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

from tests.browser.support import PHONE, capture, echo_reply, populate, sign_in, wait_for
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow


def credentials(server: OpenlineServer) -> tuple[str, str]:
    return server.account_sid, server.auth_token  # type: ignore[attr-defined]


def test_wrong_token_fails_then_the_right_one_signs_in(page: Page, server: OpenlineServer) -> None:
    sid, token = credentials(server)
    page.goto(f"{server.url}/console/messages")
    expect(page).to_have_url(re.compile(r"/console/signin\?next=%2Fconsole%2Fmessages$"))
    page.get_by_label("Account SID or API key SID").fill(sid)
    page.get_by_label("Auth Token or API key secret").fill("0" * 32)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Those credentials are not valid.")
    expect(page.get_by_role("heading", name="Sign in to the Openline console")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "openline_console"]

    page.get_by_label("Auth Token or API key secret").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/messages$"))  # back where the user was going
    expect(page.get_by_role("heading", name="Messages", level=1)).to_be_visible()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "openline_console"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and cookie["path"] == "/console/"
    assert token not in cookie["value"]

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in to the Openline console")).to_be_visible()
    page.goto(f"{server.url}/console/")
    expect(page).to_have_url(re.compile(r"/console/signin"))


def test_sdk_message_appears_live_then_its_detail_shows_webhook_attempts(
        page: Page, server: OpenlineServer, client: Client, receiver: WebhookReceiver) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550300")
    receiver.on("/status", (204, "text/plain", b""))
    sign_in(page, server.url, *credentials(server))
    page.get_by_role("navigation", name="Console").get_by_role("link", name="Messages").click()
    expect(page.get_by_role("status")).to_contain_text("Live")
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    message = client.messages.create(body="Live from the SDK", from_=number.phone_number, to="+15558670001",
                                     status_callback=receiver.url("/status"))
    row = page.locator(f'tr[data-sid="{message.sid}"]')
    expect(row).to_contain_text("Live from the SDK")
    expect(row.locator("[data-status]")).to_have_text("delivered")  # status steps arrive live too
    expect(page.get_by_role("status")).to_contain_text("1 new message")
    assert page.evaluate("window.__sameDocument") is True

    wait_for(lambda: [h for h in receiver.received
                      if h.get("MessageSid") == message.sid and h.get("MessageStatus") == "delivered"])
    row.get_by_role("link", name=f"Details of message {message.sid}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(message.sid)
    expect(page.locator("ol.timeline")).to_contain_text("queued")
    expect(page.locator("ol.timeline")).to_contain_text("delivered")
    expect(page.get_by_text("Carrier message id")).to_be_visible()

    def attempts_complete() -> bool:
        page.reload()
        return "MessageStatus" in page.content() and ">delivered<" in page.locator(
            "article.attempt").last.inner_html()

    wait_for(attempts_complete, timeout=10, step=0.3)
    attempts = page.locator("article.attempt")
    assert attempts.count() >= 2  # one per status step Twilio reports
    last = attempts.last
    expect(last.get_by_role("heading")).to_contain_text(f"status: POST {receiver.url('/status')}")
    expect(last).to_contain_text("HTTP 204")
    last.get_by_text("Request parameters").click()
    params = last.locator("table.params")
    expect(params.locator("tr", has_text="MessageStatus")).to_contain_text("delivered")
    expect(params.locator("tr", has_text="MessageSid")).to_contain_text(message.sid)


def test_dev_phone_texts_the_app_and_its_twiml_answer_arrives_live(
        page: Page, server: OpenlineServer, client: Client, receiver: WebhookReceiver) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550301", sms_url=receiver.url("/devphone"))
    receiver.on("/devphone", echo_reply)
    sign_in(page, server.url, *credentials(server))
    page.goto(f"{server.url}/console/phone")
    for handset in ("+15558670010", "+15558670011"):  # two phones side by side
        page.get_by_label("Your number").select_option(number.phone_number)
        page.get_by_label("Handset number").fill(handset)
        page.get_by_role("button", name="Open phone").click()
    phones = page.locator("section.phone")
    expect(phones).to_have_count(2)
    first = page.get_by_role("region", name="+15558670010")
    second = page.get_by_role("region", name="+15558670011")
    page.evaluate("window.__sameDocument = true")

    first.get_by_label("Message from +15558670010").fill("Hello from the dev phone")
    first.get_by_role("button", name="Send").click()
    expect(first.locator(".bubble.sent")).to_have_text(re.compile("Hello from the dev phone"))
    expect(first.locator(".bubble.received")).to_contain_text("Thanks! You said: Hello from the dev phone")

    second.get_by_label("Message from +15558670011").fill("And hello from the other phone")
    second.get_by_label("Message from +15558670011").press("Enter")
    expect(second.locator(".bubble.received")).to_contain_text("Thanks! You said: And hello from the other phone")
    expect(first.locator(".bubble")).to_have_count(2)  # each answer went to its own handset
    assert page.evaluate("window.__sameDocument") is True

    (hook,) = [h for h in receiver.received if h.path == "/devphone" and h.get("From") == "+15558670010"]
    assert hook.signature_valid and hook.get("To") == number.phone_number

    # The inbound message's detail shows the webhook that produced the answer.
    inbound = client.messages.list(from_="+15558670010", to=number.phone_number)[0]
    page.goto(f"{server.url}/console/messages/{inbound.sid}")
    attempt = page.locator("article.attempt").first
    expect(attempt.get_by_role("heading")).to_contain_text(f"inbound: POST {receiver.url('/devphone')}")
    expect(attempt).to_contain_text("HTTP 200")
    expect(attempt.locator("pre.excerpt")).to_contain_text("<Message>Thanks! You said: Hello from the dev phone")


def test_create_an_api_key_then_revoke_it(page: Page, server: OpenlineServer) -> None:
    sid, token = credentials(server)
    sign_in(page, server.url, sid, token)
    page.goto(f"{server.url}/console/keys")
    page.get_by_label("Friendly name").fill("browser key")
    page.get_by_role("button", name="Create key").click()
    secret_box = page.get_by_role("status").filter(has_text="copy its secret now")
    expect(secret_box).to_be_visible()
    key_sid = page.locator("#new-key-sid").inner_text()
    secret = page.locator("#new-key-secret").inner_text()
    assert key_sid.startswith("SK") and len(secret) == 32
    with_key = host_style_client(server.url, key_sid, secret, sid)
    assert isinstance(with_key.incoming_phone_numbers.list(limit=1), list)  # the new key works

    page.goto(f"{server.url}/console/keys")  # the secret is shown once, never again
    assert secret not in page.content()
    row = page.locator(f'tr[data-key="{key_sid}"]')
    expect(row).to_contain_text("browser key")
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke browser key").click()
    expect(page.get_by_role("status")).to_contain_text("revoked")
    expect(page.locator(f'tr[data-key="{key_sid}"]')).to_have_count(0)

    def refused() -> bool:
        try:
            with_key.incoming_phone_numbers.list(limit=1)
        except TwilioException as exc:  # a list answered 401: the SDK's page error
            return "HTTP 401" in str(exc)
        return False

    wait_for(refused, timeout=5, step=0.25)  # credentials are cached for at most 2 s


def test_pages_fit_a_phone_screen_and_have_landmarks(page: Page, server: OpenlineServer) -> None:
    sign_in(page, server.url, *credentials(server))
    page.set_viewport_size(PHONE)
    for path in ("/", "/messages", "/calls", "/phone", "/numbers", "/numbers/buy", "/services", "/verify", "/keys",
                 "/alerts"):
        page.goto(f"{server.url}/console{path}")
        expect(page.get_by_role("main")).to_be_visible()
        expect(page.get_by_role("navigation", name="Console")).to_be_visible()
        assert page.get_by_role("heading", level=1).count() == 1, path
        width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= viewport, f"{path} scrolls sideways on a phone: {width} > {viewport}"
        unlabeled = page.evaluate("""[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
            .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)""")
        assert unlabeled == [], f"{path}: form fields without a label: {unlabeled}"


def test_screenshots_of_the_main_pages(page: Page, server: OpenlineServer, receiver: WebhookReceiver,
                                       tmp_path: Path) -> None:
    """The flow behind docs/screenshots (`python -m tests.browser.support` writes those)."""
    from tests.conftest import new_credentials
    from tests.support.server import OpenlineServer as Server

    sid, token = new_credentials()
    fresh = Server(tmp_path / "data", env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}).start()
    hooks = WebhookReceiver(token).start()
    try:
        data = populate(fresh, sid, token, hooks)
        shots = capture(page, fresh.url, sid, token, data, tmp_path / "shots")
        assert [p.name for p in shots] == ["dashboard.png", "messages.png", "message-detail.png", "phone-numbers.png",
                                           "buy-number.png", "dev-phone.png", "api-keys.png"]
        assert all(p.stat().st_size > 10_000 for p in shots)
    finally:
        page.context.close()  # its event streams end before the server stops
        hooks.stop()
        fresh.stop()
