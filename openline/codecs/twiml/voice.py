"""Voice TwiML: the XML a customer's voice webhook answers with, parsed into typed verbs.

Grammar (Twilio "TwiML for Programmable Voice"), the verbs Openline runs:

    <Response>
      <Say voice= language= loop=>text</Say>
      <Play loop= digits=>url</Play>               (or no URL and digits="...": send DTMF)
      <Pause length=/>
      <Gather input=dtmf numDigits= finishOnKey= timeout= action= method= actionOnEmptyResult=>
          <Say/> <Play/> <Pause/>                  prompts, interrupted by the first digit
      </Gather>
      <Record maxLength= timeout= finishOnKey= playBeep= action= method= recordingStatusCallback= trim=/>
      <Dial timeout= callerId= action= method= record= timeLimit=>
          +15551234567                             plain number, or nouns (rung at once, first answer wins):
          <Number sendDigits=>+1555...</Number>  <Sip>sip:user@host</Sip>
      </Dial>
      <Redirect method=>url</Redirect>
      <Hangup/>
      <Reject reason=busy|rejected/>
    </Response>

Unknown verbs and nouns are refused with Twilio's 12200 (schema validation); XML that is not
well-formed with 12100. Attribute values that are out of range are refused the same way rather
than guessed, so the customer sees the problem in the call's alert. The XML safety rules
(no DTDs, no entities, bounded size and depth) are the messaging codec's, shared here.
"""

from __future__ import annotations

from dataclasses import dataclass

from openline.codecs.twiml.messaging import (
    _XML_WHITESPACE,
    TwimlError,
    _Element,
    _method,
    _optional_attr,
    _parse_tree,
    _refuse_text,
    _text_only,
)

__all__ = [
    "DIAL_DIGITS",
    "DialTarget",
    "DialVerb",
    "GatherVerb",
    "HangupVerb",
    "PauseVerb",
    "PlayVerb",
    "RecordVerb",
    "RedirectVerb",
    "RejectVerb",
    "SayVerb",
    "VoiceResponse",
    "VoiceVerb",
    "parse_voice_twiml",
]

DIAL_DIGITS = frozenset("0123456789*#ABCDw")  # DTMF plus Twilio's 0.5 s wait
MAX_LOOP = 1000  # Twilio documents loop up to 1000 for <Say>/<Play>
MAX_PAUSE_SECONDS = 600
MAX_GATHER_TIMEOUT = 600
MAX_RECORD_SECONDS = 14_400  # Twilio's <Record maxLength> ceiling (4 hours)
MAX_SAY_CHARS = 4096  # Twilio's limit on <Say> text


@dataclass(frozen=True, slots=True)
class SayVerb:
    text: str
    voice: str | None = None
    language: str | None = None
    loop: int = 1  # 0 = until the call ends (or a digit stops a <Gather>)


@dataclass(frozen=True, slots=True)
class PlayVerb:
    url: str | None
    loop: int = 1
    digits: str | None = None


@dataclass(frozen=True, slots=True)
class PauseVerb:
    length: int = 1


Prompt = SayVerb | PlayVerb | PauseVerb


@dataclass(frozen=True, slots=True)
class GatherVerb:
    prompts: tuple[Prompt, ...] = ()
    num_digits: int | None = None
    finish_on_key: str = "#"
    timeout: int = 5
    action: str | None = None
    method: str = "POST"
    action_on_empty_result: bool = False


@dataclass(frozen=True, slots=True)
class RecordVerb:
    max_length: int = 3600
    timeout: int = 5
    finish_on_key: str = "1234567890*#"
    play_beep: bool = True
    action: str | None = None
    method: str = "POST"
    recording_status_callback: str | None = None
    recording_status_callback_method: str = "POST"
    trim: bool = True  # trim-silence (Twilio's default)


CALL_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})


@dataclass(frozen=True, slots=True)
class DialTarget:
    address: str  # an E.164 number (as written) or a sip: URI
    send_digits: str | None = None  # <Number sendDigits>: pressed once the callee answers
    status_callback: str | None = None  # the child call's own status callbacks (<Number>/<Sip>)
    status_callback_method: str = "POST"
    status_callback_events: tuple[str, ...] = ("completed",)


DIAL_RECORD = frozenset({"do-not-record", "record-from-answer", "record-from-ringing", "record-from-answer-dual",
                         "record-from-ringing-dual", "true", "false"})
MAX_DIAL_TARGETS = 10  # Twilio rings at most 10 nouns at once


@dataclass(frozen=True, slots=True)
class DialVerb:
    targets: tuple[DialTarget, ...]
    timeout: int = 30
    caller_id: str | None = None
    action: str | None = None
    method: str = "POST"
    record: bool = False  # any record-from-* value (Openline records the mixed call from the answer)
    time_limit: int = 14_400


