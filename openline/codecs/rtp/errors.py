"""The RTP/RTCP codec's one parse error (house rule 5)."""

from __future__ import annotations

__all__ = ["RtpParseError"]


class RtpParseError(ValueError):
    """Bytes that are not a valid RTP or RTCP packet (or RFC 4733 event payload)."""
