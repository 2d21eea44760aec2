"""SIP messages: parse and serialise (RFC 3261 §7), with every size bounded.

    message = parse_message(datagram)            # Request | Response, or SipParseError
    bytes(message)                               # the wire form (CRLF, Content-Length fixed)

Header names are kept as received (so a vector re-encodes to the same bytes) and looked up
case-insensitively with compact forms expanded (§7.3.3). Typed accessors (``via``, ``from_``,
``cseq``, ...) parse on demand. ``parse_message`` checks the mandatory headers of §8.1.1 (To,
From, CSeq, Call-ID, Via; Max-Forwards is tolerated absent, as proxies do) so that everything
past the parser can rely on them.

Datagram framing (§18.3): the body is the rest of the datagram; a Content-Length larger than
that is an error (400), a smaller one truncates. Streams use :class:`StreamParser`, which
needs Content-Length to find the end of each message and keeps framing across messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Final

from openline.codecs.sip.errors import SipParseError
from openline.codecs.sip.headers import CSeq, NameAddr, Via, canonical_name, parse_int_header
from openline.codecs.sip.params import is_token, split_commas
from openline.codecs.sip.uri import MAX_URI_LENGTH, Uri, parse_uri

__all__ = [
    "MAX_BODY_SIZE",
    "MAX_HEADERS",
    "MAX_HEADER_LINE",
    "MAX_HEAD_SIZE",
    "MAX_MESSAGE_SIZE",
    "Headers",
    "Message",
    "Request",
    "Response",
    "StreamParser",
    "parse_message",
    "request_for_error_reply",
]

MAX_MESSAGE_SIZE: Final = 65535  # one UDP datagram at most (§18.1.1); TCP messages share the bound
MAX_HEAD_SIZE: Final = 16384  # start line + headers; real UAs stay far below (a big INVITE ~2 KB)
MAX_HEADER_LINE: Final = 8192  # one header field after unfolding
MAX_HEADERS: Final = 128  # header fields per message (§7.3 sets none; bound the parse work)
MAX_BODY_SIZE: Final = 32768  # SDP bodies are ~300-2000 bytes; anything bigger is refused (413)
VERSION: Final = "SIP/2.0"
_MULTI_VALUE: Final = frozenset({"Via", "Route", "Record-Route", "Contact"})
_WS: Final = " \t"


class Headers:
    """An ordered multi-map of header fields, names as given, lookup case/compact-insensitive."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: list[tuple[str, str]] = list(fields)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._fields == other._fields

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"

    def copy(self) -> Headers:
        return Headers(self._fields)

    def get_all(self, name: str) -> list[str]:
        """Every value of ``name``; list-valued headers split at commas (§7.3.1)."""
        cname = canonical_name(name)
        values = [v for k, v in self._fields if canonical_name(k) == cname]
        if cname in _MULTI_VALUE:
            return [item for v in values for item in (["*"] if v.strip() == "*" else split_commas(v))]
        return values

    def get(self, name: str) -> str | None:
        cname = canonical_name(name)
        for k, v in self._fields:
            if canonical_name(k) == cname:
                return v
        return None

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def add(self, name: str, value: str) -> None:
        self._fields.append((name, value))

    def prepend(self, name: str, value: str) -> None:
        self._fields.insert(0, (name, value))

    def remove(self, name: str) -> None:
        cname = canonical_name(name)
        self._fields = [(k, v) for k, v in self._fields if canonical_name(k) != cname]

    def replace_top(self, name: str, value: str) -> None:
        """Replace the first element of a list header (e.g. the top Via, which may share one
        field with others: ``Via: a, b``), keeping everything else as it was."""
        cname = canonical_name(name)
        for i, (k, v) in enumerate(self._fields):
            if canonical_name(k) == cname:
                rest = split_commas(v)[1:]
                self._fields[i] = (k, ", ".join([value, *rest]))
                return
        raise KeyError(name)

    def set(self, name: str, value: str) -> None:
        """Replace every ``name`` field by one, at the position of the first (or at the end)."""
        cname = canonical_name(name)
        out: list[tuple[str, str]] = []
        placed = False
        for k, v in self._fields:
            if canonical_name(k) == cname:
                if not placed:
                    out.append((name, value))
                    placed = True
            else:
                out.append((k, v))
        if not placed:
            out.append((name, value))
        self._fields = out


