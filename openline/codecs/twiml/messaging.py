"""Messaging TwiML: the XML a customer's SMS webhook answers with, parsed into typed verbs.

Grammar (Twilio "TwiML for Programmable Messaging"):

    <Response>                       root; may be empty
      <Message to= from= action= method=GET|POST statusCallback=>
          plain text                 the body, or:
          <Body>text</Body>          nouns: body text ...
          <Media>url</Media>*        ... and any number of media URLs
      </Message>
      <Redirect method=GET|POST>url</Redirect>
    </Response>

Choices where Twilio's documentation is silent (kept consistent and tested):

* Direct text and ``<Body>`` text inside one ``<Message>`` concatenate in document order (the
  official SDK emits ``<Message>hi<Media>..</Media></Message>`` for ``message("hi").media(..)``,
  so direct text next to nouns is real traffic). Whitespace-only text between elements is
  indentation and ignored; the joined body is then stripped of leading/trailing XML whitespace,
  as Twilio's own indented examples imply. Media and Redirect URLs are stripped the same way.
* ``method`` values are matched case-insensitively and normalised to upper case.
* Unknown attributes are ignored (the SDK builders pass extra keyword arguments through as
  attributes); unknown elements are not (see ``TwimlError``).
* Leading XML whitespace before the XML declaration is tolerated (template engines emit it).
* The codec does not cap the number of ``<Media>`` (Twilio allows 10 per MMS): that is a service
  rule with its own error code, and the document size bound already caps the work here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.parsers import expat

__all__ = [
    "MAX_TWIML_BYTES",
    "TWILIO_DOCUMENT_PARSE_FAILURE",
    "TWILIO_RESPONSE_TOO_LARGE",
    "TWILIO_SCHEMA_VALIDATION",
    "MessageVerb",
    "MessagingResponse",
    "RedirectVerb",
    "TwimlError",
    "parse_messaging_twiml",
]

# Twilio error codes carried by TwimlError so the webhook worker can record Twilio's answer.
TWILIO_DOCUMENT_PARSE_FAILURE = 12100  # "Document parse failure": not well-formed XML
TWILIO_SCHEMA_VALIDATION = 12200  # "Schema validation warning": unknown verb, bad attribute, ...
TWILIO_RESPONSE_TOO_LARGE = 11750  # "TwiML response body too large"

# Twilio refuses TwiML responses over 64 kB (error 11750). A real Messaging reply is a few hundred
# bytes (1600-character body, a handful of media URLs), so this also bounds parser work and memory.
MAX_TWIML_BYTES = 64 * 1024

# Response > Message > Body|Media is the deepest valid nesting; refusing deeper elements as they
# start keeps a hostile document from building a deep tree.
_MAX_DEPTH = 3

_XML_WHITESPACE = " \t\r\n"  # XML 1.0 §2.3 production S
_METHODS = frozenset({"GET", "POST"})
_UTF8_BOM = b"\xef\xbb\xbf"


class TwimlError(ValueError):
    """Any reason a Messaging TwiML document is refused (this codec's one parse error)."""

    def __init__(self, message: str, twilio_code: int = TWILIO_SCHEMA_VALIDATION) -> None:
        super().__init__(message)
        self.twilio_code = twilio_code


@dataclass(frozen=True, slots=True)
class MessageVerb:
    body: str
    media: tuple[str, ...]
    to: str | None
    from_: str | None
    action: str | None
    method: str | None  # None when absent; the action request then defaults to POST
    status_callback: str | None


@dataclass(frozen=True, slots=True)
class RedirectVerb:
    url: str
    method: str = "POST"


@dataclass(frozen=True, slots=True)
class MessagingResponse:
    verbs: tuple[MessageVerb | RedirectVerb, ...]


def parse_messaging_twiml(document: bytes | str) -> MessagingResponse:
    """Parse a Messaging TwiML document; every failure is a ``TwimlError``."""
    root = _parse_tree(document)
    if root.tag != "Response":
        raise TwimlError(f"root element must be <Response>, got <{root.tag}>")
    verbs: list[MessageVerb | RedirectVerb] = []
    redirected = False
    for child in root.children:
        if isinstance(child, str):
            _refuse_text(child, "Response")
            continue
        verb: MessageVerb | RedirectVerb
        if child.tag == "Message":
            verb = _message(child)
        elif child.tag == "Redirect":
            verb = _redirect(child)
        else:
            # Twilio answers an unknown verb with 12200 (schema validation warning); we refuse the
            # document rather than guess what the customer meant.
            raise TwimlError(f"unknown Messaging TwiML verb <{child.tag}>")
        # "All verbs after <Redirect> are unreachable and ignored" (Twilio <Redirect> docs): they
        # are still validated, but kept out of the result.
        if not redirected:
            verbs.append(verb)
        redirected = redirected or isinstance(verb, RedirectVerb)
    return MessagingResponse(tuple(verbs))


def _message(el: _Element) -> MessageVerb:
    body_parts: list[str] = []
    media: list[str] = []
    for child in el.children:
        if isinstance(child, str):
            if child.strip(_XML_WHITESPACE):
                body_parts.append(child)
        elif child.tag == "Body":
            body_parts.append(_text_only(child))
        elif child.tag == "Media":
            url = _text_only(child).strip(_XML_WHITESPACE)
            if not url:
                raise TwimlError("<Media> without a URL")
            media.append(url)
        else:
            raise TwimlError(f"<{child.tag}> is not allowed in <Message>")
    body = "".join(body_parts).strip(_XML_WHITESPACE)
    if not body and not media:
        raise TwimlError("<Message> has neither a body nor media")
    method = el.attrs.get("method")
    return MessageVerb(
        body=body,
        media=tuple(media),
        to=_optional_attr(el, "to"),
        from_=_optional_attr(el, "from"),
        action=_optional_attr(el, "action"),
        method=None if method is None else _method(method),
        status_callback=_optional_attr(el, "statusCallback"),
    )


def _redirect(el: _Element) -> RedirectVerb:
    url = _text_only(el).strip(_XML_WHITESPACE)
    if not url:
        raise TwimlError("<Redirect> without a URL")
    method = el.attrs.get("method")
    return RedirectVerb(url=url, method="POST" if method is None else _method(method))


def _method(value: str) -> str:
    method = value.strip(_XML_WHITESPACE).upper()
    if method not in _METHODS:
        raise TwimlError(f"method must be GET or POST, got {value!r}")
    return method


def _optional_attr(el: _Element, name: str) -> str | None:
    value = el.attrs.get(name, "").strip(_XML_WHITESPACE)
    return value or None


def _text_only(el: _Element) -> str:
    parts: list[str] = []
    for child in el.children:
        if not isinstance(child, str):
            raise TwimlError(f"<{child.tag}> is not allowed in <{el.tag}>")
        parts.append(child)
    return "".join(parts)


def _refuse_text(text: str, where: str) -> None:
    if text.strip(_XML_WHITESPACE):
        raise TwimlError(f"unexpected text in <{where}>")


# --- XML to a minimal tree -------------------------------------------------------------------------


@dataclass(slots=True)
class _Element:
    tag: str
    attrs: dict[str, str]
    children: list[_Element | str] = field(default_factory=list)


def _parse_tree(document: bytes | str) -> _Element:
    # Expat is driven directly, rather than through ElementTree, so that document type
    # declarations can be refused by handlers that raise: that stops entity-expansion bombs
    # ("billion laughs"), external entities (XXE) and external DTD fetches before expat reads the
    # declaration's contents, whatever the document's encoding (a substring check on the bytes
    # would miss a UTF-16 "<!DOCTYPE"). TwiML never needs a DTD or an entity beyond the predefined
    # five, so refusing them costs nothing.
    if isinstance(document, str):
        if len(document) > MAX_TWIML_BYTES:  # UTF-8 is never shorter than the character count
            raise TwimlError("TwiML document too large", TWILIO_RESPONSE_TOO_LARGE)
        try:
            data = document.lstrip("\ufeff" + _XML_WHITESPACE).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise TwimlError(f"not encodable text: {exc}", TWILIO_DOCUMENT_PARSE_FAILURE) from None
        # A str was already decoded by the caller: any encoding="..." in its declaration is stale.
        encoding: str | None = "utf-8"
    elif isinstance(document, bytes | bytearray | memoryview):
        data = bytes(document)
        if data.startswith(_UTF8_BOM):
            data = data[len(_UTF8_BOM) :]
        data = data.lstrip(_XML_WHITESPACE.encode("ascii"))
        encoding = None  # expat honours a BOM or the XML declaration (UTF-8 by default)
    else:
        raise TypeError(f"TwiML document must be bytes or str, not {type(document).__name__}")
    if len(data) > MAX_TWIML_BYTES:
        raise TwimlError("TwiML document too large", TWILIO_RESPONSE_TOO_LARGE)
    return _TreeBuilder(encoding).parse(data)


class _TreeBuilder:
    __slots__ = ("_parser", "_root", "_stack")

    def __init__(self, encoding: str | None) -> None:
        parser = expat.ParserCreate(encoding)
        parser.buffer_text = True
        # Never read the external DTD subset or parameter entities, even if a handler were missed.
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse_doctype
        parser.EntityDeclHandler = self._refuse_entity
        parser.UnparsedEntityDeclHandler = self._refuse_entity
        parser.ExternalEntityRefHandler = self._refuse_external_entity
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        self._parser = parser
        self._root: _Element | None = None
        self._stack: list[_Element] = []

    def parse(self, data: bytes) -> _Element:
        try:
            self._parser.Parse(data, True)
        except TwimlError:
            raise
        except expat.ExpatError as exc:
            raise TwimlError(f"not well-formed XML: {exc}", TWILIO_DOCUMENT_PARSE_FAILURE) from None
        except (ValueError, LookupError) as exc:
            # e.g. an encoding="..." expat cannot use, or bytes that do not decode in it.
            raise TwimlError(f"undecodable XML: {exc}", TWILIO_DOCUMENT_PARSE_FAILURE) from None
        if self._root is None:  # pragma: no cover - expat reports "no element found" first
            raise TwimlError("empty document", TWILIO_DOCUMENT_PARSE_FAILURE)
        return self._root

    def _start(self, tag: str, attrs: dict[str, str]) -> None:
        if len(self._stack) >= _MAX_DEPTH:
            raise TwimlError(f"<{tag}> is nested too deeply")
        el = _Element(tag, attrs)
        if self._stack:
            self._stack[-1].children.append(el)
        else:
            self._root = el
        self._stack.append(el)

    def _end(self, tag: str) -> None:
        self._stack.pop()

    def _text(self, text: str) -> None:
        if not self._stack:  # pragma: no cover - expat only reports text inside the root
            return
        children = self._stack[-1].children
        if children and isinstance(children[-1], str):
            children[-1] += text  # expat hands over long text in buffer_size pieces
        else:
            children.append(text)

    @staticmethod
    def _refuse_doctype(name: str, sysid: str | None, pubid: str | None, has_internal: int) -> None:
        raise TwimlError("DOCTYPE is not allowed in TwiML", TWILIO_DOCUMENT_PARSE_FAILURE)

    # The two handlers below cannot fire while _refuse_doctype stops the parse first (entity
    # declarations live only inside a DOCTYPE); they stay so that relaxing it fails closed.
    @staticmethod
    def _refuse_entity(*args: object) -> None:  # pragma: no cover - see above
        raise TwimlError("entity declarations are not allowed in TwiML", TWILIO_DOCUMENT_PARSE_FAILURE)

    @staticmethod
    def _refuse_external_entity(*args: object) -> int:  # pragma: no cover - see above
        raise TwimlError("external entities are not allowed in TwiML", TWILIO_DOCUMENT_PARSE_FAILURE)
