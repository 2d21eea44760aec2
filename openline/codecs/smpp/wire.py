"""Primitive SMPP data types (SMPP v3.4 §3.1) and a bounds-checked reader.

* Integer: unsigned, big endian ("most significant octet first", §3.1), 1, 2 or 4 octets.
* C-Octet String: ASCII text terminated by one NULL octet; the spec's length limits *include*
  the NULL (§3.1, "Var. max 16" for system_id means 15 characters + NULL).
* Octet String: raw bytes whose length is carried elsewhere (sm_length, a TLV length).

C-Octet Strings are decoded as ISO-8859-1, not strict ASCII: every byte maps to one code point
and back, so whatever an SMSC sends (vendors put 8-bit text in alphanumeric sender IDs) parses,
round-trips byte for byte, and cannot raise UnicodeDecodeError. Encoding refuses characters above
U+00FF and embedded NULs, which have no C-Octet String form.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from openline.codecs.smpp.errors import SmppParseError
from openline.codecs.smpp.status import CommandStatus

__all__ = [
    "CStr",
    "Reader",
    "check_cstring",
    "check_uint",
    "encode_cstring",
]

_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_CSTRING_CODEC = "latin-1"


@dataclass(frozen=True, slots=True)
class CStr:
    """A C-Octet String field: its spec limit (octets, NULL included) and its error status."""

    max_octets: int
    status: int = CommandStatus.ESME_RINVPARLEN


class Reader:
    """Sequential reader over one PDU body; every overrun raises ``SmppParseError``."""

    __slots__ = ("_data", "_end", "_pos")

    def __init__(self, data: bytes, pos: int = 0, end: int | None = None) -> None:
        self._data = data
        self._pos = pos
        self._end = len(data) if end is None else end

    @property
    def remaining(self) -> int:
        return self._end - self._pos

    def _need(self, n: int, what: str, status: int) -> None:
        if self._end - self._pos < n:
            raise SmppParseError(f"truncated PDU body: {what} needs {n} octet(s)", status)

    def u8(self, what: str, status: int = CommandStatus.ESME_RINVCMDLEN) -> int:
        self._need(1, what, status)
        value = self._data[self._pos]
        self._pos += 1
        return value

    def u16(self, what: str, status: int = CommandStatus.ESME_RINVCMDLEN) -> int:
        self._need(2, what, status)
        (value,) = _U16.unpack_from(self._data, self._pos)
        self._pos += 2
        return int(value)

    def u32(self, what: str, status: int = CommandStatus.ESME_RINVCMDLEN) -> int:
        self._need(4, what, status)
        (value,) = _U32.unpack_from(self._data, self._pos)
        self._pos += 4
        return int(value)

    def octets(self, n: int, what: str, status: int = CommandStatus.ESME_RINVCMDLEN) -> bytes:
        self._need(n, what, status)
        value = self._data[self._pos : self._pos + n]
        self._pos += n
        return value

    def rest(self) -> bytes:
        value = self._data[self._pos : self._end]
        self._pos = self._end
        return value

    def cstring(self, what: str, spec: CStr) -> str:
        """Read a NULL-terminated string of at most ``spec.max_octets`` octets (NULL included).

        No NULL within the limit is the field's own error (``spec.status``, e.g. ESME_RINVSRCADR
        for source_addr); no NULL before the end of the body is a truncated PDU (RINVCMDLEN).
        """
        window_end = min(self._end, self._pos + spec.max_octets)
        nul = self._data.find(0, self._pos, window_end)
        if nul < 0:
            if window_end == self._end:
                raise SmppParseError(
                    f"truncated PDU body: {what} has no NULL terminator", CommandStatus.ESME_RINVCMDLEN
                )
            raise SmppParseError(f"{what} longer than {spec.max_octets - 1} octets", spec.status)
        value = self._data[self._pos : nul].decode(_CSTRING_CODEC)
        self._pos = nul + 1
        return value


def check_cstring(value: object, what: str, max_octets: int) -> None:
    """Construction-time check: a ``str`` that fits ``max_octets`` with its NULL, no NUL inside."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be str, got {type(value).__name__}")
    if len(value) > max_octets - 1:
        raise ValueError(f"{what} is {len(value)} characters; the spec allows {max_octets - 1}")
    if "\x00" in value:
        raise ValueError(f"{what} contains a NUL character")
    if value and max(value) > "\xff":
        raise ValueError(f"{what} has characters outside ISO-8859-1")


def check_uint(value: object, what: str, octets: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be int, got {type(value).__name__}")
    if not 0 <= value < 1 << (8 * octets):
        raise ValueError(f"{what}={value} does not fit {octets} octet(s)")


def encode_cstring(value: str) -> bytes:
    return value.encode(_CSTRING_CODEC) + b"\x00"
