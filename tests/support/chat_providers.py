"""A fake of the chat platforms' send APIs on loopback: records every request, answers as each
platform documents (WhatsApp Cloud API, Messenger Send API, Telegram Bot API, LINE Messaging API)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000")


@dataclass
class ProviderRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class FakeProviders:
    requests: list[ProviderRequest] = field(default_factory=list)
    # Recipient id -> (HTTP status, JSON answer) to refuse a send with.
    refusals: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    # Recipient id -> seconds to wait before answering (a platform slower than its own webhooks).
    delays: dict[str, float] = field(default_factory=dict)
    port: int = 0

    def start(self) -> FakeProviders:
        fake = self
        counter = itertools.count(1)

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, payload: Any, content_type: str = "application/json") -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                fake.requests.append(ProviderRequest("GET", path, {}, {k.lower(): v for k, v in self.headers.items()},
                                                     None))
                authorized = self.headers.get("Authorization", "").startswith("Bearer ")
                if path.startswith("/media/"):  # media our messages link to
                    self._answer(200, PNG, "image/png")
                elif path.startswith("/v21.0/") and path.rsplit("/", 1)[1].isdigit() and authorized:
                    media_id = path.rsplit("/", 1)[1]  # WhatsApp: where a received medium is
                    self._answer(200, {"messaging_product": "whatsapp", "url": f"{fake.url}/wa-media/{media_id}",
                                       "mime_type": "image/png", "sha256": "x", "file_size": len(PNG),
                                       "id": media_id})
                elif (path.startswith("/wa-media/") and authorized) or path.startswith("/file/bot"):
                    self._answer(200, PNG, "image/png")
                elif path.startswith("/v2/bot/message/") and path.endswith("/content") and authorized:
                    self._answer(200, PNG, "image/png")  # LINE's data API
                else:
                    self._answer(404 if authorized else 401, {"error": "not found"})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                parts = urlsplit(self.path)
                body = json.loads(raw) if raw else None
                request = ProviderRequest("POST", parts.path, dict(parse_qsl(parts.query)),
                                          {k.lower(): v for k, v in self.headers.items()}, body)
                fake.requests.append(request)
                n = next(counter)
                recipient = str((body or {}).get("to") or ((body or {}).get("recipient") or {}).get("id")
                                or (body or {}).get("chat_id") or "")
                time.sleep(fake.delays.get(recipient, 0))
                if recipient in fake.refusals:
                    self._answer(*fake.refusals[recipient])
                elif parts.path.endswith("/messages") and "/me/" not in parts.path and "/v2/" not in parts.path:
                    self._answer(200, {"messaging_product": "whatsapp",
                                       "contacts": [{"input": recipient, "wa_id": recipient}],
                                       "messages": [{"id": f"wamid.FAKE{n}"}]})
                elif parts.path.endswith("/me/messages"):
                    self._answer(200, {"recipient_id": recipient, "message_id": f"m_FAKE{n}"})
                elif parts.path.startswith("/bot") and parts.path.endswith("/getFile"):
                    self._answer(200, {"ok": True, "result": {"file_id": body["file_id"], "file_unique_id": "u",
                                                              "file_size": len(PNG), "file_path": "photos/file_1.png"}})
                elif parts.path.startswith("/bot"):
                    self._answer(200, {"ok": True, "result": {"message_id": n, "date": 1441645532,
                                                              "chat": {"id": int(recipient), "type": "private"}}})
                elif parts.path == "/v2/bot/message/reply" and (body or {}).get("replyToken") == "expired":
                    self._answer(400, {"message": "Invalid reply token"})
                elif parts.path in ("/v2/bot/message/push", "/v2/bot/message/reply"):
                    self._answer(200, {"sentMessages": [{"id": f"4612309668420{n}", "quoteToken": "q"}]})
                else:
                    self._answer(404, {"message": "Not found"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def posts(self) -> int:
        """POSTs so far: the last answer's message id ends with this number."""
        return len([r for r in self.requests if r.method == "POST"])

    def to(self, path_part: str) -> list[ProviderRequest]:
        return [r for r in self.requests if path_part in r.path]
