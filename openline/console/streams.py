"""Server-sent events for live views (the messages log, the dev phone).

A stream waits on the shared :class:`~openline.services.insight.ChangeFeed` and, when rows
were added anywhere, asks its view for what is new past its cursor (the view's own account
only). Each event carries the cursor as its ``id``, so a browser that reconnects — after
``STREAM_SECONDS``, a network blip or a server restart — resumes where it was
(``Last-Event-ID``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.responses import Response, StreamingResponse

from openline.services.insight import ChangeFeed

log = logging.getLogger("openline.console")

# A stream ends after this long and the browser reconnects at once: this bounds how long a
# revoked session keeps a stream, and how long a graceful shutdown waits for open streams.
STREAM_SECONDS = 25.0
HEARTBEAT_SECONDS = 10.0  # a comment line keeps proxies from closing an idle stream
RETRY_MS = 1000  # EventSource's reconnection delay
BUSY_RETRY_MS = 10_000

Produce = Callable[[], Awaitable[list[str]]]


def sse(data: str, event: str | None = None, event_id: str | None = None) -> str:
    lines = [f"id: {event_id}"] if event_id else []
    if event:
        lines.append(f"event: {event}")
    lines += [f"data: {line}" for line in (data.splitlines() or [""])]
    return "\n".join(lines) + "\n\n"


def stream(feed: ChangeFeed, produce: Produce) -> Response:
    async def body() -> AsyncIterator[str]:
        async with feed.subscribe() as admitted:
            if not admitted:
                yield f"retry: {BUSY_RETRY_MS}\nevent: busy\ndata: too many live views are open\n\n"
                return
            yield f"retry: {RETRY_MS}\n\n"
            deadline = time.monotonic() + STREAM_SECONDS
            while (left := deadline - time.monotonic()) > 0:
                changed = feed.signal()  # taken before reading, so no change is missed
                try:
                    chunks = await produce()
                except Exception:
                    log.warning("console stream: reading new rows failed", exc_info=True)
                    return
                for chunk in chunks:
                    yield chunk
                if chunks:  # there may be more than one batch: read again before waiting
                    continue
                try:
                    await asyncio.wait_for(changed.wait(), timeout=min(HEARTBEAT_SECONDS, left))
                except TimeoutError:
                    yield ": keep-alive\n\n"

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no",
                                      "X-Content-Type-Options": "nosniff"})
