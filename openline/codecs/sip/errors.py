"""The SIP codec's errors.

``SipParseError`` is the one parse error of the SIP/SDP codec (house rule 5): every low-level
failure while reading peer bytes becomes it at the codec boundary. It carries the status a UAS
should answer with (RFC 3261 §21.4: 400 for a malformed request, 413/414 for oversize parts,
505 for an unsupported version, 416 for an unsupported URI scheme).

``SipStateError`` is the local counterpart: our own side asked a transaction or dialog for
something its state forbids. It is a programming error, never caused by the peer.
"""

from __future__ import annotations

__all__ = ["SipParseError", "SipStateError"]


class SipParseError(ValueError):
    """Peer bytes that are not a valid SIP message, header, URI or SDP body."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status

    def __reduce__(self) -> tuple[type[SipParseError], tuple[str, int]]:
        return (type(self), (str(self), self.status))


class SipStateError(RuntimeError):
    """Our side broke a transaction or dialog rule (wrong state, wrong message kind)."""
