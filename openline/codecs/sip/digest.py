"""HTTP Digest authentication for SIP (RFC 3261 §22.4, RFC 2617, RFC 7616, RFC 8760), both ends.

Client: parse a ``WWW-Authenticate``/``Proxy-Authenticate`` challenge and answer it with
:func:`answer_challenge` (qop=auth when offered, else the RFC 2069 form). Server:
:class:`DigestServer` issues nonces that carry their own issue time and an HMAC, so it needs
no nonce table to verify them; it remembers the highest nonce-count per recent nonce to refuse
replays, bounded in size. Algorithms: MD5, SHA-256 (RFC 8760 §2.1 lists SHA-256 first when both
are offered; a SIP server sends one challenge per algorithm) and their ``-sess`` variants.

Time and randomness are arguments (``now``, ``cnonce``, the server ``secret``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import struct
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from openline.codecs.sip.errors import SipParseError
from openline.codecs.sip.params import quote, split_commas, unquote

__all__ = [
    "ALGORITHMS",
    "DigestChallenge",
    "DigestCredentials",
    "DigestServer",
    "Verdict",
    "answer_challenge",
    "authorization_for",
    "compute_ha1",
    "compute_response",
]

ALGORITHMS: Final = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}
MAX_AUTH_HEADER: Final = 4096
_NC_CACHE: Final = 4096  # nonces whose last nonce-count we remember (replay protection)


def _hash(algorithm: str, text: str) -> str:
    base = algorithm.upper().removesuffix("-SESS")
    fn = ALGORITHMS.get(base)
    if fn is None:
        raise SipParseError(f"unsupported digest algorithm {algorithm!r}", status=400)
    return fn(text.encode("utf-8")).hexdigest()


def _parse_auth_params(value: str) -> tuple[str, dict[str, str]]:
    if len(value) > MAX_AUTH_HEADER:
        raise SipParseError("authentication header too long")
    text = value.strip()
    scheme, _, rest = text.partition(" ")
    if not scheme or not rest.strip():
        raise SipParseError(f"bad authentication header {value[:60]!r}")
    params: dict[str, str] = {}
    for item in split_commas(rest):
        name, eq, raw = item.partition("=")
        name = name.strip().lower()
        if not eq or not name:
            raise SipParseError(f"bad auth-param {item[:60]!r}")
        if name in params:
            raise SipParseError(f"duplicate auth-param {name!r}")
        params[name] = unquote(raw.strip())
    return scheme, params


def compute_ha1(algorithm: str, username: str, realm: str, password: str, nonce: str = "", cnonce: str = "") -> str:
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = _hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    return ha1


def compute_response(
    *,
    algorithm: str,
    ha1: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None = None,
    nc: str = "",
    cnonce: str = "",
    body: bytes = b"",
) -> str:
    """KD(HA1, nonce:nc:cnonce:qop:HA2), or KD(HA1, nonce:HA2) without qop (RFC 2617 §3.2.2.1)."""
    if qop == "auth-int":
        base = algorithm.upper().removesuffix("-SESS")
        body_hash = ALGORITHMS[base](body).hexdigest() if base in ALGORITHMS else ""
        ha2 = _hash(algorithm, f"{method}:{uri}:{body_hash}")
    else:
        ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop:
        return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")


@dataclass(frozen=True, slots=True)
class DigestChallenge:
    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ("auth",)
    opaque: str | None = None
    stale: bool = False
    domain: str | None = None

    @classmethod
    def parse(cls, value: str) -> DigestChallenge:
        scheme, p = _parse_auth_params(value)
        if scheme.lower() != "digest":
            raise SipParseError(f"unsupported authentication scheme {scheme!r}")
        if "realm" not in p or "nonce" not in p:
            raise SipParseError("digest challenge without realm or nonce")
        qop = tuple(q.strip() for q in p["qop"].split(",") if q.strip()) if "qop" in p else ()
        return cls(
            realm=p["realm"],
            nonce=p["nonce"],
            algorithm=p.get("algorithm", "MD5"),
            qop=qop,
            opaque=p.get("opaque"),
            stale=p.get("stale", "").lower() == "true",
            domain=p.get("domain"),
        )

    def __str__(self) -> str:
        parts = [f"realm={quote(self.realm)}"]
        if self.domain is not None:
            parts.append(f"domain={quote(self.domain)}")
        parts.append(f"nonce={quote(self.nonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        if self.stale:
            parts.append("stale=TRUE")
        parts.append(f"algorithm={self.algorithm}")
        if self.qop:
            parts.append(f"qop={quote(','.join(self.qop))}")
        return "Digest " + ", ".join(parts)


@dataclass(frozen=True, slots=True)
class DigestCredentials:
    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None

    @classmethod
    def parse(cls, value: str) -> DigestCredentials:
        scheme, p = _parse_auth_params(value)
        if scheme.lower() != "digest":
            raise SipParseError(f"unsupported authentication scheme {scheme!r}")
        for name in ("username", "realm", "nonce", "uri", "response"):
            if name not in p:
                raise SipParseError(f"digest credentials without {name}")
        qop = p.get("qop")
        if qop is not None and ("nc" not in p or "cnonce" not in p):
            raise SipParseError("qop given without nc and cnonce")
        nc = p.get("nc")
        if nc is not None and (len(nc) != 8 or any(c not in "0123456789abcdefABCDEF" for c in nc)):
            raise SipParseError("bad nonce-count")
        return cls(
            username=p["username"],
            realm=p["realm"],
            nonce=p["nonce"],
            uri=p["uri"],
            response=p["response"],
            algorithm=p.get("algorithm", "MD5"),
            qop=qop,
            nc=nc,
            cnonce=p.get("cnonce"),
            opaque=p.get("opaque"),
        )

    def __str__(self) -> str:
        parts = [
            f"username={quote(self.username)}",
            f"realm={quote(self.realm)}",
            f"nonce={quote(self.nonce)}",
            f"uri={quote(self.uri)}",
            f"response={quote(self.response)}",
            f"algorithm={self.algorithm}",
        ]
        if self.cnonce is not None:
            parts.append(f"cnonce={quote(self.cnonce)}")
        if self.opaque is not None:
            parts.append(f"opaque={quote(self.opaque)}")
        if self.qop is not None:
            parts.append(f"qop={self.qop}")
        if self.nc is not None:
            parts.append(f"nc={self.nc}")
        return "Digest " + ", ".join(parts)


def answer_challenge(
    challenge: DigestChallenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
    body: bytes = b"",
) -> DigestCredentials:
    """The Authorization/Proxy-Authorization value answering ``challenge`` (§22.2, §22.3)."""
    qop = "auth" if "auth" in challenge.qop else ("auth-int" if "auth-int" in challenge.qop else None)
    nc_text = f"{nc:08x}"
    ha1 = compute_ha1(challenge.algorithm, username, challenge.realm, password, challenge.nonce, cnonce)
    response = compute_response(
        algorithm=challenge.algorithm,
        ha1=ha1,
        nonce=challenge.nonce,
        method=method,
        uri=uri,
        qop=qop,
        nc=nc_text if qop else "",
        cnonce=cnonce if qop else "",
        body=body,
    )
    return DigestCredentials(
        username=username,
        realm=challenge.realm,
        nonce=challenge.nonce,
        uri=uri,
        response=response,
        algorithm=challenge.algorithm,
        qop=qop,
        nc=nc_text if qop else None,
        cnonce=cnonce if qop else None,
        opaque=challenge.opaque,
    )


def authorization_for(
    response_status: int,
    challenges: list[str],
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    body: bytes = b"",
) -> tuple[str, str]:
    """Answer a 401 (WWW-Authenticate, answered in Authorization) or a 407 (Proxy-Authenticate,
    answered in Proxy-Authorization), §22.2/§22.3. Of several challenges the strongest algorithm
    we support wins (RFC 8760 §2.4: SHA-256 before MD5). Returns (header name, value)."""
    if response_status not in (401, 407):
        raise ValueError("only 401 and 407 carry challenges")
    parsed: list[DigestChallenge] = []
    for value in challenges:
        try:
            challenge = DigestChallenge.parse(value)
        except SipParseError:
            continue  # another scheme, or one we cannot read: try the others
        if challenge.algorithm.upper().removesuffix("-SESS") in ALGORITHMS:
            parsed.append(challenge)
    if not parsed:
        raise SipParseError("no usable digest challenge", status=401)
    rank = {"SHA-256": 0, "SHA-256-SESS": 1, "MD5": 2, "MD5-SESS": 3}
    best = min(parsed, key=lambda c: rank.get(c.algorithm.upper(), 9))
    creds = answer_challenge(
        best, method=method, uri=uri, username=username, password=password, cnonce=cnonce, body=body
    )
    return ("Authorization" if response_status == 401 else "Proxy-Authorization"), str(creds)


class Verdict(StrEnum):
    OK = "ok"
    STALE = "stale"  # right password, expired nonce: challenge again with stale=TRUE (§22.4 / 2617)
    INVALID = "invalid"  # wrong response, foreign nonce, replayed nonce-count, wrong realm


class DigestServer:
    """Issues and verifies nonces for one realm.

    A nonce is ``base64(issue_time || HMAC-SHA256(secret, issue_time || realm))``: the server can
    check it came from itself and how old it is without keeping state per challenge.
    """

    def __init__(self, realm: str, secret: bytes, *, nonce_lifetime: float = 300.0) -> None:
        if len(secret) < 16:
            raise ValueError("the digest secret must be at least 16 bytes")
        self.realm = realm
        self._secret = secret
        self.nonce_lifetime = nonce_lifetime
        self._last_nc: OrderedDict[str, int] = OrderedDict()

    def _mac(self, stamp: bytes) -> bytes:
        return hmac.new(self._secret, stamp + self.realm.encode("utf-8"), hashlib.sha256).digest()[:16]

    def make_nonce(self, now: float) -> str:
        stamp = struct.pack("!d", now)
        return base64.b64encode(stamp + self._mac(stamp)).decode("ascii")

    def challenge(
        self, now: float, *, algorithm: str = "MD5", stale: bool = False, opaque: str | None = None
    ) -> DigestChallenge:
        return DigestChallenge(
            realm=self.realm, nonce=self.make_nonce(now), algorithm=algorithm, qop=("auth",), opaque=opaque, stale=stale
        )

    def challenges(self, now: float, *, stale: bool = False) -> list[DigestChallenge]:
        """One challenge per algorithm, SHA-256 first (RFC 8760 §2.4: preferred first)."""
        return [self.challenge(now, algorithm=a, stale=stale) for a in ("SHA-256", "MD5")]

    def _nonce_time(self, nonce: str) -> float | None:
        try:
            raw = base64.b64decode(nonce.encode("ascii"), validate=True)
        except (ValueError, UnicodeEncodeError):
            return None
        if len(raw) != 24:
            return None
        stamp, mac = raw[:8], raw[8:]
        if not hmac.compare_digest(mac, self._mac(stamp)):
            return None
        issued: float = struct.unpack("!d", stamp)[0]
        return issued

    def verify(
        self, credentials: DigestCredentials, *, method: str, password: str, now: float, body: bytes = b""
    ) -> Verdict:
        if credentials.realm != self.realm:
            return Verdict.INVALID
        issued = self._nonce_time(credentials.nonce)
        if issued is None or issued > now + 1.0:
            return Verdict.INVALID
        ha1 = compute_ha1(
            credentials.algorithm,
            credentials.username,
            self.realm,
            password,
            credentials.nonce,
            credentials.cnonce or "",
        )
        try:
            expected = compute_response(
                algorithm=credentials.algorithm,
                ha1=ha1,
                nonce=credentials.nonce,
                method=method,
                uri=credentials.uri,
                qop=credentials.qop,
                nc=credentials.nc or "",
                cnonce=credentials.cnonce or "",
                body=body,
            )
        except SipParseError:
            return Verdict.INVALID
        if not hmac.compare_digest(expected, credentials.response.lower()):
            return Verdict.INVALID
        if now - issued > self.nonce_lifetime:
            return Verdict.STALE
        if credentials.qop and credentials.nc:
            count = int(credentials.nc, 16)
            last = self._last_nc.get(credentials.nonce, 0)
            if count <= last:
                return Verdict.INVALID  # replayed (or reordered) request with an old nonce-count
            self._last_nc[credentials.nonce] = count
            self._last_nc.move_to_end(credentials.nonce)
            while len(self._last_nc) > _NC_CACHE:
                self._last_nc.popitem(last=False)
        return Verdict.OK
