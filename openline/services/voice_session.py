"""One live call: drives the TwiML interpreter from the leg's events and carries out its actions.

The session owns the call's leg for as long as the call lasts. Leg events, timer expiries,
fetched documents and API redirects all go through one queue, handled one at a time, so the
interpreter (sans-IO, ``core.twiml_interpreter``) sees a single ordered stream and the database
steps happen in the order the call lived them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urljoin

import httpx

from openline.codecs.media.tones import beep
from openline.codecs.twiml import TwimlError
from openline.codecs.twiml.voice import HangupVerb, SayVerb, VoiceResponse, parse_voice_twiml
from openline.core.call_legs import (
    Answered,
    CallLeg,
    DigitReceived,
    Ended,
    LegEvent,
    PlaybackFinished,
    RejectReason,
    Ringing,
)
from openline.core.calls import Call, CallDirection, CallStatus, is_final, status_for_end
from openline.core.twiml_interpreter import (
    Action,
    Answer,
    Dial,
    DialOutcome,
    Fetch,
    Hangup,
    Interpreter,
    PlayAudio,
    PlayBeep,
    Reject,
    SendDigits,
    Speak,
    StartRecording,
    StopPlayback,
    StopRecording,
)
from openline.services.alerts import AlertService
from openline.services.audio_files import AudioError, decode_to_pcm
from openline.services.recordings import RecordingService, StatusTarget
from openline.services.speech import Speech, SpeechError
from openline.services.voice import LiveCall, VoiceService, voice_params
from openline.services.voice_dial import ChildEvent, DialAttempt, DialTimeLimit
from openline.services.voice_recording import Tape, is_voiced
from openline.services.webhooks import WebhookCall, WebhookCaller, new_idempotency_token
from openline.storage.database import Conn

log = logging.getLogger("openline.voice")

MAX_PLAY_BYTES = 16 * 1024 * 1024  # a <Play> file larger than this is refused (10 minutes of 8 kHz WAV is 9.6 MB)
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
TWIML_TYPES = ("text/xml", "application/xml", "text/html", "text/plain")


class Captioned(Protocol):
    """A leg that wants to know the text of what it hears (sandbox handsets record it)."""

    def caption(self, text: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _Tick:
    pass


@dataclass(frozen=True, slots=True)
class _Redirect:
    url: str | None
    method: str
    twiml: str | None


@dataclass(frozen=True, slots=True)
class _End:
    pass


@dataclass(frozen=True, slots=True)
class _RingTimeout:
    pass


@dataclass(frozen=True, slots=True)
class _Voice:
    """Speech heard while a <Record> runs."""


_Item = LegEvent | _Tick | _Redirect | _End | _Voice | _RingTimeout | ChildEvent | DialTimeLimit
RING_GRACE_SECONDS = 5
VOICE_NOTICE_SECONDS = 0.2  # speech is reported to the interpreter at most this often (silence timeouts are seconds)


class CallSession:
    def __init__(self, service: VoiceService, call: Call, leg: CallLeg, speech: Speech, caller: WebhookCaller,
                 alerts: AlertService, http: httpx.AsyncClient, max_seconds: int,
                 recordings: RecordingService) -> None:
        self._service = service
        self._recordings = recordings
        # The <Record> verb's tape (what the caller says) and the whole call's (Record=true, both ways).
        self._record_tape: Tape | None = None
        self._call_tape: Tape | None = None
        self._last_voice_notice = 0.0
        self._played: dict[str, bytes] = {}
        self._dial: DialAttempt | None = None
        self.call = call
        self._leg = leg
        self._speech = speech
        self._caller = caller
        self._alerts = alerts
        self._http = http
        self._max_seconds = max_seconds
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        # An outbound call is answered by the far end; only an inbound one is answered by its TwiML.
        self._interpreter = Interpreter(call.url, answered=call.direction is not CallDirection.INBOUND)
        self._timer: asyncio.TimerHandle | None = None
        self._answered = False
        self._ring_timed_out = False
        self._loop = asyncio.get_running_loop()
        leg.listen(self._queue.put_nowait)

    # --- LiveCall ---------------------------------------------------------------------------

    def redirect(self, url: str | None, method: str, twiml: str | None) -> None:
        self._queue.put_nowait(_Redirect(url, method, twiml))

    def end(self) -> None:
        self._queue.put_nowait(_End())

    # --- the loop -------------------------------------------------------------------------

    async def run(self) -> None:
        limit = self._loop.call_later(self._max_seconds, self.end)
        # The leg should report no-answer itself after Timeout; this catches a leg that never does.
        ringing = None if self.call.direction is CallDirection.INBOUND else \
            self._loop.call_later(self.call.timeout + RING_GRACE_SECONDS, self._queue.put_nowait, _RingTimeout())
        try:
            if self.call.direction is CallDirection.INBOUND:
                await self._fetch_first()
            while True:
                item = await self._queue.get()
                try:
                    if await self._handle(item):
                        return
                except Exception:
                    log.exception("call %s: error handling %r", self.call.sid, item)
                    self._leg.hangup()
        finally:
            limit.cancel()
            if ringing is not None:
                ringing.cancel()
            self._leg.set_audio_sink(None)
            if self._record_tape is not None:  # the caller hung up during <Record>: keep what was said
                record = self._interpreter.current_record
                await self._save_record(StopRecording(record.trim if record else True, hangup=True))
            if self._call_tape is not None:
                tape, self._call_tape = self._call_tape, None
                pcm = await asyncio.to_thread(tape.render, self._loop.time())
                await self._recordings.store(self.call, pcm, "OutboundAPI", self._loop.time() - tape.started, None)
            if self._timer is not None:
                self._timer.cancel()
            self._service.ended(self.call.sid)

    async def _handle(self, item: _Item) -> bool:
        """Handle one item; True once the call is over."""
        now = self._loop.time()
        if isinstance(item, Ringing):
            if self.call.status is CallStatus.QUEUED:
                self.call = await self._service.transaction_step(self.call, CallStatus.RINGING)
                if is_final(self.call.status):  # canceled through the API while it was being dialed
                    self._leg.hangup()
            return False
        if isinstance(item, Answered):
            self._answered = True
            if self.call.status is not CallStatus.IN_PROGRESS:
                self.call = await self._service.transaction_step(self.call, CallStatus.IN_PROGRESS)
                if is_final(self.call.status):
                    self._leg.hangup()
                    return False
            if self.call.record:
                self._call_tape = Tape(now)
                self._leg.set_audio_sink(self._heard)
            if self.call.direction is not CallDirection.INBOUND:
                if self.call.send_digits:
                    self._leg.send_digits(self.call.send_digits)
                await self._fetch_first()
            return False
        if isinstance(item, ChildEvent):
            if item.attempt is self._dial:
                outcome = await item.attempt.on_event(item.index, item.event)
                if outcome is not None:
                    await self._dialed(outcome)
            return False
        if isinstance(item, DialTimeLimit):
            if item.attempt is self._dial:
                item.attempt.time_limit()
            return False
        if isinstance(item, Ended):
            if self._dial is not None:
                dial, self._dial = self._dial, None
                await dial.abort()
            self._interpreter.on_event(item, now)
            status = CallStatus.NO_ANSWER if self._ring_timed_out and not self._answered \
                else status_for_end(item.reason, self._answered)
            if not is_final(self.call.status):
                self.call = await self._service.transaction_step(self.call, status)
            return True
        if isinstance(item, _End):
            self._leg.hangup()
            return False
        if isinstance(item, _RingTimeout):
            if not self._answered:
                self._ring_timed_out = True
                self._leg.hangup()
            return False
        if isinstance(item, _Redirect):
            self._leg.stop_playback()
            if item.twiml is not None:
                await self._load_inline(item.twiml)
            elif item.url is not None:
                await self._execute([Fetch(item.url, item.method)])
            return False
        if isinstance(item, _Tick):
            await self._execute(self._interpreter.tick(now))
            return False
        if isinstance(item, _Voice):
            await self._execute(self._interpreter.voice_activity(now))
            return False
        if isinstance(item, DigitReceived | PlaybackFinished):
            await self._execute(self._interpreter.on_event(item, now))
        return False

    async def _dialed(self, outcome: DialOutcome) -> None:
        self._dial = None
        await self._execute(self._interpreter.dial_finished(outcome, self._loop.time()))

    async def _fetch_first(self) -> None:
        fresh = await self._service.fresh(self.call.sid)
        if fresh is not None:
            self.call = fresh
        if self.call.twiml is not None:
            await self._load_inline(self.call.twiml)
        elif self.call.url:
            await self._execute([Fetch(self.call.url, self.call.method)])
        else:
            self._leg.hangup()

    async def _load_inline(self, twiml: str) -> None:
        try:
            response = _parse(twiml)
        except TwimlError as exc:
            await self._application_error(exc.twilio_code, f"Twiml could not be run: {exc}", None)
            return
        await self._execute(self._interpreter.load(response, None, self._loop.time()))

    # --- actions ----------------------------------------------------------------------------

    async def _execute(self, actions: list[Action]) -> None:
        pending = list(actions)
        while pending:
            action = pending.pop(0)
            if isinstance(action, Speak):
                await self._speak(action)
            elif isinstance(action, PlayAudio):
                await self._play(action)
            elif isinstance(action, SendDigits):
                self._leg.send_digits(action.digits)
            elif isinstance(action, StopPlayback):
                self._leg.stop_playback()
                if self._call_tape is not None:
                    self._call_tape.cut("played", self._loop.time())
            elif isinstance(action, PlayBeep):
                self._send(beep(), action.token)
            elif isinstance(action, StartRecording):
                self._record_tape = Tape(self._loop.time())
                self._leg.set_audio_sink(self._heard)
            elif isinstance(action, StopRecording):
                pending += await self._save_record(action)
            elif isinstance(action, Answer):
                self._leg.answer()
            elif isinstance(action, Hangup):
                self._leg.hangup()
            elif isinstance(action, Reject):
                self._leg.reject(RejectReason(action.reason))
            elif isinstance(action, Fetch):
                pending += await self._fetch(action)
            elif isinstance(action, Dial):
                self._dial = DialAttempt(self._service, self._recordings, self.call, self._leg, action.verb,
                                         self._queue.put_nowait, self._heard if self._call_tape else None,
                                         self._loop, self._interpreter.document_url)
                outcome = await self._dial.start()
                if outcome is not None:
                    self._dial = None
                    pending += self._interpreter.dial_finished(outcome, self._loop.time())
        self._arm_timer()

    def _arm_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = self._interpreter.deadline
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._queue.put_nowait, _Tick())

    async def _speak(self, action: Speak) -> None:
        try:
            pcm = await self._speech.render(action.text, action.voice, action.language)
        except SpeechError as exc:
            log.error("call %s: <Say> could not be rendered: %s", self.call.sid, exc)
            pcm = b""
        caption: Callable[[str], None] | None = getattr(self._leg, "caption", None)
        if caption is not None:
            caption(action.text)
        self._send(pcm, action.token)

    def _send(self, pcm: bytes, token: int) -> None:
        if self._call_tape is not None:
            self._call_tape.add("played", self._loop.time(), pcm)
        self._leg.play(pcm, token)

    def _heard(self, frame: bytes) -> None:
        """The leg's audio sink: what the far end says, onto the tapes that are running."""
        now = self._loop.time()
        if self._call_tape is not None:
            self._call_tape.add("heard", now, frame)
        if self._record_tape is not None:
            self._record_tape.add("heard", now, frame, detect_voice=True)
            if now - self._last_voice_notice >= VOICE_NOTICE_SECONDS and is_voiced(frame):
                self._last_voice_notice = now
                self._queue.put_nowait(_Voice())

    async def _save_record(self, action: StopRecording) -> list[Action]:
        tape, self._record_tape = self._record_tape, None
        if self._call_tape is None:
            self._leg.set_audio_sink(None)
        if tape is None:
            return []
        record = self._interpreter_record()
        pcm = await asyncio.to_thread(tape.render, self._loop.time(), trim=action.trim)
        if not pcm:
            return [] if action.hangup else self._interpreter.recorded("", "", 0, self._loop.time())
        callback = StatusTarget(record[0], record[1]) if record[0] else None
        stored = await self._recordings.store(self.call, pcm, "RecordVerb", self._loop.time() - tape.started,
                                              callback)
        if action.hangup:
            await self._post_record_action(stored.sid, self._recordings.url_for_app(stored), stored.duration)
            return []
        return self._interpreter.recorded(stored.sid, self._recordings.url_for_app(stored), stored.duration,
                                          self._loop.time())

    async def _post_record_action(self, sid: str, url: str, duration: int) -> None:
        """As Twilio: a caller who hangs up during <Record> still gets its recording posted to
        ``action`` (Digits=hangup); the call is over, so the TwiML answered is not run."""
        record = self._interpreter.current_record
        document = self._interpreter.document_url or ""
        target = urljoin(document, record.action) if record is not None and record.action else document
        if record is None or not target:
            return
        params = (*voice_params(self.call), ("RecordingUrl", url), ("RecordingDuration", str(duration)),
                  ("RecordingSid", sid), ("Digits", "hangup"))
        request = WebhookCall(self.call.account_sid, self.call.sid, "voice", target, record.method, params,
                              new_idempotency_token())
        result = await self._caller.send(request)
        async with self._service_db() as conn:
            await self._caller.record(conn, request, result)

    def _interpreter_record(self) -> tuple[str | None, str]:
        record = self._interpreter.current_record
        if record is None or not record.recording_status_callback:
            return None, "POST"
        return (urljoin(self._interpreter.document_url or "", record.recording_status_callback),
                record.recording_status_callback_method)

    async def _play(self, action: PlayAudio) -> None:
        pcm = self._played.get(action.url, b"")
        if action.url not in self._played:
            try:
                async with self._http.stream("GET", action.url) as response:
                    response.raise_for_status()
                    body = bytearray()
                    async for chunk in response.aiter_bytes():
                        body += chunk
                        if len(body) > MAX_PLAY_BYTES:
                            raise AudioError("audio file too large")
                pcm = await decode_to_pcm(bytes(body), response.headers.get("content-type"))
                self._played = {action.url: pcm}  # loop="n" fetches once
            except (httpx.HTTPError, AudioError) as exc:
                # Twilio skips a <Play> it cannot fetch or decode and records warning 13227.
                await self._alert(13227, f"<Play> {action.url} could not be played: {exc}", action.url)
        self._send(pcm, action.token)

    async def _fetch(self, action: Fetch) -> list[Action]:
        params = tuple(voice_params(self.call)) + action.params
        now = self._loop.time()
        url, method = action.url, action.method
        for attempt in ("primary", "fallback"):
            request = WebhookCall(self.call.account_sid, self.call.sid, "voice" if attempt == "primary" else "fallback",
                                  url, method, params, new_idempotency_token())
            result = await self._caller.send(request)
            async with self._service_db() as conn:
                await self._caller.record(conn, request, result)
            code, problem = 0, ""
            if not result.ok:
                code = result.error_code or 11200
                problem = f"{url} answered {result.error_message or result.status_code}"
            elif result.content_type and result.content_type.split(";")[0].strip().lower() not in TWIML_TYPES:
                code, problem = 12300, f"{url} answered content type {result.content_type}"
            else:
                try:
                    response = _parse(result.body)
                    return self._interpreter.load(response, url, now)
                except TwimlError as exc:
                    code, problem = exc.twilio_code, f"{url} answered TwiML that cannot run: {exc}"
            await self._alert(code, problem, url)
            fallback = self.call.fallback_url
            if attempt == "primary" and fallback and fallback != url:
                url, method = fallback, self.call.fallback_method
                continue
            break
        return await self._spoken_error()

    async def _application_error(self, code: int, text: str, url: str | None) -> None:
        await self._alert(code, text, url)
        await self._execute(await self._spoken_error())

    async def _spoken_error(self) -> list[Action]:
        """As Twilio: an application error is announced, then the call hangs up."""
        return self._interpreter.load(VoiceResponse((SayVerb(APPLICATION_ERROR), HangupVerb())), None,
                                      self._loop.time())

    async def _alert(self, code: int, text: str, url: str | None) -> None:
        log.info("call %s: %s", self.call.sid, text)
        async with self._service_db() as conn:
            await self._alerts.record(conn, self.call.account_sid, code, text, request_url=url,
                                      resource_sid=self.call.sid)

    def _service_db(self) -> AbstractAsyncContextManager[Conn]:
        return self._service.db.transaction()


def _parse(document: bytes | str) -> VoiceResponse:
    return parse_voice_twiml(document)


class CallSessions:
    def __init__(self, speech: Speech, caller: WebhookCaller, alerts: AlertService, http: httpx.AsyncClient,
                 max_seconds: int, recordings: RecordingService) -> None:
        self._recordings = recordings
        self._speech = speech
        self._caller = caller
        self._alerts = alerts
        self._http = http
        self._max_seconds = max_seconds

    def create(self, service: VoiceService, call: Call, leg: CallLeg) -> LiveCall:
        return CallSession(service, call, leg, self._speech, self._caller, self._alerts, self._http,
                           self._max_seconds, self._recordings)