@dataclass(frozen=True, slots=True)
class RedirectVerb:
    url: str
    method: str = "POST"


@dataclass(frozen=True, slots=True)
class HangupVerb:
    pass


@dataclass(frozen=True, slots=True)
class RejectVerb:
    reason: str = "rejected"


VoiceVerb = (SayVerb | PlayVerb | PauseVerb | GatherVerb | RecordVerb | DialVerb | RedirectVerb | HangupVerb
             | RejectVerb)


@dataclass(frozen=True, slots=True)
class VoiceResponse:
    verbs: tuple[VoiceVerb, ...]


def parse_voice_twiml(document: bytes | str) -> VoiceResponse:
    """Parse a Voice TwiML document; every failure is a ``TwimlError`` carrying Twilio's code."""
    root = _parse_tree(document)
    if root.tag != "Response":
        raise TwimlError(f"root element must be <Response>, got <{root.tag}>")
    verbs: list[VoiceVerb] = []
    for child in root.children:
        if isinstance(child, str):
            _refuse_text(child, "Response")
            continue
        verbs.append(_verb(child))
    return VoiceResponse(tuple(verbs))


def _verb(el: _Element) -> VoiceVerb:
    match el.tag:
        case "Say" | "Play" | "Pause":
            return _prompt(el)
        case "Gather":
            return _gather(el)
        case "Record":
            _empty(el)
            return RecordVerb(
                max_length=_int(el, "maxLength", 3600, 1, MAX_RECORD_SECONDS),
                timeout=_int(el, "timeout", 5, 0, MAX_GATHER_TIMEOUT),
                finish_on_key=_keys(el, "finishOnKey", "1234567890*#"),
                play_beep=_bool(el, "playBeep", True),
                action=_optional_attr(el, "action"), method=_method_attr(el, "method"),
                recording_status_callback=_optional_attr(el, "recordingStatusCallback"),
                recording_status_callback_method=_method_attr(el, "recordingStatusCallbackMethod"),
                trim=(el.attrs.get("trim", "trim-silence").strip(_XML_WHITESPACE) != "do-not-trim"))
        case "Dial":
            return _dial(el)
        case "Redirect":
            url = _text_only(el).strip(_XML_WHITESPACE)
            if not url:
                raise TwimlError("<Redirect> without a URL")
            return RedirectVerb(url, _method_attr(el, "method"))
        case "Hangup":
            _empty(el)
            return HangupVerb()
        case "Reject":
            _empty(el)
            reason = el.attrs.get("reason", "rejected").strip(_XML_WHITESPACE)
            if reason not in ("busy", "rejected"):
                raise TwimlError(f"<Reject reason> must be busy or rejected, got {reason!r}")
            return RejectVerb(reason)
        case _:
            raise TwimlError(f"unknown Voice TwiML verb <{el.tag}>")


def _prompt(el: _Element) -> Prompt:
    if el.tag == "Say":
        text = _text_only(el).strip(_XML_WHITESPACE)
        if len(text) > MAX_SAY_CHARS:
            raise TwimlError(f"<Say> text is longer than {MAX_SAY_CHARS} characters")
        return SayVerb(text, _optional_attr(el, "voice"), _optional_attr(el, "language"),
                       _int(el, "loop", 1, 0, MAX_LOOP))
    if el.tag == "Play":
        url = _text_only(el).strip(_XML_WHITESPACE) or None
        digits = _optional_attr(el, "digits")
        if digits is not None and not set(digits) <= DIAL_DIGITS:
            raise TwimlError(f"<Play digits> may hold only 0-9, *, #, A-D and w, got {digits!r}")
        if url is None and digits is None:
            raise TwimlError("<Play> needs a URL or digits")
        return PlayVerb(url, _int(el, "loop", 1, 0, MAX_LOOP), digits)
    _empty(el)
    return PauseVerb(_int(el, "length", 1, 0, MAX_PAUSE_SECONDS))


def _gather(el: _Element) -> GatherVerb:
    prompts: list[Prompt] = []
    for child in el.children:
        if isinstance(child, str):
            _refuse_text(child, "Gather")
        elif child.tag in ("Say", "Play", "Pause"):
            prompts.append(_prompt(child))
        else:
            raise TwimlError(f"<{child.tag}> is not allowed in <Gather>")
    inputs = set(el.attrs.get("input", "dtmf").split())
    if "dtmf" not in inputs:
        # Speech recognition is not offered: say so rather than wait for digits that never count.
        raise TwimlError("<Gather input> must include dtmf (speech recognition is not supported)")
    num = el.attrs.get("numDigits")
    return GatherVerb(
        prompts=tuple(prompts),
        num_digits=None if num is None else _int(el, "numDigits", 1, 1, 100),
        finish_on_key=_keys(el, "finishOnKey", "#", single=True),
        timeout=_int(el, "timeout", 5, 0, MAX_GATHER_TIMEOUT),
        action=_optional_attr(el, "action"), method=_method_attr(el, "method"),
        action_on_empty_result=_bool(el, "actionOnEmptyResult", False))


