"""Secrets at rest: API key secrets are sealed with AES-256-GCM under the installation's key.

The key comes from configuration (``secret_key``) or a file in the data dir; it never lives
in the database, so a copy of the database alone does not reveal any secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_BYTES = 32
_NONCE_BYTES = 12
_VERSION = b"\x01"  # leaves room to rotate the scheme without guessing at old rows
_KDF_SALT = b"openline key derivation v1"


class SecretBoxError(ValueError):
    pass


def parse_master_key(text: str) -> bytes:
    """A 32-byte key written as 64 hex digits or URL-safe base64."""
    text = text.strip()
    try:
        key = bytes.fromhex(text) if len(text) == 2 * KEY_BYTES else base64.urlsafe_b64decode(text + "==")
    except ValueError as exc:
        raise SecretBoxError("secret key must be 64 hex digits or base64 of 32 bytes") from exc
    if len(key) != KEY_BYTES:
        raise SecretBoxError("secret key must be 32 bytes")
    return key


def new_master_key() -> bytes:
    return os.urandom(KEY_BYTES)


class SecretBox:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SecretBoxError("secret key must be 32 bytes")
        self._aead = AESGCM(key)
        # Sub-keys for other uses (keyed hashes of one-time codes…) come from this pseudorandom
        # key (HKDF-Extract, RFC 5869 §2.2), so the raw master key is kept nowhere else.
        self._prk = hmac.new(_KDF_SALT, key, hashlib.sha256).digest()

    def derive(self, purpose: str) -> bytes:
        """A 32-byte key for one purpose (HKDF-Expand, RFC 5869 §2.3); distinct purposes, unrelated keys."""
        return derive_key(self._prk, purpose)

    def seal(self, plaintext: str, context: str) -> bytes:
        """``context`` (e.g. the key SID) is bound in, so a sealed value cannot be moved to another row."""
        nonce = os.urandom(_NONCE_BYTES)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def open(self, sealed: bytes, context: str) -> str:
        if len(sealed) < 1 + _NONCE_BYTES or sealed[:1] != _VERSION:
            raise SecretBoxError("not a sealed secret")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return self._aead.decrypt(nonce, ciphertext, context.encode()).decode()
        except Exception as exc:  # InvalidTag: wrong key or tampered row
            raise SecretBoxError("secret could not be opened: wrong secret key?") from exc


def derive_key(prk: bytes, purpose: str) -> bytes:
    """HKDF-Expand with SHA-256 for one 32-byte block: T(1) = HMAC(PRK, info || 0x01)."""
    return hmac.new(prk, purpose.encode() + b"\x01", hashlib.sha256).digest()


def secret_digest(secret: str) -> str:
    """What we compare credentials against; a fast hash suffices for 190-bit random secrets."""
    return hashlib.sha256(secret.encode()).hexdigest()


def digests_match(secret: str, digest: str) -> bool:
    return hmac.compare_digest(secret_digest(secret), digest)
