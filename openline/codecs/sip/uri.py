"""SIP, SIPS and tel URIs (RFC 3261 §19.1, RFC 3966).

    sip:user:password@host:port;uri-parameters?headers
    tel:+14155550100;phone-context=example.com

Parts are kept in their escaped (wire) form so that ``str(parse_uri(s)) == s`` for every
well-formed ``s``; ``unescaped_user`` gives the decoded user part. ``e164`` recognises a user
part (or tel number) that is a global E.164 number, visual separators allowed (RFC 3966 §5.1.1).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from typing import Final
from urllib.parse import unquote as pct_decode

from openline.codecs.sip.errors import SipParseError
from openline.codecs.sip.params import Params, format_params, get_param, has_param, parse_params

__all__ = ["MAX_URI_LENGTH", "SipUri", "TelUri", "Uri", "format_host", "parse_host_port", "parse_uri"]

MAX_URI_LENGTH: Final = 2048  # beyond this a UAS answers 414 Request-URI Too Long (§21.4.12)

# user = 1*( unreserved / escaped / user-unreserved ) (§25.1)
_USER_RE: Final = re.compile(r"^(?:[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2})+$")
_PASSWORD_RE: Final = re.compile(r"^(?:[A-Za-z0-9\-_.!~*'()&=+$,]|%[0-9A-Fa-f]{2})*$")
_HOSTNAME_RE: Final = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)*[A-Za-z](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.?$"
)
_IPV4_RE: Final = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")
_HNV_RE: Final = re.compile(r"^(?:[A-Za-z0-9\-_.!~*'()\[\]/?:+$]|%[0-9A-Fa-f]{2})*$")
_E164_RE: Final = re.compile(r"^\+[1-9][0-9]{6,14}$")
_VISUAL_SEPARATORS: Final = str.maketrans("", "", "-.()")
_TEL_RE: Final = re.compile(r"^(?:\+[0-9\-.()]*[0-9][0-9\-.()]*|[0-9A-Fa-f*#\-.()pw]+)$")


def parse_host_port(text: str) -> tuple[str, int | None]:
    """Parse ``host[:port]`` where host is a hostname, IPv4 address or ``[IPv6]``."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise SipParseError(f"unterminated IPv6 reference in {text!r}")
        host, rest = text[: end + 1], text[end + 1 :]
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError as exc:
            raise SipParseError(f"bad IPv6 address {host!r}") from exc
        if rest and not rest.startswith(":"):
            raise SipParseError(f"junk after IPv6 reference in {text!r}")
        port_text = rest[1:] if rest else None
    else:
        host, sep, port_text_ = text.partition(":")
        port_text = port_text_ if sep else None
        if _IPV4_RE.match(host):
            try:
                ipaddress.IPv4Address(host)
            except ValueError as exc:
                raise SipParseError(f"bad IPv4 address {host!r}") from exc
        elif not _HOSTNAME_RE.match(host):
            raise SipParseError(f"bad host {host!r}")
    port: int | None = None
    if port_text is not None:
        if not port_text.isdigit() or len(port_text) > 5 or not 0 < int(port_text) <= 65535:
            raise SipParseError(f"bad port in {text!r}")
        port = int(port_text)
    return host, port


def format_host(host: str, port: int | None) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return host if port is None else f"{host}:{port}"


