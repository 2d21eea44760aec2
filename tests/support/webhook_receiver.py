"""A real HTTP server that plays the customer's app: records webhooks, answers as scripted."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator


@dataclass
class Received:
    method: str
    path: str
    url: str
    headers: dict[str, str]
    params: list[tuple[str, str]]
    signature_valid: bool

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.params if k == name), None)

    @property
    def form(self) -> dict[str, str]:
        return dict(self.params)


Reply = tuple[int, str, bytes]  # status, content type, body


@dataclass
class WebhookReceiver:
    auth_token: str
    routes: dict[str, Callable[[Received], Reply]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                url = f"http://127.0.0.1:{receiver.port}{self.path}"
                params = parse_qsl(raw, keep_blank_values=True) if self.command == "POST" else []
                validator = RequestValidator(receiver.auth_token)
                signature = self.headers.get("X-Twilio-Signature", "")
                if self.command == "POST":
                    multi: dict[str, Any] = {}
                    for key, value in params:
                        multi.setdefault(key, []).append(value)
                    valid = validator.validate(url, {k: v if len(v) > 1 else v[0] for k, v in multi.items()},
                                               signature)
                else:
                    valid = validator.validate(url, {}, signature)
                    params = parse_qsl(parts.query, keep_blank_values=True)
                item = Received(self.command, parts.path, url, dict(self.headers.items()), params, valid)
                receiver.received.append(item)
                route = receiver.routes.get(parts.path)
                status, content_type, body = route(item) if route else (200, "text/xml", b"<Response/>")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _handle

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def on(self, path: str, reply: Callable[[Received], Reply] | Reply) -> None:
        self.routes[path] = reply if callable(reply) else (lambda _r, reply=reply: reply)  # type: ignore[misc]

    def wait(self, path: str, count: int = 1, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hits = [r for r in self.received if r.path == path]
            if len(hits) >= count:
                return hits
            time.sleep(0.02)
        raise AssertionError(f"{path}: {len([r for r in self.received if r.path == path])} of {count} requests")


def twiml(body: str) -> Reply:
    return 200, "text/xml", body.encode()
