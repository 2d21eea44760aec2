"""Inbound parse: mail sent with Debian's `swaks` to Openline's SMTP listener reaches the parse
webhook as SendGrid's multipart payload."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import default
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sendgrid import SendGridAPIClient

from tests.conftest import new_credentials
from tests.support.sendgrid import create_key, sdk
from tests.support.server import OpenlineServer, free_port

pytestmark = pytest.mark.slow


class MultipartReceiver:
    """Records each POST's multipart form as {name: value or (filename, bytes, type)}."""

    def __init__(self) -> None:
        self.forms: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                message = BytesParser(policy=default).parsebytes(
                    f"Content-Type: {self.headers['Content-Type']}\r\n\r\n".encode() + body)
                form: dict[str, Any] = {"_content_type": self.headers["Content-Type"]}
                for part in message.iter_parts():
                    name = part.get_param("name", header="content-disposition")
                    payload = part.get_payload(decode=True)
                    filename = part.get_filename()
                    form[name] = (filename, payload, part.get_content_type()) if filename else payload.decode()
                receiver.forms.append(form)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/parse"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.forms) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.forms


@pytest.fixture(scope="module")
def inbound(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OpenlineServer, int]]:
    if shutil.which("swaks") is None:
        pytest.fail("swaks is required (apt-get install swaks; scripts/test installs it)")
    sid, token = new_credentials()
    port = free_port()
    server = OpenlineServer(tmp_path_factory.mktemp("inbound") / "data", env={
        "OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token, "OPENLINE_EMAIL__INBOUND__ENABLED": "true",
        "OPENLINE_EMAIL__INBOUND__PORT": str(port), "OPENLINE_EMAIL__INBOUND__MAX_MESSAGE_BYTES": "200000"})
    server.start()
    server.account_sid, server.auth_token = sid, token  # type: ignore[attr-defined]
    yield server, port
    server.stop()


def swaks(port: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(port), "--helo", "client.test",
                           *args], capture_output=True, text=True, timeout=60)


def test_swaks_mail_reaches_the_parse_webhook(inbound: tuple[OpenlineServer, int], tmp_path: Any,
                                              request: pytest.FixtureRequest) -> None:
    server, port = inbound
    sg: SendGridAPIClient = sdk(server, create_key(server))
    receiver = MultipartReceiver()
    request.addfinalizer(receiver.stop)
    answer = sg.client.user.webhooks.parse.settings.post(request_body={"hostname": "in.example.com",
                                                                       "url": receiver.url()})
    assert answer.status_code == 201
    attachment = tmp_path / "notes.txt"
    attachment.write_text("attached notes\n")
    result = swaks(port, "--from", "sender@outside.test", "--to", "support@in.example.com",
                   "--header", "Subject: Help wanted", "--body", "Plain body text",
                   "--attach-type", "text/plain", "--attach", f"@{attachment}")
    assert result.returncode == 0, result.stdout + result.stderr
    [form] = receiver.wait(1)
    assert form["_content_type"].startswith("multipart/form-data")
    assert form["subject"] == "Help wanted" and form["from"] == "sender@outside.test"
    assert form["to"] == "support@in.example.com"
    assert json.loads(form["envelope"]) == {"to": ["support@in.example.com"], "from": "sender@outside.test"}
    assert "Plain body text" in form["text"] and "Subject: Help wanted" in form["headers"]
    assert form["attachments"] == "1"
    info = json.loads(form["attachment-info"])
    assert info["attachment1"]["filename"] == "notes.txt" and info["attachment1"]["type"] == "text/plain"
    assert form["attachment1"][1] == b"attached notes\n"
    assert set(json.loads(form["charsets"])) >= {"to", "from", "subject", "text"}
    assert form["SPF"] and form["dkim"] and form["sender_ip"] == "127.0.0.1"


def test_unknown_domains_and_oversize_mail_are_refused(inbound: tuple[OpenlineServer, int], tmp_path: Any) -> None:
    _, port = inbound
    body = tmp_path / "big.txt"
    body.write_text(("x" * 70 + "\n") * 5000)
    relay = swaks(port, "--from", "a@outside.test", "--to", "someone@elsewhere.test", "--body", "x")
    assert relay.returncode != 0 and "550 5.7.1" in relay.stdout
    big = swaks(port, "--from", "a@outside.test", "--to", "support@in.example.com", "--body", f"@{body}")
    assert big.returncode != 0 and "552" in big.stdout
