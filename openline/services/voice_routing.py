"""Voice routing: which SIP trunks may carry a call to a number, in failover order.

The same ``[[routes]]`` rules as messages (destination prefix or ``country:XX``, optional
caller prefix, priority, longest prefix first), restricted to the names that are SIP trunks: a
route naming only SMPP carriers carries messages, not calls. No matching route means no trunk;
the caller then tries registered SIP users and the sandbox.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from openline.config import RouteSettings
from openline.core.numbering import parse_e164
from openline.services.routing import Rule

__all__ = ["VoiceRoutes"]


class VoiceRoutes:
    def __init__(self, routes: Sequence[RouteSettings], trunks: Collection[str]) -> None:
        self._rules = sorted(
            (Rule(r.match, r.sender, tuple(n for n in r.carriers if n in trunks), r.priority, None)
             for r in routes if any(n in trunks for n in r.carriers)),
            key=lambda rule: (-rule.priority, -rule.specificity))

    def trunks_for(self, to: str, caller_id: str | None) -> list[str]:
        """Trunk names for a call to ``to`` (E.164), first choice first; empty: no route."""
        parsed = parse_e164(to)
        if parsed is None:
            return []
        for rule in self._rules:
            if rule.matches(parsed.e164, caller_id, parsed.iso_country):
                return list(rule.carriers)
        return []
