"""<Dial>: ring the targets at once, bridge the first to answer, report how it went.

Each target is a child call (direction ``outbound-dial``, ``ParentCallSid`` = the caller's call)
with its own lifecycle rows. The first child to answer is bridged to the parent: each leg's audio
sink feeds the other leg's playback, so 20 ms frames flow both ways without decoding anything;
the other children are hung up. The dial ends when the bridged child ends (or ``timeLimit``
passes), or when every child has ended unanswered; the outcome becomes DialCallStatus.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

from openline.codecs.twiml.voice import DialVerb
from openline.core.call_legs import (
    Answered,
    AudioSink,
    CallLeg,
    DialRequest,
    Ended,
    LegEvent,
    Ringing,
)
from openline.core.calls import Call, CallStatus, dial_call_status, is_final, status_for_end
from openline.core.twiml_interpreter import DialOutcome
from openline.services.recordings import RecordingService
from openline.services.voice import VoiceService
from openline.services.voice_recording import Tape

log = logging.getLogger("openline.voice")

BRIDGE_TOKEN = -1  # playback tokens of bridged audio: nobody waits for them


@dataclass(frozen=True, slots=True)
class ChildEvent:
    attempt: DialAttempt
    index: int
    event: LegEvent


@dataclass(frozen=True, slots=True)
class DialTimeLimit:
    attempt: DialAttempt


@dataclass(slots=True)
class _Child:
    call: Call
    leg: CallLeg | None
    send_digits: str | None
    answered: bool = False
    answered_at: float = 0.0


@dataclass(slots=True)
class DialAttempt:
    service: VoiceService
    recordings: RecordingService
    parent: Call
    parent_leg: CallLeg
    verb: DialVerb
    post: Callable[[ChildEvent | DialTimeLimit], None]  # into the session's queue
    parent_sink: AudioSink | None  # the session's own sink (Record=true), fed during the bridge too
    loop: asyncio.AbstractEventLoop
    document_url: str | None = None  # where relative noun URLs resolve
    children: list[_Child] = field(default_factory=list)
    bridged: _Child | None = None
    tape: Tape | None = None
    _limit: asyncio.TimerHandle | None = None

    async def start(self) -> DialOutcome | None:
        """Place every child; an outcome at once when none could be placed."""
        caller_id = self.verb.caller_id or self.parent.from_addr
        for index, target in enumerate(self.verb.targets):
            callback_url = urljoin(self.document_url or "", target.status_callback) if target.status_callback else None
            child = await self.service.create_child(
                self.parent, target.address, caller_id, self.verb.timeout,
                (callback_url, target.status_callback_method, target.status_callback_events))
            dialer = self.service.dialer
            assert dialer is not None
            try:
                leg = dialer.dial(DialRequest(target=child.to_addr, caller_id=caller_id,
                                              account_sid=child.account_sid, call_sid=child.sid,
                                              timeout_seconds=self.verb.timeout))
            except LookupError as exc:
                log.info("call %s: <Dial> %s: %s", self.parent.sid, target.address, exc)
                child = await self.service.transaction_step(child, CallStatus.FAILED)
                self.children.append(_Child(child, None, None))
                continue
            leg.listen(self._listener(index))
            self.children.append(_Child(child, leg, target.send_digits))
        if all(c.leg is None for c in self.children):
            return DialOutcome("failed", self.children[-1].call.sid if self.children else None, 0)
        return None

    def _listener(self, index: int) -> Callable[[LegEvent], None]:
        def listener(event: LegEvent) -> None:
            self.post(ChildEvent(self, index, event))
        return listener

    async def on_event(self, index: int, event: LegEvent) -> DialOutcome | None:
        child = self.children[index]
        if isinstance(event, Ringing):
            if child.call.status is CallStatus.QUEUED:
                child.call = await self.service.transaction_step(child.call, CallStatus.RINGING)
            return None
        if isinstance(event, Answered):
            child.answered = True
            if self.bridged is not None:  # someone else answered first
                if child.leg is not None:
                    child.leg.hangup()
                return None
            child.call = await self.service.transaction_step(child.call, CallStatus.IN_PROGRESS)
            self._bridge(child)
            return None
        if isinstance(event, Ended):
            status = status_for_end(event.reason, child.answered)
            if not is_final(child.call.status):
                child.call = await self.service.transaction_step(child.call, status)
            if child is self.bridged:
                return await self._finish(child)
            if self.bridged is None and all(is_final(c.call.status) for c in self.children):
                return DialOutcome(dial_call_status(child.call.status), child.call.sid, 0)
        return None

    def time_limit(self) -> None:
        if self.bridged is not None and self.bridged.leg is not None:
            self.bridged.leg.hangup()

    async def abort(self) -> None:
        """The caller hung up: end every child now (their legs' reports will not be waited for)."""
        self._unbridge()
        for child in self.children:
            if child.leg is not None:
                child.leg.hangup()
            if not is_final(child.call.status):
                final = CallStatus.COMPLETED if child.call.status is CallStatus.IN_PROGRESS else CallStatus.CANCELED
                child.call = await self.service.transaction_step(child.call, final)
        if self.tape is not None:
            await self._save_tape()

    # --- the bridge ----------------------------------------------------------------------------

    def _bridge(self, child: _Child) -> None:
        self.bridged = child
        child.answered_at = self.loop.time()
        for other in self.children:
            if other is not child and other.leg is not None and not is_final(other.call.status):
                other.leg.hangup()
        leg = child.leg
        assert leg is not None
        if self.verb.record:
            self.tape = Tape(self.loop.time())
        parent_leg, parent_sink, tape = self.parent_leg, self.parent_sink, self.tape

        def from_parent(frame: bytes) -> None:
            leg.play(frame, BRIDGE_TOKEN)
            if parent_sink is not None:
                parent_sink(frame)
            if tape is not None:
                tape.add("parent", self.loop.time(), frame)

        def from_child(frame: bytes) -> None:
            parent_leg.play(frame, BRIDGE_TOKEN)
            if tape is not None:
                tape.add("child", self.loop.time(), frame)

        parent_leg.set_audio_sink(from_parent)
        leg.set_audio_sink(from_child)
        if child.send_digits:
            leg.send_digits(child.send_digits)
        self._limit = self.loop.call_later(self.verb.time_limit, self.post, DialTimeLimit(self))

    def _unbridge(self) -> None:
        if self._limit is not None:
            self._limit.cancel()
            self._limit = None
        self.parent_leg.set_audio_sink(self.parent_sink)
        if self.bridged is not None and self.bridged.leg is not None:
            self.bridged.leg.set_audio_sink(None)

    async def _finish(self, child: _Child) -> DialOutcome:
        self._unbridge()
        duration = max(0, int(self.loop.time() - child.answered_at))
        recording = await self._save_tape() if self.tape is not None else None
        return DialOutcome("completed", child.call.sid, duration, recording)

    async def _save_tape(self) -> tuple[str, str, int] | None:
        tape, self.tape = self.tape, None
        if tape is None:
            return None
        pcm = await asyncio.to_thread(tape.render, self.loop.time())
        stored = await self.recordings.store(self.parent, pcm, "DialVerb", self.loop.time() - tape.started, None)
        return stored.sid, self.recordings.url_for_app(stored), stored.duration

