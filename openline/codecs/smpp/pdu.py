"""PDU header, field codecs, the Pdu base class, the command registry and ``parse_pdu``.

Every PDU is a 16-octet header - command_length, command_id, command_status, sequence_number,
each a 4-octet big-endian integer (SMPP v3.4 §3.2) - then a body of mandatory fields in a fixed
order and, after them, optional TLVs (§3.2.4). Concrete PDUs (pdus_session.py, pdus_message.py)
are frozen, slotted dataclasses whose body fields carry their wire codec in field metadata, so
one generic reader/writer serves every command and the field order lives only in the class.

Responses whose body the spec lets an SMSC omit when command_status is non-zero (e.g.
submit_sm_resp, §4.4.2: "The submit_sm_resp PDU Body is not returned if the command_status field
contains a non-zero value") declare ``optional_body``: their first field is ``None`` when the body
was absent, which keeps parse -> encode byte-exact both with and without a body.
"""

from __future__ import annotations

import dataclasses
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar, Final, Protocol, TypeVar

from openline.codecs.smpp.errors import SmppParseError
from openline.codecs.smpp.status import CommandStatus
from openline.codecs.smpp.tlv import Tlv, encode_tlvs, parse_tlvs
from openline.codecs.smpp.wire import CStr, Reader, check_cstring, check_uint, encode_cstring

__all__ = [
    "HEADER_LENGTH",
    "MAX_PDU_LENGTH",
    "MAX_SHORT_MESSAGE",
    "PDU_CLASSES",
    "RESPONSE_BIT",
    "SHORT_MESSAGE",
    "CommandId",
    "FieldCodec",
    "Header",
    "Pdu",
    "body_field",
    "cstr",
    "parse_header",
    "parse_pdu",
    "register",
    "u8",
    "u32",
]

HEADER_LENGTH: Final = 16  # four 4-octet integers (§3.2)
RESPONSE_BIT: Final = 0x80000000  # "response command_id = request command_id | 0x80000000" (§5.1.2)

# The largest legitimate PDU: a message_payload TLV carries up to 65535 octets (its length field
# is 2 octets, §5.3.2.32) and submit_multi adds at most 254 destinations of 24 octets plus ~300
# octets of other mandatory fields (§4.5.1), so about 72 KiB. Anything longer is not SMPP; it is
# refused before buffering so a hostile command_length cannot make us allocate gigabytes.
MAX_PDU_LENGTH: Final = 72 * 1024

# short_message is at most 254 octets; sm_length is one octet and 255 is excluded (§4.4.1).
MAX_SHORT_MESSAGE: Final = 254

_HEADER = struct.Struct(">IIII")


class CommandId(IntEnum):
    """command_id values, SMPP v3.4 Table 5-1 (§5.1.2)."""

    GENERIC_NACK = 0x80000000
    BIND_RECEIVER = 0x00000001
    BIND_RECEIVER_RESP = 0x80000001
    BIND_TRANSMITTER = 0x00000002
    BIND_TRANSMITTER_RESP = 0x80000002
    QUERY_SM = 0x00000003
    QUERY_SM_RESP = 0x80000003
    SUBMIT_SM = 0x00000004
    SUBMIT_SM_RESP = 0x80000004
    DELIVER_SM = 0x00000005
    DELIVER_SM_RESP = 0x80000005
    UNBIND = 0x00000006
    UNBIND_RESP = 0x80000006
    REPLACE_SM = 0x00000007
    REPLACE_SM_RESP = 0x80000007
    CANCEL_SM = 0x00000008
    CANCEL_SM_RESP = 0x80000008
    BIND_TRANSCEIVER = 0x00000009
    BIND_TRANSCEIVER_RESP = 0x80000009
    OUTBIND = 0x0000000B
    ENQUIRE_LINK = 0x00000015
    ENQUIRE_LINK_RESP = 0x80000015
    SUBMIT_MULTI = 0x00000021
    SUBMIT_MULTI_RESP = 0x80000021
    ALERT_NOTIFICATION = 0x00000102
    DATA_SM = 0x00000103
    DATA_SM_RESP = 0x80000103


@dataclass(frozen=True, slots=True)
class Header:
    command_length: int
    command_id: int
    command_status: int
    sequence_number: int


def parse_header(data: bytes) -> Header:
    if len(data) < HEADER_LENGTH:
        raise SmppParseError("PDU shorter than its 16-octet header", CommandStatus.ESME_RINVCMDLEN)
    return Header(*_HEADER.unpack_from(data, 0))


