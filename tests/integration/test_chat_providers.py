"""Contract tests of the chat adapters against fake platform servers on loopback.

Openline's requests are checked exactly as each platform documents them (path, auth, JSON body),
and Openline is sent webhooks signed as each platform signs them (payloads after the platforms'
published examples), including forged ones, which must be refused and change nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList
from twilio.rest.content.v1.content.approval_create import ApprovalCreateList

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import wait_for
from tests.support.chat_providers import PNG, FakeProviders
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client
from tests.support.webhook_receiver import WebhookReceiver

WA_TOKEN, WA_SECRET, WA_VERIFY, WA_NUMBER_ID = "EAAGfaketoken", "wa-app-secret", "wa-verify-me", "106540352242922"
WA_NUMBER = "+15555550701"
PAGE_ID, PAGE_TOKEN, FB_SECRET, FB_VERIFY = "1122334455", "EAAPagetoken", "fb-app-secret", "fb-verify-me"
BOT_TOKEN, TG_SECRET = "987654321:AAHfakeBotToken_x", "tg-secret_1"
LINE_BOT, LINE_TOKEN, LINE_SECRET = "U" + "a" * 32, "line-access-token", "line-channel-secret"
LINE_USER = "U4af4980629" + "0" * 22


@pytest.fixture(scope="module")
def providers() -> Iterator[FakeProviders]:
    fake = FakeProviders().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def app_hooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver("0" * 32)  # token fixed below, once the server's is known
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, providers: FakeProviders,
           app_hooks: WebhookReceiver) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    app_hooks.auth_token = token
    app_hooks.start()
    root: Path = tmp_path_factory.mktemp("chatproviders")
    config = root / "openline.toml"
    config.write_text(f"""
[channels.whatsapp]
api_base_url = "{providers.url}"
api_version = "v21.0"
access_token = "{WA_TOKEN}"
app_secret = "{WA_SECRET}"
verify_token = "{WA_VERIFY}"
numbers = {{"{WA_NUMBER}" = "{WA_NUMBER_ID}"}}

[channels.messenger]
api_base_url = "{providers.url}"
page_id = "{PAGE_ID}"
page_access_token = "{PAGE_TOKEN}"
app_secret = "{FB_SECRET}"
verify_token = "{FB_VERIFY}"
webhook_url = "{app_hooks.url('/messenger')}"

[channels.telegram]
api_base_url = "{providers.url}"
bot_token = "{BOT_TOKEN}"
secret_token = "{TG_SECRET}"
webhook_url = "{app_hooks.url('/telegram')}"

