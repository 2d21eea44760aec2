"""Composing dialers: the first that can reach a target places the leg."""

from __future__ import annotations

from collections.abc import Sequence

from openline.core.call_legs import CallLeg, Dialer, DialRequest


class RoutingDialer:
    """Asks each dialer in order (real carriers first, the sandbox last); ``LookupError`` means "not mine"."""

    def __init__(self, dialers: Sequence[Dialer]) -> None:
        self.dialers = list(dialers)

    def dial(self, request: DialRequest) -> CallLeg:
        reasons: list[str] = []
        for dialer in self.dialers:
            try:
                return dialer.dial(request)
            except LookupError as exc:
                reasons.append(str(exc))
        raise LookupError("; ".join(reasons) or f"no route reaches {request.target}")