class FieldCodec(Protocol):
    """How one mandatory body field is read, written and validated."""

    def read(self, reader: Reader, name: str) -> Any: ...

    def write(self, value: Any) -> bytes: ...

    def check(self, value: object, name: str) -> None: ...


@dataclass(frozen=True, slots=True)
class _UInt:
    size: int
    status: int

    def read(self, reader: Reader, name: str) -> int:
        if self.size == 1:
            return reader.u8(name, self.status)
        return reader.u32(name, self.status)

    def write(self, value: int) -> bytes:
        return value.to_bytes(self.size, "big")

    def check(self, value: object, name: str) -> None:
        check_uint(value, name, self.size)


@dataclass(frozen=True, slots=True)
class _CString:
    spec: CStr
    optional: bool = False  # None allowed: the "body omitted" marker of optional_body responses

    def read(self, reader: Reader, name: str) -> str:
        return reader.cstring(name, self.spec)

    def write(self, value: str) -> bytes:
        return encode_cstring(value)

    def check(self, value: object, name: str) -> None:
        if value is None and self.optional:
            return
        check_cstring(value, name, self.spec.max_octets)


@dataclass(frozen=True, slots=True)
class _ShortMessage:
    """sm_length (1 octet) followed by that many octets of short_message (§4.4.1)."""

    def read(self, reader: Reader, name: str) -> bytes:
        length = reader.u8("sm_length")
        if length > MAX_SHORT_MESSAGE:
            raise SmppParseError(f"sm_length {length} > {MAX_SHORT_MESSAGE}", CommandStatus.ESME_RINVMSGLEN)
        return reader.octets(length, name, CommandStatus.ESME_RINVMSGLEN)

    def write(self, value: bytes) -> bytes:
        return bytes([len(value)]) + value

    def check(self, value: object, name: str) -> None:
        if not isinstance(value, bytes):
            raise TypeError(f"{name} must be bytes, got {type(value).__name__}")
        if len(value) > MAX_SHORT_MESSAGE:
            raise ValueError(f"{name} is {len(value)} octets; sm_length allows {MAX_SHORT_MESSAGE}")


_CODEC_KEY: Final = "smpp"
SHORT_MESSAGE: Final = _ShortMessage()


def u8(default: int = 0, status: int = CommandStatus.ESME_RINVCMDLEN) -> Any:
    """A 1-octet Integer body field."""
    return field(default=default, metadata={_CODEC_KEY: _UInt(1, status)})


def u32(default: int = 0, status: int = CommandStatus.ESME_RINVCMDLEN) -> Any:
    """A 4-octet Integer body field."""
    return field(default=default, metadata={_CODEC_KEY: _UInt(4, status)})


def cstr(max_octets: int, status: int = CommandStatus.ESME_RINVPARLEN, *, optional: bool = False) -> Any:
    """A C-Octet String body field limited to ``max_octets`` (NULL included)."""
    return field(default="", metadata={_CODEC_KEY: _CString(CStr(max_octets, status), optional)})


def body_field(codec: FieldCodec, default_factory: Callable[[], object]) -> Any:
    """A body field with a custom codec (short_message, submit_multi address lists)."""
    return field(default_factory=default_factory, metadata={_CODEC_KEY: codec})


PDU_CLASSES: dict[int, type[Pdu]] = {}
_BODY_CACHE: dict[type[Pdu], tuple[tuple[str, FieldCodec, object], ...]] = {}

P = TypeVar("P", bound="Pdu")


def register(cls: type[P]) -> type[P]:
    """Class decorator (applied *after* @dataclass, which replaces the class when slots=True)."""
    if cls.command_id in PDU_CLASSES:
        raise RuntimeError(f"command_id 0x{cls.command_id:08X} registered twice")
    PDU_CLASSES[cls.command_id] = cls
    return cls


