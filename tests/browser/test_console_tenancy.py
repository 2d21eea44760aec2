"""No page leaks another account's data: account B, signed in, looks for account A's everything —
on its pages, by guessed URLs and SIDs, on the live log and in the dev phone. And a parent
switches to its subaccount and back."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.support import DESKTOP, create_main_account, populate, sign_in
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

HANDSET = "+15558675310"  # A's customer; B will play the same handset


@pytest.fixture(scope="module")
def account_a(server: OpenlineServer, receiver: WebhookReceiver) -> dict[str, Any]:
    data = populate(server, server.account_sid, server.auth_token, receiver)  # type: ignore[attr-defined]
    alerts = data["client"].monitor.v1.alerts.list(limit=1)
    assert alerts, "populate() makes a failing callback, so A has an alert"
    data["alert"] = alerts[0]
    return data


@pytest.fixture(scope="module")
def account_b(server: OpenlineServer) -> dict[str, Any]:
    sid, token = create_main_account(server, "Account B")
    client = host_style_client(server.url, sid, token)
    number = client.incoming_phone_numbers.create(phone_number="+15555550900")
    return {"sid": sid, "token": token, "client": client, "number": number}


@pytest.fixture
def b_page(browser: Browser, server: OpenlineServer, account_b: dict[str, Any]) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, server.url, account_b["sid"], account_b["token"])
    yield page
    context.close()


def secrets_of(a: dict[str, Any], server: OpenlineServer) -> list[str]:
    """Strings that only A's data contains."""
    return [server.account_sid, a["number"].sid, a["number"].phone_number,  # type: ignore[attr-defined]
            a["service"].sid, a["verify"].sid, a["verification"].sid, a["key"].sid, a["alert"].sid,
            "Your order #1042 has shipped",
            "Where is my parcel", *[m.sid for m in a["sent"]]]


def test_account_b_sees_nothing_of_account_a_on_its_pages(
        b_page: Page, server: OpenlineServer, account_a: dict[str, Any], account_b: dict[str, Any]) -> None:
    leaks = secrets_of(account_a, server)
    for path in ("/", "/messages", "/numbers", "/services", "/verify", "/keys", "/alerts", "/phone",
                 "/messages?" + urlencode({"to": HANDSET}), "/messages?" + urlencode({"from": HANDSET})):
        b_page.goto(f"{server.url}/console{path}")
        expect(b_page.get_by_role("main")).to_be_visible()
        html = b_page.content()
        assert [s for s in leaks if s in html] == [], path
        assert account_b["sid"] in html  # it is B's console
    # B has no subaccount, so no account switcher offering A.
    expect(b_page.get_by_label("Account", exact=True)).to_have_count(0)


def test_guessed_urls_and_sids_of_account_a_answer_not_found(
        b_page: Page, server: OpenlineServer, account_a: dict[str, Any]) -> None:
    a = account_a
    for path in (f"/messages/{a['sent'][0].sid}", f"/numbers/{a['number'].sid}", f"/services/{a['service'].sid}",
                 f"/verify/{a['verify'].sid}", f"/alerts/{a['alert'].sid}"):
        response = b_page.goto(f"{server.url}/console{path}")
        assert response is not None and response.status == 404, path
        expect(b_page.get_by_role("heading", level=1)).to_have_text("Not found")
        assert [s for s in secrets_of(a, server) if s in b_page.content()] == [], path