def _dial(el: _Element) -> DialVerb:
    targets: list[DialTarget] = []
    for child in el.children:
        if isinstance(child, str):
            text = child.strip(_XML_WHITESPACE)
            if text:
                targets.append(DialTarget(text))
        elif child.tag == "Number":
            number = _text_only(child).strip(_XML_WHITESPACE)
            if not number:
                raise TwimlError("<Number> without a phone number")
            digits = _optional_attr(child, "sendDigits")
            if digits is not None and not set(digits) <= DIAL_DIGITS:
                raise TwimlError(f"<Number sendDigits> may hold only 0-9, *, #, A-D and w, got {digits!r}")
            targets.append(DialTarget(number, digits, *_noun_callbacks(child)))
        elif child.tag == "Sip":
            uri = _text_only(child).strip(_XML_WHITESPACE)
            if not uri.lower().startswith(("sip:", "sips:")):
                raise TwimlError(f"<Sip> must hold a sip: URI, got {uri!r}")
            targets.append(DialTarget(uri, None, *_noun_callbacks(child)))
        else:
            # <Client>, <Conference>, <Queue>... are not offered: refuse rather than drop the call.
            raise TwimlError(f"<{child.tag}> is not supported in <Dial>")
    if not targets:
        raise TwimlError("<Dial> names nobody to call")
    if len(targets) > MAX_DIAL_TARGETS:
        raise TwimlError(f"<Dial> may ring at most {MAX_DIAL_TARGETS} numbers at once")
    record = el.attrs.get("record", "do-not-record").strip(_XML_WHITESPACE)
    if record not in DIAL_RECORD:
        raise TwimlError(f"<Dial record> is not a known value: {record!r}")
    return DialVerb(
        targets=tuple(targets), timeout=_int(el, "timeout", 30, 5, 600),
        caller_id=_optional_attr(el, "callerId"), action=_optional_attr(el, "action"),
        method=_method_attr(el, "method"), record=record not in ("do-not-record", "false"),
        time_limit=_int(el, "timeLimit", 14_400, 1, 14_400))


def _noun_callbacks(el: _Element) -> tuple[str | None, str, tuple[str, ...]]:
    """A dialed noun's ``statusCallback``, ``statusCallbackMethod`` and ``statusCallbackEvent``."""
    raw = el.attrs.get("statusCallbackEvent")
    events = tuple(raw.split()) if raw is not None else ("completed",)
    if not set(events) <= CALL_EVENTS:
        raise TwimlError(f"<{el.tag} statusCallbackEvent> may list only initiated, ringing, answered and "
                         f"completed, got {raw!r}")
    return _optional_attr(el, "statusCallback"), _method_attr(el, "statusCallbackMethod"), events


def _empty(el: _Element) -> None:
    for child in el.children:
        if isinstance(child, str):
            _refuse_text(child, el.tag)
        else:
            raise TwimlError(f"<{child.tag}> is not allowed in <{el.tag}>")


def _int(el: _Element, name: str, default: int, low: int, high: int) -> int:
    raw = el.attrs.get(name)
    if raw is None:
        return default
    try:
        value = int(raw.strip(_XML_WHITESPACE))
    except ValueError:
        raise TwimlError(f"<{el.tag} {name}> must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise TwimlError(f"<{el.tag} {name}> must be between {low} and {high}, got {value}")
    return value


def _bool(el: _Element, name: str, default: bool) -> bool:
    raw = el.attrs.get(name)
    if raw is None:
        return default
    value = raw.strip(_XML_WHITESPACE).lower()
    if value not in ("true", "false"):
        raise TwimlError(f"<{el.tag} {name}> must be true or false, got {raw!r}")
    return value == "true"


def _keys(el: _Element, name: str, default: str, *, single: bool = False) -> str:
    raw = el.attrs.get(name)
    if raw is None:
        return default
    value = raw.strip(_XML_WHITESPACE)
    if not set(value) <= set("0123456789*#") or (single and len(value) > 1):
        raise TwimlError(f"<{el.tag} {name}> is not a valid key{'' if single else ' set'}: {raw!r}")
    return value


def _method_attr(el: _Element, name: str) -> str:
    raw = el.attrs.get(name)
    return "POST" if raw is None else _method(raw)