@dataclass(slots=True)
class _MessageBase:
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    # --- typed accessors (parse on demand; SipParseError on malformed values) ---------------

    def _one(self, name: str) -> str:
        value = self.headers.get(name)
        if value is None:
            raise SipParseError(f"missing {canonical_name(name)} header")
        return value

    @property
    def call_id(self) -> str:
        value = self._one("Call-ID").strip()
        if not value or any(c in value for c in " \t\r\n"):
            raise SipParseError("bad Call-ID")
        return value

    @property
    def cseq(self) -> CSeq:
        return CSeq.parse(self._one("CSeq"))

    @property
    def from_(self) -> NameAddr:
        return NameAddr.parse(self._one("From"))

    @property
    def to(self) -> NameAddr:
        return NameAddr.parse(self._one("To"))

    @property
    def vias(self) -> list[Via]:
        return [Via.parse(v) for v in self.headers.get_all("Via")]

    @property
    def via(self) -> Via:
        """The topmost Via (§8.1.1.7 / §18.2.1)."""
        values = self.headers.get_all("Via")
        if not values:
            raise SipParseError("missing Via header")
        return Via.parse(values[0])

    @property
    def contacts(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.headers.get_all("Contact") if v != "*"]

    @property
    def contact(self) -> NameAddr | None:
        contacts = self.contacts
        return contacts[0] if contacts else None

    @property
    def routes(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.headers.get_all("Route")]

    @property
    def record_routes(self) -> list[NameAddr]:
        return [NameAddr.parse(v) for v in self.headers.get_all("Record-Route")]

    @property
    def max_forwards(self) -> int | None:
        value = self.headers.get("Max-Forwards")
        return None if value is None else parse_int_header(value, "Max-Forwards", 255)

    @property
    def content_length(self) -> int | None:
        value = self.headers.get("Content-Length")
        return None if value is None else parse_int_header(value, "Content-Length")

    @property
    def content_type(self) -> str | None:
        value = self.headers.get("Content-Type")
        return None if value is None else value.split(";", 1)[0].strip().lower()

    def _serialise(self, start_line: str) -> bytes:
        lines = [start_line]
        have_length = False
        for name, value in self.headers:
            if canonical_name(name) == "Content-Length":
                if have_length:
                    continue
                have_length = True
                value = str(len(self.body))  # the body is the truth; never emit a wrong length
            lines.append(f"{name}: {value}")
        if not have_length:
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass(slots=True)
class Request(_MessageBase):
    method: str = "OPTIONS"
    uri: Uri | None = None

    def __bytes__(self) -> bytes:
        if self.uri is None:
            raise SipParseError("request without Request-URI")
        return self._serialise(f"{self.method} {self.uri} {VERSION}")

    @property
    def request_uri(self) -> Uri:
        if self.uri is None:
            raise SipParseError("request without Request-URI")
        return self.uri

    def copy(self) -> Request:
        return replace(self, headers=self.headers.copy())


@dataclass(slots=True)
class Response(_MessageBase):
    status: int = 200
    reason: str = "OK"

    def __bytes__(self) -> bytes:
        return self._serialise(f"{VERSION} {self.status} {self.reason}")

    @property
    def provisional(self) -> bool:
        return self.status < 200

    @property
    def final(self) -> bool:
        return self.status >= 200

    @property
    def success(self) -> bool:
        return 200 <= self.status < 300

    def copy(self) -> Response:
        return replace(self, headers=self.headers.copy())


Message = Request | Response


