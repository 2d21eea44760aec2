"""The Voice TwiML interpreter driven with explicit times (no clock, no I/O)."""

from __future__ import annotations

from openline.codecs.twiml.voice import parse_voice_twiml
from openline.core.call_legs import DigitReceived, Ended, EndReason, PlaybackFinished
from openline.core.twiml_interpreter import (
    MAX_DOCUMENTS,
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

URL = "https://app.example/voice"


def start(xml: str, *, answered: bool = True, now: float = 0.0) -> tuple[Interpreter, list[object]]:
    interp = Interpreter(URL, answered=answered)
    return interp, list(interp.load(parse_voice_twiml(xml), URL, now))


def test_say_then_end_of_document_hangs_up() -> None:
    interp, actions = start("<Response><Say voice='woman' language='fr-FR'>Bonjour</Say></Response>")
    assert actions == [Speak("Bonjour", "woman", "fr-FR", 1)]
    assert interp.on_event(PlaybackFinished(1), 1.0) == [Hangup()]
    assert interp.finished


def test_inbound_call_is_answered_by_the_first_verb_and_reject_refuses_it() -> None:
    _, actions = start("<Response><Say>Hi</Say></Response>", answered=False)
    assert actions == [Answer(), Speak("Hi", None, None, 1)]
    interp, actions = start("<Response><Reject reason='busy'/></Response>", answered=False)
    assert actions == [Reject("busy")] and interp.finished
    _, actions = start("<Response><Reject/></Response>", answered=True)
    assert actions == [Hangup()]


def test_say_loops_and_stale_tokens_are_ignored() -> None:
    interp, actions = start("<Response><Say loop='2'>Twice</Say><Hangup/></Response>")
    assert actions == [Speak("Twice", None, None, 1)]
    assert interp.on_event(PlaybackFinished(7), 0.5) == []  # not the one we wait for
    assert interp.on_event(PlaybackFinished(1), 1.0) == [Speak("Twice", None, None, 2)]
    assert interp.on_event(PlaybackFinished(2), 2.0) == [Hangup()]


def test_pause_waits_for_its_deadline() -> None:
    interp, actions = start("<Response><Pause length='3'/><Play digits='12w'>/a.wav</Play></Response>", now=10.0)
    assert actions == [] and interp.deadline == 13.0
    assert interp.tick(12.9) == []
    assert interp.tick(13.0) == [SendDigits("12w"), PlayAudio("https://app.example/a.wav", 1)]


def test_gather_collects_digits_until_finish_key_with_barge_in() -> None:
    interp, actions = start("<Response><Gather action='/menu' timeout='4'><Say>Menu</Say></Gather>"
                            "<Say>Nothing</Say></Response>")
    assert actions == [Speak("Menu", None, None, 1)]
    assert interp.on_event(DigitReceived("4"), 1.0) == [StopPlayback()]  # the prompt is cut
    assert interp.deadline == 5.0
    assert interp.on_event(PlaybackFinished(1), 1.1) == []  # late report of the cut prompt
    assert interp.on_event(DigitReceived("2"), 2.0) == []
    assert interp.deadline == 6.0
    assert interp.on_event(DigitReceived("#"), 3.0) == [
        Fetch("https://app.example/menu", "POST", (("Digits", "42"), ("FinishedOnKey", "#")))]


def test_gather_num_digits_and_default_action_is_the_document() -> None:
    interp, _ = start("<Response><Gather numDigits='2' method='GET'/></Response>")
    assert interp.deadline == 5.0  # no prompts: the input timeout starts at once
    interp.on_event(DigitReceived("1"), 1.0)
    assert interp.on_event(DigitReceived("9"), 1.5) == [Fetch(URL, "GET", (("Digits", "19"),))]


def test_gather_timeout_without_input_falls_through_or_posts_empty() -> None:
    interp, actions = start("<Response><Gather timeout='2'><Say>Q</Say></Gather><Say>Bye</Say></Response>")
    assert actions == [Speak("Q", None, None, 1)]
    assert interp.on_event(PlaybackFinished(1), 1.0) == [] and interp.deadline == 3.0
    assert interp.tick(3.0) == [Speak("Bye", None, None, 2)]
    interp, _ = start("<Response><Gather timeout='2' actionOnEmptyResult='true' action='/x'/></Response>")
    assert interp.tick(2.0) == [Fetch("https://app.example/x", "POST", (("Digits", ""),))]


def test_gather_timeout_after_some_digits_posts_them() -> None:
    interp, _ = start("<Response><Gather timeout='3' action='/x'/></Response>")
    interp.on_event(DigitReceived("5"), 1.0)
    assert interp.tick(3.9) == []
    assert interp.tick(4.0) == [Fetch("https://app.example/x", "POST", (("Digits", "5"),))]


def test_digits_outside_gather_are_ignored_and_redirect_fetches() -> None:
    interp, actions = start("<Response><Say>a</Say><Redirect method='GET'>next</Redirect></Response>")
    assert actions == [Speak("a", None, None, 1)]
    assert interp.on_event(DigitReceived("1"), 0.5) == []
    assert interp.on_event(PlaybackFinished(1), 1.0) == [Fetch("https://app.example/next", "GET", ())]
    # The new document replaces the rest of the old one, relative to its own URL.
    assert interp.load(parse_voice_twiml("<Response><Play>b.wav</Play></Response>"),
                       "https://app.example/sub/next", 1.5) == [PlayAudio("https://app.example/sub/b.wav", 2)]


def test_redirect_loop_ends_the_call() -> None:
    interp, actions = start("<Response><Redirect>/again</Redirect></Response>")
    for _ in range(MAX_DOCUMENTS):
        assert isinstance(actions[-1], Fetch)
        actions = interp.load(parse_voice_twiml("<Response><Redirect>/again</Redirect></Response>"), None, 0)
    assert actions == [Hangup()]


def test_leg_end_stops_everything() -> None:
    interp, _ = start("<Response><Pause length='5'/><Say>never</Say></Response>")
    assert interp.on_event(Ended(EndReason.HANGUP_REMOTE), 1.0) == []
    assert interp.finished and interp.deadline is None
    assert interp.tick(10.0) == [] and interp.on_event(DigitReceived("1"), 10.0) == []
    assert interp.load(parse_voice_twiml("<Response><Say>x</Say></Response>"), None, 11) == []


def test_fetch_failure_hangs_up() -> None:
    interp = Interpreter(URL, answered=True)
    assert interp.fetch_failed(0.0) == [Hangup()]
    assert interp.finished


def test_record_beeps_then_stops_on_silence_and_posts_the_recording() -> None:
    interp, actions = start("<Response><Record timeout='3' maxLength='60' action='/saved'/><Say>after</Say>"
                            "</Response>")
    assert actions == [PlayBeep(1)]
    assert interp.on_event(PlaybackFinished(1), 1.0) == [StartRecording()]
    assert interp.deadline == 4.0  # three seconds of silence
    assert interp.voice_activity(2.5) == [] and interp.deadline == 5.5
    assert interp.on_event(DigitReceived("x"), 3.0) == []  # not a finish key
    assert interp.tick(5.5) == [StopRecording(trim=True, hangup=False)]
    assert interp.recorded("RE1", "https://o.example/RE1", 2, 6.0) == [Fetch(
        "https://app.example/saved", "POST",
        (("RecordingUrl", "https://o.example/RE1"), ("RecordingDuration", "2"), ("RecordingSid", "RE1"),
         ("Digits", "")))]


def test_record_finish_key_max_length_and_empty_recordings() -> None:
    interp, actions = start("<Response><Record playBeep='false' finishOnKey='#' timeout='0' maxLength='10' "
                            "trim='do-not-trim'/><Say>next</Say></Response>")
    assert actions == [StartRecording()] and interp.deadline == 10.0  # timeout 0: no silence limit
    assert interp.on_event(DigitReceived("#"), 2.0) == [StopRecording(trim=False, hangup=False)]
    # Nothing was said: Twilio skips the action and goes on.
    assert interp.recorded("", "", 0, 2.1) == [Speak("next", None, None, 1)]
    interp, _ = start("<Response><Record playBeep='false' maxLength='5'/></Response>")
    assert interp.tick(5.0) == [StopRecording(trim=True, hangup=False)]
    assert interp.recorded("RE2", "u", 5, 5.1) == [Fetch(URL, "POST", (
        ("RecordingUrl", "u"), ("RecordingDuration", "5"), ("RecordingSid", "RE2"), ("Digits", "")))]


def test_hangup_during_record_keeps_the_recording() -> None:
    interp, _ = start("<Response><Record playBeep='false'/></Response>")
    assert interp.on_event(Ended(EndReason.HANGUP_REMOTE), 3.0) == [StopRecording(trim=True, hangup=True)]
    assert interp.finished


def test_dial_waits_for_its_outcome_then_posts_dial_call_status() -> None:
    interp, actions = start("<Response><Dial action='/after' record='record-from-answer'>+15551230000</Dial>"
                            "<Say>unreached</Say></Response>")
    assert len(actions) == 1 and isinstance(actions[0], Dial)
    assert actions[0].verb.record and actions[0].verb.targets[0].address == "+15551230000"
    assert interp.on_event(DigitReceived("1"), 1.0) == [] and interp.tick(100.0) == []
    outcome = DialOutcome("completed", "CA1", 12, ("RE1", "https://o.example/RE1", 12))
    assert interp.dial_finished(outcome, 20.0) == [Fetch("https://app.example/after", "POST", (
        ("DialCallStatus", "completed"), ("DialCallDuration", "12"), ("DialCallSid", "CA1"),
        ("RecordingSid", "RE1"), ("RecordingUrl", "https://o.example/RE1"), ("RecordingDuration", "12")))]


def test_dial_without_action_goes_on_with_the_document() -> None:
    interp, _ = start("<Response><Dial><Sip>sip:bob@example.com</Sip></Dial><Say>after</Say></Response>")
    assert interp.dial_finished(DialOutcome("busy", "CA2", 0), 5.0) == [Speak("after", None, None, 1)]
    assert interp.dial_finished(DialOutcome("busy", "CA2", 0), 5.0) == []  # only once
