"""SMTP replies (RFC 5321 §4.2) and EHLO capabilities (RFC 5321 §4.1.1.1), read from bytes.

A reply is one or more lines ``ddd-text`` ending with ``ddd text`` (or bare ``ddd``); every line
of one reply carries the same code. Replies arrive in any fragmentation and, with PIPELINING
(RFC 2920), several per read: :class:`ReplyReader` buffers and hands out whole replies in order.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["MAX_REPLY_LINE", "MAX_REPLY_LINES", "Capabilities", "Reply", "ReplyReader", "SmtpParseError"]

# RFC 5321 §4.5.3.1.5 caps a reply line at 512 octets; real servers exceed it in EHLO and error
# texts, so accept eight times that and refuse more (a bound, not politeness).
MAX_REPLY_LINE = 4096
MAX_REPLY_LINES = 200  # one reply's lines (an EHLO list is ~10-30)


class SmtpParseError(ValueError):
    """Bytes from the server that are not an SMTP reply; the session cannot continue."""


@dataclass(frozen=True, slots=True)
class Reply:
    code: int
    lines: tuple[str, ...]  # texts after "ddd-" / "ddd ", one per line

    @property
    def text(self) -> str:
        return " ".join(line for line in self.lines if line)

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 400

    @classmethod
    def parse(cls, data: bytes) -> Reply:
        """Exactly one whole reply."""
        reader = ReplyReader()
        reader.feed(data)
        reply = reader.next_reply()
        if reply is None or reader.buffered:
            raise SmtpParseError("not exactly one whole reply")
        return reply

    def __bytes__(self) -> bytes:
        lines = self.lines or ("",)
        out = [f"{self.code}-{text}" for text in lines[:-1]]
        out.append(f"{self.code} {lines[-1]}" if lines[-1] else str(self.code))
        return ("\r\n".join(out) + "\r\n").encode("utf-8")


class ReplyReader:
    """Push bytes in with :meth:`feed`, take whole replies out with :meth:`next_reply`."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._lines: list[str] = []
        self._code = 0

    @property
    def buffered(self) -> int:
        """Bytes received and not yet part of a returned reply (STARTTLS must see none)."""
        return len(self._buffer) + sum(len(line) + 6 for line in self._lines)

    def feed(self, data: bytes) -> None:
        self._buffer += data

    def next_reply(self) -> Reply | None:
        while True:
            end = self._buffer.find(b"\n")
            if end < 0:
                if len(self._buffer) > MAX_REPLY_LINE:
                    raise SmtpParseError(f"reply line longer than {MAX_REPLY_LINE} octets")
                return None
            if end + 1 > MAX_REPLY_LINE:
                raise SmtpParseError(f"reply line longer than {MAX_REPLY_LINE} octets")
            line = bytes(self._buffer[:end]).rstrip(b"\r")  # a bare LF is tolerated (RFC 5321 §4.1.1.4 is strict on us)
            del self._buffer[:end + 1]
            code, last, text = _line(line)
            if self._lines and code != self._code:
                raise SmtpParseError(f"reply code changed within a multiline reply ({self._code} then {code})")
            self._code = code
            self._lines.append(text)
            if len(self._lines) > MAX_REPLY_LINES:
                raise SmtpParseError(f"more than {MAX_REPLY_LINES} lines in one reply")
            if last:
                reply = Reply(code, tuple(self._lines))
                self._lines = []
                return reply


def _line(line: bytes) -> tuple[int, bool, str]:
    """(code, is the last line, text) of one reply line."""
    if len(line) < 3 or not line[:3].isdigit() or not b"2" <= line[:1] <= b"5":
        raise SmtpParseError(f"not a reply line: {line[:40]!r}")
    separator = line[3:4]
    if separator not in (b"", b" ", b"-"):
        raise SmtpParseError(f"bad separator after the reply code: {line[:40]!r}")
    # Texts are ASCII by the RFC; UTF-8 from SMTPUTF8 servers; anything else kept, not fatal.
    return int(line[:3]), separator != b"-", line[4:].decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What the server's EHLO reply offers (keywords are case-insensitive, RFC 5321 §2.4)."""

    domain: str = ""
    pipelining: bool = False  # RFC 2920
    starttls: bool = False  # RFC 3207
    size: int | None = None  # RFC 1870: the largest message, 0 = no fixed limit
    auth: frozenset[str] = frozenset()  # RFC 4954 mechanisms, upper case
    eight_bit_mime: bool = False  # RFC 6152
    smtputf8: bool = False  # RFC 6531
    enhanced_status_codes: bool = False  # RFC 2034

    @classmethod
    def from_ehlo(cls, reply: Reply) -> Capabilities:
        if reply.code != 250:
            raise SmtpParseError(f"EHLO answered {reply.code}, not 250")
        domain = reply.lines[0].split(" ", 1)[0] if reply.lines else ""
        found: dict[str, list[str]] = {}
        for line in reply.lines[1:]:
            words = line.replace("=", " ", 1).split() if line.upper().startswith("AUTH=") else line.split()
            if words:
                found.setdefault(words[0].upper(), []).extend(w.upper() for w in words[1:])
        size: int | None = None
        if "SIZE" in found:
            size = int(found["SIZE"][0]) if found["SIZE"] and found["SIZE"][0].isdigit() else 0
        auth = frozenset(found.get("AUTH", []))
        return cls(domain=domain, pipelining="PIPELINING" in found, starttls="STARTTLS" in found, size=size,
                   auth=auth, eight_bit_mime="8BITMIME" in found, smtputf8="SMTPUTF8" in found,
                   enhanced_status_codes="ENHANCEDSTATUSCODES" in found)
