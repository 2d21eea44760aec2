"""The SMPP codec's errors.

``SmppParseError`` is the one parse error of this codec (house rule 5): every low-level failure
while reading peer bytes (``struct.error``, ``IndexError``, ``UnicodeDecodeError``, a bad length)
becomes it at the codec boundary, and it carries the ``command_status`` that the receiving entity
should answer with (SMPP v3.4 §5.1.3), so the transport never has to guess.

``SmppSessionError`` is the *local* counterpart (h11's LocalProtocolError): our own side tried
something the session forbids (sending a PDU not allowed in the current state, overfilling the
window). It is a programming or flow-control error, never caused by the peer.
"""

from __future__ import annotations

from openline.codecs.smpp.status import CommandStatus

__all__ = ["SmppParseError", "SmppSessionError", "WindowFullError"]


class SmppParseError(ValueError):
    """Peer bytes that are not a valid SMPP PDU (or field); ``command_status`` is the answer."""

    def __init__(self, message: str, command_status: int = CommandStatus.ESME_RSYSERR) -> None:
        super().__init__(message)
        self.command_status = int(command_status)

    def __reduce__(self) -> tuple[type[SmppParseError], tuple[str, int]]:
        # Keep the status across copy/pickle-free serialisation paths (e.g. multiprocessing logs).
        return (type(self), (str(self), self.command_status))


class SmppSessionError(RuntimeError):
    """Our side broke the session rules (wrong state, wrong role, unknown response)."""


class WindowFullError(SmppSessionError):
    """The outbound window is full: wait for responses (or timeouts) before sending more."""
