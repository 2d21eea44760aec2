"""The chat socket's bounds that a network test cannot reach reliably: a reader too slow for
the pushes is disconnected (4429) instead of making the server buffer without limit."""

from __future__ import annotations

import asyncio
from typing import Any

from openline.api.chat_socket import CLOSE_SLOW_READER, ChatSession
from openline.core import chat_protocol as proto


class StuckSocket:
    """A browser that never reads: every send blocks."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.closed_with: int | None = None
        self.gate = asyncio.Event()

    async def send_text(self, text: str) -> None:
        await self.gate.wait()
        self.sent.append(text)

    async def close(self, code: int = 1000) -> None:
        self.closed_with = code

    async def receive(self) -> dict[str, Any]:
        await asyncio.sleep(3600)
        return {"type": "websocket.disconnect"}


async def test_a_slow_reader_is_closed_when_its_outbox_overflows() -> None:
    ws = StuckSocket()
    session = ChatSession(ws, None, None)  # type: ignore[arg-type]
    run = asyncio.create_task(session.run())
    await asyncio.sleep(0)
    for n in range(proto.OUTBOX_FRAMES + 5):
        session.push({"type": "message", "n": n})
    ws.gate.set()  # the writer gets going again: it sends at most what it held, then closes
    await asyncio.wait_for(run, 5)
    assert ws.closed_with == CLOSE_SLOW_READER
    assert len(ws.sent) <= 1
