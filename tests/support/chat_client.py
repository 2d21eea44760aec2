"""A web chat client for tests: the `websockets` library (a real RFC 6455 client) speaking the
Openline chat protocol, and tokens minted with the official twilio SDK."""

from __future__ import annotations

import json
import time
from typing import Any

from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import ChatGrant
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


def mint(account_sid: str, key_sid: str, secret: str, identity: str | None, service_sid: str | None,
         ttl: int = 3600, **kwargs: Any) -> str:
    """A token exactly as a site's backend mints one with the SDK."""
    token = AccessToken(account_sid, key_sid, secret, identity=identity, ttl=ttl, **kwargs)
    token.add_grant(ChatGrant(service_sid=service_sid))
    return str(token.to_jwt())


def socket_url(base_url: str) -> str:
    return base_url.replace("http://", "ws://", 1) + "/conversations/v1/Chat/ws"


class ChatClient:
    def __init__(self, base_url: str) -> None:
        # Entered as a context manager: the form every websockets version accepts without a warning.
        self.ws: ClientConnection = connect(socket_url(base_url), open_timeout=10, max_size=2**21).__enter__()
        self.pending: list[dict[str, Any]] = []  # frames read while waiting for another one
        self._next = 0

    def __enter__(self) -> ChatClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.ws.close()

    def send_raw(self, text: str | bytes) -> None:
        self.ws.send(text)

    def request(self, frame: dict[str, Any]) -> str:
        self._next += 1
        frame = {**frame, "id": f"r{self._next}"}
        self.ws.send(json.dumps(frame))
        return str(frame["id"])

    def _read(self, timeout: float) -> dict[str, Any]:
        return json.loads(self.ws.recv(timeout=timeout))  # type: ignore[no-any-return]

    def wait(self, predicate: Any, timeout: float = 10.0) -> dict[str, Any]:
        """The first frame (already read or next) that matches."""
        for i, frame in enumerate(self.pending):
            if predicate(frame):
                return self.pending.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching frame; unmatched: {self.pending}")
            try:
                frame = self._read(left)
            except TimeoutError:
                continue
            if predicate(frame):
                return frame
            self.pending.append(frame)

    def answer(self, request_id: str, timeout: float = 10.0) -> dict[str, Any]:
        return self.wait(lambda f: f.get("id") == request_id, timeout)

    def call(self, frame: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        return self.answer(self.request(frame), timeout)

    def event(self, kind: str, timeout: float = 10.0, **match: Any) -> dict[str, Any]:
        return self.wait(lambda f: f.get("type") == kind and "id" not in f
                         and all(f.get(k) == v for k, v in match.items()), timeout)

    def nothing(self, kind: str, seconds: float = 0.5) -> None:
        """No frame of that kind arrives within ``seconds``."""
        with_kind = [f for f in self.pending if f.get("type") == kind]
        assert not with_kind, with_kind
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self._read(left)
            except TimeoutError:
                return
            assert frame.get("type") != kind, frame
            self.pending.append(frame)

    def closed_code(self, timeout: float = 10.0) -> int | None:
        """Read until the server closes; the close code."""
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                self.pending.append(self._read(deadline - time.monotonic()))
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
        raise AssertionError("the server did not close the socket")

    def auth(self, token: str) -> dict[str, Any]:
        return self.call({"type": "auth", "token": token})

    def join(self, conversation: str) -> dict[str, Any]:
        return self.call({"type": "join", "conversation": conversation})