def _body_of(cls: type[Pdu]) -> tuple[tuple[str, FieldCodec, object], ...]:
    cached = _BODY_CACHE.get(cls)
    if cached is None:
        items = []
        for f in dataclasses.fields(cls):
            codec = f.metadata.get(_CODEC_KEY)
            if codec is None:
                continue
            factory = f.default_factory
            default: object = factory() if callable(factory) else f.default
            items.append((f.name, codec, default))
        cached = tuple(items)
        _BODY_CACHE[cls] = cached
    return cached


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    """Base of every PDU: header fields plus the ordered TLVs that follow the mandatory body."""

    command_id: ClassVar[int]
    optional_body: ClassVar[bool] = False

    sequence_number: int = 0
    command_status: int = 0
    tlvs: tuple[Tlv, ...] = ()

    def __post_init__(self) -> None:
        check_uint(self.sequence_number, "sequence_number", 4)
        check_uint(self.command_status, "command_status", 4)
        if not isinstance(self.tlvs, tuple) or not all(isinstance(t, Tlv) for t in self.tlvs):
            raise TypeError("tlvs must be a tuple of Tlv")
        body = _body_of(type(self))
        for name, codec, _ in body:
            codec.check(getattr(self, name), name)
        if self.body_omitted:
            extra = [n for n, _, d in body[1:] if getattr(self, n) != d]
            if extra or self.tlvs:
                raise ValueError(f"{type(self).__name__} without a body cannot carry {extra or 'tlvs'}")

    @property
    def body_omitted(self) -> bool:
        """True for an error response sent header-only (first body field is None)."""
        if not self.optional_body:
            return False
        body = _body_of(type(self))
        return bool(body) and getattr(self, body[0][0]) is None

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    @property
    def command_name(self) -> str:
        return CommandId(self.command_id).name.lower()

    def encode_body(self) -> bytes:
        if self.body_omitted:
            return b""
        parts = [codec.write(getattr(self, name)) for name, codec, _ in _body_of(type(self))]
        parts.append(encode_tlvs(self.tlvs))
        return b"".join(parts)

    def __bytes__(self) -> bytes:
        body = self.encode_body()
        length = HEADER_LENGTH + len(body)
        if length > MAX_PDU_LENGTH:
            raise ValueError(f"{self.command_name} would be {length} octets (MAX_PDU_LENGTH {MAX_PDU_LENGTH})")
        return _HEADER.pack(length, self.command_id, self.command_status, self.sequence_number) + body

    def response(self, command_status: int = CommandStatus.ESME_ROK, **fields: Any) -> Pdu:
        """The matching ``*_resp`` for this request, same sequence_number (§2.5 / §3.2)."""
        if self.is_response:
            raise ValueError(f"{self.command_name} is a response; it has no response")
        resp_cls = PDU_CLASSES.get(self.command_id | RESPONSE_BIT)
        if resp_cls is None:
            raise ValueError(f"{self.command_name} has no response PDU (§4.12: alert_notification)")
        if command_status and resp_cls.optional_body and not fields:
            fields = {_body_of(resp_cls)[0][0]: None}
        return resp_cls(sequence_number=self.sequence_number, command_status=int(command_status), **fields)

    @classmethod
    def parse_body(cls: type[P], header: Header, reader: Reader) -> P:
        body = _body_of(cls)
        values: dict[str, Any] = {}
        if cls.optional_body and reader.remaining == 0 and body:
            values[body[0][0]] = None
            tlvs: tuple[Tlv, ...] = ()
        else:
            for name, codec, _ in body:
                values[name] = codec.read(reader, name)
            tlvs = parse_tlvs(reader.rest())
        return cls(
            sequence_number=header.sequence_number,
            command_status=header.command_status,
            tlvs=tlvs,
            **values,
        )


def parse_pdu(data: bytes) -> Pdu:
    """Parse exactly one whole PDU; any defect raises ``SmppParseError`` with its command_status."""
    try:
        return _parse_pdu(bytes(data))
    except SmppParseError:
        raise
    except (struct.error, IndexError, UnicodeDecodeError, ValueError, TypeError, OverflowError) as exc:
        # Safety net for the codec boundary (house rule 5): readers above check bounds, so reaching
        # here means a field validator refused a value the wire allowed.
        raise SmppParseError(f"invalid PDU: {exc}", CommandStatus.ESME_RSYSERR) from exc


def _parse_pdu(data: bytes) -> Pdu:
    header = parse_header(data)
    if header.command_length != len(data):
        raise SmppParseError(
            f"command_length {header.command_length} but {len(data)} octets given",
            CommandStatus.ESME_RINVCMDLEN,
        )
    if not HEADER_LENGTH <= header.command_length <= MAX_PDU_LENGTH:
        raise SmppParseError(f"command_length {header.command_length} out of bounds", CommandStatus.ESME_RINVCMDLEN)
    cls = PDU_CLASSES.get(header.command_id)
    if cls is None:
        raise SmppParseError(f"unknown command_id 0x{header.command_id:08X}", CommandStatus.ESME_RINVCMDID)
    return cls.parse_body(header, Reader(data, HEADER_LENGTH))