[channels.line]
api_base_url = "{providers.url}"
data_api_base_url = "{providers.url}"
bot_user_id = "{LINE_BOT}"
channel_access_token = "{LINE_TOKEN}"
channel_secret = "{LINE_SECRET}"
webhook_url = "{app_hooks.url('/line')}"
""")
    srv = OpenlineServer(root / "data", env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token},
                         args=["--config", str(config)])
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def sdk(server: OpenlineServer) -> Client:
    return host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]


def hub_sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post(server: OpenlineServer, channel: str, payload: dict, headers: dict[str, str]) -> httpx.Response:  # type: ignore[type-arg]
    body = json.dumps(payload).encode()
    signed = {k: (v(body) if callable(v) else v) for k, v in headers.items()}  # type: ignore[operator]
    return httpx.post(f"{server.url}/channels/{channel}/webhook", content=body,
                      headers={"Content-Type": "application/json", **signed})


def wa_notification(value: dict) -> dict:  # type: ignore[type-arg]
    return {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{
        "value": {"messaging_product": "whatsapp",
                  "metadata": {"display_phone_number": WA_NUMBER.lstrip("+"), "phone_number_id": WA_NUMBER_ID},
                  **value}, "field": "messages"}]}]}


def wa_message(wamid: str, text: str) -> dict:  # type: ignore[type-arg]
    return wa_notification({
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        "messages": [{"from": "16505551234", "id": wamid, "timestamp": "1749416383", "type": "text",
                      "text": {"body": text}}]})


def wa_status(wamid: str, status: str, errors: list | None = None) -> dict:  # type: ignore[type-arg]
    item = {"id": wamid, "status": status, "timestamp": "1750263773", "recipient_id": "16505551234"}
    if errors:
        item["errors"] = errors
    return wa_notification({"statuses": [item]})


def messages_with(sdk: Client, to: str, body: str) -> list:  # type: ignore[type-arg]
    return [m for m in sdk.messages.list(to=to) if m.body == body]


def test_whatsapp(server: OpenlineServer, sdk: Client, providers: FakeProviders, app_hooks: WebhookReceiver) -> None:
    sdk.incoming_phone_numbers.create(phone_number=WA_NUMBER, sms_url=app_hooks.url("/wa"))
    business, user = f"whatsapp:{WA_NUMBER}", "whatsapp:+16505551234"
    hook = f"{server.url}/channels/whatsapp/webhook"

    # Meta's subscription check.
    ok = httpx.get(hook, params={"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY, "hub.challenge": "1158201444"})
    assert (ok.status_code, ok.text) == (200, "1158201444")
    assert httpx.get(hook, params={"hub.mode": "subscribe", "hub.verify_token": "wrong",
                                   "hub.challenge": "1"}).status_code == 403

    # Forged and unsigned notifications are refused and store nothing.
    forged = post(server, "whatsapp", wa_message("wamid.FORGED", "forged"),
                  {"X-Hub-Signature-256": lambda b: hub_sign("not-the-secret", b)})
    assert forged.status_code == 403
    assert post(server, "whatsapp", wa_message("wamid.UNSIGNED", "unsigned"), {}).status_code == 401
    assert not messages_with(sdk, business, "forged") and not messages_with(sdk, business, "unsigned")

    # A signed message: an inbound Message, the number's SmsUrl called with WhatsApp's parameters.
    signed = {"X-Hub-Signature-256": lambda b: hub_sign(WA_SECRET, b)}
    assert post(server, "whatsapp", wa_message("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
                                               "Does it come in another color?"), signed).status_code == 200
    # The platform retries: the same message id again is not a second message.
    assert post(server, "whatsapp", wa_message("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=",
                                               "Does it come in another color?"), signed).status_code == 200
    got = wait_for(lambda: [r for r in app_hooks.received if r.path == "/wa"])
    assert len(messages_with(sdk, business, "Does it come in another color?")) == 1
    first = got[0]  # type: ignore[index]
    assert first.signature_valid
    assert (first.get("From"), first.get("To"), first.get("ProfileName"), first.get("WaId")) == (
        user, business, "Sheena Nelson", "16505551234")

    # A text reply, exactly as the Cloud API documents it.
    reply = sdk.messages.create(from_=business, to=user, body="Yes, in blue.")
    wait_for(lambda: sdk.messages(reply.sid).fetch().status == "sent")
    sent = providers.to(f"/v21.0/{WA_NUMBER_ID}/messages")[-1]
    assert sent.headers["authorization"] == f"Bearer {WA_TOKEN}"
    assert sent.headers["content-type"].startswith("application/json")
    assert sent.body == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
                         "type": "text", "text": {"preview_url": False, "body": "Yes, in blue."}}
    wamid = f"wamid.FAKE{providers.posts}"

    # Status notifications: delivered, then read.
    assert post(server, "whatsapp", wa_status(wamid, "delivered"), signed).status_code == 200
    wait_for(lambda: sdk.messages(reply.sid).fetch().status == "delivered")
    assert post(server, "whatsapp", wa_status(wamid, "read"), signed).status_code == 200
    wait_for(lambda: sdk.messages(reply.sid).fetch().status == "read")

    # Media by link, with the body as its caption.
    media = sdk.messages.create(from_=business, to=user, body="Here it is", media_url=[f"{providers.url}/media/blue.png"])
    wait_for(lambda: sdk.messages(media.sid).fetch().status == "sent")
    assert providers.to(f"/{WA_NUMBER_ID}/messages")[-1].body == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234", "type": "image",
        "image": {"link": f"{providers.url}/media/blue.png", "caption": "Here it is"}}

    # A template (approved content) to a user outside the window; its failure report maps to Twilio's code.
    content = sdk.content.v1.contents.create(ContentList.ContentCreateRequest({
        "friendly_name": "shipping", "language": "en_US", "variables": {"1": "friend"},
        "types": {"twilio/text": {"body": "Hi {{1}}, your parcel {{2}} has shipped."}}}))
    sdk.content.v1.contents(content.sid).approval_create.create(
        ApprovalCreateList.ContentApprovalRequest({"name": "shipping_update", "category": "UTILITY"}))
    template = sdk.messages.create(from_=business, to="whatsapp:+16505550000", content_sid=content.sid,
                                   content_variables=json.dumps({"2": "ZX81"}))
    assert template.body == "Hi friend, your parcel ZX81 has shipped."
    wait_for(lambda: sdk.messages(template.sid).fetch().status == "sent")
    assert providers.to(f"/{WA_NUMBER_ID}/messages")[-1].body == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505550000", "type": "template",
        "template": {"name": "shipping_update", "language": {"code": "en_US"}, "components": [
            {"type": "body", "parameters": [{"type": "text", "text": "friend"}, {"type": "text", "text": "ZX81"}]}]}}
    template_id = f"wamid.FAKE{providers.posts}"
    failed = wa_status(template_id, "failed", [{"code": 131026, "title": "Message undeliverable"}])
    failed["entry"][0]["changes"][0]["value"]["statuses"][0]["recipient_id"] = "16505550000"
    assert post(server, "whatsapp", failed, signed).status_code == 200
    done = wait_for(lambda: (m := sdk.messages(template.sid).fetch()).status == "undelivered" and m)
    assert done.error_code == 63024  # type: ignore[union-attr]

    # A received image: Openline fetches it with the token (media id → URL → bytes); the app gets a MediaUrl.
    image = wa_notification({"contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
                             "messages": [{"from": "16505551234", "id": "wamid.IMAGE", "timestamp": "1749416390",
                                           "type": "image", "image": {"caption": "this one?", "mime_type": "image/png",
                                                                      "sha256": "x", "id": "1003383421387256"}}]})
    assert post(server, "whatsapp", image, signed).status_code == 200
    with_media = wait_for(lambda: [r for r in app_hooks.received if r.path == "/wa" and r.get("NumMedia") == "1"])
    media_hook = with_media[0]  # type: ignore[index]
    assert media_hook.get("Body") == "this one?" and media_hook.get("MediaContentType0") == "image/png"
    assert media_hook.get("MessageType") == "image"
    fetched = httpx.get(media_hook.get("MediaUrl0"), follow_redirects=True)  # type: ignore[arg-type]
    assert (fetched.status_code, fetched.content) == (200, PNG)
    lookups = [r for r in providers.requests if r.path == "/v21.0/1003383421387256"]
    assert lookups and lookups[0].headers["authorization"] == f"Bearer {WA_TOKEN}"

    # The platform reports delivery before it answered our send: the report waits for the message.
    providers.delays["16505551234"] = 1.5
    slow = sdk.messages.create(from_=business, to=user, body="Slow answer")
    wait_for(lambda: providers.to(f"/{WA_NUMBER_ID}/messages")[-1].body.get("text", {}).get("body") == "Slow answer")
    early_report = wa_status(f"wamid.FAKE{providers.posts}", "delivered")
    assert post(server, "whatsapp", early_report, signed).status_code == 200
    assert sdk.messages(slow.sid).fetch().status in ("queued", "sending")
    wait_for(lambda: sdk.messages(slow.sid).fetch().status == "delivered")
    providers.delays.clear()

    # The platform refuses a send (expired token): the message fails with 63001.
    providers.refusals["16505559999"] = (401, {"error": {"message": "Error validating access token",
                                                         "type": "OAuthException", "code": 190,
                                                         "fbtrace_id": "Azb"}})
    assert post(server, "whatsapp", wa_notification({"messages": [{
        "from": "16505559999", "id": "wamid.OPEN", "timestamp": "1", "type": "text", "text": {"body": "hi"}}]}),
        signed).status_code == 200
    refused = sdk.messages.create(from_=business, to="whatsapp:+16505559999", body="hello")
    assert wait_for(lambda: (m := sdk.messages(refused.sid).fetch()).status == "failed" and m).error_code \
        == 63001  # type: ignore[union-attr]


def test_messenger(server: OpenlineServer, sdk: Client, providers: FakeProviders, app_hooks: WebhookReceiver) -> None:
    page, psid = f"messenger:{PAGE_ID}", "messenger:24601"
    hook = f"{server.url}/channels/messenger/webhook"
    assert httpx.get(hook, params={"hub.mode": "subscribe", "hub.verify_token": FB_VERIFY,
                                   "hub.challenge": "CHALLENGE_ACCEPTED"}).text == "CHALLENGE_ACCEPTED"
    event = {"object": "page", "entry": [{"id": PAGE_ID, "time": 1458692752478, "messaging": [{
        "sender": {"id": "24601"}, "recipient": {"id": PAGE_ID}, "timestamp": 1458692752478,
        "message": {"mid": "mid.1457764197618:41d102a3e1ae206a38", "text": "hello, world!"}}]}]}
    assert post(server, "messenger", event, {"X-Hub-Signature-256": lambda b: hub_sign("bad", b)}).status_code == 403
    signed = {"X-Hub-Signature-256": lambda b: hub_sign(FB_SECRET, b)}
    assert post(server, "messenger", event, signed).status_code == 200
    got = wait_for(lambda: [r for r in app_hooks.received if r.path == "/messenger"])
    assert (got[0].get("From"), got[0].get("To"), got[0].get("Body")) == (psid, page, "hello, world!")  # type: ignore[index]

    reply = sdk.messages.create(from_=page, to=psid, body="hello, world!")
    wait_for(lambda: sdk.messages(reply.sid).fetch().status == "sent")
    sent = providers.to("/v21.0/me/messages")[-1]
    assert sent.query == {"access_token": PAGE_TOKEN}
    assert sent.body == {"recipient": {"id": "24601"}, "messaging_type": "RESPONSE",
                         "message": {"text": "hello, world!"}}
    mid = f"m_FAKE{providers.posts}"
    delivery = {"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "messaging": [{
        "sender": {"id": "24601"}, "recipient": {"id": PAGE_ID},
        "delivery": {"mids": [mid], "watermark": 1458668856253}}]}]}
    assert post(server, "messenger", delivery, signed).status_code == 200
    wait_for(lambda: sdk.messages(reply.sid).fetch().status == "delivered")
    read = {"object": "page", "entry": [{"id": PAGE_ID, "time": 1, "messaging": [{
        "sender": {"id": "24601"}, "recipient": {"id": PAGE_ID}, "read": {"watermark": 4102444800000}}]}]}
    assert post(server, "messenger", read, signed).status_code == 200
    wait_for(lambda: sdk.messages(reply.sid).fetch().status == "read")


def test_telegram(server: OpenlineServer, sdk: Client, providers: FakeProviders, app_hooks: WebhookReceiver) -> None:
    bot, chat = "telegram:987654321", "telegram:1111111"
    update = {"update_id": 10000, "message": {
        "message_id": 1365, "from": {"id": 1111111, "is_bot": False, "first_name": "Test", "last_name": "Lastname",
                                     "username": "Test"},
        "chat": {"id": 1111111, "type": "private", "first_name": "Test", "username": "Test"},
        "date": 1441645532, "text": "/start"}}
    assert post(server, "telegram", update, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}).status_code == 403
    assert post(server, "telegram", update, {}).status_code == 401
    assert post(server, "telegram", update, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}).status_code == 200
    got = wait_for(lambda: [r for r in app_hooks.received if r.path == "/telegram"])
    assert (got[0].get("From"), got[0].get("To"), got[0].get("Body")) == (chat, bot, "/start")  # type: ignore[index]

    photo_update = {"update_id": 10001, "message": {
        "message_id": 1366, "from": {"id": 1111111, "is_bot": False, "first_name": "Test"},
        "chat": {"id": 1111111, "type": "private"}, "date": 1441645533, "caption": "my cat",
        "photo": [{"file_id": "AgADsmall", "file_unique_id": "s", "width": 90, "height": 90},
                  {"file_id": "AgADbig", "file_unique_id": "b", "width": 800, "height": 800}]}}
    assert post(server, "telegram", photo_update, {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}).status_code == 200
    photo_hook = wait_for(lambda: [r for r in app_hooks.received if r.path == "/telegram" and r.get("NumMedia") == "1"])
    assert photo_hook[0].get("Body") == "my cat"  # type: ignore[index]
    assert httpx.get(photo_hook[0].get("MediaUrl0"), follow_redirects=True).content == PNG  # type: ignore[index]
    assert providers.to(f"/bot{BOT_TOKEN}/getFile")[-1].body == {"file_id": "AgADbig"}
    assert providers.to(f"/file/bot{BOT_TOKEN}/photos/file_1.png")

    reply = sdk.messages.create(from_=bot, to=chat, body="Welcome!")
    wait_for(lambda: sdk.messages(reply.sid).fetch().status == "sent")
    sent = providers.to(f"/bot{BOT_TOKEN}/sendMessage")[-1]
    assert sent.body == {"chat_id": 1111111, "text": "Welcome!"}
    photo = sdk.messages.create(from_=bot, to=chat, body="A photo", media_url=[f"{providers.url}/media/p.png"])
    wait_for(lambda: sdk.messages(photo.sid).fetch().status == "sent")
    assert providers.to(f"/bot{BOT_TOKEN}/sendPhoto")[-1].body == {
        "chat_id": 1111111, "photo": f"{providers.url}/media/p.png", "caption": "A photo"}
    providers.refusals["2222222"] = (403, {"ok": False, "error_code": 403,
                                           "description": "Forbidden: bot was blocked by the user"})
    blocked = sdk.messages.create(from_=bot, to="telegram:2222222", body="hello?")
    assert wait_for(lambda: (m := sdk.messages(blocked.sid).fetch()).status == "failed" and m).error_code \
        == 63024  # type: ignore[union-attr]


def test_line(server: OpenlineServer, sdk: Client, providers: FakeProviders, app_hooks: WebhookReceiver) -> None:
    bot, user = f"line:{LINE_BOT}", f"line:{LINE_USER}"
    webhook = {"destination": LINE_BOT, "events": [{
        "type": "message", "message": {"type": "text", "id": "14353798921116", "text": "Hello, world"},
        "timestamp": 1625665242211, "source": {"type": "user", "userId": LINE_USER},
        "replyToken": "757913772c4646b784d4b7ce46d12671", "mode": "active",
        "webhookEventId": "01FZ74A0TDDPYRVKNK77XKC3ZR", "deliveryContext": {"isRedelivery": False}}]}

    def line_sign(secret: str):  # type: ignore[no-untyped-def]
        return lambda b: base64.b64encode(hmac.new(secret.encode(), b, hashlib.sha256).digest()).decode()

    assert post(server, "line", webhook, {"X-Line-Signature": line_sign("wrong")}).status_code == 403
    assert post(server, "line", {"destination": LINE_BOT, "events": []},
                {"X-Line-Signature": line_sign(LINE_SECRET)}).status_code == 200  # the console's check
    assert post(server, "line", webhook, {"X-Line-Signature": line_sign(LINE_SECRET)}).status_code == 200
    got = wait_for(lambda: [r for r in app_hooks.received if r.path == "/line"])
    assert (got[0].get("From"), got[0].get("To"), got[0].get("Body")) == (user, bot, "Hello, world")  # type: ignore[index]

    # The user's reply token is fresh: the first answer is a reply (LINE's free path)...
    reply = sdk.messages.create(from_=bot, to=user, body="Hello, user")
    wait_for(lambda: sdk.messages(reply.sid).fetch().status == "sent")
    replied = providers.to("/v2/bot/message/reply")[-1]
    assert replied.headers["authorization"] == f"Bearer {LINE_TOKEN}"
    assert replied.body == {"replyToken": "757913772c4646b784d4b7ce46d12671",
                            "messages": [{"type": "text", "text": "Hello, user"}]}
    # ...and a token serves once: the next message is a push.
    second = sdk.messages.create(from_=bot, to=user, body="Anything else?")
    wait_for(lambda: sdk.messages(second.sid).fetch().status == "sent")
    sent = providers.to("/v2/bot/message/push")[-1]
    assert sent.headers["authorization"] == f"Bearer {LINE_TOKEN}"
    assert len(sent.headers["x-line-retry-key"]) == 36
    assert sent.body == {"to": LINE_USER, "messages": [{"type": "text", "text": "Anything else?"}]}

    image = {**webhook, "events": [{**webhook["events"][0], "replyToken": "0f3779fba3b349968c5d07db31eab56f",  # type: ignore[dict-item]
                                    "message": {"type": "image", "id": "14353798921118",
                                                "contentProvider": {"type": "line"}}}]}
    assert post(server, "line", image, {"X-Line-Signature": line_sign(LINE_SECRET)}).status_code == 200
    pictured = wait_for(lambda: [r for r in app_hooks.received if r.path == "/line" and r.get("NumMedia") == "1"])
    assert httpx.get(pictured[0].get("MediaUrl0"), follow_redirects=True).content == PNG  # type: ignore[index]
    download = providers.to("/v2/bot/message/14353798921118/content")[-1]
    assert download.headers["authorization"] == f"Bearer {LINE_TOKEN}"

    # A token LINE no longer accepts: the message is pushed instead.
    other = "U" + "b" * 32
    expired = {**webhook, "events": [{**webhook["events"][0], "replyToken": "expired",  # type: ignore[dict-item]
                                      "source": {"type": "user", "userId": other},
                                      "message": {"type": "text", "id": "14353798921117", "text": "hi"}}]}
    assert post(server, "line", expired, {"X-Line-Signature": line_sign(LINE_SECRET)}).status_code == 200
    wait_for(lambda: len([r for r in app_hooks.received if r.path == "/line"]) == 3)
    late = sdk.messages.create(from_=bot, to=f"line:{other}", body="Sorry for the wait")
    wait_for(lambda: sdk.messages(late.sid).fetch().status == "sent")
    assert providers.to("/v2/bot/message/push")[-1].body == {
        "to": other, "messages": [{"type": "text", "text": "Sorry for the wait"}]}


def test_unconfigured_senders_refused(sdk: Client) -> None:
    from tests.support.twilio_client import rest_error
    # With a channel configured, only its own sender may send.
    assert rest_error(lambda: sdk.messages.create(from_="telegram:555", to="telegram:1111111", body="x")) \
        == (400, 63007)
    assert rest_error(lambda: sdk.messages.create(from_="messenger:999", to="messenger:24601", body="x")) \
        == (400, 63007)
