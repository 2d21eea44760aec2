"""The Voice TwiML interpreter: a sans-IO state machine that runs one call's TwiML.

Theory of operation: the voice service feeds the interpreter what happens on the call's leg
(digits, playback finished, the leg ended), the documents it fetched, and the passing of time
(``now`` in seconds, any monotonic origin); the interpreter answers with :data:`Action` values
for the service to carry out (speak, play, send digits, fetch a document, answer, hang up...).
It never does I/O and never reads a clock, so every behaviour is tested with explicit times.
``deadline`` is when the service must call :meth:`tick` next (a <Pause> ending, a <Gather>
timing out), or ``None``.

Twilio semantics kept here: verbs run in document order; the end of a document hangs up; an
inbound call is answered by the first verb that is not <Reject>; <Gather> prompts are cut by the
first digit (barge-in), digits end on ``finishOnKey``, ``numDigits`` or ``timeout`` seconds
without a digit, and are posted to ``action`` (the current document's URL when absent); a
<Gather> that collected nothing falls through to the next verb unless ``actionOnEmptyResult``;
<Record> beeps, records until ``finishOnKey``, ``timeout`` seconds of silence (speech is reported
with :meth:`voice_activity`) or ``maxLength``, and posts RecordingUrl/RecordingDuration/Digits to
``action`` (an empty recording goes on to the next verb instead).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from urllib.parse import urljoin

from openline.codecs.twiml.voice import (
    DialVerb,
    GatherVerb,
    HangupVerb,
    PauseVerb,
    PlayVerb,
    Prompt,
    RecordVerb,
    RedirectVerb,
    RejectVerb,
    SayVerb,
    VoiceResponse,
    VoiceVerb,
)
from openline.core.call_legs import DigitReceived, Ended, LegEvent, PlaybackFinished

MAX_ENDLESS_LOOPS = 1000  # loop="0" plays "until the call ends": bounded so a stuck call still ends
MAX_DOCUMENTS = 100  # fetches per call without any caller input: a redirect loop ends the call


@dataclass(frozen=True, slots=True)
class Speak:
    text: str
    voice: str | None
    language: str | None
    token: int


@dataclass(frozen=True, slots=True)
class PlayAudio:
    url: str
    token: int


@dataclass(frozen=True, slots=True)
class SendDigits:
    digits: str


@dataclass(frozen=True, slots=True)
class StopPlayback:
    pass


@dataclass(frozen=True, slots=True)
class Fetch:
    """Fetch the next document; answer with :meth:`Interpreter.load` or :meth:`Interpreter.fetch_failed`."""

    url: str
    method: str
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class PlayBeep:
    token: int


@dataclass(frozen=True, slots=True)
class StartRecording:
    pass


@dataclass(frozen=True, slots=True)
class StopRecording:
    """Finish the <Record> tape; answer with :meth:`Interpreter.recorded` (not after a hangup)."""

    trim: bool
    hangup: bool  # the caller hung up: store the recording, nothing more runs


@dataclass(frozen=True, slots=True)
class Dial:
    """Ring the verb's targets and bridge the first to answer; answer with :meth:`Interpreter.dial_finished`."""

    verb: DialVerb


@dataclass(frozen=True, slots=True)
class DialOutcome:
    status: str  # DialCallStatus: completed | answered | busy | no-answer | failed | canceled
    call_sid: str | None  # the child call that answered (or the last one tried)
    duration: int  # seconds the bridge lasted
    recording: tuple[str, str, int] | None = None  # (RecordingSid, RecordingUrl, RecordingDuration)


@dataclass(frozen=True, slots=True)
class Answer:
    pass


@dataclass(frozen=True, slots=True)
class Hangup:
    pass


@dataclass(frozen=True, slots=True)
class Reject:
    reason: str  # busy | rejected


Action = (Speak | PlayAudio | SendDigits | StopPlayback | Fetch | Answer | Hangup | Reject | PlayBeep
          | StartRecording | StopRecording | Dial)


class _State(Enum):
    IDLE = "idle"  # between verbs
    PLAYING = "playing"  # waiting for PlaybackFinished(token)
    PAUSING = "pausing"  # waiting for the deadline
    FETCHING = "fetching"  # waiting for load / fetch_failed
    BEEPING = "beeping"  # <Record playBeep>: waiting for the beep to finish
    RECORDING = "recording"  # <Record>: until finishOnKey, silence, maxLength or hangup
    SAVING = "saving"  # waiting for recorded()
    DIALING = "dialing"  # <Dial>: waiting for dial_finished()
    DONE = "done"


