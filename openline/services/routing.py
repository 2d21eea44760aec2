"""Routing: which carriers may carry a message, in failover order.

Rules come from ``[[routes]]``: a destination prefix (or ``country:XX``), optionally a sender
prefix, the carriers in failover order, a priority, and optional weights that split traffic
instead of a strict order. The highest priority wins, then the longest prefix. Destinations no
rule matches go to the sandbox network while it is enabled, and nowhere otherwise. Chat
addresses (``whatsapp:…``) go to their channel's adapter, or to the sandbox when it has none.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openline.config import SANDBOX_CARRIER, RouteSettings
from openline.core.channels import Channel, channel_of
from openline.core.numbering import parse_e164
from openline.services.carriers import Carrier


@dataclass(frozen=True, slots=True)
class Rule:
    match: str
    sender: str | None
    carriers: tuple[str, ...]
    priority: int
    weights: tuple[int, ...] | None

    def matches(self, to: str, sender: str | None, country: str | None) -> bool:
        if self.match.startswith("country:"):
            if country != self.match.removeprefix("country:"):
                return False
        elif not to.startswith(self.match):
            return False
        return self.sender is None or (sender is not None and (sender == self.sender or sender.startswith(self.sender)))

    @property
    def specificity(self) -> int:
        return len(self.match) + (len(self.sender) if self.sender else 0)


class Router:
    def __init__(self, routes: Sequence[RouteSettings], carriers: Mapping[str, Carrier], sandbox_enabled: bool,
                 rng: random.Random | None = None, channels: Mapping[Channel, Carrier] | None = None) -> None:
        self._channels = dict(channels or {})
        # a route that names only SIP trunks carries calls, not messages: it takes no part here
        self._rules = sorted(
            (Rule(r.match, r.sender, tuple(r.carriers), r.priority, tuple(r.weights) if r.weights else None)
             for r in routes if any(name in carriers for name in r.carriers)),
            key=lambda rule: (-rule.priority, -rule.specificity))
        self._carriers = dict(carriers)
        self._sandbox_enabled = sandbox_enabled
        self._rng = rng or random.Random()

    @property
    def carriers(self) -> Mapping[str, Carrier]:
        return self._carriers

    def candidates(self, to: str, sender: str | None) -> list[Carrier]:
        """The carriers to try for this message, first choice first (empty: no route)."""
        channel = channel_of(to)
        if channel is not Channel.SMS:
            # A chat address has one way out: its platform's adapter, or the sandbox without one.
            if channel in self._channels:
                return [self._channels[channel]]
            return [self._carriers[SANDBOX_CARRIER]] if self._sandbox_enabled and SANDBOX_CARRIER in self._carriers \
                else []
        parsed = parse_e164(to)
        country = parsed.iso_country if parsed else None
        for rule in self._rules:
            if rule.matches(to, sender, country):
                names = list(rule.carriers)
                if rule.weights:
                    first = self._rng.choices(names, weights=rule.weights)[0]
                    names.remove(first)
                    names.insert(0, first)
                return [self._carriers[name] for name in names if name in self._carriers]
        if self._sandbox_enabled and SANDBOX_CARRIER in self._carriers:
            return [self._carriers[SANDBOX_CARRIER]]
        return []
