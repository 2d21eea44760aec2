"""Helpers for console tests: Debian's Chromium under Playwright, signing in, sample data, accounts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx

from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client
from tests.support.webhook_receiver import Received, WebhookReceiver, twiml

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def launch(playwright: Playwright) -> Browser:
    """Debian's chromium package, never a browser Playwright downloads."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/console/")
    page.get_by_label("Account SID or API key SID").fill(username)
    page.get_by_label("Auth Token or API key secret").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/console/$"))


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, step: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError("timed out")


def create_main_account(server: OpenlineServer, name: str) -> tuple[str, str]:
    """Another main account on the same installation (`openline accounts create`)."""
    done = subprocess.run([sys.executable, "-m", "openline", "accounts", "create", "--json", "--friendly-name", name,
                           "--data-dir", str(server.data_dir)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    account = json.loads(done.stdout)
    return account["sid"], account["auth_token"]


def handset_sends(base_url: str, auth: tuple[str, str], from_: str, to: str, body: str) -> dict[str, Any]:
    response = httpx.post(f"{base_url}/sandbox/v1/Messages", content=urlencode({"From": from_, "To": to, "Body": body}),
                          headers={"Content-Type": "application/x-www-form-urlencoded"}, auth=auth)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def handset_inbox(base_url: str, auth: tuple[str, str], handset: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{base_url}/sandbox/v1/Handsets/{handset}/Messages", auth=auth)
    assert response.status_code == 200, response.text
    return response.json()["messages"]  # type: ignore[no-any-return]


def echo_reply(hook: Received) -> tuple[int, str, bytes]:
    """The customer's app: answers every inbound text with TwiML."""
    body = (hook.get("Body") or "").replace("&", "&amp;").replace("<", "&lt;")
    return twiml(f"<Response><Message>Thanks! You said: {body}</Message></Response>")


def populate(server: OpenlineServer, sid: str, token: str, receiver: WebhookReceiver) -> dict[str, Any]:
    """A realistic account: numbers with an app behind them, traffic both ways, a failing callback,
    a messaging service, a Verify service with a verification, an API key."""
    client = host_style_client(server.url, sid, token)
    receiver.on("/sms", echo_reply)
    receiver.on("/status", (204, "text/plain", b""))
    receiver.on("/broken", (500, "text/plain", b"database is down"))
    support = client.incoming_phone_numbers.create(phone_number="+15555550100", friendly_name="Support line",
                                                   sms_url=receiver.url("/sms"))
    client.incoming_phone_numbers.create(phone_number="+15555550142", friendly_name="Marketing",
                                         sms_url=receiver.url("/sms"))
    sent = []
    for i, (to, body) in enumerate([
            ("+15558675310", "Your order #1042 has shipped."),
            ("+15558675311", "Reminder: your appointment is tomorrow at 10:00."),
            ("+15558675312", "Hola 👋 ¿confirmas tu cita?"),
            ("+15005550010", "This one will not be delivered (Twilio test number)."),
            ("+15558675313", "A long message " + "that needs several segments " * 8)]):
        callback = receiver.url("/broken" if i == 1 else "/status")
        sent.append(client.messages.create(body=body, from_=support.phone_number, to=to, status_callback=callback))
    auth = (sid, token)
    handset_sends(server.url, auth, "+15558675310", support.phone_number, "Where is my parcel?")
    handset_sends(server.url, auth, "+15558675314", support.phone_number, "STOP")
    service = client.messaging.v1.services.create(friendly_name="Notifications", inbound_request_url=receiver.url("/sms"))
    client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=support.sid)
    verify = client.verify.v2.services.create(friendly_name="Acme login")
    verification = client.verify.v2.services(verify.sid).verifications.create(to="+15558675320", channel="sms")
    key = client.new_keys.create(friendly_name="CI deploy key")
    wait_for(lambda: len(receiver.wait("/status", 4, timeout=15)) >= 4, timeout=20)
    wait_for(lambda: handset_inbox(server.url, auth, "+15558675310"), timeout=15)
    return {"client": client, "number": support, "sent": sent, "service": service, "verify": verify,
            "verification": verification, "key": key}


def capture(page: Page, base_url: str, sid: str, token: str, data: dict[str, Any], out: Path) -> list[Path]:
    """Screenshots of the main pages at 1280×800."""
    out.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    sign_in(page, base_url, sid, token)
    shots: list[Path] = []

    def shot(name: str) -> None:
        path = out / f"{name}.png"
        page.screenshot(path=str(path))
        shots.append(path)

    shot("dashboard")
    page.goto(f"{base_url}/console/messages")
    shot("messages")
    page.goto(f"{base_url}/console/messages/{data['sent'][0].sid}")
    page.locator("article.attempt details").first.locator("summary").click()
    shot("message-detail")
    page.goto(f"{base_url}/console/numbers")
    shot("phone-numbers")
    page.goto(f"{base_url}/console/numbers/buy?country=US&type=local&area_code=415")
    shot("buy-number")
    page.goto(f"{base_url}/console/phone?" + urlencode([("chat", f"{data['number'].phone_number},+15558675310"),
                                                       ("chat", f"{data['number'].phone_number},+15558675399")]))
    second = page.locator("section.phone").nth(1)
    second.get_by_label("Message from +15558675399").fill("Hi! Is the shop open on Sunday?")
    second.get_by_role("button", name="Send").click()
    second.locator(".bubble.received").first.wait_for()
    shot("dev-phone")
    page.goto(f"{base_url}/console/keys")
    page.get_by_label("Friendly name").fill("Staging server")
    page.get_by_role("button", name="Create key").click()
    page.locator("#new-key-secret").wait_for()
    shot("api-keys")
    return shots


def main() -> None:
    """Write docs/screenshots/*.png: `python -m tests.browser.support [out-dir]`."""
    from playwright.sync_api import sync_playwright

    from tests.conftest import new_credentials

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        sid, token = new_credentials()
        server = OpenlineServer(Path(tmp) / "data", env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
        server.start()
        receiver = WebhookReceiver(token).start()
        try:
            data = populate(server, sid, token, receiver)
            with sync_playwright() as playwright:
                browser = launch(playwright)
                try:
                    page = browser.new_page(viewport=DESKTOP)
                    for path in capture(page, server.url, sid, token, data, out):
                        print(path)
                finally:
                    browser.close()
        finally:
            receiver.stop()
            server.stop()


if __name__ == "__main__":
    main()
