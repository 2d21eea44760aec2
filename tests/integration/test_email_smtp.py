"""Real SMTP delivery: MX lookup against a DNS stub on loopback, into the npm `smtp-server`
package, with STARTTLS, connection reuse and a DKIM signature that dkimpy verifies against the
key `openline email domains add` published; 4xx deferred and retried, 5xx bounced."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import dkim
import pytest
from sendgrid import SendGridAPIClient

from tests.conftest import new_credentials
from tests.support.dns_stub import DnsStub
from tests.support.sendgrid import RawReceiver, create_key, sdk
from tests.support.server import OpenlineServer
from tests.support.smtp_peer import SmtpSink

pytestmark = pytest.mark.slow


def openline(*args: str) -> str:
    return subprocess.run([sys.executable, "-m", "openline", *args], check=True, capture_output=True,
                          text=True).stdout


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OpenlineServer, SmtpSink, list[dict]]]:
    root = tmp_path_factory.mktemp("smtp")
    sink = SmtpSink(root / "sink")
    stub = DnsStub(mx={"dest.test": "mx.dest.test", "other.test": "mx.dest.test"},
                   a={"mx.dest.test": "127.0.0.1"})
    data = root / "data"
    openline("migrate", "--data-dir", str(data))
    domains = json.loads(openline("email", "domains", "add", "example.com", "--data-dir", str(data), "--json"))
    sid, token = new_credentials()
    server = OpenlineServer(data, env={
        "OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token, "OPENLINE_EMAIL__RESOLVER": stub.address,
        "OPENLINE_EMAIL__SMTP_PORT": str(sink.port), "OPENLINE_EMAIL__RETRY_BASE_SECONDS": "0.5",
        "OPENLINE_EMAIL__DELIVERY_ATTEMPTS": "2"})
    server.start()
    server.account_sid, server.auth_token = sid, token  # type: ignore[attr-defined]
    yield server, sink, domains
    server.stop()
    sink.stop()
    stub.stop()


@pytest.fixture(scope="module")
def sg(setup: tuple[OpenlineServer, SmtpSink, list[dict]]) -> SendGridAPIClient:
    return sdk(setup[0], create_key(setup[0]))


def test_delivered_over_smtp_with_a_dkim_signature_that_verifies(
        setup: tuple[OpenlineServer, SmtpSink, list[dict]], sg: SendGridAPIClient) -> None:
    _, sink, domains = setup
    [domain] = domains
    [dkim_record] = [r for r in domain["records"] if "._domainkey." in r["name"]]
    assert dkim_record["name"] == "openline._domainkey.example.com" and dkim_record["value"].startswith("v=DKIM1")
    assert any(r["value"].startswith("v=spf1") for r in domain["records"])
    body = {"personalizations": [{"to": [{"email": "first@dest.test"}]}, {"to": [{"email": "second@dest.test"}],
                                                                           "cc": [{"email": "third@other.test"}]}],
            "from": {"email": "news@example.com", "name": "News Desk"}, "subject": "Über SMTP",
            "content": [{"type": "text/plain", "value": "Hello over SMTP  \nline two"},
                        {"type": "text/html", "value": "<p>Hello</p>"}]}
    response = sg.client.mail.send.post(request_body=body)
    assert response.status_code == 202
    received = sink.messages(expect=3)
    assert len(received) == 3
    envelopes = [env for env, _ in received]
    assert sorted(r for env in envelopes for r in env["to"]) == ["first@dest.test", "second@dest.test",
                                                                 "third@other.test"]
    assert all(env["from"] == "news@example.com" and env["secure"] for env in envelopes)  # STARTTLS taken
    # One connection carried several transactions (other.test shares the MX host).
    assert max(env["transaction"] for env in envelopes) >= 2
    published = dkim_record["value"].encode()
    for _, raw in received:
        assert raw.startswith(b"DKIM-Signature:")
        assert b"X-Message-Id: " + response.headers["X-Message-Id"].encode() in raw
        assert dkim.verify(raw, dnsfunc=lambda name, timeout=5: published if
                           name == b"openline._domainkey.example.com." else None)
    tampered = received[0][1].replace(b"Hello over SMTP", b"Hello over SMTQ")
    assert not dkim.verify(tampered, dnsfunc=lambda name, timeout=5: published)


def test_deferred_then_bounced_and_rejected(setup: tuple[OpenlineServer, SmtpSink, list[dict]],
                                            sg: SendGridAPIClient, request: pytest.FixtureRequest) -> None:
    _ = setup
    receiver = RawReceiver()
    request.addfinalizer(receiver.stop)
    sg.client.user.webhooks.event.settings.patch(request_body={
        "enabled": True, "url": receiver.url("/ev"), "delivered": True, "deferred": True, "bounce": True,
        "processed": True})
    body = {"personalizations": [{"to": [{"email": "defer-me@dest.test"}]}, {"to": [{"email": "reject-me@dest.test"}]},
                                 {"to": [{"email": "someone@nowhere.test"}]}],
            "from": {"email": "a@example.com"}, "subject": "bad", "content": [{"type": "text/plain", "value": "x"}]}
    assert sg.client.mail.send.post(request_body=body).status_code == 202
    deadline = time.monotonic() + 30
    events: list[dict] = []
    while time.monotonic() < deadline:
        events = [e for _, _, b in list(receiver.received) for e in json.loads(b)]
        if len([e for e in events if e["event"] == "bounce"]) >= 3:
            break
        time.sleep(0.1)
    by = {(e["event"], e["email"]) for e in events}
    assert ("deferred", "defer-me@dest.test") in by and ("bounce", "defer-me@dest.test") in by
    assert ("bounce", "reject-me@dest.test") in by and ("bounce", "someone@nowhere.test") in by
    rejected = next(e for e in events if e["event"] == "bounce" and e["email"] == "reject-me@dest.test")
    assert rejected["reason"].startswith("550") and rejected["status"] == "5.0.0" and rejected["type"] == "bounce"
    # Bounced addresses are suppressed from then on.
    bounces = json.loads(sg.client.suppression.bounces.get().body)
    assert {"reject-me@dest.test", "someone@nowhere.test"} <= {b["email"] for b in bounces}


def test_bulk_over_pipelined_reused_sessions_delivers_each_recipient_once(
        setup: tuple[OpenlineServer, SmtpSink, list[dict]], sg: SendGridAPIClient) -> None:
    _, sink, _ = setup
    before = len(sink.messages(expect=0, timeout=0))
    # 200 personalizations over two recipient domains; every tenth also copies the other domain,
    # so one message travels in two delivery jobs (one per route), each with only its recipients.
    personalizations = []
    for i in range(200):
        domain, other = ("dest.test", "other.test") if i % 2 else ("other.test", "dest.test")
        p: dict = {"to": [{"email": f"bulk{i}@{domain}"}], "substitutions": {"-n-": str(i)}}
        if i % 10 == 0:
            p["cc"] = [{"email": f"copy{i}@{other}"}]
        personalizations.append(p)
    body = {"personalizations": personalizations, "from": {"email": "bulk@example.com"}, "subject": "Bulk -n-",
            "content": [{"type": "text/plain", "value": "Hello -n-\n.a line with a leading dot"}]}
    assert sg.client.mail.send.post(request_body=body).status_code == 202
    received = sink.messages(expect=before + 220, timeout=60)[before:]
    rcpts = sorted(r for env, _ in received for r in env["to"])
    expected = sorted([f"bulk{i}@{'dest.test' if i % 2 else 'other.test'}" for i in range(200)]
                      + [f"copy{i}@{'other.test' if i % 2 else 'dest.test'}" for i in range(0, 200, 10)])
    assert rcpts == expected  # each exactly once
    for env, raw in received:
        n = env["to"][0].split("@")[0].removeprefix("bulk").removeprefix("copy")
        assert f"Subject: Bulk {n}\r\n".encode() in raw
        assert b"\r\nHello " + n.encode() + b"\r\n.a line with a leading dot\r\n" in raw  # dot-stuffing undone
    assert max(env["transaction"] for env, _ in received) >= 10  # sessions carried many transactions
