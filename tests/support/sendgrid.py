"""Helpers for driving Openline's SendGrid API with the official `sendgrid` SDK."""

from __future__ import annotations

import time
from typing import Any

import httpx
from sendgrid import SendGridAPIClient

from tests.support.server import OpenlineServer


def create_key(server: OpenlineServer, name: str = "test", scopes: list[str] | None = None) -> str:
    """The first key is made with the account's own credentials (basic auth)."""
    body: dict[str, Any] = {"name": name}
    if scopes is not None:
        body["scopes"] = scopes
    answer = httpx.post(f"{server.url}/v3/api_keys", json=body,
                        auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert answer.status_code == 201, answer.text
    return str(answer.json()["api_key"])


def sdk(server: OpenlineServer, key: str) -> SendGridAPIClient:
    return SendGridAPIClient(api_key=key, host=server.url)


def mailbox(server: OpenlineServer, address: str, *, expect: int = 1, timeout: float = 15.0,
            auth: tuple[str, str] | None = None) -> list[dict[str, Any]]:
    """Poll the sandbox mailbox until it holds at least ``expect`` messages (newest first)."""
    auth = auth or (server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(f"{server.url}/sandbox/v1/Mailboxes/{address}/Messages", auth=auth,
                           params={"PageSize": 1000})
        assert answer.status_code == 200, answer.text
        messages: list[dict[str, Any]] = answer.json()["messages"]
        if len(messages) >= expect or time.monotonic() > deadline:
            return messages
        time.sleep(0.05)


class RawReceiver:
    """An HTTP endpoint that records every request's headers and exact body bytes."""

    def __init__(self, status: int = 200) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.status = status
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.received.append((self.path, dict(self.headers.items()), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait(self, path: str, count: int = 1, timeout: float = 15.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while True:
            hits = [(h, b) for p, h, b in self.received if p == path]
            if len(hits) >= count or time.monotonic() > deadline:
                assert len(hits) >= count, f"{path}: {len(hits)} of {count} requests"
                return hits
            time.sleep(0.05)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
