"""Dynamic templates, suppressions, the signed event webhook, tracking and scheduled batches,
through the official `sendgrid` SDK against a real `openline serve`."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import httpx
import pytest
from python_http_client.exceptions import BadRequestsError, NotFoundError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook, EventWebhookHeader
from sendgrid.helpers.mail import Mail

from tests.support.sendgrid import RawReceiver, create_key, mailbox, sdk
from tests.support.server import OpenlineServer


@pytest.fixture(scope="module")
def sg(server: OpenlineServer) -> SendGridAPIClient:
    return sdk(server, create_key(server))


@pytest.fixture
def events(sg: SendGridAPIClient) -> Iterator[RawReceiver]:
    receiver = RawReceiver()
    settings = {"enabled": True, "url": receiver.url("/events"), "processed": True, "dropped": True,
                "delivered": True, "open": True, "click": True, "unsubscribe": True, "group_unsubscribe": True,
                "bounce": True, "deferred": True}
    answer = sg.client.user.webhooks.event.settings.patch(request_body=settings)
    assert json.loads(answer.body)["url"] == receiver.url("/events")
    yield receiver
    sg.client.user.webhooks.event.settings.patch(request_body={"enabled": False})
    receiver.stop()


def collected(receiver: RawReceiver, predicate: object, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        found = [e for _, body in receiver.received_bodies() for e in json.loads(body) if predicate(e)]  # type: ignore[operator]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


RawReceiver.received_bodies = lambda self: [(h, b) for _, h, b in list(self.received)]  # type: ignore[attr-defined]


def test_dynamic_template_with_each(server: OpenlineServer, sg: SendGridAPIClient) -> None:
    created = json.loads(sg.client.templates.post(request_body={"name": "receipt", "generation": "dynamic"}).body)
    template_id = created["id"]
    assert template_id.startswith("d-") and created["generation"] == "dynamic"
    version = sg.client.templates._(template_id).versions.post(request_body={
        "name": "v1", "active": 1, "subject": "Receipt for {{{name}}}",  # triple: unescaped, as SendGrid advises
        "html_content": "<p>Hi {{name}}</p><ul>{{#each items}}<li>{{this.title}}: {{price}}"
                        "{{#if @last}}.{{/if}}</li>{{/each}}</ul>{{#if vip}}<b>VIP</b>{{else}}regular{{/if}} {{{raw}}}",
        "plain_content": "{{#each items}}{{@index}}. {{title}}\n{{/each}}",
    })
    assert json.loads(version.body)["active"] == 1
    mail = Mail(from_email="shop@example.com", to_emails="buyer@example.org")
    mail.template_id = template_id
    mail.dynamic_template_data = {"name": "Ann <admin>", "vip": False, "raw": "<i>ok</i>",
                                  "items": [{"title": "Tea", "price": "3"}, {"title": "Cake", "price": "5"}]}
    assert sg.send(mail).status_code == 202
    [item] = mailbox(server, "buyer@example.org")
    assert item["subject"] == "Receipt for Ann <admin>"
    assert item["html"].strip() == ("<p>Hi Ann &lt;admin&gt;</p><ul><li>Tea: 3</li><li>Cake: 5.</li></ul>"
                                    "regular <i>ok</i>")
    assert item["text"].strip() == "0. Tea\n1. Cake"
    listing = json.loads(sg.client.templates.get(query_params={"generations": "dynamic", "page_size": 10}).body)
    assert template_id in [t["id"] for t in listing["result"]]
    with pytest.raises(BadRequestsError) as caught:  # a template that does not parse is refused
        sg.client.templates._(template_id).versions.post(request_body={"name": "bad", "subject": "{{#if x}}"})
    assert json.loads(caught.value.body)["errors"][0]["field"] == "subject"
    with pytest.raises(NotFoundError):
        sg.client.templates._("d-" + "0" * 32).get()


def test_suppressed_recipients_are_dropped(server: OpenlineServer, sg: SendGridAPIClient,
                                           events: RawReceiver) -> None:
    answer = sg.client.asm.suppressions._("global").post(request_body={"recipient_emails": ["Gone@example.org"]})
    assert answer.status_code == 201
    group = json.loads(sg.client.asm.groups.post(request_body={"name": "Newsletter", "description": "weekly"}).body)
    sg.client.asm.groups._(group["id"]).suppressions.post(request_body={"recipient_emails": ["nonews@example.org"]})
    body = {"personalizations": [{"to": [{"email": "gone@example.org"}, {"email": "kept@example.org"}]},
                                 {"to": [{"email": "nonews@example.org"}]}],
            "from": {"email": "a@example.com"}, "subject": "drop", "content": [{"type": "text/plain", "value": "x"}],
            "asm": {"group_id": group["id"]}, "custom_args": {"campaign": "c7"}, "categories": ["weekly"]}
    assert sg.client.mail.send.post(request_body=body).status_code == 202
    assert mailbox(server, "kept@example.org")[0]["subject"] == "drop"
    dropped = collected(events, lambda e: e["event"] == "dropped")
    while len(dropped) < 2:
        dropped = collected(events, lambda e: e["event"] == "dropped")
    assert {e["email"] for e in dropped} == {"gone@example.org", "nonews@example.org"}
    assert all(e["reason"] == "Unsubscribed Address" and e["campaign"] == "c7" and e["category"] == ["weekly"]
               for e in dropped)
    assert mailbox(server, "gone@example.org", expect=1, timeout=0.5) == []
    kept = mailbox(server, "kept@example.org")[0]
    # RFC 8058 one-click unsubscribe for the group's mail.
    assert kept["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = kept["headers"]["List-Unsubscribe"].strip("<>")
    assert httpx.get(url).status_code == 200  # a GET only shows the button
    assert httpx.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    members = json.loads(sg.client.asm.groups._(group["id"]).suppressions.get().body)
    assert sorted(members) == ["kept@example.org", "nonews@example.org"]
    assert collected(events, lambda e: e["event"] == "group_unsubscribe" and e["email"] == "kept@example.org")
    assert sg.client.asm.suppressions._("global")._("gone@example.org").delete().status_code == 204
    assert json.loads(sg.client.suppression.unsubscribes.get().body) == []


def test_signed_event_webhook_verifies_with_the_sdk_helper(server: OpenlineServer, sg: SendGridAPIClient,
                                                           events: RawReceiver) -> None:
    signed = json.loads(sg.client.user.webhooks.event.settings.signed.patch(request_body={"enabled": True}).body)
    public_key = signed["public_key"]
    assert public_key and json.loads(sg.client.user.webhooks.event.settings.signed.get().body) == signed
    response = sg.send(Mail(from_email="a@example.com", to_emails="signed@example.org", subject="sig",
                            plain_text_content="x"))
    message_id = response.headers["X-Message-Id"]
    delivered = collected(events, lambda e: e["event"] == "delivered" and e["email"] == "signed@example.org")
    assert delivered and delivered[0]["sg_message_id"].startswith(message_id)
    assert {"sg_event_id", "timestamp", "smtp-id"} <= set(delivered[0])
    verifier = EventWebhook()
    key = verifier.convert_public_key_to_ecdsa(public_key)
    checked = 0
    for headers, body in events.received_bodies():  # type: ignore[attr-defined]
        signature = headers.get(EventWebhookHeader.SIGNATURE)
        timestamp = headers.get(EventWebhookHeader.TIMESTAMP)
        if signature is None:
            continue
        assert verifier.verify_signature(body.decode(), signature, timestamp, key)
        assert not verifier.verify_signature(body.decode().replace("signed", "forged"), signature, timestamp, key)
        checked += 1
    assert checked >= 1
    sg.client.user.webhooks.event.settings.signed.patch(request_body={"enabled": False})


def test_open_and_click_tracking(server: OpenlineServer, sg: SendGridAPIClient, events: RawReceiver) -> None:
    body = {"personalizations": [{"to": [{"email": "reader@example.org"}]}], "from": {"email": "a@example.com"},
            "subject": "track", "content": [{"type": "text/html",
                                              "value": '<html><body><a href="https://example.com/offer?x=1&amp;y=2">go</a></body></html>'}],
            "tracking_settings": {"click_tracking": {"enable": True}, "open_tracking": {"enable": True}}}
    assert sg.client.mail.send.post(request_body=body).status_code == 202
    html = mailbox(server, "reader@example.org")[0]["html"]
    pixel = re.search(r'<img src="([^"]+)"', html).group(1)  # type: ignore[union-attr]
    link = re.search(r'<a href="([^"]+)"', html).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
    assert pixel.startswith(server.url) and link.startswith(server.url)
    image = httpx.get(pixel)
    assert image.status_code == 200 and image.headers["content-type"] == "image/gif"
    redirect = httpx.get(link)
    assert redirect.status_code == 302 and redirect.headers["location"] == "https://example.com/offer?x=1&y=2"
    assert httpx.get(link[:-3] + "AAA").status_code == 404  # a forged token redirects nowhere
    assert collected(events, lambda e: e["event"] == "open" and e["email"] == "reader@example.org")
    clicks = collected(events, lambda e: e["event"] == "click")
    assert clicks[0]["url"] == "https://example.com/offer?x=1&y=2"


def test_scheduled_batch_can_be_cancelled(server: OpenlineServer, sg: SendGridAPIClient) -> None:
    batch_id = json.loads(sg.client.mail.batch.post().body)["batch_id"]
    send_at = int(time.time()) + 2
    for address in ("sched-cancel@example.org",):
        mail = {"personalizations": [{"to": [{"email": address}]}], "from": {"email": "a@example.com"},
                "subject": "later", "content": [{"type": "text/plain", "value": "x"}], "send_at": send_at,
                "batch_id": batch_id}
        assert sg.client.mail.send.post(request_body=mail).status_code == 202
    answer = sg.client.user.scheduled_sends.post(request_body={"batch_id": batch_id, "status": "cancel"})
    assert json.loads(answer.body) == {"batch_id": batch_id, "status": "cancel"}
    assert {"batch_id": batch_id, "status": "cancel"} in json.loads(sg.client.user.scheduled_sends.get().body)
    time.sleep(3)
    assert mailbox(server, "sched-cancel@example.org", expect=1, timeout=1) == []
    with pytest.raises(BadRequestsError):
        sg.client.mail.send.post(request_body={**mail, "batch_id": "nope"})


def test_paused_batch_sends_after_resume(server: OpenlineServer, sg: SendGridAPIClient) -> None:
    batch_id = json.loads(sg.client.mail.batch.post().body)["batch_id"]
    mail = {"personalizations": [{"to": [{"email": "sched-pause@example.org"}]}], "from": {"email": "a@example.com"},
            "subject": "paused", "content": [{"type": "text/plain", "value": "x"}], "send_at": int(time.time()) + 1,
            "batch_id": batch_id}
    sg.client.user.scheduled_sends.post(request_body={"batch_id": batch_id, "status": "pause"})
    assert sg.client.mail.send.post(request_body=mail).status_code == 202
    time.sleep(2)
    assert mailbox(server, "sched-pause@example.org", expect=1, timeout=0.5) == []
    assert sg.client.user.scheduled_sends._(batch_id).delete().status_code == 204
    # The paused job looks again every 5 s; the resumed batch then goes out.
    assert mailbox(server, "sched-pause@example.org", expect=1, timeout=20)[0]["subject"] == "paused"
