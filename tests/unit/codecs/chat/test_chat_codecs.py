"""Chat codecs: request bodies, answers and webhooks as the platforms' documentation shows them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest

from openline.codecs.chat import PayloadError, line, messenger, signatures, telegram, whatsapp


def test_hub_signature_matches_an_independent_hmac() -> None:
    body = b'{"object":"whatsapp_business_account","entry":[]}'
    expected = "sha256=" + hmac.new(b"app-secret", body, hashlib.sha256).hexdigest()
    assert signatures.hub_signature_256("app-secret", body) == expected
    assert signatures.check_hub_signature("app-secret", body, expected)
    assert not signatures.check_hub_signature("app-secret", body + b" ", expected)
    assert not signatures.check_hub_signature("other", body, expected)
    assert not signatures.check_hub_signature("app-secret", body, None)


def test_line_signature_is_base64_hmac() -> None:
    body = b'{"destination":"U1","events":[]}'
    expected = base64.b64encode(hmac.new(b"secret", body, hashlib.sha256).digest()).decode()
    assert signatures.line_signature("secret", body) == expected
    assert signatures.check_line_signature("secret", body, expected)
    assert not signatures.check_line_signature("secret", body, expected[:-2] + "AA")


def test_telegram_secret_and_hub_challenge() -> None:
    assert signatures.check_telegram_secret("tok_1", "tok_1")
    assert not signatures.check_telegram_secret("tok_1", "tok_2")
    assert not signatures.check_telegram_secret("tok_1", None)
    assert signatures.check_hub_challenge("v", "subscribe", "v")
    assert not signatures.check_hub_challenge("v", "unsubscribe", "v")
    assert not signatures.check_hub_challenge("v", "subscribe", "w")


def test_whatsapp_requests() -> None:
    text = whatsapp.text_request("v21.0", "106540352242922", "TOKEN", "+16505551234", "Hi")
    assert (text.method, text.path) == ("POST", "/v21.0/106540352242922/messages")
    assert text.headers["Authorization"] == "Bearer TOKEN"
    assert text.body == {"messaging_product": "whatsapp", "recipient_type": "individual", "to": "16505551234",
                         "type": "text", "text": {"preview_url": False, "body": "Hi"}}
    audio = whatsapp.media_request("v21.0", "1", "T", "+1", "audio/ogg", "https://x/a.ogg", "no caption on audio")
    assert audio.body["audio"] == {"link": "https://x/a.ogg"}
    doc = whatsapp.media_request("v21.0", "1", "T", "+1", "application/pdf", "https://x/d.pdf", "Invoice")
    assert doc.body["type"] == "document" and doc.body["document"] == {"link": "https://x/d.pdf", "caption": "Invoice"}
    template = whatsapp.template_request("v21.0", "1", "T", "+1", "hello_world", "en_US", ())
    assert template.body["template"] == {"name": "hello_world", "language": {"code": "en_US"}}


def test_whatsapp_answers() -> None:
    ok = whatsapp.parse_send_response(200, json.dumps({
        "messaging_product": "whatsapp", "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
        "messages": [{"id": "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}).encode())
    assert ok.ok and ok.message_id == "wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"
    err = whatsapp.parse_send_response(400, json.dumps({"error": {
        "message": "(#131047) Re-engagement message", "type": "OAuthException", "code": 131047,
        "fbtrace_id": "AbC"}}).encode())
    assert not err.ok and err.error_code == 131047 and err.retry_after is None
    throttled = whatsapp.parse_send_response(400, json.dumps({"error": {"code": 130429, "message": "rate"}}).encode())
    assert throttled.retry_after is not None
    garbage = whatsapp.parse_send_response(502, b"<html>")
    assert not garbage.ok and garbage.error_code == 502


def test_whatsapp_webhook_messages_and_statuses() -> None:
    body = json.dumps({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
        "messages": [
            {"from": "16505551234", "id": "wamid.A", "timestamp": "1749416383", "type": "text",
             "text": {"body": "Does it come in another color?"}},
            {"from": "16505551234", "id": "wamid.B", "timestamp": "1749416384", "type": "image",
             "image": {"caption": "this one", "mime_type": "image/jpeg", "sha256": "x", "id": "1003383421387256"}}],
        "statuses": [{"id": "wamid.C", "status": "failed", "timestamp": "1", "recipient_id": "16505551234",
                      "errors": [{"code": 131047, "title": "Re-engagement message"}]}]},
        "field": "messages"}]}]}).encode()
    messages, statuses = whatsapp.parse_webhook(body)
    assert [(m.sender, m.recipient, m.message_id, m.text, m.profile_name) for m in messages] == [
        ("16505551234", "+15550783881", "wamid.A", "Does it come in another color?", "Sheena Nelson"),
        ("16505551234", "+15550783881", "wamid.B", "this one", "Sheena Nelson")]
    assert messages[1].media[0].ref == "1003383421387256" and messages[1].media[0].content_type == "image/jpeg"
    number_id, status = statuses[0]
    assert number_id == "106540352242922"
    assert (status.status, status.message_id, status.error_code) == ("failed", "wamid.C", 131047)


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"object":"page"}',
                                  b'{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages",'
                                  b'"value":{"metadata":{}}}]}]}', b"x" * (1024 * 1024 + 1)])
def test_whatsapp_malformed(body: bytes) -> None:
    with pytest.raises(PayloadError):
        whatsapp.parse_webhook(body)


def test_messenger() -> None:
    request = messenger.text_request("v21.0", "PAGE_TOKEN", "1254477777772919", "hello, world!")
    assert (request.path, request.query) == ("/v21.0/me/messages", {"access_token": "PAGE_TOKEN"})
    assert request.body == {"recipient": {"id": "1254477777772919"}, "messaging_type": "RESPONSE",
                            "message": {"text": "hello, world!"}}
    image = messenger.attachment_request("v21.0", "T", "1", "image/png", "https://x/i.png")
    assert image.body["message"] == {"attachment": {"type": "image",
                                                    "payload": {"url": "https://x/i.png", "is_reusable": True}}}
    ok = messenger.parse_send_response(200, b'{"recipient_id":"1254477777772919","message_id":"m_AG5Hz2Uq7tuwNEhX"}')
    assert ok.message_id == "m_AG5Hz2Uq7tuwNEhX"
    window = messenger.parse_send_response(400, json.dumps({"error": {
        "message": "This message is sent outside of allowed window.", "type": "OAuthException", "code": 10,
        "error_subcode": 2018278}}).encode())
    assert window.error_code == 2018278
    messages, statuses = messenger.parse_webhook(json.dumps({"object": "page", "entry": [{"id": "PAGE", "time": 1,
        "messaging": [
            {"sender": {"id": "PSID"}, "recipient": {"id": "PAGE"}, "timestamp": 1458692752478,
             "message": {"mid": "mid.1", "text": "hello", "attachments": [
                 {"type": "image", "payload": {"url": "https://scontent.example/i.jpg"}}]}},
            {"sender": {"id": "PAGE"}, "recipient": {"id": "PSID"}, "message": {"mid": "m_e", "is_echo": True}},
            {"sender": {"id": "PSID"}, "recipient": {"id": "PAGE"},
             "delivery": {"mids": ["m_1"], "watermark": 1458668856253}},
            {"sender": {"id": "PSID"}, "recipient": {"id": "PAGE"}, "read": {"watermark": 1458668856253}}]}]}).encode())
    assert [(m.sender, m.recipient, m.text, m.media[0].ref, m.timestamp) for m in messages] == [
        ("PSID", "PAGE", "hello", "https://scontent.example/i.jpg", 1458692752)]
    assert [(s.status, s.message_id, s.watermark_ms) for s in statuses] == [
        ("delivered", "m_1", None), ("read", None, 1458668856253)]


def test_telegram() -> None:
    request = telegram.send_message("123:ABC", "-1001234567890", "hi")
    assert (request.path, request.body) == ("/bot123:ABC/sendMessage", {"chat_id": -1001234567890, "text": "hi"})
    photo = telegram.send_media("123:ABC", "42", "image/jpeg", "https://x/p.jpg", "c" * 2000)
    assert photo.path.endswith("/sendPhoto") and len(photo.body["caption"]) == telegram.MAX_CAPTION
    assert telegram.send_media("1:A", "42", "application/pdf", "https://x/d.pdf", None).body == {
        "chat_id": 42, "document": "https://x/d.pdf"}
    ok = telegram.parse_send_response(200, b'{"ok":true,"result":{"message_id":7,"chat":{"id":42},"date":1}}')
    assert ok.message_id == "42/7"
    limited = telegram.parse_send_response(429, b'{"ok":false,"error_code":429,"description":"Too Many Requests: '
                                                b'retry after 7","parameters":{"retry_after":7}}')
    assert limited.retry_after == 7.0
    update = telegram.parse_update(json.dumps({"update_id": 1, "message": {
        "message_id": 1365, "from": {"id": 1111111, "is_bot": False, "first_name": "Test"},
        "chat": {"id": 1111111, "type": "private"}, "date": 1441645532, "caption": "look",
        "photo": [{"file_id": "small", "file_unique_id": "s"}, {"file_id": "big", "file_unique_id": "b"}]}}).encode(),
        "987")
    assert update is not None
    assert (update.sender, update.recipient, update.text, update.media[0].ref, update.profile_name) == (
        "1111111", "987", "look", "big", "Test")
    assert telegram.parse_update(b'{"update_id":2,"edited_message":{}}', "987") is None


def test_line() -> None:
    push = line.push_request("TOKEN", "U4af4980629", [line.text_message("Hello, world1")], "123e4567-e89b-12d3")
    assert (push.path, push.headers["Authorization"], push.headers["X-Line-Retry-Key"]) == (
        "/v2/bot/message/push", "Bearer TOKEN", "123e4567-e89b-12d3")
    assert push.body == {"to": "U4af4980629", "messages": [{"type": "text", "text": "Hello, world1"}]}
    reply = line.reply_request("TOKEN", "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", [line.text_message("Hi")])
    assert reply.body == {"replyToken": "nHuyWiB7yP5Zw52FIkcQobQuGDXCTA", "messages": [{"type": "text", "text": "Hi"}]}
    assert line.media_message("image/png", "https://x/i.png") == {
        "type": "image", "originalContentUrl": "https://x/i.png", "previewImageUrl": "https://x/i.png"}
    assert line.parse_send_response(200, b'{"sentMessages":[{"id":"461230966842064897","quoteToken":"q"}]}',
                                    "SM1").message_id == "461230966842064897"
    assert line.parse_send_response(200, b"{}", "SM1").message_id == "SM1"
    assert line.parse_send_response(409, b'{"message":"The retry key is already accepted"}', "SM1").ok
    refused = line.parse_send_response(400, b'{"message":"The request body has 1 error(s)"}', "SM1")
    assert not refused.ok and refused.error_code == 400
    destination, messages = line.parse_webhook(json.dumps({"destination": "Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "events": [{"type": "message", "message": {"type": "text", "id": "14353798921116", "text": "Hello, world"},
                    "timestamp": 1625665242211, "source": {"type": "user", "userId": "U80696558e1aa831"},
                    "replyToken": "757913772c4646b784d4b7ce46d12671", "mode": "active"},
                   {"type": "follow", "source": {"type": "user", "userId": "U1"}}]}).encode())
    assert destination == "Uxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
    assert [(m.sender, m.text, m.reply_token, m.timestamp) for m in messages] == [
        ("U80696558e1aa831", "Hello, world", "757913772c4646b784d4b7ce46d12671", 1625665242)]
    with pytest.raises(PayloadError):
        line.parse_webhook(b'{"events":[]}')


def test_received_media_lookups() -> None:
    lookup = whatsapp.media_url_request("v21.0", "1003383421387256", "T")
    assert (lookup.method, lookup.path, lookup.headers["Authorization"]) == ("GET", "/v21.0/1003383421387256",
                                                                              "Bearer T")
    assert whatsapp.parse_media_url(200, b'{"messaging_product":"whatsapp","url":"https://lookaside.example/x",'
                                         b'"mime_type":"image/jpeg","id":"1"}') == ("https://lookaside.example/x",
                                                                                    "image/jpeg")
    with pytest.raises(PayloadError):
        whatsapp.parse_media_url(404, b'{"error":{"code":100}}')
    assert telegram.get_file("1:A", "AgAD").body == {"file_id": "AgAD"}
    assert telegram.file_path(200, b'{"ok":true,"result":{"file_id":"AgAD","file_path":"photos/file_1.jpg"}}') \
        == "photos/file_1.jpg"
    with pytest.raises(PayloadError):
        telegram.file_path(400, b'{"ok":false,"error_code":400,"description":"Bad Request: invalid file_id"}')
    assert line.content_path("14353798921118") == "/v2/bot/message/14353798921118/content"
