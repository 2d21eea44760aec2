"""Voice TwiML parsing: the verbs Openline runs, and Twilio's codes for what it refuses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openline.codecs.twiml import TwimlError
from openline.codecs.twiml.voice import (
    DialTarget,
    DialVerb,
    GatherVerb,
    HangupVerb,
    PauseVerb,
    PlayVerb,
    RecordVerb,
    RedirectVerb,
    RejectVerb,
    SayVerb,
    VoiceResponse,
    parse_voice_twiml,
)


def test_sdk_style_document() -> None:
    doc = ('<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/g" finishOnKey="*" numDigits="3" '
           'timeout="7" method="get" actionOnEmptyResult="true"><Say loop="2" voice="alice">Hi</Say>'
           '<Play>/a.wav</Play><Pause length="2"/></Gather><Record maxLength="30" playBeep="false" '
           'trim="do-not-trim"/><Redirect method="GET">/next</Redirect><Reject reason="busy"/><Hangup/></Response>')
    verbs = parse_voice_twiml(doc).verbs
    assert verbs == (
        GatherVerb((SayVerb("Hi", "alice", None, 2), PlayVerb("/a.wav"), PauseVerb(2)), 3, "*", 7, "/g", "GET", True),
        RecordVerb(max_length=30, play_beep=False, trim=False),
        RedirectVerb("/next", "GET"), RejectVerb("busy"), HangupVerb())


def test_dial_nouns_and_attributes() -> None:
    doc = ('<Response><Dial callerId="+15550001111" timeout="12" timeLimit="60" record="record-from-ringing-dual" '
           'action="/a" method="GET"><Number sendDigits="ww1" statusCallback="/s" statusCallbackMethod="GET" '
           'statusCallbackEvent="ringing answered">+15551112222</Number><Sip>sip:al@pbx.example</Sip>'
           '</Dial><Dial> +15553334444 </Dial></Response>')
    first, second = parse_voice_twiml(doc).verbs
    assert first == DialVerb((DialTarget("+15551112222", "ww1", "/s", "GET", ("ringing", "answered")),
                              DialTarget("sip:al@pbx.example")), 12, "+15550001111", "/a", "GET", True, 60)
    assert second == DialVerb((DialTarget("+15553334444"),))


@pytest.mark.parametrize(("doc", "code"), [
    ("<Response><Dial/></Response>", 12200),
    ("<Response><Dial><Number statusCallbackEvent='hungup'>+1555</Number></Dial></Response>", 12200),
    ("<Response><Dial><Conference>room</Conference></Dial></Response>", 12200),
    ("<Response><Dial><Sip>tel:123</Sip></Dial></Response>", 12200),
    ("<Response><Dial record='always'>+1555</Dial></Response>", 12200),
    ("<Response><Dial timeout='2'>+1555</Dial></Response>", 12200),
    ("<Response><Dance/></Response>", 12200),
    ("<Response><Say>unclosed</Response>", 12100),
    ('<!DOCTYPE x [<!ENTITY a "b">]><Response/>', 12100),
    ("<Response><Gather><Dial/></Gather></Response>", 12200),
    ("<Response><Gather input='speech'/></Response>", 12200),
    ("<Response><Pause length='x'/></Response>", 12200),
    ("<Response><Say loop='-1'>a</Say></Response>", 12200),
    ("<Response><Play/></Response>", 12200),
    ("<Response><Play digits='12z'/></Response>", 12200),
    ("<Response><Reject reason='later'/></Response>", 12200),
    ("<Response><Redirect/></Response>", 12200),
    ("<Response><Hangup>text</Hangup></Response>", 12200),
    ("<Response><Gather finishOnKey='12'/></Response>", 12200),
    ("<Response><Gather actionOnEmptyResult='maybe'/></Response>", 12200),
    ("<Say>a</Say>", 12200),
])
def test_refused_documents_carry_twilios_code(doc: str, code: int) -> None:
    with pytest.raises(TwimlError) as info:
        parse_voice_twiml(doc)
    assert info.value.twilio_code == code


# --- fuzzing: nothing but TwimlError escapes ------------------------------------------------------

SETTINGS = settings(database=None, deadline=None)
TOKENS = [
    "<Response>", "</Response>", "<Say>", "</Say>", '<Say loop="0">', "<Play>", "</Play>", '<Play digits="1w">',
    "<Pause/>", '<Pause length="x"/>', "<Gather>", "</Gather>", '<Gather numDigits="0">', "<Record/>",
    '<Record maxLength="99999"/>', "<Dial>", "</Dial>", "<Number>", "</Number>", "<Sip>", "</Sip>",
    "<Redirect>", "</Redirect>", "<Hangup/>", '<Reject reason="x"/>', "<Foo/>", "hi", " ", "+15551234567",
    "sip:a@b", "&amp;", "&bogus;", "<!DOCTYPE Response>", "<", ">", '"', "/", "\x00",
]  # fmt: skip


def _only_twiml_error(doc: bytes | str) -> None:
    try:
        result = parse_voice_twiml(doc)
    except TwimlError:
        return
    assert isinstance(result, VoiceResponse)


@SETTINGS
@given(st.binary(max_size=2048))
def test_fuzz_random_bytes(data: bytes) -> None:
    _only_twiml_error(data)


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_fuzz_token_soup(doc: str) -> None:
    _only_twiml_error(doc)


@SETTINGS
@given(st.text(max_size=200))
def test_say_text_round_trips_through_the_sdk(text: str) -> None:
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.say(text)
    try:
        verbs = parse_voice_twiml(str(response)).verbs
    except TwimlError:
        return  # text the XML cannot carry (control characters): refused, never a crash
    # XML 1.0 §2.11: a parser hands over every line end as "\n".
    expected = text.replace("\r\n", "\n").replace("\r", "\n").strip(" \t\n")
    assert verbs == (SayVerb(expected),)
