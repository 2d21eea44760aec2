"""The sandbox's telephones: simulated handsets that ring, answer, press digits and listen.

A handset is a :class:`CallLeg` run in real time: what it hears is paced out in 20 ms frames (a
frame of silence when nothing is queued), so prompts take as long as on a phone and a <Gather>
timeout means what it says. Each call it takes part in is kept: the <Say> texts it heard in
order, the digits it pressed and a WAV of everything it heard. How a handset answers is set per
account with ``POST /sandbox/v1/Handsets/{address}/Behavior``.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from openline.codecs.media.tones import silence
from openline.codecs.media.wav import write_wav
from openline.core.call_legs import (
    FRAME_BYTES,
    Answered,
    AudioSink,
    CallLeg,
    DialRequest,
    DigitReceived,
    Ended,
    EndReason,
    FrameClock,
    IncomingCall,
    LegEvent,
    PlaybackFinished,
    RejectReason,
    Ringing,
)
from openline.core.calls import Call
from openline.core.clock import Clock
from openline.core.errors import TwilioError
from openline.core.numbering import parse_e164
from openline.services.audio_files import AudioError, decode_to_pcm
from openline.storage.blobs import BlobStore
from openline.storage.database import Database
from openline.storage.repositories.voice import HandsetBehavior, HandsetCall, HandsetVoiceRepository

log = logging.getLogger("openline.sandbox")

FRAME_SECONDS = 0.02
DIGIT_GAP_SECONDS = 0.25  # between two pressed keys (a person's pace; RFC 4733 needs no less)
WAIT_SECONDS = 0.5  # "w" in Digits, as in Twilio's SendDigits
MAX_HEARD_SECONDS = 3600  # a handset's recording stops growing after an hour
ANSWERS = ("answer", "busy", "no-answer", "fail")
MAX_PLAY_BYTES = 16 * 1024 * 1024


class SandboxLeg(CallLeg):
    """One handset on one call. Outbound: Openline dialed it. Inbound: it called an Openline number."""

    def __init__(self, network: SandboxVoice, handset: str, account_sid: str, call_sid: str | None, *,
                 inbound: bool, digits: str | None, play_url: str | None, timeout_seconds: int = 60,
                 hangup_after: int | None = None) -> None:
        self._network = network
        self.handset = handset
        self.account_sid = account_sid
        self.call_sid = call_sid
        self._inbound = inbound
        self._digits = digits
        self._play_url = play_url
        self._timeout = timeout_seconds
        self._hangup_after = hangup_after
        self._id = "sandbox-" + secrets.token_hex(6)
        self._listener: Callable[[LegEvent], None] | None = None
        self._queue: list[tuple[bytes, int]] = []  # (audio left, token)
        self._sink: AudioSink | None = None
        self._answered = False
        self._ended = False
        self.heard_text: list[str] = []
        self.heard_audio = bytearray()
        self.digits_sent = ""
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop = asyncio.get_running_loop()
        self._closed = asyncio.Event()

    # --- CallLeg ----------------------------------------------------------------------------

    @property
    def leg_id(self) -> str:
        return self._id

    def listen(self, listener: Callable[[LegEvent], None]) -> None:
        self._listener = listener

    def play(self, pcm: bytes, token: int) -> None:
        if not self._ended:
            self._queue.append((pcm, token))

    def stop_playback(self) -> None:
        self._queue.clear()

    def send_digits(self, digits: str) -> None:
        pass  # DTMF sent to a handset is heard as tones by a person; nothing to report

    def set_audio_sink(self, sink: AudioSink | None) -> None:
        self._sink = sink

    def answer(self) -> None:
        if self._inbound and not self._answered and not self._ended:
            self._answered = True
            self._emit(Answered())
            self._start(self._media())

    def reject(self, reason: RejectReason) -> None:
        if not self._answered:
            self._end(EndReason.BUSY if reason is RejectReason.BUSY else EndReason.REJECTED)

    def hangup(self) -> None:
        self._end(EndReason.HANGUP_LOCAL if self._answered else EndReason.CANCELED)

    def caption(self, text: str) -> None:
        self.heard_text.append(text)

    # --- the handset's side -------------------------------------------------------------------

    def begin(self) -> None:
        """Start the handset's own behaviour (an outbound leg rings; an inbound one waits for the answer)."""
        if not self._inbound:
            self._start(self._ring())

    async def _ring(self) -> None:
        behavior = await self._network.behavior(self.account_sid, self.handset)
        self._digits = behavior.digits
        self._play_url = behavior.play_url
        self._hangup_after = behavior.hangup_after
        if behavior.answer == "fail":
            self._end(EndReason.FAILED)
            return
        self._emit(Ringing())
        await self._network.opened(self)
        if behavior.answer == "no-answer" or behavior.answer_after >= self._timeout:
            await asyncio.sleep(self._timeout)
            self._end(EndReason.NO_ANSWER)
            return
        await asyncio.sleep(behavior.answer_after)
        if self._ended:
            return
        if behavior.answer == "busy":
            self._end(EndReason.BUSY)
            return
        self._answered = True
        self._emit(Answered())
        await self._media()

    async def _media(self) -> None:
        """Listen in real time; press the behaviour's digits, then send the PlayUrl audio."""
        self._start(self._act())
        if self._hangup_after is not None:
            self._start(self._hang_up_later(self._hangup_after))
        clock = self._network.media_clock
        if clock is not None:  # the process's one media clock paces the handset, as it paces RTP legs
            clock.add(self)
            await self._closed.wait()
            return
        next_at = self._loop.time()
        while not self._ended:
            self.tick(next_at, self._loop.time())
            next_at += FRAME_SECONDS
            await asyncio.sleep(max(0.0, next_at - self._loop.time()))

    def tick(self, deadline: float, now: float) -> None:
        """One 20 ms frame heard: what Openline played (or silence), playbacks that finished."""
        if self._ended:
            return
        frame = b""
        finished: list[int] = []
        while len(frame) < FRAME_BYTES and self._queue:
            audio, token = self._queue[0]
            take = FRAME_BYTES - len(frame)
            frame += audio[:take]
            if len(audio) <= take:
                self._queue.pop(0)
                finished.append(token)
            else:
                self._queue[0] = (audio[take:], token)
        frame += bytes(FRAME_BYTES - len(frame))
        if len(self.heard_audio) < MAX_HEARD_SECONDS * 16000:
            self.heard_audio += frame
        for token in finished:
            self._emit(PlaybackFinished(token))

    def skip(self, frames: int) -> None:
        pass  # a stalled process: those frames were never played, the handset heard nothing new

    async def _act(self) -> None:
        # Digits first, so that "wwww" in Digits also delays the audio (say, until after a beep).
        pcm = await self._network.fetch_audio(self._play_url) if self._play_url else b""
        if self._digits:
            await self._press(self._digits)
        if pcm:
            await self._speak_into(pcm)

    async def _hang_up_later(self, seconds: int) -> None:
        await asyncio.sleep(seconds)
        self._end(EndReason.HANGUP_REMOTE)

    async def _press(self, digits: str) -> None:
        for key in digits:
            if self._ended:
                return
            if key == "w":
                await asyncio.sleep(WAIT_SECONDS)
                continue
            self.digits_sent += key
            self._emit(DigitReceived(key))
            await asyncio.sleep(DIGIT_GAP_SECONDS)

    async def _speak_into(self, pcm: bytes) -> None:
        next_at = self._loop.time()
        for start in range(0, len(pcm), FRAME_BYTES):
            if self._ended:
                return
            sink = self._sink
            if sink is not None:
                sink(pcm[start:start + FRAME_BYTES].ljust(FRAME_BYTES, b"\0"))
            next_at += FRAME_SECONDS
            await asyncio.sleep(max(0.0, next_at - self._loop.time()))

    def _emit(self, event: LegEvent) -> None:
        listener = self._listener
        if listener is not None:
            # Never from inside a call on this leg (the port's promise): on the next loop turn.
            self._loop.call_soon(listener, event)

    def _end(self, reason: EndReason) -> None:
        if self._ended:
            return
        self._ended = True
        self._queue.clear()
        if self._network.media_clock is not None:
            self._network.media_clock.remove(self)
        self._closed.set()
        self._emit(Ended(reason))
        self._start(self._network.closed(self))

    def _start(self, coro: Any) -> None:
        task = self._loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class SandboxVoice:
    """The sandbox's voice network: handset behaviour, handset call history, and its Dialer."""

    def __init__(self, db: Database, clock: Clock, blobs: BlobStore, repo: HandsetVoiceRepository,
                 http: httpx.AsyncClient, media_clock: FrameClock | None = None) -> None:
        self.media_clock = media_clock  # shared with the SIP legs; None: each handset paces itself
        self._db = db
        self._clock = clock
        self._blobs = blobs
        self._repo = repo
        self._http = http

    # --- Dialer -------------------------------------------------------------------------------

    def dial(self, request: DialRequest) -> CallLeg:
        if request.target.startswith("sip:"):
            raise LookupError("the sandbox has no SIP phones")
        leg = SandboxLeg(self, request.target, request.account_sid, request.call_sid, inbound=False, digits=None,
                         play_url=None, timeout_seconds=request.timeout_seconds)
        leg.begin()
        return leg

    # --- behaviour and history ------------------------------------------------------------------

    async def set_behavior(self, account_sid: str, handset: str, behavior: HandsetBehavior) -> None:
        async with self._db.transaction() as conn:
            await self._repo.set_behavior(conn, account_sid, handset, behavior, self._clock.now())

    async def behavior(self, account_sid: str, handset: str) -> HandsetBehavior:
        async with self._db.read() as conn:
            return await self._repo.behavior(conn, account_sid, handset)

    async def opened(self, leg: SandboxLeg) -> None:
        if leg.call_sid is None:
            return
        async with self._db.transaction() as conn:
            if await self._repo.call(conn, leg.call_sid) is None:
                await self._repo.add_call(conn, HandsetCall(leg.handset, leg.call_sid, leg.account_sid, (), "", None,
                                                            self._clock.now()))

    async def closed(self, leg: SandboxLeg) -> None:
        if leg.call_sid is None:
            return
        key = None
        if leg.heard_audio:
            key = f"sandbox-calls/{leg.call_sid}/{secrets.token_hex(16)}.wav"
            await self._blobs.put(key, write_wav(bytes(leg.heard_audio)), "audio/wav")
        async with self._db.transaction() as conn:
            existing = await self._repo.call(conn, leg.call_sid)
            if existing is not None:
                await self._repo.delete_calls(conn, leg.call_sid)
            await self._repo.add_call(conn, HandsetCall(
                leg.handset, leg.call_sid, leg.account_sid, tuple(leg.heard_text), leg.digits_sent, key,
                existing.date_created if existing else self._clock.now()))

    async def calls(self, handset: str, account_sids: Sequence[str], size: int,
                    offset: int) -> tuple[list[HandsetCall], bool]:
        async with self._db.read() as conn:
            return await self._repo.calls(conn, handset, account_sids, size, offset)

    async def call(self, call_sid: str) -> HandsetCall | None:
        async with self._db.read() as conn:
            return await self._repo.call(conn, call_sid)

    async def audio(self, key: str) -> bytes | None:
        blob = await self._blobs.get(key)
        return blob.data if blob is not None else None

    async def fetch_audio(self, url: str) -> bytes:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            if len(response.content) > MAX_PLAY_BYTES:
                raise AudioError("audio file too large")
            return await decode_to_pcm(response.content, response.headers.get("content-type"))
        except (httpx.HTTPError, AudioError) as exc:
            log.info("sandbox handset: PlayUrl %s cannot be played: %s", url, exc)
            return silence(500)

    # --- a handset calls an Openline number ---------------------------------------------------

    def incoming_leg(self, from_: str, account_sid: str, digits: str | None, play_url: str | None,
                     hangup_after: int | None = None) -> SandboxLeg:
        return SandboxLeg(self, from_, account_sid, None, inbound=True, digits=digits, play_url=play_url,
                          hangup_after=hangup_after)

    async def attach(self, leg: SandboxLeg, call: Call) -> None:
        leg.call_sid = call.sid
        leg.account_sid = call.account_sid
        await self.opened(leg)


def handset_address(raw: str) -> str:
    parsed = parse_e164(raw)
    return parsed.e164 if parsed else raw


def check_digits(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) > 64 or not set(value) <= set("0123456789*#w"):
        raise TwilioError(20001, "Digits may hold at most 64 of 0-9, *, # and w (a 0.5 s wait)")
    return value


def make_incoming(leg: SandboxLeg, to: str, from_: str) -> IncomingCall:
    return IncomingCall(leg=leg, to=to, from_=from_, source="sandbox")
