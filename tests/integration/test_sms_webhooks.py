"""Inbound webhooks, TwiML replies, fallbacks, alerts and status callbacks against a real receiver."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import inbox, wait_for
from tests.support.server import OpenlineServer
from tests.support.webhook_receiver import WebhookReceiver, twiml


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("hooks") / "data", args=["--sandbox-clock"],
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


def handset_sends(server: OpenlineServer, from_: str, to: str, body: str, media: list[str] | None = None) -> dict:  # type: ignore[type-arg]
    data: list[tuple[str, str]] = [("From", from_), ("To", to), ("Body", body)]
    data += [("MediaUrl", m) for m in media or []]
    response = httpx.post(f"{server.url}/sandbox/v1/Messages", content=urlencode(data),
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_inbound_webhook_and_twiml_reply(client: Client, server: OpenlineServer, receiver: WebhookReceiver) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550201", sms_url=receiver.url("/sms"))
    reply = MessagingResponse()
    reply.message("Thanks, we got it")
    receiver.on("/sms", twiml(str(reply)))
    inbound = handset_sends(server, "+15558675311", number.phone_number, "hello there")
    assert inbound["direction"] == "inbound" and inbound["status"] == "received"
    (hook,) = receiver.wait("/sms")
    assert hook.signature_valid, "X-Twilio-Signature must validate with RequestValidator"
    form = hook.form
    assert form["MessageSid"] == form["SmsSid"] == form["SmsMessageSid"] == inbound["sid"]
    assert (form["From"], form["To"], form["Body"]) == ("+15558675311", number.phone_number, "hello there")
    assert (form["AccountSid"], form["SmsStatus"], form["ApiVersion"]) == (
        server.account_sid, "received", "2010-04-01")  # type: ignore[attr-defined]
    assert form["NumMedia"] == "0" and form["NumSegments"] == "1" and form["ToCountry"] == "US"
    assert hook.headers.get("I-Twilio-Idempotency-Token")
    got = wait_for(lambda: inbox(server, "+15558675311"))
    assert got[0]["body"] == "Thanks, we got it" and got[0]["from"] == number.phone_number  # type: ignore[index]
    replies = client.messages.list(to="+15558675311")
    assert replies[0].direction == "outbound-reply"


def test_get_method_and_media(client: Client, server: OpenlineServer, receiver: WebhookReceiver) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550202", sms_url=receiver.url("/get"),
                                                  sms_method="GET")
    receiver.on("/cat.png", (200, "image/png", b"\x89PNG fake"))
    inbound = handset_sends(server, "+15558675312", number.phone_number, "", [receiver.url("/cat.png")])
    assert inbound["sid"].startswith("MM") and inbound["num_media"] == "1"
    (hook,) = receiver.wait("/get")
    assert hook.method == "GET" and hook.signature_valid
    media_url = hook.get("MediaUrl0")
    assert media_url and hook.get("MediaContentType0") == "image/png"
    assert media_url.startswith(server.url) and inbound["sid"] in media_url
    content = httpx.get(media_url, follow_redirects=True)  # no credentials needed, as on Twilio
    assert content.status_code == 200 and content.content == b"\x89PNG fake"
    media = client.messages(inbound["sid"]).media.list()
    assert [m.content_type for m in media] == ["image/png"]


def test_failing_sms_url_falls_back_and_alerts(client: Client, server: OpenlineServer,
                                                receiver: WebhookReceiver) -> None:
    number = client.incoming_phone_numbers.create(
        phone_number="+15555550203", sms_url=receiver.url("/broken"), sms_fallback_url=receiver.url("/fallback"))
    receiver.on("/broken", (500, "text/plain", b"boom"))
    receiver.on("/fallback", twiml("<Response><Message>fallback reply</Message></Response>"))
    inbound = handset_sends(server, "+15558675313", number.phone_number, "hi")
    receiver.wait("/broken")
    (fallback,) = receiver.wait("/fallback")
    assert fallback.signature_valid and fallback.get("MessageSid") == inbound["sid"]
    got = wait_for(lambda: inbox(server, "+15558675313"))
    assert got[0]["body"] == "fallback reply"  # type: ignore[index]
    alerts = [a for a in client.monitor.v1.alerts.list() if a.resource_sid == inbound["sid"]]
    assert [a.error_code for a in alerts] == ["11200"]
    assert alerts[0].request_url == receiver.url("/broken")


@pytest.mark.parametrize(("reply", "code"), [
    ((200, "text/xml", b"<Response><Message>unclosed"), "12100"),
    ((200, "application/json", b'{"not": "twiml"}'), "12300"),
    ((200, "text/xml", b"<Response><Dance/></Response>"), "12200"),
])
def test_bad_twiml_raises_alert(client: Client, server: OpenlineServer, receiver: WebhookReceiver,
                                reply: tuple[int, str, bytes], code: str) -> None:
    number = client.incoming_phone_numbers.create(phone_number=f"+155555503{int(code) % 97:02d}",
                                                  sms_url=receiver.url("/bad"))
    receiver.on("/bad", reply)
    inbound = handset_sends(server, "+15558675314", number.phone_number, "hi")
    receiver.wait("/bad")
    alerts = wait_for(lambda: [a for a in client.monitor.v1.alerts.list() if a.resource_sid == inbound["sid"]])
    assert [a.error_code for a in alerts] == [code]  # type: ignore[attr-defined]


def test_redirect_verb(client: Client, server: OpenlineServer, receiver: WebhookReceiver) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550204", sms_url=receiver.url("/first"))
    receiver.on("/first", twiml(f'<Response><Redirect method="POST">{receiver.url("/second")}</Redirect></Response>'))
    receiver.on("/second", twiml("<Response><Message>after redirect</Message></Response>"))
    handset_sends(server, "+15558675315", number.phone_number, "hi")
    (second,) = receiver.wait("/second")
    assert second.signature_valid
    got = wait_for(lambda: inbox(server, "+15558675315"))
    assert got[0]["body"] == "after redirect"  # type: ignore[index]


def test_status_callbacks(client: Client, server: OpenlineServer, receiver: WebhookReceiver) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550205")
    message = client.messages.create(body="track me", from_=number.phone_number, to="+15558675316",
                                     status_callback=receiver.url("/status"))
    hooks = receiver.wait("/status", 4)
    assert all(h.signature_valid for h in hooks)
    assert [h.get("MessageStatus") for h in hooks] == ["queued", "sending", "sent", "delivered"]
    assert all(h.get("MessageSid") == message.sid and h.get("SmsStatus") == h.get("MessageStatus") for h in hooks)
    assert hooks[0].get("From") == number.phone_number and hooks[0].get("AccountSid") == server.account_sid  # type: ignore[attr-defined]


@pytest.mark.parametrize(("to", "status", "code"), [
    ("+15005550010", "undelivered", 30003), ("+15005550011", "undelivered", 30005),
    ("+15005550012", "undelivered", 30006), ("+15005550013", "failed", 30008),
])
def test_failures_after_acceptance(client: Client, server: OpenlineServer, receiver: WebhookReceiver,
                                   to: str, status: str, code: int) -> None:
    number = client.incoming_phone_numbers.list(phone_number="+15555550205")[0].phone_number
    message = client.messages.create(body="x", from_=number, to=to, status_callback=receiver.url(f"/s{code}"))
    final = wait_for(lambda: (m := client.messages(message.sid).fetch()).status == status and m)
    assert final.error_code == code  # type: ignore[attr-defined]
    hooks = receiver.wait(f"/s{code}", 3 if status == "failed" else 4)
    assert hooks[-1].get("MessageStatus") == status and hooks[-1].get("ErrorCode") == str(code)


def test_status_callback_retried_on_5xx(client: Client, server: OpenlineServer, receiver: WebhookReceiver) -> None:
    number = client.incoming_phone_numbers.list(phone_number="+15555550205")[0].phone_number
    answers = iter([(503, "text/plain", b"busy")])
    receiver.on("/flaky", lambda _r: next(answers, (204, "text/plain", b"")))
    message = client.messages.create(body="x", from_=number, to="+15558675317", status_callback=receiver.url("/flaky"))
    hooks = receiver.wait("/flaky", 5, timeout=20)
    statuses = [h.get("MessageStatus") for h in hooks]
    assert statuses.count("queued") == 2  # the first try got 503, the retry went through
    assert {"sending", "sent", "delivered"} <= set(statuses)
    assert all(h.get("MessageSid") == message.sid for h in hooks)


def test_account_to_account(client: Client, server: OpenlineServer, receiver: WebhookReceiver) -> None:
    sub = client.api.v2010.accounts.create(friendly_name="receiver")
    theirs = client.api.v2010.accounts(sub.sid).incoming_phone_numbers.create(
        phone_number="+15555550206", sms_url=receiver.url("/theirs"))
    mine = client.incoming_phone_numbers.create(phone_number="+15555550207")
    sent = client.messages.create(body="hi neighbour", from_=mine.phone_number, to=theirs.phone_number)
    (hook,) = receiver.wait("/theirs")
    assert hook.get("From") == mine.phone_number and hook.get("AccountSid") == sub.sid
    assert wait_for(lambda: client.messages(sent.sid).fetch().status == "delivered")