def _split_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError("message head is not UTF-8") from exc
    lines = text.split("\r\n")
    start_line = lines[0]
    fields: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            raise SipParseError("empty line inside the header block")
        if line[0] in _WS:
            # §7.3.1 line folding: a continuation line joins the previous field with one SP
            if not fields:
                raise SipParseError("continuation line before the first header")
            name, value = fields[-1]
            value = (value + " " + line.strip(_WS)).strip(_WS)
            if len(value) > MAX_HEADER_LINE:
                raise SipParseError("header field too long", status=413)
            fields[-1] = (name, value)
            continue
        if len(line) > MAX_HEADER_LINE:
            raise SipParseError("header field too long", status=413)
        name, colon, value = line.partition(":")
        name = name.rstrip(_WS)
        if not colon or not is_token(name):
            raise SipParseError(f"bad header line {line[:60]!r}")
        if any(ord(c) < 0x20 and c != "\t" for c in value) or "\x7f" in value:
            raise SipParseError(f"control character in header {name!r}")
        fields.append((name, value.strip(_WS)))
        if len(fields) > MAX_HEADERS:
            raise SipParseError("too many header fields", status=413)
    return start_line, fields


def _parse_start_line(line: str) -> tuple[str, Uri | None, int, str]:
    """(method, uri, 0, "") for a request; ("", None, status, reason) for a response."""
    if line.startswith("SIP/"):
        version, _, rest = line.partition(" ")
        if version != VERSION:
            raise SipParseError(f"unsupported SIP version {version!r}", status=505)
        code, _, reason = rest.partition(" ")
        if len(code) != 3 or not code.isdigit() or not 100 <= int(code) <= 699:
            raise SipParseError(f"bad status code {code!r}")
        if any(ord(c) < 0x20 and c != "\t" for c in reason):
            raise SipParseError("control character in reason phrase")
        return "", None, int(code), reason
    parts = line.split(" ")
    if len(parts) != 3:
        raise SipParseError(f"bad request line {line[:80]!r}")
    method, uri_text, version = parts
    if not is_token(method):
        raise SipParseError(f"bad method {method!r}")
    if version.upper() != VERSION:
        raise SipParseError(f"unsupported SIP version {version!r}", status=505)
    if len(uri_text) > MAX_URI_LENGTH:
        raise SipParseError("Request-URI too long", status=414)
    return method, parse_uri(uri_text), 0, ""


def _validate(message: Message) -> None:
    """§8.1.1 mandatory headers, parsed once so later code can rely on them."""
    vias = message.vias
    if not vias:
        raise SipParseError("missing Via header")
    message.from_  # noqa: B018 - parsed for validation
    message.to  # noqa: B018
    message.call_id  # noqa: B018
    cseq = message.cseq
    message.max_forwards  # noqa: B018
    # §8.2: the CSeq method must match the request method (ACK/CANCEL included)
    if isinstance(message, Request) and cseq.method != message.method:
        raise SipParseError("CSeq method does not match the request method")
    message.contacts  # noqa: B018
    message.routes  # noqa: B018
    message.record_routes  # noqa: B018


def _build(start_line: str, fields: list[tuple[str, str]], body: bytes) -> Message:
    method, uri, status, reason = _parse_start_line(start_line)
    message: Message
    if method:
        message = Request(headers=Headers(fields), body=body, method=method, uri=uri)
    else:
        message = Response(headers=Headers(fields), body=body, status=status, reason=reason)
    _validate(message)
    return message


def _find_head_end(data: bytes | bytearray, limit: int) -> int:
    end = data.find(b"\r\n\r\n", 0, limit + 4)
    if end < 0 and len(data) >= limit + 4:
        raise SipParseError("message head too large", status=413)
    return end


def parse_message(data: bytes) -> Message:
    """Parse one SIP message from a datagram (§18.3 framing). Raises only SipParseError."""
    try:
        if len(data) > MAX_MESSAGE_SIZE:
            raise SipParseError("message too large", status=413)
        # §7.5: implementations SHOULD ignore CRLFs before the start line (keep-alives too)
        start = 0
        while data.startswith(b"\r\n", start):
            start += 2
        end = _find_head_end(data[start:], MAX_HEAD_SIZE)
        if end < 0:
            raise SipParseError("message head not terminated by an empty line")
        head, body = data[start : start + end], data[start + end + 4 :]
        start_line, fields = _split_head(head)
        length_text = Headers(fields).get("Content-Length")
        if length_text is not None:
            length = parse_int_header(length_text, "Content-Length")
            if length > len(body):
                raise SipParseError("Content-Length larger than the datagram body")
            body = body[:length]
        if len(body) > MAX_BODY_SIZE:
            raise SipParseError("body too large", status=413)
        return _build(start_line, fields, bytes(body))
    except SipParseError:
        raise
    except (ValueError, IndexError, UnicodeError) as exc:  # pragma: no cover - belt and braces
        raise SipParseError(f"malformed message: {exc}") from exc


