"""DKIM signing per sending domain (RFC 6376; ed25519-sha256 per RFC 8463).

Canonicalization is dkimpy's (relaxed/relaxed); the signature itself is made with
``cryptography`` (OpenSSL), because dkimpy's pure-Python RSA costs ~9 ms per signature,
which would cap a core at ~110 messages per second. Keys live in the database (sealed under
the installation's master key) so every node signs alike; ``openline email domains add``
makes them and prints the DNS records to publish.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from dkim import rfc822_parse
from dkim.canonicalization import CanonicalizationPolicy

from openline.core.clock import Clock
from openline.core.crypto import SecretBox
from openline.storage.database import Database
from openline.storage.repositories.email import DomainRepository

log = logging.getLogger("openline.email")

RSA_BITS = 2048  # RFC 8301 §3.2: at least 1024, 2048 recommended
REFRESH_SECONDS = 30.0  # domains added by the CLI reach a running server within this
# Signed when present (RFC 6376 §5.4.1 recommends these); each at most once, the last instance.
SIGNED_HEADERS = (b"from", b"to", b"cc", b"reply-to", b"subject", b"date", b"message-id", b"mime-version",
                  b"content-type", b"list-unsubscribe", b"list-unsubscribe-post", b"x-message-id")
_POLICY = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")


@dataclass(frozen=True, slots=True)
class DomainKey:
    domain: str
    selector: str
    algorithm: str  # rsa-sha256 | ed25519-sha256
    key: Any  # rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
    public_key: str  # the p= value

    def dns_records(self) -> list[tuple[str, str, str]]:
        k = "rsa" if self.algorithm == "rsa-sha256" else "ed25519"
        return [(f"{self.selector}._domainkey.{self.domain}", "TXT", f"v=DKIM1; k={k}; p={self.public_key}")]


def generate(domain: str, selector: str, algorithm: str) -> tuple[str, str]:
    """A new key: (PKCS#8 PEM private key, p= public value)."""
    key: Any
    if algorithm == "ed25519-sha256":
        key = ed25519.Ed25519PrivateKey.generate()
        public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        public = key.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return pem, base64.b64encode(public).decode()


def sign_message(raw: bytes, dk: DomainKey, now: int) -> bytes:
    """``raw`` with a DKIM-Signature header prepended."""
    headers, body = rfc822_parse(raw)
    body_hash = base64.b64encode(hashlib.sha256(_POLICY.canonicalize_body(body)).digest()).decode()
    latest: dict[bytes, tuple[bytes, bytes]] = {}
    for name, value in headers:
        if name.lower() in SIGNED_HEADERS:
            latest[name.lower()] = (name, value)
    chosen = [latest[name] for name in SIGNED_HEADERS if name in latest]
    names = ":".join(name.decode().lower() for name, _ in chosen)
    unsigned = (f" v=1; a={dk.algorithm}; c=relaxed/relaxed; d={dk.domain}; s={dk.selector};\r\n\t"
                f"t={now}; h={names};\r\n\tbh={body_hash};\r\n\tb=")
    canonical = _POLICY.canonicalize_headers([*chosen, (b"DKIM-Signature", unsigned.encode())])
    # RFC 6376 §3.7: the signature header is hashed last, with an empty b= and no trailing CRLF.
    data = b"".join(n + b":" + v for n, v in canonical[:-1]) + canonical[-1][0] + b":" + canonical[-1][1].rstrip()
    if dk.algorithm == "ed25519-sha256":
        signature = dk.key.sign(hashlib.sha256(data).digest())  # RFC 8463 §3: Ed25519 over the SHA-256 hash
    else:
        signature = dk.key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    encoded = base64.b64encode(signature).decode()
    folded = "\r\n\t ".join(encoded[i:i + 72] for i in range(0, len(encoded), 72))
    return f"DKIM-Signature:{unsigned}{folded}\r\n".encode() + raw


class DomainKeys:
    """The DKIM keys of every sending domain, cached in memory and refreshed now and then."""

    def __init__(self, db: Database, clock: Clock, domains: DomainRepository, box: SecretBox) -> None:
        self._db = db
        self._clock = clock
        self._domains = domains
        self._box = box
        self._keys: dict[str, DomainKey] = {}
        self._loaded_at = float("-inf")

    async def refresh(self, force: bool = False) -> None:
        if not force and time.monotonic() - self._loaded_at < REFRESH_SECONDS:
            return
        async with self._db.read() as conn:
            rows = await self._domains.all(conn)
        keys: dict[str, DomainKey] = {}
        for row in rows:
            try:
                pem = self._box.open(base64.b64decode(row["private_key"]), f"dkim:{row['domain']}")
                key = serialization.load_pem_private_key(pem.encode(), password=None)
            except ValueError:
                log.error("DKIM key of %s cannot be opened (another secret key?)", row["domain"])
                continue
            keys[row["domain"]] = DomainKey(row["domain"], row["selector"], row["algorithm"], key,
                                            row["public_key"])
        self._keys = keys
        self._loaded_at = time.monotonic()

    def key_for(self, domain: str) -> DomainKey | None:
        """The key of the domain or of its closest parent (mail.example.com signs as example.com)."""
        labels = domain.lower().split(".")
        for start in range(len(labels) - 1):
            found = self._keys.get(".".join(labels[start:]))
            if found is not None:
                return found
        return None

    def sign(self, domain: str, raw: bytes) -> bytes:
        dk = self.key_for(domain)
        return sign_message(raw, dk, int(self._clock.now().timestamp())) if dk else raw

    async def add(self, domain: str, selector: str, algorithm: str) -> DomainKey:
        domain = domain.lower().rstrip(".")
        pem, public = generate(domain, selector, algorithm)
        async with self._db.transaction() as conn:
            if await self._domains.get(conn, domain) is not None:
                raise ValueError(f"{domain} already has a DKIM key (remove it first to rotate)")
            await self._domains.add(conn, {
                "domain": domain, "selector": selector, "algorithm": algorithm,
                "private_key": base64.b64encode(self._box.seal(pem, f"dkim:{domain}")).decode(),
                "public_key": public, "date_created": self._clock.now()})
        await self.refresh(force=True)
        found = self._keys[domain]
        return found

    async def listing(self) -> list[DomainKey]:
        await self.refresh(force=True)
        return list(self._keys.values())

    async def remove(self, domain: str) -> bool:
        async with self._db.transaction() as conn:
            removed = await self._domains.remove(conn, domain.lower())
        await self.refresh(force=True)
        return removed