@dataclass(frozen=True, slots=True)
class SipUri:
    host: str
    user: str | None = None
    password: str | None = None
    port: int | None = None
    scheme: str = "sip"  # "sip" or "sips"
    params: Params = ()
    headers: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            userinfo = self.user + (f":{self.password}" if self.password is not None else "") + "@"
        out = f"{self.scheme}:{userinfo}{format_host(self.host, self.port)}{format_params(self.params)}"
        if self.headers:
            out += "?" + "&".join(f"{k}={v}" for k, v in self.headers)
        return out

    @property
    def secure(self) -> bool:
        return self.scheme == "sips"

    @property
    def unescaped_user(self) -> str | None:
        return None if self.user is None else pct_decode(self.user)

    @property
    def e164(self) -> str | None:
        """The user part as an E.164 number (``+14155550100``) if it is one, else None."""
        if self.user is None:
            return None
        number = pct_decode(self.user).split(";", 1)[0].translate(_VISUAL_SEPARATORS)
        return number if _E164_RE.match(number) else None

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)

    def has_param(self, name: str) -> bool:
        return has_param(self.params, name)

    @property
    def transport(self) -> str | None:
        value = self.param("transport")
        return None if value is None else value.lower()

    @property
    def loose_route(self) -> bool:
        return self.has_param("lr")

    def with_params(self, params: Params) -> SipUri:
        return replace(self, params=params)

    def without_headers(self) -> SipUri:
        return replace(self, headers=())


@dataclass(frozen=True, slots=True)
class TelUri:
    number: str
    params: Params = ()
    scheme: str = "tel"

    def __str__(self) -> str:
        return f"tel:{self.number}{format_params(self.params)}"

    @property
    def e164(self) -> str | None:
        number = self.number.translate(_VISUAL_SEPARATORS)
        return number if _E164_RE.match(number) else None

    def param(self, name: str) -> str | None:
        return get_param(self.params, name)


Uri = SipUri | TelUri


def _parse_sip(scheme: str, rest: str, text: str) -> SipUri:
    headers: tuple[tuple[str, str], ...] = ()
    qmark = rest.find("?", rest.rfind("@") + 1)  # "?" may appear in a user part, never in a host
    if qmark >= 0:
        rest, header_text = rest[:qmark], rest[qmark + 1 :]
        pairs: list[tuple[str, str]] = []
        for item in header_text.split("&"):
            name, eq, value = item.partition("=")
            if not eq or not name or not _HNV_RE.match(name) or not _HNV_RE.match(value):
                raise SipParseError(f"bad URI header {item!r} in {text!r}")
            pairs.append((name, value))
        headers = tuple(pairs)
    user: str | None = None
    password: str | None = None
    at = rest.rfind("@")
    if at >= 0:
        userinfo, rest = rest[:at], rest[at + 1 :]
        user, sep, pw = userinfo.partition(":")
        if sep:
            if not _PASSWORD_RE.match(pw):
                raise SipParseError(f"bad password in {text!r}")
            password = pw
        if not _USER_RE.match(user):
            raise SipParseError(f"bad user part in {text!r}")
    hostport, semi, param_text = rest.partition(";")
    host, port = parse_host_port(hostport)
    params = parse_params(";" + param_text) if semi else ()
    return SipUri(host=host, user=user, password=password, port=port, scheme=scheme, params=params, headers=headers)


def parse_uri(text: str) -> Uri:
    """Parse a sip:, sips: or tel: URI; anything else is a 416 (§8.2.2.1)."""
    if len(text) > MAX_URI_LENGTH:
        raise SipParseError("URI too long", status=414)
    if not text or any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in text):
        raise SipParseError(f"bad characters in URI {text[:60]!r}")
    scheme, colon, rest = text.partition(":")
    if not colon or not rest:
        raise SipParseError(f"not a URI: {text[:60]!r}")
    lscheme = scheme.lower()
    if lscheme in ("sip", "sips"):
        return _parse_sip(lscheme, rest, text)
    if lscheme == "tel":
        number, semi, param_text = rest.partition(";")
        if not _TEL_RE.match(number):
            raise SipParseError(f"bad telephone-subscriber in {text!r}")
        return TelUri(number=number, params=parse_params(";" + param_text) if semi else ())
    if not re.match(r"^[A-Za-z][A-Za-z0-9+\-.]*$", scheme):
        raise SipParseError(f"bad URI scheme {scheme!r}")
    raise SipParseError(f"unsupported URI scheme {scheme!r}", status=416)
