"""SDP (RFC 4566): parse and serialise session descriptions, bounded.

The model keeps every line it does not interpret (``b=``, ``k=``, unknown attributes, extra
``t=``/``r=`` lines) in order, so ``bytes(SessionDescription.parse(x))`` gives ``x`` back for
well-formed CRLF input. Lines may end in LF alone on input (§5 asks parsers to be lenient).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Final

from openline.codecs.sip.errors import SipParseError

__all__ = ["MAX_SDP_LINES", "MAX_SDP_SIZE", "Connection", "Media", "Origin", "SessionDescription", "attribute"]

MAX_SDP_SIZE: Final = 16384
MAX_SDP_LINES: Final = 256
MAX_MEDIA: Final = 16
_LINE_RE: Final = re.compile(r"^([a-z])=(.*)$")
_SESSION_ORDER: Final = "vosiuepcbtrzka"


@dataclass(frozen=True, slots=True)
class Origin:
    username: str
    session_id: str
    session_version: str
    nettype: str
    addrtype: str
    address: str

    @classmethod
    def parse(cls, text: str) -> Origin:
        parts = text.split(" ")
        if len(parts) != 6 or not all(parts):
            raise SipParseError(f"bad SDP origin {text!r}")
        if not parts[1].isdigit() or not parts[2].isdigit():
            raise SipParseError(f"bad SDP origin session id/version {text!r}")
        return cls(*parts)

    def __str__(self) -> str:
        return f"{self.username} {self.session_id} {self.session_version} {self.nettype} {self.addrtype} {self.address}"


@dataclass(frozen=True, slots=True)
class Connection:
    address: str
    addrtype: str = "IP4"
    nettype: str = "IN"

    @classmethod
    def parse(cls, text: str) -> Connection:
        parts = text.split(" ")
        if len(parts) != 3 or not all(parts):
            raise SipParseError(f"bad SDP connection {text!r}")
        if parts[0] != "IN" or parts[1] not in ("IP4", "IP6"):
            raise SipParseError(f"unsupported SDP connection {text!r}")
        return cls(nettype=parts[0], addrtype=parts[1], address=parts[2])

    def __str__(self) -> str:
        return f"{self.nettype} {self.addrtype} {self.address}"


def attribute(attributes: tuple[tuple[str, str | None], ...], name: str) -> list[str | None]:
    return [v for k, v in attributes if k == name]


@dataclass(frozen=True, slots=True)
class Media:
    """One ``m=`` section. ``attributes`` are (name, value) pairs, value None for a flag."""

    media: str
    port: int
    proto: str
    formats: tuple[str, ...]
    port_count: int | None = None
    connection: Connection | None = None
    attributes: tuple[tuple[str, str | None], ...] = ()
    other: tuple[str, ...] = ()  # i=, b=, k= lines kept verbatim ("b=AS:64")

    def attr(self, name: str) -> str | None:
        values = attribute(self.attributes, name)
        return values[0] if values else None

    def attrs(self, name: str) -> list[str | None]:
        return attribute(self.attributes, name)

    @property
    def rtpmap(self) -> dict[int, tuple[str, int, int | None]]:
        """payload type -> (encoding name, clock rate, channels)."""
        out: dict[int, tuple[str, int, int | None]] = {}
        for value in self.attrs("rtpmap"):
            if not value:
                continue
            m = re.match(r"^(\d{1,3})\s+([^/\s]+)/(\d+)(?:/(\d+))?$", value.strip())
            if m:
                out[int(m.group(1))] = (m.group(2), int(m.group(3)), int(m.group(4)) if m.group(4) else None)
        return out

    @property
    def fmtp(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for value in self.attrs("fmtp"):
            if value:
                pt, _, params = value.partition(" ")
                if pt.isdigit():
                    out[int(pt)] = params.strip()
        return out

    @property
    def direction(self) -> str:
        for name, _ in self.attributes:
            if name in ("sendrecv", "sendonly", "recvonly", "inactive"):
                return name
        return "sendrecv"

    @property
    def ptime(self) -> int | None:
        value = self.attr("ptime")
        return int(value) if value and value.isdigit() else None

    def lines(self) -> list[str]:
        port = f"{self.port}/{self.port_count}" if self.port_count is not None else str(self.port)
        out = [f"m={self.media} {port} {self.proto} {' '.join(self.formats)}".rstrip()]
        out += [line for line in self.other if line.startswith("i=")]
        if self.connection is not None:
            out.append(f"c={self.connection}")
        out += [line for line in self.other if not line.startswith("i=")]
        out += [f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes]
        return out


@dataclass(frozen=True, slots=True)
class SessionDescription:
    origin: Origin
    session_name: str = "-"
    connection: Connection | None = None
    timing: tuple[str, ...] = ("0 0",)
    attributes: tuple[tuple[str, str | None], ...] = ()
    media: tuple[Media, ...] = ()
    other: tuple[str, ...] = field(default=())  # i= u= e= p= b= z= k= r= lines, verbatim, in order
    version: int = 0

    @classmethod
    def parse(cls, data: bytes) -> SessionDescription:
        try:
            return _parse(data)
        except SipParseError:
            raise
        except (ValueError, IndexError, UnicodeError) as exc:  # pragma: no cover - belt and braces
            raise SipParseError(f"malformed SDP: {exc}") from exc

    def __bytes__(self) -> bytes:
        lines = [f"v={self.version}", f"o={self.origin}", f"s={self.session_name}"]
        lines += [line for line in self.other if line[0] in "iuep"]
        if self.connection is not None:
            lines.append(f"c={self.connection}")
        lines += [line for line in self.other if line[0] == "b"]
        for t in self.timing:
            lines.append(f"t={t}")
        lines += [line for line in self.other if line[0] in "rzk"]
        lines += [f"a={k}" if v is None else f"a={k}:{v}" for k, v in self.attributes]
        for m in self.media:
            lines += m.lines()
        return ("\r\n".join(lines) + "\r\n").encode("utf-8")

    def attr(self, name: str) -> str | None:
        values = attribute(self.attributes, name)
        return values[0] if values else None

    def media_connection(self, media: Media) -> Connection | None:
        return media.connection or self.connection

    def with_version(self, version: int) -> SessionDescription:
        return replace(self, origin=replace(self.origin, session_version=str(version)))


def _parse_attr(value: str) -> tuple[str, str | None]:
    name, colon, rest = value.partition(":")
    if not name or not re.match(r"^[A-Za-z0-9\-_.!%*+`'~]+$", name):
        raise SipParseError(f"bad SDP attribute {value[:60]!r}")
    return (name, rest if colon else None)


def _parse_media(value: str) -> Media:
    parts = value.split(" ")
    if len(parts) < 3:
        raise SipParseError(f"bad SDP media line {value[:80]!r}")
    port_text, _, count_text = parts[1].partition("/")
    if not port_text.isdigit() or int(port_text) > 65535 or (count_text and not count_text.isdigit()):
        raise SipParseError(f"bad SDP media port {value[:80]!r}")
    formats = tuple(p for p in parts[3:] if p)
    if not formats and parts[2].startswith("RTP/"):
        raise SipParseError(f"SDP media line without formats {value[:80]!r}")
    if parts[2].startswith("RTP/") and not all(f.isdigit() and int(f) <= 127 for f in formats):
        raise SipParseError(f"bad RTP payload types in {value[:80]!r}")
    return Media(
        media=parts[0],
        port=int(port_text),
        proto=parts[2],
        formats=formats,
        port_count=int(count_text) if count_text else None,
    )


def _parse(data: bytes) -> SessionDescription:
    if len(data) > MAX_SDP_SIZE:
        raise SipParseError("SDP body too large", status=413)
    text = data.decode("utf-8")
    raw_lines = text.replace("\r\n", "\n").split("\n")
    if raw_lines and raw_lines[-1] == "":
        raw_lines.pop()
    if len(raw_lines) > MAX_SDP_LINES:
        raise SipParseError("too many SDP lines", status=413)
    if not raw_lines or raw_lines[0] != "v=0":
        raise SipParseError("SDP must start with v=0")
    origin: Origin | None = None
    session_name: str | None = None
    connection: Connection | None = None
    timing: list[str] = []
    attrs: list[tuple[str, str | None]] = []
    other: list[str] = []
    media: list[Media] = []
    cur: Media | None = None
    cur_attrs: list[tuple[str, str | None]] = []
    cur_other: list[str] = []

    def close_media() -> None:
        nonlocal cur
        if cur is not None:
            media.append(replace(cur, attributes=tuple(cur_attrs), other=tuple(cur_other)))
            cur = None

    for line in raw_lines[1:]:
        m = _LINE_RE.match(line)
        if not m:
            raise SipParseError(f"bad SDP line {line[:60]!r}")
        kind, value = m.group(1), m.group(2)
        if cur is None:
            if kind == "o":
                if origin is not None:
                    raise SipParseError("duplicate o= line")
                origin = Origin.parse(value)
            elif kind == "s":
                if session_name is not None:
                    raise SipParseError("duplicate s= line")
                session_name = value
            elif kind == "c":
                connection = Connection.parse(value)
            elif kind == "t":
                timing.append(value)
            elif kind == "a":
                attrs.append(_parse_attr(value))
            elif kind == "m":
                if len(media) >= MAX_MEDIA:
                    raise SipParseError("too many media sections", status=413)
                cur = _parse_media(value)
                cur_attrs, cur_other = [], []
            elif kind in _SESSION_ORDER:
                other.append(line)
            else:
                raise SipParseError(f"unknown SDP line type {kind!r}")
        else:
            if kind == "m":
                close_media()
                if len(media) >= MAX_MEDIA:
                    raise SipParseError("too many media sections", status=413)
                cur = _parse_media(value)
                cur_attrs, cur_other = [], []
            elif kind == "c":
                cur = replace(cur, connection=Connection.parse(value))
            elif kind == "a":
                cur_attrs.append(_parse_attr(value))
            elif kind in "ibk":
                cur_other.append(line)
            else:
                raise SipParseError(f"SDP line {kind}= not allowed in a media section")
    close_media()
    if origin is None or session_name is None or not timing:
        raise SipParseError("SDP without o=, s= or t=")
    for m_ in media:
        if m_.connection is None and connection is None and m_.port != 0:
            raise SipParseError("SDP media without a connection address")  # §5.7
    return SessionDescription(
        origin=origin,
        session_name=session_name,
        connection=connection,
        timing=tuple(timing),
        attributes=tuple(attrs),
        media=tuple(media),
        other=tuple(other),
    )
