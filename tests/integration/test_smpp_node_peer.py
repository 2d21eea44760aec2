"""Openline against an SMSC it did not write: node-smpp (tests/peers/smsc_node.js)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.integration.test_smpp_pipeline import NUMBER, bound, carrier_toml, sdk, start, wait_for
from tests.support.node_smsc import NodeSmsc, ensure_node_peer
from tests.support.webhook_receiver import WebhookReceiver

T = TypeVar("T")


class PeerThread:
    """node-smpp driven from its own event loop, so the test itself can stay synchronous."""

    def __init__(self, **kwargs: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.peer: NodeSmsc = self.call(NodeSmsc(ensure_node_peer(), **kwargs).start())

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.call(self.peer.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def node() -> Iterator[PeerThread]:
    peer = PeerThread(auto_receipt="DELIVRD")
    yield peer
    peer.stop()


def test_node_smpp_end_to_end(tmp_path: Path, node: PeerThread) -> None:
    config = carrier_toml("node", node.peer.port, [NUMBER]) + '[[routes]]\nmatch = "+"\ncarriers = ["node"]\n'
    server = start(tmp_path, config)
    receiver = WebhookReceiver(server.auth_token).start()  # type: ignore[attr-defined]
    try:
        client = sdk(server)
        wait_for(lambda: bound(server, "node"))
        client.incoming_phone_numbers.create(phone_number=NUMBER, sms_url=receiver.url("/mo"))
        plain = client.messages.create(body="Hello node-smpp @ £5", from_=NUMBER, to="+447700900140")
        body = "Привет из Openline! 😀 " * 7  # UCS-2, three parts
        long = client.messages.create(body=body, from_=NUMBER, to="+447700900141")
        for sid in (plain.sid, long.sid):
            wait_for(lambda sid=sid: client.messages(sid).fetch().status == "delivered", timeout=15)
        submits = node.call(node.peer.wait_event("submit_sm", 4))
        assert submits[0]["destination_addr"] == "447700900140"
        assert [s["data_coding"] for s in submits[1:]] == [8, 8, 8]
        assert all(s["esm_class"] & 0x40 for s in submits[1:])
        # node-smpp sends an MO; it reaches the number's webhook, signed.
        node.call(node.peer.command("mo", source="447700900142", destination=NUMBER.lstrip("+"),
                                    text="hi from node-smpp"))
        (mo,) = receiver.wait("/mo", timeout=15)
        assert mo.signature_valid and mo.get("Body") == "hi from node-smpp"
        assert mo.get("From") == "+447700900142" and mo.get("To") == NUMBER
    finally:
        receiver.stop()
        server.stop()
