"""Mail Send through the official `sendgrid` SDK against a real `openline serve` (sandbox mailboxes)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from python_http_client.exceptions import BadRequestsError, ForbiddenError, HTTPError, UnauthorizedError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Attachment, Content, Mail, Personalization, To

from tests.support.sendgrid import create_key, mailbox, sdk
from tests.support.server import OpenlineServer


@pytest.fixture(scope="module")
def key(server: OpenlineServer) -> str:
    return create_key(server)


@pytest.fixture
def sg(server: OpenlineServer, key: str) -> Iterator[SendGridAPIClient]:
    yield sdk(server, key)


def test_plain_text_lands_in_the_sandbox_mailbox(server: OpenlineServer, sg: SendGridAPIClient) -> None:
    mail = Mail(from_email="alerts@example.com", to_emails="Plain.One@example.org", subject="Plain",
                plain_text_content="just text")
    response = sg.send(mail)
    assert response.status_code == 202
    message_id = response.headers["X-Message-Id"]
    [item] = mailbox(server, "plain.one@example.org")
    assert item["subject"] == "Plain" and item["text"].strip() == "just text" and item["html"] is None
    assert item["to"] == ["Plain.One@example.org"] and item["from"] == "alerts@example.com"
    assert item["headers"]["X-Message-Id"] == message_id
    assert set(item) >= {"id", "from", "to", "cc", "subject", "text", "html", "headers", "attachments", "date"}
    raw = httpx.get(f"{server.url}/sandbox/v1/Mailboxes/plain.one@example.org/Messages/{item['id']}/raw",
                    auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("message/rfc822")
    assert b"\r\nSubject: Plain\r\n" in raw.content and b"just text" in raw.content


def test_html_with_attachments_cc_bcc_and_reply_to(server: OpenlineServer, sg: SendGridAPIClient) -> None:
    body = {
        "personalizations": [{"to": [{"email": "html@example.org", "name": "Html Person"}],
                              "cc": [{"email": "copy@example.org"}], "bcc": [{"email": "hidden@example.org"}],
                              "headers": {"X-Campaign": "spring"}, "custom_args": {"user": "42"}}],
        "from": {"email": "news@example.com", "name": "News"},
        "reply_to": {"email": "replies@example.com"},
        "subject": "Spring news",
        "content": [{"type": "text/plain", "value": "plain part"},
                    {"type": "text/html", "value": "<p>html part <img src=\"cid:logo\"></p>"}],
        "attachments": [
            {"content": base64.b64encode(b"%PDF-1.4 report").decode(), "filename": "report.pdf",
             "type": "application/pdf", "disposition": "attachment"},
            {"content": base64.b64encode(b"\x89PNG fake").decode(), "filename": "logo.png", "type": "image/png",
             "disposition": "inline", "content_id": "logo"},
        ],
        "categories": ["news"],
    }
    assert sg.client.mail.send.post(request_body=body).status_code == 202
    [item] = mailbox(server, "html@example.org")
    assert item["text"].strip() == "plain part" and "html part" in item["html"]
    assert item["cc"] == ["copy@example.org"] and item["headers"]["X-Campaign"] == "spring"
    assert "Bcc" not in item["headers"] and item["headers"]["Reply-To"] == "replies@example.com"
    files = {a["filename"]: a for a in item["attachments"]}
    assert files["report.pdf"]["content_type"] == "application/pdf" and files["report.pdf"]["size"] == 15
    assert files["logo.png"]["content_id"] == "logo"
    # Every recipient, bcc included, received the same message.
    assert mailbox(server, "copy@example.org")[0]["subject"] == "Spring news"
    assert mailbox(server, "hidden@example.org")[0]["subject"] == "Spring news"


def test_sdk_mail_helper_with_attachment(server: OpenlineServer, sg: SendGridAPIClient) -> None:
    mail = Mail(from_email="a@example.com", to_emails=To("helper@example.org"), subject="Helper",
                html_content="<b>bold</b>")
    mail.attachment = Attachment(file_content=base64.b64encode(b"col1,col2\n1,2\n").decode(), file_name="data.csv",
                                 file_type="text/csv", disposition="attachment")
    assert sg.send(mail).status_code == 202
    [item] = mailbox(server, "helper@example.org")
    assert item["html"].strip() == "<b>bold</b>"
    assert [a["filename"] for a in item["attachments"]] == ["data.csv"]


def test_bulk_of_1000_personalizations_with_substitutions(server: OpenlineServer, sg: SendGridAPIClient) -> None:
    mail = Mail(from_email="bulk@example.com", subject="Hello -name-")
    mail.add_content(Content("text/plain", "Dear -name-, your code is -code-."))
    for i in range(1000):
        p = Personalization()
        p.add_to(To(f"bulk{i}@example.net"))
        p.add_substitution(__import__("sendgrid.helpers.mail", fromlist=["Substitution"]).Substitution("-name-", f"N{i}"))
        p.add_substitution(__import__("sendgrid.helpers.mail", fromlist=["Substitution"]).Substitution("-code-", str(i)))
        mail.add_personalization(p)
    assert sg.send(mail).status_code == 202
    for i in (0, 517, 999):
        [item] = mailbox(server, f"bulk{i}@example.net", timeout=60)
        assert item["subject"] == f"Hello N{i}" and item["text"].strip() == f"Dear N{i}, your code is {i}."


def test_sandbox_mode_validates_without_sending(server: OpenlineServer, sg: SendGridAPIClient) -> None:
    body = {"personalizations": [{"to": [{"email": "sandboxmode@example.org"}]}], "from": {"email": "a@example.com"},
            "subject": "s", "content": [{"type": "text/plain", "value": "x"}],
            "mail_settings": {"sandbox_mode": {"enable": True}}}
    response = sg.client.mail.send.post(request_body=body)
    assert response.status_code == 200 and "X-Message-Id" not in response.headers
    with pytest.raises(BadRequestsError):  # sandbox mode still validates
        sg.client.mail.send.post(request_body={**body, "from": {"email": "not-an-address"}})
    assert mailbox(server, "sandboxmode@example.org", expect=1, timeout=1.0) == []


@pytest.mark.parametrize(("body", "field", "fragment"), [
    ({"from": {"email": "a@example.com"}, "subject": "s", "content": [{"type": "text/plain", "value": "x"}]},
     "personalizations", "personalizations field is required"),
    ({"personalizations": [{"to": [{"email": "nope"}]}], "from": {"email": "a@example.com"}, "subject": "s",
      "content": [{"type": "text/plain", "value": "x"}]}, "personalizations.0.to.0.email", "valid address"),
    ({"personalizations": [{"to": [{"email": "b@example.org"}]}], "subject": "s",
      "content": [{"type": "text/plain", "value": "x"}]}, "from.email", "from object must be provided"),
    ({"personalizations": [{"to": [{"email": "b@example.org"}]}], "from": {"email": "a@example.com"},
      "content": [{"type": "text/plain", "value": "x"}]}, "subject", "subject is required"),
    ({"personalizations": [{"to": [{"email": "b@example.org"}]}], "from": {"email": "a@example.com"},
      "subject": "s", "content": [{"type": "text/html", "value": "<p>x</p>"}, {"type": "text/plain", "value": "x"}]},
     "content", "text/plain content must be first"),
    ({"personalizations": [{"to": [{"email": "b@example.org"}]}], "from": {"email": "a@example.com"},
      "subject": "s", "content": [{"type": "text/plain", "value": "x"}],
      "attachments": [{"content": "***", "filename": "a.txt"}]}, "attachments.0.content", "base64"),
    ({"personalizations": [{"to": [{"email": "b@example.org"}], "cc": [{"email": "B@example.org"}]}],
      "from": {"email": "a@example.com"}, "subject": "s", "content": [{"type": "text/plain", "value": "x"}]},
     "personalizations.0", "unique between to, cc, and bcc"),
    ({"personalizations": [{"to": [{"email": f"r{i}@example.org"}]} for i in range(1001)],
      "from": {"email": "a@example.com"}, "subject": "s", "content": [{"type": "text/plain", "value": "x"}]},
     "personalizations", "1000"),
    ({"personalizations": [{"to": [{"email": "b@example.org"}]}], "from": {"email": "a@example.com"},
      "subject": "s", "content": [{"type": "text/plain", "value": "x"}], "send_at": 99999999999},
     "send_at", "72 hours"),
    ({"personalizations": [{"to": [{"email": "b@example.org"}]}], "from": {"email": "a@example.com"},
      "subject": "s", "content": [{"type": "text/plain", "value": "x"}], "template_id": "d-00000000000000000000000000000000"},
     "template_id", "template_id"),
])
def test_validation_errors_in_sendgrid_shape(sg: SendGridAPIClient, body: dict, field: str, fragment: str) -> None:
    with pytest.raises(HTTPError) as caught:
        sg.client.mail.send.post(request_body=body)
    assert caught.value.status_code == 400
    payload = json.loads(caught.value.body)
    assert set(payload) == {"errors"} and len(payload["errors"]) == 1
    error = payload["errors"][0]
    assert set(error) == {"message", "field", "help"}
    assert error["field"] == field and fragment in error["message"]


def test_auth_and_scopes(server: OpenlineServer, key: str) -> None:
    with pytest.raises(UnauthorizedError) as caught:
        sdk(server, "SG.aaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb").client.mail.send.post(
            request_body={})
    assert json.loads(caught.value.body)["errors"][0]["message"]
    read_only = create_key(server, "templates only", ["templates.read"])
    with pytest.raises(ForbiddenError) as caught:
        sdk(server, read_only).client.mail.send.post(request_body={
            "personalizations": [{"to": [{"email": "b@example.org"}]}], "from": {"email": "a@example.com"},
            "subject": "s", "content": [{"type": "text/plain", "value": "x"}]})
    assert json.loads(caught.value.body) == {"errors": [{"message": "access forbidden", "field": None, "help": None}]}
    assert sdk(server, read_only).client.templates.get(query_params={"generations": "dynamic"}).status_code == 200
    # Keys: listed by id and name, never by secret; the secret is not stored in clear.
    listing = sdk(server, key).client.api_keys.get()
    names = {k["name"] for k in json.loads(listing.body)["result"]}
    assert {"test", "templates only"} <= names and key.split(".")[2] not in listing.body.decode()
    key_id = read_only.split(".")[1]
    assert sdk(server, key).client.api_keys._(key_id).delete().status_code == 204
    with pytest.raises(UnauthorizedError):
        sdk(server, read_only).client.templates.get(query_params={"generations": "dynamic"})
    bad = httpx.post(f"{server.url}/v3/api_keys", json={"name": "bad", "scopes": ["mail.fly"]},
                     auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "scopes"
    wrong = httpx.post(f"{server.url}/v3/api_keys", json={"name": "x"}, auth=(server.account_sid, "0" * 32))  # type: ignore[attr-defined]
    assert wrong.status_code == 401


def test_product_routing_host_and_prefix(server: OpenlineServer, key: str) -> None:
    body = {"personalizations": [{"to": [{"email": "routing@example.org"}]}], "from": {"email": "a@example.com"},
            "subject": "routed", "content": [{"type": "text/plain", "value": "x"}]}
    headers = {"Authorization": f"Bearer {key}"}
    by_host = httpx.post(f"{server.url}/v3/mail/send", json=body, headers={**headers, "Host": "api.sendgrid.com"})
    by_prefix = httpx.post(f"{server.url}/sendgrid/v3/mail/send", json=body, headers=headers)
    assert by_host.status_code == 202 and by_prefix.status_code == 202
    assert len(mailbox(server, "routing@example.org", expect=2)) == 2
    missing = httpx.get(f"{server.url}/v3/nothing/here", headers=headers)
    assert missing.status_code == 404 and missing.json()["errors"][0]["message"] == "resource not found"
    bad_json = httpx.post(f"{server.url}/v3/mail/send", content=b"{nope", headers=headers)
    assert bad_json.status_code == 400 and "errors" in bad_json.json()


def test_mailboxes_show_only_the_callers_mail(server: OpenlineServer, sg: SendGridAPIClient) -> None:
    other = httpx.post(f"{server.url}/2010-04-01/Accounts.json", data={"FriendlyName": "other"},
                       auth=(server.account_sid, server.auth_token)).json()  # type: ignore[attr-defined]
    sg.send(Mail(from_email="a@example.com", to_emails="shared@example.org", subject="mine", plain_text_content="x"))
    assert len(mailbox(server, "shared@example.org")) == 1
    theirs = httpx.get(f"{server.url}/sandbox/v1/Mailboxes/shared@example.org/Messages",
                       auth=(other["sid"], other["auth_token"]))
    assert theirs.status_code == 200 and theirs.json()["messages"] == []
    anonymous = httpx.get(f"{server.url}/sandbox/v1/Mailboxes/shared@example.org/Messages")
    assert anonymous.status_code == 401
