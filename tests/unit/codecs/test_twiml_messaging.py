"""Messaging TwiML parser: vectors under tests/vectors/twiml, the official SDK's output, fuzzing.

Vectors named ok_*.xml must parse to the value in EXPECTED; bad_*.xml must raise TwimlError and
nothing else. (The streaming parts of the codec recipe -- byte-at-a-time feeding, trailing bytes,
re-encoding -- do not apply: a TwiML reply is one whole HTTP body and is never re-serialised.)
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from openline.codecs.twiml import (
    MAX_TWIML_BYTES,
    TWILIO_DOCUMENT_PARSE_FAILURE,
    TWILIO_RESPONSE_TOO_LARGE,
    TWILIO_SCHEMA_VALIDATION,
    MessageVerb,
    MessagingResponse,
    RedirectVerb,
    TwimlError,
    parse_messaging_twiml,
)

SETTINGS = settings(database=None, deadline=None)

VECTORS = Path(__file__).resolve().parents[2] / "vectors" / "twiml"
OK = sorted(VECTORS.glob("ok_*.xml"))
BAD = sorted(VECTORS.glob("bad_*.xml"))


def msg(
    body: str = "",
    *media: str,
    to: str | None = None,
    from_: str | None = None,
    action: str | None = None,
    method: str | None = None,
    status_callback: str | None = None,
) -> MessageVerb:
    return MessageVerb(body, tuple(media), to, from_, action, method, status_callback)


def resp(*verbs: MessageVerb | RedirectVerb) -> MessagingResponse:
    return MessagingResponse(tuple(verbs))


EXPECTED: dict[str, MessagingResponse] = {
    "ok_empty_response.xml": resp(),
    "ok_empty_response_pair.xml": resp(),
    "ok_simple_message.xml": resp(msg("Store Location: 123 Easy St.")),
    "ok_message_attributes.xml": resp(
        msg(
            "Hello from Openline",
            to="+15558675310",
            from_="+15017122661",
            action="https://example.com/sms/after",
            method="GET",
            status_callback="https://example.com/sms/status",
        )
    ),
    "ok_lowercase_method.xml": resp(
        msg("Hi", action="/followup", method="POST"), RedirectVerb("/next", "GET")
    ),
    "ok_body_and_media.xml": resp(
        msg(
            "Store Location: 123 Easy St.",
            "https://demo.twilio.com/owl.png",
            "https://demo.twilio.com/bird.jpg",
        )
    ),
    "ok_media_only.xml": resp(msg("", "https://example.com/cat.gif")),
    "ok_mixed_text_and_body.xml": resp(msg("Hello, world!", "https://example.com/a.png")),
    "ok_redirect.xml": resp(RedirectVerb("../nextInstructions", "POST")),
    "ok_redirect_then_ignored.xml": resp(msg("first"), RedirectVerb("https://example.com/next", "GET")),
    "ok_multiple_messages.xml": resp(msg("one"), msg("two", to="+15558675310"), msg("three")),
    "ok_cdata_and_references.xml": resp(msg("Tom & Jerry <3 <b>raw</b> & more €5 é")),
    "ok_comments_and_pi.xml": resp(msg("Hi there")),
    "ok_unknown_attribute.xml": resp(msg("Hi")),
    "ok_multiline_body.xml": resp(msg("Line one\n    Line two")),
    "ok_utf8_bom.xml": resp(msg("Café € 😀")),
    "ok_latin1_declared.xml": resp(msg("Café")),
    "ok_leading_whitespace.xml": resp(msg("leading blank lines")),
}

# Vectors whose refusal carries a specific Twilio code (the rest are checked only for TwimlError).
EXPECTED_CODES: dict[str, int] = {
    "bad_doctype_billion_laughs.xml": TWILIO_DOCUMENT_PARSE_FAILURE,
    "bad_doctype_xxe.xml": TWILIO_DOCUMENT_PARSE_FAILURE,
    "bad_doctype_parameter_entity.xml": TWILIO_DOCUMENT_PARSE_FAILURE,
    "bad_doctype_external_dtd.xml": TWILIO_DOCUMENT_PARSE_FAILURE,
    "bad_doctype_plain.xml": TWILIO_DOCUMENT_PARSE_FAILURE,
    "bad_not_xml_json.xml": TWILIO_DOCUMENT_PARSE_FAILURE,
    "bad_oversize.xml": TWILIO_RESPONSE_TOO_LARGE,
    "bad_unknown_verb.xml": TWILIO_SCHEMA_VALIDATION,
    "bad_wrong_root.xml": TWILIO_SCHEMA_VALIDATION,
    "bad_message_method.xml": TWILIO_SCHEMA_VALIDATION,
}


def test_vector_inventory() -> None:
    assert sorted(p.name for p in OK) == sorted(EXPECTED)
    assert set(EXPECTED_CODES) <= {p.name for p in BAD}
    assert len(BAD) >= 30


@pytest.mark.parametrize("path", OK, ids=[p.name for p in OK])
def test_ok_vectors(path: Path) -> None:
    data = path.read_bytes()
    assert parse_messaging_twiml(data) == EXPECTED[path.name]


@pytest.mark.parametrize("path", [p for p in OK if p.name != "ok_latin1_declared.xml"], ids=lambda p: p.name)
def test_ok_vectors_as_str(path: Path) -> None:
    assert parse_messaging_twiml(path.read_bytes().decode("utf-8")) == EXPECTED[path.name]


@pytest.mark.parametrize("path", BAD, ids=[p.name for p in BAD])
def test_bad_vectors_raise_twiml_error_only(path: Path) -> None:
    with pytest.raises(TwimlError) as info:
        parse_messaging_twiml(path.read_bytes())
    assert type(info.value) is TwimlError
    if path.name in EXPECTED_CODES:
        assert info.value.twilio_code == EXPECTED_CODES[path.name]


# As str: undecodable bytes cannot be a str, and a str's encoding="..." is ignored (already decoded).
STR_EXEMPT = {"bad_invalid_utf8.xml", "bad_unknown_encoding.xml"}


@pytest.mark.parametrize("path", [p for p in BAD if p.name not in STR_EXEMPT], ids=lambda p: p.name)
def test_bad_vectors_as_str(path: Path) -> None:
    with pytest.raises(TwimlError):
        parse_messaging_twiml(path.read_bytes().decode("utf-8"))


# --- specific rules -------------------------------------------------------------------------------


def test_doctype_refused_before_entity_expansion() -> None:
    # The bomb would expand to 10**9 "lol"s; refusal must come from the DOCTYPE handler.
    with pytest.raises(TwimlError, match="DOCTYPE"):
        parse_messaging_twiml((VECTORS / "bad_doctype_billion_laughs.xml").read_bytes())


def test_doctype_refused_in_utf16() -> None:
    doc = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "b">]><Response/>'
    with pytest.raises(TwimlError, match="DOCTYPE"):
        parse_messaging_twiml(doc.encode("utf-16"))


def test_doctype_text_inside_cdata_is_just_text() -> None:
    doc = "<Response><Message><![CDATA[<!DOCTYPE x> <!ENTITY y>]]></Message></Response>"
    assert parse_messaging_twiml(doc) == resp(msg("<!DOCTYPE x> <!ENTITY y>"))


def test_size_bound() -> None:
    filler = "<!--" + "x" * (MAX_TWIML_BYTES - 100) + "-->"
    fits = f"<Response><Message>hi</Message>{filler}</Response>"
    assert len(fits.encode()) <= MAX_TWIML_BYTES
    assert parse_messaging_twiml(fits) == resp(msg("hi"))
    assert parse_messaging_twiml(fits.encode()) == resp(msg("hi"))
    too_big = fits.replace("<!--", "<!--" + "x" * 200)
    for doc in (too_big, too_big.encode()):
        with pytest.raises(TwimlError) as info:
            parse_messaging_twiml(doc)
        assert info.value.twilio_code == TWILIO_RESPONSE_TOO_LARGE
    # Counted in UTF-8 octets for str input too: 3-octet characters under the character limit.
    wide = "<Response><Message>" + "€" * (MAX_TWIML_BYTES // 3) + "</Message></Response>"
    assert len(wide) < MAX_TWIML_BYTES
    with pytest.raises(TwimlError):
        parse_messaging_twiml(wide)


def test_redirect_default_method_and_stripping() -> None:
    assert parse_messaging_twiml("<Response><Redirect>\n  /x \n</Redirect></Response>") == resp(
        RedirectVerb("/x", "POST")
    )
    assert RedirectVerb("/x") == RedirectVerb("/x", "POST")


def test_verbs_after_redirect_are_dropped_but_validated() -> None:
    ok = "<Response><Redirect>/a</Redirect><Message>x</Message><Redirect>/b</Redirect></Response>"
    assert parse_messaging_twiml(ok) == resp(RedirectVerb("/a"))
    with pytest.raises(TwimlError):
        parse_messaging_twiml("<Response><Redirect>/a</Redirect><Message/></Response>")


def test_body_and_direct_text_concatenate_in_document_order() -> None:
    doc = "<Response><Message>a<Body>b</Body>c<Body>d</Body><Media>u</Media>e</Message></Response>"
    assert parse_messaging_twiml(doc) == resp(msg("abcde", "u"))


def test_inner_whitespace_of_body_is_kept() -> None:
    doc = "<Response><Message><Body>  two  spaces\tand tab  </Body></Message></Response>"
    assert parse_messaging_twiml(doc) == resp(msg("two  spaces\tand tab"))


def test_long_body_arrives_whole() -> None:
    # Longer than expat's text buffer, so it is delivered in pieces that must be joined.
    body = "0123456789" * 1000
    assert parse_messaging_twiml(f"<Response><Message>{body}</Message></Response>") == resp(msg(body))
    doc = f"<Response><Message>{body}<!-- split -->{body}<![CDATA[{body}]]></Message></Response>"
    assert parse_messaging_twiml(doc) == resp(msg(body * 3))


def test_empty_attributes_are_absent() -> None:
    doc = '<Response><Message to="" from=" " action="" statusCallback="">hi</Message></Response>'
    assert parse_messaging_twiml(doc) == resp(msg("hi"))


def test_error_codes() -> None:
    cases = {
        "<Response><Message>hi</Message>": TWILIO_DOCUMENT_PARSE_FAILURE,
        "<Response><Foo/></Response>": TWILIO_SCHEMA_VALIDATION,
        "<Response><Message/></Response>": TWILIO_SCHEMA_VALIDATION,
    }
    for doc, code in cases.items():
        with pytest.raises(TwimlError) as info:
            parse_messaging_twiml(doc)
        assert info.value.twilio_code == code


def test_str_input_ignores_declared_encoding() -> None:
    doc = '<?xml version="1.0" encoding="x-no-such-charset"?><Response><Message>é</Message></Response>'
    assert parse_messaging_twiml(doc) == resp(msg("é"))


def test_lone_surrogate_in_str_is_twiml_error() -> None:
    with pytest.raises(TwimlError):
        parse_messaging_twiml("<Response><Message>\ud800</Message></Response>")


def test_bytes_like_inputs() -> None:
    doc = b"<Response><Message>hi</Message></Response>"
    assert parse_messaging_twiml(bytearray(doc)) == resp(msg("hi"))  # type: ignore[arg-type]
    assert parse_messaging_twiml(memoryview(doc)) == resp(msg("hi"))  # type: ignore[arg-type]


def test_wrong_type_is_type_error() -> None:
    with pytest.raises(TypeError):
        parse_messaging_twiml(42)  # type: ignore[arg-type]


def test_twiml_error_is_value_error() -> None:
    assert issubclass(TwimlError, ValueError)
    assert TwimlError("x").twilio_code == TWILIO_SCHEMA_VALIDATION


def test_results_are_frozen() -> None:
    result = parse_messaging_twiml("<Response><Message>hi</Message></Response>")
    with pytest.raises(AttributeError):
        result.verbs = ()  # type: ignore[misc]


# --- what the official SDK builds -----------------------------------------------------------------

try:
    from twilio.twiml import messaging_response as twiml
except ImportError:  # pragma: no cover - the SDK is a test dependency, but keep the vectors running
    twiml = None

needs_sdk = pytest.mark.skipif(twiml is None, reason="twilio SDK not installed")


@needs_sdk
def test_sdk_simple_message() -> None:
    r = twiml.MessagingResponse()
    r.message("Hello from the SDK")
    assert parse_messaging_twiml(str(r)) == resp(msg("Hello from the SDK"))


@needs_sdk
def test_sdk_all_attributes_and_redirect() -> None:
    r = twiml.MessagingResponse()
    r.message(
        "Tom & Jerry <3",
        to="+15558675310",
        from_="+15017122661",
        action="https://example.com/a?x=1&y=2",
        method="GET",
        status_callback="https://example.com/s",
    )
    r.redirect("https://example.com/next", method="POST")
    r.message("dropped: after Redirect")
    assert parse_messaging_twiml(str(r).encode("utf-8")) == resp(
        msg(
            "Tom & Jerry <3",
            to="+15558675310",
            from_="+15017122661",
            action="https://example.com/a?x=1&y=2",
            method="GET",
            status_callback="https://example.com/s",
        ),
        RedirectVerb("https://example.com/next", "POST"),
    )


@needs_sdk
def test_sdk_nested_body_and_media() -> None:
    r = twiml.MessagingResponse()
    m = twiml.Message()
    m.body("Store Location: 123 Easy St.")
    m.media("https://demo.twilio.com/owl.png")
    m.media("https://demo.twilio.com/bird.jpg")
    r.append(m)
    assert parse_messaging_twiml(str(r)) == resp(
        msg(
            "Store Location: 123 Easy St.",
            "https://demo.twilio.com/owl.png",
            "https://demo.twilio.com/bird.jpg",
        )
    )


@needs_sdk
def test_sdk_text_plus_media() -> None:
    # message("...") followed by .media(...) puts the body as direct text beside <Media>.
    r = twiml.MessagingResponse()
    r.message("Look!").media("https://example.com/cat.gif")
    assert parse_messaging_twiml(str(r)) == resp(msg("Look!", "https://example.com/cat.gif"))


@needs_sdk
def test_sdk_media_only_and_empty_response() -> None:
    r = twiml.MessagingResponse()
    r.message().media("https://example.com/cat.gif")
    assert parse_messaging_twiml(str(r)) == resp(msg("", "https://example.com/cat.gif"))
    assert parse_messaging_twiml(str(twiml.MessagingResponse())) == resp()
    assert parse_messaging_twiml(twiml.MessagingResponse().to_xml(xml_declaration=False)) == resp()


@needs_sdk
def test_sdk_unicode_body() -> None:
    r = twiml.MessagingResponse()
    r.message("Grüße 😀 漢字 €")
    assert parse_messaging_twiml(str(r).encode("utf-8")) == resp(msg("Grüße 😀 漢字 €"))


# XML 1.0 §2.2 Char, minus CR (the XML parser normalises a literal CR to LF, in Twilio's parser too)
# and minus U+FFFE/U+FFFF. The SDK does not escape characters XML cannot carry at all.
xml_text = st.text(
    alphabet=st.characters(
        exclude_categories=("Cs",),
        exclude_characters="\r\ufffe\uffff",
    ).filter(lambda c: c in "\t\n" or ord(c) >= 0x20),
    max_size=200,
)
urls = st.from_regex(r"https://example\.com/[A-Za-z0-9_./?=&%-]{0,40}", fullmatch=True)
phones = st.from_regex(r"\+1[0-9]{10}", fullmatch=True)
methods = st.sampled_from(["GET", "POST"])


@needs_sdk
@SETTINGS
@given(
    body=xml_text,
    media=st.lists(urls, max_size=10),
    to=st.none() | phones,
    from_=st.none() | phones,
    action=st.none() | urls,
    method=st.none() | methods,
    status_callback=st.none() | urls,
)
def test_property_sdk_documents_parse(
    body: str,
    media: list[str],
    to: str | None,
    from_: str | None,
    action: str | None,
    method: str | None,
    status_callback: str | None,
) -> None:
    r = twiml.MessagingResponse()
    m = r.message(body, to=to, from_=from_, action=action, method=method, status_callback=status_callback)
    for url in media:
        m.media(url)
    expected_body = body.strip(" \t\r\n")
    if not expected_body and not media:
        with pytest.raises(TwimlError):
            parse_messaging_twiml(str(r))
        return
    expected = resp(msg(expected_body, *media, to=to, from_=from_, action=action, method=method,
                        status_callback=status_callback))  # fmt: skip
    assert parse_messaging_twiml(str(r)) == expected
    assert parse_messaging_twiml(str(r).encode("utf-8")) == expected


# --- fuzzing: nothing but TwimlError escapes ------------------------------------------------------

TOKENS = [
    '<?xml version="1.0"?>', "\ufeff", "<Response>", "</Response>", "<Response/>", "<Message>",
    "</Message>", "<Message/>", '<Message method="GET">', '<Message method="PUT">', "<Body>", "</Body>",
    "<Media>", "</Media>", "<Redirect>", "</Redirect>", '<Redirect method="get">', "<Foo>", "</Foo>",
    "hi", " ", "\n", "&amp;", "&lt;", "&bogus;", "&#0;", "&#x1F600;", "<![CDATA[", "]]>", "<!--", "-->",
    "<!DOCTYPE Response>", '<!ENTITY a "b">', "<?pi x?>", "<", ">", '"', "=", "/", "\x00", "\udcff",
]  # fmt: skip


def _assert_only_twiml_error(doc: bytes | str) -> None:
    try:
        result = parse_messaging_twiml(doc)
    except TwimlError:
        return
    assert isinstance(result, MessagingResponse)


@SETTINGS
@given(st.binary(max_size=2048))
def test_fuzz_random_bytes(data: bytes) -> None:
    _assert_only_twiml_error(data)


@SETTINGS
@given(st.text(max_size=512))
def test_fuzz_random_text(text: str) -> None:
    _assert_only_twiml_error(text)


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=40).map("".join))
def test_fuzz_token_soup(doc: str) -> None:
    _assert_only_twiml_error(doc)
    _assert_only_twiml_error(doc.encode("utf-8", "surrogatepass"))


@SETTINGS
@given(st.sampled_from(OK), st.data())
def test_fuzz_mutated_vectors(path: Path, data: st.DataObject) -> None:
    doc = bytearray(path.read_bytes())
    for _ in range(data.draw(st.integers(1, 4))):
        if not doc:
            break
        i = data.draw(st.integers(0, len(doc) - 1))
        doc[i] = data.draw(st.integers(0, 255))
    _assert_only_twiml_error(bytes(doc))