def test_account_b_cannot_act_on_account_a_from_its_pages(
        b_page: Page, server: OpenlineServer, account_a: dict[str, Any]) -> None:
    a = account_a
    # Forms of B's own pages, re-aimed at A's SIDs (what a curious user could do in devtools).
    b_page.goto(f"{server.url}/console/keys")
    csrf = b_page.locator("input[name=csrf]").first.input_value()
    for action, fields in ((f"/keys/{a['key'].sid}/revoke", {}),
                           (f"/numbers/{a['number'].sid}", {"sms_url": "https://evil.example/steal"}),
                           (f"/numbers/{a['number'].sid}/release", {}),
                           (f"/services/{a['service'].sid}/delete", {}),
                           ("/switch", {"account": server.account_sid})):  # type: ignore[attr-defined]
        status = b_page.evaluate("""async ([url, body]) => (await fetch(url, {method: 'POST',
            headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body})).status""",
                                 [f"{server.url}/console{action}", urlencode({"csrf": csrf, **fields})])
        assert status == 404, action
    client = a["client"]
    assert client.incoming_phone_numbers(a["number"].sid).fetch().sms_url.endswith("/sms")
    assert client.messaging.v1.services(a["service"].sid).fetch().sid == a["service"].sid
    assert [k.sid for k in client.keys.list()].count(a["key"].sid) == 1
    b_page.goto(f"{server.url}/console/")
    assert server.account_sid not in b_page.content()  # type: ignore[attr-defined]


def test_dev_phone_of_b_shows_nothing_of_a_and_cannot_text_as_a(
        b_page: Page, server: OpenlineServer, account_a: dict[str, Any], account_b: dict[str, Any]) -> None:
    a_number = account_a["number"].phone_number
    # A's number in the URL is refused; B's own chat with the same handset is empty.
    b_page.goto(f"{server.url}/console/phone?" + urlencode([("chat", f"{a_number},{HANDSET}"),
                                                           ("chat", f"{account_b['number'].phone_number},{HANDSET}")]))
    expect(b_page.get_by_role("alert")).to_contain_text("left out")
    expect(b_page.locator("section.phone")).to_have_count(1)
    expect(b_page.locator(".bubble")).to_have_count(0)
    # Sending "to A's number" from B's session is refused and reaches nobody.
    csrf = b_page.locator("input[name=csrf]").first.input_value()
    result = b_page.evaluate("""async (body) => { const r = await fetch('/console/phone/send', {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded', 'Accept': 'application/json'}, body});
        return [r.status, await r.json()]; }""",
                             urlencode({"csrf": csrf, "number": a_number, "handset": HANDSET, "body": "spoof"}))
    assert result[0] == 400 and "21606" in result[1]["error"]
    assert not [m for m in account_a["client"].messages.list(to=a_number, limit=50) if m.body == "spoof"]
    # A's live traffic never reaches B's open log or phone.
    b_page.goto(f"{server.url}/console/messages")
    expect(b_page.get_by_role("status")).to_contain_text("Live")
    fresh = account_a["client"].messages.create(body="A only", from_=a_number, to=HANDSET)
    time.sleep(2.0)  # several change-feed rounds
    assert fresh.sid not in b_page.content() and "A only" not in b_page.content()


def test_parent_switches_to_a_subaccount_and_back(page: Page, server: OpenlineServer,
                                                  account_a: dict[str, Any]) -> None:
    client = account_a["client"]
    sub = client.api.v2010.accounts.create(friendly_name="Team Europe")
    sub_client = host_style_client(server.url, sub.sid, sub.auth_token)
    sub_number = sub_client.incoming_phone_numbers.create(phone_number="+15555550950")
    sign_in(page, server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    page.get_by_label("Account", exact=True).select_option(sub.sid)
    page.get_by_role("button", name="Switch").click()
    expect(page.get_by_role("navigation", name="Console")).to_contain_text("Working in subaccount")
    page.goto(f"{server.url}/console/numbers")
    expect(page.get_by_role("main")).to_contain_text(sub_number.phone_number)
    assert account_a["number"].phone_number not in page.content()
    page.get_by_label("Account", exact=True).select_option(server.account_sid)  # type: ignore[attr-defined]
    page.get_by_role("button", name="Switch").click()
    page.goto(f"{server.url}/console/numbers")
    expect(page.get_by_role("main")).to_contain_text(account_a["number"].phone_number)
    assert sub_number.phone_number not in page.content()

    # The subaccount, signed in itself, cannot reach its parent.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server.url, sub.sid, sub.auth_token)
    expect(page.get_by_label("Account", exact=True)).to_have_count(0)
    response = page.goto(f"{server.url}/console/numbers/{account_a['number'].sid}")
    assert response is not None and response.status == 404
