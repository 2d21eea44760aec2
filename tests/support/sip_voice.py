"""Test helpers for the SIP user agent: a SipService on a fresh SQLite database, and a test
IncomingCallHandler that answers, plays a tone, and records what it hears and the digits it gets.
"""

from __future__ import annotations

import asyncio
import math
import random
import socket
from array import array
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openline.codecs.media import tone
from openline.config import RouteSettings, SipSettings
from openline.core.call_legs import (
    CallLeg,
    DigitReceived,
    Ended,
    IncomingCall,
    LegEvent,
    RejectReason,
)
from openline.core.clock import SystemClock
from openline.services.sip_registrations import Registrations
from openline.storage import dialect as dialects
from openline.storage import migrate
from openline.storage.database import Database
from openline.storage.dialect import SqliteOptions
from openline.storage.repositories.sip import SipRegistrationRepository
from openline.transports.sip_service import SipService

TONE = tone((440.0,), 1000, amplitude=0.5)


def rms(pcm: bytes) -> float:
    samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


@dataclass
class LegWatch:
    """Everything one leg reported, with waits."""

    leg: CallLeg
    events: list[LegEvent] = field(default_factory=list)
    heard: bytearray = field(default_factory=bytearray)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.leg.listen(self._on_event)
        self.leg.set_audio_sink(self.heard.extend)

    def _on_event(self, event: LegEvent) -> None:
        self.events.append(event)
        self.changed.set()

    async def wait_for(self, kind: type, timeout: float = 10.0) -> Any:
        async def waiter() -> Any:
            while True:
                for event in self.events:
                    if isinstance(event, kind):
                        return event
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(waiter(), timeout)

    async def wait_heard(self, seconds: float, timeout: float = 10.0, level: float = 500.0) -> None:
        """Until ``seconds`` of non-silent audio arrived."""
        async def waiter() -> None:
            while True:
                loud = sum(1 for i in range(0, len(self.heard) - 319, 320) if rms(bytes(self.heard[i:i + 320])) > level)
                if loud * 0.02 >= seconds:
                    return
                await asyncio.sleep(0.05)

        await asyncio.wait_for(waiter(), timeout)

    @property
    def digits(self) -> list[str]:
        return [e.digit for e in self.events if isinstance(e, DigitReceived)]

    @property
    def ended(self) -> Ended | None:
        return next((e for e in self.events if isinstance(e, Ended)), None)

    @property
    def kinds(self) -> list[type]:
        return [type(e) for e in self.events]


class ToneHandler:
    """Answers incoming calls (or rejects / leaves them ringing), plays ``prompt`` once answered."""

    def __init__(self, *, mode: str = "answer", prompt: bytes = TONE, ring_seconds: float = 0.0) -> None:
        self.mode = mode  # answer | busy | reject | ring
        self.prompt = prompt
        self.ring_seconds = ring_seconds
        self.calls: list[IncomingCall] = []
        self.watches: list[LegWatch] = []
        self.arrived = asyncio.Event()

    def incoming(self, call: IncomingCall) -> None:
        self.calls.append(call)
        watch = LegWatch(call.leg)
        self.watches.append(watch)
        self.arrived.set()
        if self.mode == "busy":
            call.leg.reject(RejectReason.BUSY)
        elif self.mode == "reject":
            call.leg.reject(RejectReason.REJECTED)
        elif self.mode == "answer":
            asyncio.get_running_loop().call_later(self.ring_seconds, self._answer, watch)

    def _answer(self, watch: LegWatch) -> None:
        watch.leg.answer()
        watch.leg.play(self.prompt, 1)

    async def first(self, timeout: float = 10.0) -> LegWatch:
        await asyncio.wait_for(self.arrived.wait(), timeout)
        return self.watches[0]


def free_port() -> int:
    """A port that was free for TCP and UDP a moment ago (outside the ephemeral range)."""
    while True:
        port = random.randrange(15000, 19999)
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, \
                    socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                tcp.bind(("127.0.0.1", port))
                udp.bind(("127.0.0.1", port))
        except OSError:
            continue
        return port


@asynccontextmanager
async def sip_service(tmp_path: Path, *, handler: Any = None, routes: list[RouteSettings] | None = None,
                      name: str = "sip", **sip: Any) -> AsyncIterator[SipService]:
    """A started SipService on 127.0.0.1 (free port unless ``listen`` is given) with its own database."""
    url = f"sqlite:///{tmp_path / (name + '.db')}"
    engine = dialects.create_sync(dialects.resolve(url), SqliteOptions())
    migrate.upgrade(engine)
    engine.dispose()
    db = Database.open(url)
    for _ in range(20):  # a port free for both UDP and TCP
        listen = sip.get("listen") or f"127.0.0.1:{free_port()}"
        settings = SipSettings(**{"rtp_ports": "20000-29999", **sip, "listen": listen})
        service = SipService(settings, routes or [], Registrations(db, SipRegistrationRepository(), SystemClock()),
                             b"test-digest-secret-0123456789", incoming=handler)
        try:
            await service.start()
            break
        except OSError:
            await service.close()
            if "listen" in sip:
                raise
    try:
        yield service
    finally:
        await service.close()
        await db.close()


__all__ = ["TONE", "LegWatch", "ToneHandler", "free_port", "rms", "sip_service"]
