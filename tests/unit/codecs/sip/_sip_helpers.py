"""A virtual-time harness for transactions: timers as a heap, the network as a list."""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from openline.codecs.sip import NameAddr, Request, Via, make_request, parse_message, parse_uri
from openline.codecs.sip.transaction import Action, SendMessage, StartTimer, StopTimer, Timer


def invite(branch: str = "z9hG4bKabc", method: str = "INVITE", cseq: int = 1, body: bytes = b"") -> Request:
    request = make_request(
        method,
        parse_uri("sip:bob@127.0.0.1:5080"),
        from_=NameAddr.parse("Alice <sip:alice@127.0.0.1:5070>;tag=a1"),
        to=NameAddr.parse("<sip:bob@127.0.0.1:5080>"),
        call_id="call-1@127.0.0.1",
        cseq=cseq,
        via=Via.parse(f"SIP/2.0/UDP 127.0.0.1:5070;branch={branch};rport"),
        contact=NameAddr.parse("<sip:alice@127.0.0.1:5070>"),
        body=body,
    )
    # go through the wire once so the request looks exactly as a peer would see it
    parsed = parse_message(bytes(request))
    assert isinstance(parsed, Request)
    return parsed


@dataclass
class Clock:
    """Virtual time for one transaction: applies its actions, fires its timers in order."""

    txn: Any
    now: float = 0.0
    timers: dict[Timer, float] = field(default_factory=dict)
    sent: list[tuple[float, Any]] = field(default_factory=list)
    events: list[tuple[float, Any]] = field(default_factory=list)

    def apply(self, actions: list[Action]) -> list[Action]:
        for action in actions:
            if isinstance(action, StartTimer):
                self.timers[action.timer] = self.now + action.delay
            elif isinstance(action, StopTimer):
                self.timers.pop(action.timer, None)
            elif isinstance(action, SendMessage):
                self.sent.append((self.now, action.message))
            else:
                self.events.append((self.now, action))
        return actions

    def run_until(self, until: float) -> None:
        while self.timers:
            heap = [(when, timer.value, timer) for timer, when in self.timers.items()]
            heapq.heapify(heap)
            when, _, timer = heap[0]
            if when > until:
                break
            self.now = when
            del self.timers[timer]
            self.apply(self.txn.on_timer(timer))
        self.now = max(self.now, until)

    def event_types(self) -> list[str]:
        return [type(e).__name__ for _, e in self.events]