class Interpreter:
    def __init__(self, document_url: str | None, *, answered: bool) -> None:
        self._url = document_url
        self._answered = answered
        self._verbs: list[VoiceVerb] = []
        self._state = _State.FETCHING
        self._token = 0
        self._waiting_token = 0
        self.deadline: float | None = None
        self._fetches = 0
        # The running <Gather>, its prompts left to play, the digits collected, and whether the
        # prompts are over (then ``deadline`` is the input timeout).
        self._gather: GatherVerb | None = None
        self._prompts: list[Prompt] = []
        self._digits = ""
        self._prompts_done = False
        # The running prompt's loops left.
        self._loops_left = 0
        self._prompt: Prompt | None = None
        # The running <Record>: when it started, when speech was last heard, the key that ended it.
        self._record: RecordVerb | None = None
        self._record_started = 0.0
        self._last_voice = 0.0
        self._record_key = ""
        self._dial: DialVerb | None = None

    @property
    def document_url(self) -> str | None:
        """The URL of the document being run (relative URLs in it resolve against this)."""
        return self._url

    @property
    def current_record(self) -> RecordVerb | None:
        """The <Record> being recorded or saved (its recordingStatusCallback is the service's to send)."""
        return self._record

    @property
    def finished(self) -> bool:
        return self._state is _State.DONE

    # --- inputs --------------------------------------------------------------------------

    def load(self, response: VoiceResponse, url: str | None, now: float) -> list[Action]:
        """A fetched (or inline) document replaces whatever was left of the previous one."""
        if self._state is _State.DONE:
            return []
        if url is not None:
            self._url = url
        self._verbs = list(response.verbs)
        self._gather = None
        self._state = _State.IDLE
        return self._run(now)

    def fetch_failed(self, now: float) -> list[Action]:
        """No usable document (the service has already tried the fallback and spoken the error)."""
        return self._finish(Hangup())

    def on_event(self, event: LegEvent, now: float) -> list[Action]:
        if self._state is _State.DONE:
            return []
        if isinstance(event, Ended):
            recording = self._state is _State.RECORDING and self._record is not None
            trim = self._record.trim if self._record is not None else False
            self._state = _State.DONE
            self.deadline = None
            return [StopRecording(trim, hangup=True)] if recording else []
        if isinstance(event, PlaybackFinished):
            if self._state is _State.PLAYING and event.token == self._waiting_token:
                self._state = _State.IDLE
                return self._run(now)
            if self._state is _State.BEEPING and event.token == self._waiting_token:
                return self._start_recording(now)
            return []
        if isinstance(event, DigitReceived) and self._state is _State.RECORDING and self._record is not None:
            if event.digit in self._record.finish_on_key:
                self._record_key = event.digit
                return self._stop_recording()
            return []
        if isinstance(event, DigitReceived) and self._gather is not None:
            return self._digit(event.digit, now)
        return []  # digits outside <Gather> are not collected (as on Twilio)

    def voice_activity(self, now: float) -> list[Action]:
        """Speech was heard during a <Record>: its silence timeout starts again."""
        if self._state is _State.RECORDING and self._record is not None:
            self._last_voice = now
            self._arm_record_deadline()
        return []

    def recorded(self, recording_sid: str, recording_url: str, duration: int, now: float) -> list[Action]:
        """The <Record> tape is stored: post it to ``action``, or go on when it held nothing."""
        record = self._record
        if self._state is not _State.SAVING or record is None:
            return []
        self._record = None
        if duration <= 0:
            # Twilio: an empty recording (silence only) does not request the action URL.
            self._state = _State.IDLE
            return self._run(now)
        self._fetches = 0
        params = (("RecordingUrl", recording_url), ("RecordingDuration", str(duration)),
                  ("RecordingSid", recording_sid), ("Digits", self._record_key))
        return self._fetch(record.action or self._url or "", record.method, params)

    def dial_finished(self, outcome: DialOutcome, now: float) -> list[Action]:
        """The <Dial> is over: post DialCallStatus to ``action``, or go on with the next verb."""
        dial = self._dial
        if self._state is not _State.DIALING or dial is None:
            return []
        self._dial = None
        if dial.action is None:
            self._state = _State.IDLE
            return self._run(now)
        self._fetches = 0
        params = [("DialCallStatus", outcome.status), ("DialCallDuration", str(outcome.duration))]
        if outcome.call_sid:
            params.append(("DialCallSid", outcome.call_sid))
        if outcome.recording is not None:
            sid, url, duration = outcome.recording
            params += [("RecordingSid", sid), ("RecordingUrl", url), ("RecordingDuration", str(duration))]
        return self._fetch(dial.action, dial.method, tuple(params))

    def tick(self, now: float) -> list[Action]:
        if self.deadline is None or now < self.deadline or self._state is _State.DONE:
            return []
        self.deadline = None
        if self._state is _State.RECORDING:
            return self._stop_recording()
        if self._state is _State.PAUSING:
            self._state = _State.IDLE
            return self._run(now)
        if self._gather is not None and self._prompts_done:
            return self._end_gather(now, "")
        return []

    # --- the machine ---------------------------------------------------------------------

    def _next_token(self) -> int:
        self._token += 1
        self._waiting_token = self._token
        return self._token

    def _run(self, now: float) -> list[Action]:
        actions: list[Action] = []
        while self._state is _State.IDLE:
            if self._prompt is not None and self._loops_left > 0:
                actions += self._start_prompt(self._prompt, now)
                continue
            self._prompt = None
            if self._gather is not None:
                if self._prompts:
                    self._begin_prompt(self._prompts.pop(0))
                    continue
                if not self._prompts_done:
                    self._prompts_done = True
                    self.deadline = now + self._gather.timeout
                if self._gather.timeout == 0 and not self._digits:
                    return actions + self._end_gather(now, "")
                return actions  # waiting for digits or the timeout
            if not self._verbs:
                return actions + self._finish(Hangup())
            verb = self._verbs.pop(0)
            if isinstance(verb, RejectVerb):
                return actions + self._finish(Hangup() if self._answered else Reject(verb.reason))
            if not self._answered:
                self._answered = True
                actions.append(Answer())
            actions += self._verb(verb, now)
        return actions

    def _verb(self, verb: VoiceVerb, now: float) -> list[Action]:
        if isinstance(verb, SayVerb | PlayVerb | PauseVerb):
            self._begin_prompt(verb)
            return []
        if isinstance(verb, GatherVerb):
            self._gather = verb
            self._prompts = list(verb.prompts)
            self._digits = ""
            self._prompts_done = False
            return []
        if isinstance(verb, DialVerb):
            self._dial = verb
            self._state = _State.DIALING
            return [Dial(verb)]
        if isinstance(verb, RedirectVerb):
            return self._fetch(verb.url, verb.method, ())
        if isinstance(verb, HangupVerb):
            return self._finish(Hangup())
        if isinstance(verb, RecordVerb):
            self._record = verb
            self._record_key = ""
            if verb.play_beep:
                self._state = _State.BEEPING
                return [PlayBeep(self._next_token())]
            return self._start_recording(now)
        return []  # pragma: no cover - VoiceVerb is exhaustive

    def _start_recording(self, now: float) -> list[Action]:
        self._state = _State.RECORDING
        self._record_started = self._last_voice = now
        self._arm_record_deadline()
        return [StartRecording()]

    def _arm_record_deadline(self) -> None:
        record = self._record
        assert record is not None
        deadline = self._record_started + record.max_length
        if record.timeout > 0:  # timeout="0" waits for the key or maxLength only
            deadline = min(deadline, self._last_voice + record.timeout)
        self.deadline = deadline

    def _stop_recording(self) -> list[Action]:
        record = self._record
        assert record is not None
        self._state = _State.SAVING
        self.deadline = None
        return [StopRecording(record.trim, hangup=False)]

    def _begin_prompt(self, prompt: Prompt) -> None:
        self._prompt = prompt
        loops = prompt.loop if isinstance(prompt, SayVerb | PlayVerb) else 1
        self._loops_left = MAX_ENDLESS_LOOPS if loops == 0 else loops

    def _start_prompt(self, prompt: Prompt, now: float) -> list[Action]:
        self._loops_left -= 1
        if isinstance(prompt, PauseVerb):
            if prompt.length == 0:
                return []
            self._state = _State.PAUSING
            self.deadline = now + prompt.length
            return []
        if isinstance(prompt, SayVerb):
            if not prompt.text:
                return []
            self._state = _State.PLAYING
            return [Speak(prompt.text, prompt.voice, prompt.language, self._next_token())]
        actions: list[Action] = []
        if prompt.digits:
            actions.append(SendDigits(prompt.digits))
        if prompt.url:
            self._state = _State.PLAYING
            actions.append(PlayAudio(self._absolute(prompt.url), self._next_token()))
        return actions

    def _digit(self, digit: str, now: float) -> list[Action]:
        gather = self._gather
        assert gather is not None
        actions: list[Action] = []
        if not self._prompts_done:  # barge-in: the first digit ends the prompts
            if self._state in (_State.PLAYING, _State.PAUSING):
                actions.append(StopPlayback())
            self._state = _State.IDLE
            self._prompt = None
            self._prompts = []
            self._prompts_done = True
        if digit == gather.finish_on_key:
            return actions + self._end_gather(now, digit)
        self._digits += digit
        if gather.num_digits is not None and len(self._digits) >= gather.num_digits:
            return actions + self._end_gather(now, "")
        self.deadline = now + gather.timeout
        return actions

    def _end_gather(self, now: float, finished_on: str) -> list[Action]:
        gather = self._gather
        assert gather is not None
        self._gather = None
        self.deadline = None
        digits, self._digits = self._digits, ""
        if not digits and not gather.action_on_empty_result:
            self._state = _State.IDLE
            return self._run(now)  # no input: on to the next verb
        self._fetches = 0  # the caller did something: this is not a redirect loop
        params = [("Digits", digits)]
        if finished_on:
            params.append(("FinishedOnKey", finished_on))
        return self._fetch(gather.action or self._url or "", gather.method, tuple(params))

    def _fetch(self, url: str, method: str, params: tuple[tuple[str, str], ...]) -> list[Action]:
        self._fetches += 1
        if self._fetches > MAX_DOCUMENTS or not (url or self._url):
            return self._finish(Hangup())
        self._state = _State.FETCHING
        self._verbs = []
        return [Fetch(self._absolute(url), method, params)]

    def _absolute(self, url: str) -> str:
        return urljoin(self._url, url) if self._url else url

    def _finish(self, action: Action) -> list[Action]:
        self._state = _State.DONE
        self.deadline = None
        return [action]
