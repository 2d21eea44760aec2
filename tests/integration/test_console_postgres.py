"""The console's queries on PostgreSQL (charts, log, detail, streams, dev phone), not only on SQLite."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from urllib.parse import urlencode

import pytest
from twilio.rest import Client

from tests.browser.support import echo_reply, handset_sends, wait_for
from tests.conftest import postgres_server
from tests.integration.test_console import ConsoleClient, browser  # noqa: F401 (fixture)
from tests.support.server import OpenlineServer
from tests.support.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[OpenlineServer]:
    with postgres_server(tmp_path_factory, postgres_admin_url) as srv:
        yield srv


def test_console_pages_and_streams_on_postgres(server: OpenlineServer, client: Client,
                                               browser: Callable[..., ConsoleClient]) -> None:  # noqa: F811
    receiver = WebhookReceiver(server.auth_token).start()  # type: ignore[attr-defined]
    try:
        receiver.on("/sms", echo_reply)
        number = client.incoming_phone_numbers.create(phone_number="+15555550610", sms_url=receiver.url("/sms"))
        sent = client.messages.create(body="on postgres", from_=number.phone_number, to="+15558670610")
        wait_for(lambda: client.messages(sent.sid).fetch().status == "delivered")
        auth = (server.account_sid, server.auth_token)  # type: ignore[attr-defined]
        handset_sends(server.url, auth, "+15558670611", number.phone_number, "hi postgres")
        wait_for(lambda: [m for m in client.messages.list(to="+15558670611") if "hi postgres" in m.body])
        verify = client.verify.v2.services.create(friendly_name="PG verify")
        client.verify.v2.services(verify.sid).verifications.create(to="+15558670612", channel="sms")

        c = browser(server.url)
        assert c.sign_in(*auth).status_code == 303
        dashboard = c.get("/?range=7d").text
        assert "<h1>Dashboard</h1>" in dashboard and re.search(r"<dt>Outbound</dt><dd>[1-9]", dashboard)
        assert sent.sid in c.get("/messages?" + urlencode({"to": "+15558670610"})).text
        detail = c.get(f"/messages/{sent.sid}").text
        assert "delivered" in detail and "sandbox" in detail
        assert ">pending<" in c.get(f"/verify/{verify.sid}").text
        rows = [d for _, e, d in c.events("/messages/stream?after=m0e0", quiet=1.0) if e == "row"]
        assert any(sent.sid in row for row in rows)
        chat = f"{number.phone_number},+15558670611"
        phone = c.get("/phone?" + urlencode({"chat": chat})).text
        assert "hi postgres" in phone and "Thanks! You said: hi postgres" in phone
        bubbles = c.events("/phone/stream?" + urlencode({"chat": chat, "after": "h0m0"}), quiet=1.0)
        assert len([e for e in bubbles if e[1] == "bubble"]) == 2
        assert c.post("/keys", {"friendly_name": "pg key"}).status_code == 201
    finally:
        receiver.stop()
