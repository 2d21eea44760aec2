"""Typed SIP header values: name-addr (From/To/Contact/Route), Via, CSeq (RFC 3261 §20, §25.1).

Every class parses from the header value text with ``parse`` and serialises with ``str``; a
value that does not parse raises :class:`SipParseError` (400). Header *names* are normalised
by :func:`canonical_name`, which also expands the compact forms of §7.3.3.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Final

from openline.codecs.sip.errors import SipParseError
from openline.codecs.sip.params import (
    Params,
    format_params,
    get_param,
    has_param,
    is_token,
    parse_params,
    quote,
    set_param,
    unquote,
)
from openline.codecs.sip.uri import SipUri, Uri, format_host, parse_host_port, parse_uri

__all__ = [
    "BRANCH_MAGIC",
    "COMPACT_FORMS",
    "CSeq",
    "NameAddr",
    "Via",
    "canonical_name",
    "parse_int_header",
]

# §7.3.3 compact forms (plus RFC 3515 r, RFC 3841 j... only the ones SIP UAs meet in practice)
COMPACT_FORMS: Final = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "r": "Refer-To",
    "u": "Allow-Events",
}
_CANONICAL: Final = {
    name.lower(): name
    for name in (
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Alert-Info",
        "Allow",
        "Authentication-Info",
        "Authorization",
        "Call-ID",
        "Call-Info",
        "Contact",
        "Content-Disposition",
        "Content-Encoding",
        "Content-Language",
        "Content-Length",
        "Content-Type",
        "CSeq",
        "Date",
        "Error-Info",
        "Expires",
        "From",
        "In-Reply-To",
        "Max-Forwards",
        "MIME-Version",
        "Min-Expires",
        "Organization",
        "Priority",
        "Proxy-Authenticate",
        "Proxy-Authorization",
        "Proxy-Require",
        "Record-Route",
        "Reply-To",
        "Require",
        "Retry-After",
        "Route",
        "Server",
        "Subject",
        "Supported",
        "Timestamp",
        "To",
        "Unsupported",
        "User-Agent",
        "Via",
        "Warning",
        "WWW-Authenticate",
        "Event",
        "Refer-To",
        "Allow-Events",
        "RSeq",
        "RAck",
        "Session-Expires",
        "Min-SE",
        "P-Asserted-Identity",
        "Reason",
    )
}
BRANCH_MAGIC: Final = "z9hG4bK"  # §8.1.1.7: branch IDs of RFC 3261 elements start with this


def canonical_name(name: str) -> str:
    """``v``/``VIA``/``via`` → ``Via``; unknown names are title-cased per dash-separated word."""
    lname = name.lower()
    if len(lname) == 1 and lname in COMPACT_FORMS:
        return COMPACT_FORMS[lname]
    known = _CANONICAL.get(lname)
    if known is not None:
        return known
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def parse_int_header(value: str, name: str, maximum: int = 2**31 - 1) -> int:
    text = value.strip()
    if not text.isdigit() or len(text) > 10 or int(text) > maximum:
        raise SipParseError(f"bad {name} value {value!r}")
    return int(text)


_DISPLAY_TOKENS_RE: Final = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~ \t]*$")


@dataclass(frozen=True, slots=True)
class NameAddr:
    """``"Display" <uri>;params`` (or a bare addr-spec), as in From, To, Contact, Route."""

    uri: Uri
    display_name: str | None = None
    params: Params = ()
    bracketed: bool = True  # False when parsed from an addr-spec without <>; kept for round trips

    @classmethod
    def parse(cls, value: str) -> NameAddr:
        text = value.strip()
        display: str | None = None
        if "<" in text.split(";", 1)[0] or text.startswith('"'):
            if text.startswith('"'):
                end = 1
                while end < len(text):
                    if text[end] == "\\":
                        end += 2
                        continue
                    if text[end] == '"':
                        break
                    end += 1
                if end >= len(text):
                    raise SipParseError(f"unterminated display name in {value[:80]!r}")
                display = unquote(text[: end + 1])
                text = text[end + 1 :].lstrip()
                if not text.startswith("<"):
                    raise SipParseError(f"expected '<' after display name in {value[:80]!r}")
            else:
                lt = text.find("<")
                token_part = text[:lt].strip()
                if not _DISPLAY_TOKENS_RE.match(token_part):
                    raise SipParseError(f"bad display name in {value[:80]!r}")
                display = token_part or None
                text = text[lt:]
            gt = text.find(">")
            if gt < 0:
                raise SipParseError(f"missing '>' in {value[:80]!r}")
            uri = parse_uri(text[1:gt])
            return cls(uri=uri, display_name=display, params=parse_params(text[gt + 1 :]), bracketed=True)
        # addr-spec form: parameters after the URI belong to the header, not the URI (§20.10)
        uri_text, semi, param_text = text.partition(";")
        if "?" in uri_text or "," in uri_text:
            raise SipParseError(f"addr-spec with '?' or ',' must be in <>: {value[:80]!r}")
        return cls(
            uri=parse_uri(uri_text),
            params=parse_params(";" + param_text) if semi else (),
            bracketed=False,
        )

    def __str__(self) -> str:
        params = format_params(self.params)
        if not self.bracketed and self.display_name is None:
            return f"{self.uri}{params}"
        if self.display_name is None:
            return f"<{self.uri}>{params}"
        name = self.display_name
        shown = name if is_token(name) else quote(name)  # a single token needs no quotes
        return f"{shown} <{self.uri}>{params}"

    @property
    def tag(self) -> str | None:
        return get_param(self.params, "tag")

    def with_tag(self, tag: str) -> NameAddr:
        return replace(self, params=set_param(self.params, "tag", tag))

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    @property
    def sip_uri(self) -> SipUri:
        if not isinstance(self.uri, SipUri):
            raise SipParseError(f"expected a SIP URI, got {self.uri}")
        return self.uri


@dataclass(frozen=True, slots=True)
class Via:
    """``SIP/2.0/UDP host:port;branch=z9hG4bK...;received=...;rport`` (§20.42, RFC 3581)."""

    transport: str
    host: str
    port: int | None = None
    params: Params = ()

    @classmethod
    def parse(cls, value: str) -> Via:
        text = value.strip()
        m = re.match(
            r"^([A-Za-z0-9\-.!%*_+`'~]+)\s*/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s*/\s*([A-Za-z0-9\-.!%*_+`'~]+)\s+", text
        )
        if not m:
            raise SipParseError(f"bad Via sent-protocol in {value[:80]!r}")
        if m.group(1).upper() != "SIP" or m.group(2) != "2.0":
            raise SipParseError(f"unsupported Via protocol in {value[:80]!r}")
        rest = text[m.end() :]
        sent_by, semi, param_text = rest.partition(";")
        # comments in Via (§25.1 "via-extension") are not supported; sent-by must be host[:port]
        host, port = parse_host_port(sent_by.strip().replace(" ", ""))
        params = parse_params(";" + param_text) if semi else ()
        rport = get_param(params, "rport")
        if rport and (not rport.isdigit() or not 0 < int(rport) <= 65535):
            raise SipParseError(f"bad rport in {value[:80]!r}")
        return cls(transport=m.group(3).upper(), host=host, port=port, params=params)

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {format_host(self.host, self.port)}{format_params(self.params)}"

    @property
    def branch(self) -> str | None:
        return get_param(self.params, "branch")

    @property
    def received(self) -> str | None:
        return get_param(self.params, "received")

    @property
    def rport(self) -> int | None:
        """The filled-in rport (RFC 3581 §4); None when absent or only requested."""
        value = get_param(self.params, "rport")
        return int(value) if value else None

    @property
    def wants_rport(self) -> bool:
        return has_param(self.params, "rport")

    @property
    def sent_by(self) -> tuple[str, int | None]:
        return self.host, self.port

    @property
    def reliable(self) -> bool:
        return self.transport != "UDP"

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def with_param(self, name: str, value: str | None) -> Via:
        return replace(self, params=set_param(self.params, name, value))

    def stamped(self, source_host: str, source_port: int) -> Via:
        """The Via as a server records it on receipt: ``received`` if the source address differs
        from sent-by (§18.2.1), and ``rport`` filled in when the client asked for it (RFC 3581 §4)."""
        via = self
        if via.host.strip("[]") != source_host or via.wants_rport:
            via = via.with_param("received", source_host)
        if via.wants_rport:
            via = via.with_param("rport", str(source_port))
        return via

    def response_address(self, default_port: int = 5060) -> tuple[str, int]:
        """Where responses go for an unreliable transport (§18.2.2, RFC 3581 §4)."""
        host = self.received or self.host.strip("[]")
        port = self.rport or self.port or default_port
        return host, port


@dataclass(frozen=True, slots=True)
class CSeq:
    number: int
    method: str

    @classmethod
    def parse(cls, value: str) -> CSeq:
        parts = value.split()
        if len(parts) != 2 or not parts[0].isdigit() or len(parts[0]) > 10 or not is_token(parts[1]):
            raise SipParseError(f"bad CSeq {value[:80]!r}")
        number = int(parts[0])
        if number > 2**31 - 1:  # §8.1.1.5: the sequence number MUST be less than 2**31
            raise SipParseError(f"CSeq number out of range in {value[:80]!r}")
        return cls(number=number, method=parts[1])

    def __str__(self) -> str:
        return f"{self.number} {self.method}"