def request_for_error_reply(data: bytes) -> Request | None:
    """Best effort after a SipParseError: the request skeleton (Via, From, To, Call-ID, CSeq)
    needed to answer it with the error's status (§8.2: a UAS answers a malformed request with
    400 when it can), or None when even those cannot be read (then the datagram is dropped)."""
    try:
        start = 0
        while data.startswith(b"\r\n", start):
            start += 2
        end = data.find(b"\r\n\r\n", start, start + MAX_HEAD_SIZE + 4)
        head = data[start:end] if end >= 0 else data[start : start + MAX_HEAD_SIZE]
        # only the first lines matter for the skeleton (an oversize head is why we are here)
        head = b"\r\n".join(head.rstrip(b"\r\n").split(b"\r\n")[:MAX_HEADERS])
        start_line, fields = _split_head(head)
        parts = start_line.split(" ")
        if len(parts) != 3 or not is_token(parts[0]) or parts[0] == "ACK" or not parts[2].upper().startswith("SIP/"):
            return None  # a response, an ACK (never answered, §17.2.1) or not SIP at all
        skeleton = Headers(f for f in fields if canonical_name(f[0]) in ("Via", "From", "To", "Call-ID", "CSeq"))
        request = Request(headers=skeleton, method=parts[0], uri=None)
        request.via  # noqa: B018 - each of these must be readable to address a reply
        request.from_  # noqa: B018
        request.to  # noqa: B018
        request.call_id  # noqa: B018
        request.cseq  # noqa: B018
        return request
    except (SipParseError, ValueError, IndexError, UnicodeError):
        return None


class StreamParser:
    """Frame SIP messages out of a byte stream (TCP, §18.3): the head ends at CRLFCRLF and the
    body is exactly Content-Length bytes (mandatory on streams). A framing error is fatal for
    the connection: after a SipParseError from ``feed``, close it (there is no resync point).
    """

    def __init__(self, max_buffer: int = MAX_MESSAGE_SIZE * 2) -> None:
        self._buffer = bytearray()
        self._max_buffer = max_buffer
        self.broken = False

    def feed(self, data: bytes) -> list[Message | SipParseError]:
        """Messages framed so far; a framed message whose content is invalid comes back as its
        SipParseError (the stream goes on). Raises SipParseError only when framing is lost."""
        if self.broken:
            raise SipParseError("stream framing already lost")
        self._buffer += data
        if len(self._buffer) > self._max_buffer:
            self.broken = True
            raise SipParseError("stream buffer overflow", status=413)
        out: list[Message | SipParseError] = []
        try:
            while True:
                # keep-alive CRLFs between messages (RFC 5626 §3.5.1) are skipped
                while self._buffer.startswith(b"\r\n"):
                    del self._buffer[:2]
                end = _find_head_end(self._buffer, MAX_HEAD_SIZE)
                if end < 0:
                    return out
                start_line, fields = _split_head(bytes(self._buffer[:end]))
                length_text = Headers(fields).get("Content-Length")
                if length_text is None:
                    raise SipParseError("Content-Length is mandatory on a stream transport")
                length = parse_int_header(length_text, "Content-Length")
                if length > MAX_BODY_SIZE:
                    raise SipParseError("body too large", status=413)
                total = end + 4 + length
                if len(self._buffer) < total:
                    return out
                body = bytes(self._buffer[end + 4 : total])
                del self._buffer[:total]
                try:
                    out.append(_build(start_line, fields, body))
                except SipParseError as exc:
                    out.append(exc)
        except SipParseError:
            self.broken = True
            raise
