"""The SIP :class:`~openline.core.call_legs.Dialer`: where an outbound leg goes, decided once.

In this order:

1. ``sip:``/``sips:`` URIs are called directly (host, port, ``transport`` parameter).
2. A number that is a SIP user's (``[[sip.users]]``) rings that user's registered device: the
   binding is looked up in the database when the call starts (any process may have taken the
   REGISTER); the most recent binding wins. No binding: the leg ends as no-answer (480).
3. A number a ``[[routes]]`` rule sends to a SIP trunk goes to that trunk's proxy as
   ``sip:+E164@domain``, with the trunk's credentials ready for a 401/407. The route's other
   trunks, in its order, are the failover: the leg moves on when a trunk answers 5xx, cannot be
   reached or stays silent (as messages fail over between a route's carriers).
4. Anything else raises ``LookupError``, so that a composing dialer can try the sandbox.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from openline.codecs.sip import SipParseError, SipUri, new_token, parse_uri
from openline.config import RouteSettings, SipSettings, SipTrunkSettings, SipUserSettings
from openline.core.call_legs import CallLeg, DialRequest
from openline.core.numbering import parse_e164
from openline.services.sip_registrations import Registrations
from openline.services.voice_routing import VoiceRoutes
from openline.transports.sip import Address
from openline.transports.sip_calls import OutboundTarget, SipCallLeg, address_of

__all__ = ["SipDialer"]


@dataclass(frozen=True, slots=True)
class _ToUri:
    uri: SipUri


@dataclass(frozen=True, slots=True)
class _ToUser:
    user: SipUserSettings


@dataclass(frozen=True, slots=True)
class _ToTrunk:
    trunks: tuple[SipTrunkSettings, ...]  # first choice first
    number: str


_Plan = _ToUri | _ToUser | _ToTrunk


class SipDialer:
    def __init__(self, settings: SipSettings, routes: Sequence[RouteSettings], registrations: Registrations,
                 new_leg: Callable[[str, str], SipCallLeg], caller_host: Callable[[], str]) -> None:
        """``new_leg(leg_id, call_id)`` makes a registered outbound leg; ``caller_host`` is our From host."""
        self._settings = settings
        self._routes = VoiceRoutes(routes, [t.name for t in settings.trunks])
        self._registrations = registrations
        self._new_leg = new_leg
        self._caller_host = caller_host
        self._users_by_number = {u.number: u for u in settings.users}

    def reaches(self, target: str) -> bool:
        """Whether ``dial`` would take this target (without placing anything)."""
        try:
            self._plan(target, None)
        except LookupError:
            return False
        return True

    def _plan(self, target: str, caller_id: str | None) -> _Plan:
        text = target.strip()
        if text.lower().startswith(("sip:", "sips:")):
            try:
                uri = parse_uri(text)
            except SipParseError as exc:
                raise LookupError(f"{target!r} is not a SIP URI: {exc}") from None
            if not isinstance(uri, SipUri):
                raise LookupError(f"{target!r} is not a SIP URI")
            return _ToUri(uri.without_headers())
        parsed = parse_e164(text)
        if parsed is None:
            raise LookupError(f"{target!r} is neither an E.164 number nor a SIP URI")
        user = self._users_by_number.get(parsed.e164)
        if user is not None:
            return _ToUser(user)
        trunks = tuple(t for t in (self._settings.trunk(n) for n in self._routes.trunks_for(parsed.e164, caller_id))
                       if t is not None)
        if trunks:
            return _ToTrunk(trunks, parsed.e164)
        raise LookupError(f"no SIP trunk or user reaches {parsed.e164}")

    def dial(self, request: DialRequest) -> CallLeg:
        plan = self._plan(request.target, request.caller_id)
        caller = self._caller_uri(request.caller_id)
        leg = self._new_leg(request.call_sid, new_token(12))

        if isinstance(plan, _ToUri):
            uri = plan.uri
            fixed = OutboundTarget(uri, uri, address_of(uri))

            async def resolve_uri() -> OutboundTarget | None:
                return fixed

            leg.place(resolve_uri, caller, request.timeout_seconds)
        elif isinstance(plan, _ToUser):
            username = plan.user.username

            async def resolve_user() -> OutboundTarget | None:
                bindings = await self._registrations.bindings(username)
                if not bindings:
                    return None
                binding = bindings[-1]  # most recently created: the device that registered last
                try:
                    contact = parse_uri(binding.contact)
                except SipParseError:
                    return None
                if not isinstance(contact, SipUri):
                    return None
                to = SipUri(host=self._caller_host(), user=username)
                # requests go where the REGISTER came from: a device behind NAT is reachable there
                destination = Address(binding.source_host, binding.source_port, binding.transport)
                return OutboundTarget(contact, to, destination)

            leg.place(resolve_user, caller, request.timeout_seconds)
        else:
            first, *others = [_trunk_target(trunk, plan.number) for trunk in plan.trunks]

            async def resolve_trunk() -> OutboundTarget | None:
                return first

            leg.place(resolve_trunk, caller, request.timeout_seconds, fallbacks=others)
        return leg

    def _caller_uri(self, caller_id: str) -> SipUri:
        text = caller_id.strip()
        if text.lower().startswith(("sip:", "sips:")):
            try:
                uri = parse_uri(text)
            except SipParseError:
                uri = None
            if isinstance(uri, SipUri):
                return uri.without_headers()
        parsed = parse_e164(text)
        user = parsed.e164 if parsed is not None else (text or "anonymous")
        if not all(c.isalnum() or c in "+-_.!~*'()&=$,;?/" for c in user):
            user = "anonymous"
        return SipUri(host=self._caller_host(), user=user)


def _trunk_target(trunk: SipTrunkSettings, number: str) -> OutboundTarget:
    host, port = trunk.proxy_address
    domain = trunk.domain or host
    uri = SipUri(host=domain, port=None if trunk.domain else port, user=number)
    credentials = ((trunk.username, trunk.password.get_secret_value())
                   if trunk.username is not None and trunk.password is not None else None)
    return OutboundTarget(uri, uri, Address(host, port, trunk.transport.upper()), credentials, trunk=trunk.name)
