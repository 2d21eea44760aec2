"""The SIP side of Programmable Voice: one user agent per process, started when ``[sip]`` is set.

It owns the :class:`SipEndpoint` (UDP + TCP on ``sip.listen``), the RTP port range, the
registrar, the registrations to providers and every live :class:`SipCallLeg`, and routes
requests between them (it is the endpoint's transaction user):

* INVITE outside a dialog: an incoming call. From an address a trunk's ``inbound_from`` allows,
  it is a call to the number in the Request-URI (404 unless a trunk or SIP user owns it). From a
  SIP user (the From user names one, or credentials are present) it must pass digest
  authentication with that user's password (407 challenge) and is then a call from the user's
  number: to an Openline number, or to anywhere else (the voice service then runs the TwiML of
  the user's own number). Anything else is refused with 403. Accepted calls go to the
  :class:`~openline.core.call_legs.IncomingCallHandler` (503 while none is attached).
* Requests inside a dialog go to their leg (found by Call-ID and tags); REGISTER to the
  registrar; OPTIONS outside a dialog is answered 200 (keep-alive pings from trunks).

``dialer`` is the :class:`~openline.core.call_legs.Dialer` for outbound legs. ``close`` hangs up
every live leg (BYE, or CANCEL while ringing), removes provider registrations and closes sockets.
``media_stats`` sums every leg's RTP pacing statistics since start (ended legs included), for
/health and /metrics: packets sent more than 10 ms after their deadline is the number to watch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Coroutine, Sequence
from typing import Any, Final

from openline.codecs.sip import DigestServer, NameAddr, Request, Response, SipUri, Verdict, make_response, new_token
from openline.codecs.sip.transaction import ServerInviteTransaction, ServerTransaction
from openline.config import RouteSettings, SipSettings, SipTrunkSettings
from openline.core.call_legs import IncomingCall, IncomingCallHandler
from openline.services.sip_registrations import Registrations
from openline.transports.rtp import LegStats, MediaClock, PortRange
from openline.transports.sip import Address, SipEndpoint
from openline.transports.sip_calls import ALLOW, LegHost, SipCallLeg
from openline.transports.sip_dialer import SipDialer
from openline.transports.sip_registrar import Registrar, check_digest
from openline.transports.sip_trunks import ProviderRegistration

__all__ = ["SipService"]

log = logging.getLogger("openline.sip.service")

CLOSE_GRACE: Final = 0.3  # seconds for the BYEs of a shutdown to leave before the sockets close


class SipService:
    def __init__(
        self,
        settings: SipSettings,
        routes: Sequence[RouteSettings],
        registrations: Registrations,
        digest_secret: bytes,
        *,
        media_clock: MediaClock | None = None,
        incoming: IncomingCallHandler | None = None,
    ) -> None:
        self.settings = settings
        host, port = settings.listen_address
        self.endpoint = SipEndpoint(self, host=host, port=port)
        self._own_clock = media_clock is None
        self.media_clock = media_clock or MediaClock()
        low, high = settings.rtp_range
        self._host = LegHost(self.endpoint, self.media_clock, PortRange(low, high), rtp_host=host,
                             sdp_address=settings.contact_host, forget=self._forget)
        self._digest = DigestServer(settings.realm, digest_secret)
        self.registrar = Registrar(self.endpoint, settings, registrations, self._digest)
        self.dialer = SipDialer(settings, routes, registrations, self._new_outbound_leg, lambda: settings.contact_host)
        self._incoming = incoming
        self._legs: dict[str, SipCallLeg] = {}  # by Call-ID
        self._passwords = {u.username: u.password.get_secret_value() for u in settings.users}
        self._users = {u.username: u for u in settings.users}
        self._known_numbers = {n for t in settings.trunks for n in t.numbers} | {u.number for u in settings.users}
        self.providers = [ProviderRegistration(self.endpoint, t, self._contact_for_register)
                          for t in settings.trunks if t.registers]
        self.counters: Counter[str] = Counter()
        self._ended_media = LegStats()  # the sum over legs that have ended (live ones are added on demand)
        self.peak_calls = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # --- wiring -------------------------------------------------------------------------------

    def attach(self, handler: IncomingCallHandler) -> None:
        """Where incoming calls go (the voice service); until then INVITEs are answered 503."""
        self._incoming = handler

    @property
    def legs(self) -> list[SipCallLeg]:
        return list(self._legs.values())

    async def start(self) -> None:
        await self.endpoint.start()
        if self._own_clock:
            self.media_clock.start()
        for provider in self.providers:
            provider.start()
        log.info("sip listening on %s:%s (udp, tcp)", self.endpoint.host, self.endpoint.port)

    async def close(self) -> None:
        live = list(self._legs.values())
        for leg in live:
            leg.hangup()
        if self.providers:
            await asyncio.gather(*(p.close() for p in self.providers), return_exceptions=True)
        if live:
            await asyncio.sleep(CLOSE_GRACE)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.endpoint.close()
        if self._own_clock:
            await self.media_clock.stop()

    # --- legs ---------------------------------------------------------------------------------

    def _new_outbound_leg(self, leg_id: str, call_id: str) -> SipCallLeg:
        leg = SipCallLeg(self._host, leg_id=leg_id, call_id=call_id, outbound=True)
        self._track(leg)
        return leg

    def _forget(self, leg: SipCallLeg) -> None:
        if self._legs.get(leg.call_id) is leg:
            del self._legs[leg.call_id]
            _add_stats(self._ended_media, leg.stats)

    def _track(self, leg: SipCallLeg) -> None:
        self._legs[leg.call_id] = leg
        self.counters["legs"] += 1
        self.peak_calls = max(self.peak_calls, len(self._legs))

    def media_stats(self) -> dict[str, float | int]:
        """RTP pacing and reception over every leg since start, live ones included."""
        total = LegStats()
        _add_stats(total, self._ended_media)
        for leg in self._legs.values():
            _add_stats(total, leg.stats)
        return {"calls": len(self._legs), "peak_calls": self.peak_calls, "clock_legs": self.media_clock.legs,
                "packets_sent": total.packets_sent, "packets_late": total.packets_late,
                "late_ratio": round(total.late_ratio, 6), "max_lateness_ms": round(total.max_lateness * 1000, 2),
                "packets_received": total.packets_received, "digits_received": total.digits_received,
                "rtcp_sent": total.rtcp_sent, "rtcp_received": total.rtcp_received,
                "clock_ticks": self.media_clock.ticks, "clock_skipped_ticks": self.media_clock.skipped_ticks,
                "prompt_cache_hits": self._host.prompts.hits, "prompt_cache_misses": self._host.prompts.misses}

    def _contact_for_register(self, transport: str) -> NameAddr:
        return self._host.contact("openline", transport)

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # --- SipHandler ---------------------------------------------------------------------------

    def on_request(self, request: Request, transaction: ServerTransaction, source: Address) -> None:
        method = request.method
        if request.to.tag:
            leg = self._legs.get(request.call_id)
            if leg is None or leg.local_tag != request.to.tag:
                self.endpoint.respond(transaction, make_response(request, 481))
                return
            leg.on_request(request, transaction)
            return
        if method == "INVITE" and isinstance(transaction, ServerInviteTransaction):
            self._incoming_invite(request, transaction, source)
        elif method == "REGISTER":
            self._spawn(self.registrar.handle(request, transaction, source))
        elif method == "OPTIONS":
            self.endpoint.respond(transaction, make_response(
                request, 200, to_tag=new_token(6), extra=[("Allow", ALLOW), ("Accept", "application/sdp")]))
        elif method == "BYE":
            self.endpoint.respond(transaction, make_response(request, 481))
        else:
            self.endpoint.respond(transaction, make_response(request, 405, extra=[("Allow", ALLOW + ", REGISTER")]))

    def on_ack(self, request: Request, source: Address) -> None:
        leg = self._legs.get(request.call_id)
        if leg is not None:
            leg.on_ack(request)

    def on_cancel(self, invite: Request, source: Address) -> None:
        leg = self._legs.get(invite.call_id)
        if leg is not None:
            leg.on_cancelled()

    def on_stray_response(self, response: Response, source: Address) -> None:
        leg = self._legs.get(response.call_id)
        if leg is not None and response.success and response.cseq.method == "INVITE":
            leg.on_stray_2xx(response)

    def on_ack_timeout(self, invite: Request) -> None:
        leg = self._legs.get(invite.call_id)
        if leg is not None:
            leg.on_ack_timeout()

    # --- incoming calls -----------------------------------------------------------------------

    def _refuse(self, request: Request, txn: ServerTransaction, status: int, counter: str, source: Address) -> None:
        self.counters[counter] += 1
        log.info("sip: refused INVITE %s from %s:%s (%s)", request.request_uri, source.host, source.port, counter)
        self.endpoint.respond(txn, make_response(request, status, to_tag=new_token(6)))

    def _incoming_invite(self, request: Request, txn: ServerInviteTransaction, source: Address) -> None:
        if request.call_id in self._legs:
            self._refuse(request, txn, 482, "loop", source)  # §8.2.2.2: a merged request
            return
        from_uri = request.from_.uri
        from_user = from_uri.unescaped_user if isinstance(from_uri, SipUri) else None
        has_credentials = "Authorization" in request.headers or "Proxy-Authorization" in request.headers
        trunk = next((t for t in self.settings.trunks if t.allows(source.host)), None)
        if has_credentials or (from_user in self._users) or trunk is None:
            if not has_credentials and from_user not in self._users:
                self._refuse(request, txn, 403, "forbidden_source", source)
                return
            self._from_user(request, txn, source)
            return
        self._from_trunk(request, txn, source, trunk)

    def _called(self, request: Request) -> str | None:
        uri = request.request_uri
        if isinstance(uri, SipUri):
            if uri.e164 is not None:
                return uri.e164
            user = uri.unescaped_user
            if user is not None and user in self._users:
                return self._users[user].number
            return user
        return None

    def _from_trunk(self, request: Request, txn: ServerInviteTransaction, source: Address,
                    trunk: SipTrunkSettings) -> None:
        to = self._called(request)
        if to is None or to not in self._known_numbers:
            self._refuse(request, txn, 404, "unknown_number", source)
            return
        from_uri = request.from_.uri
        caller = (from_uri.e164 or from_uri.unescaped_user or str(from_uri)) if isinstance(from_uri, SipUri) \
            else (from_uri.e164 or str(from_uri))
        self._offer(request, txn, source, to=to, from_=caller, origin=trunk.name)

    def _from_user(self, request: Request, txn: ServerInviteTransaction, source: Address) -> None:
        who, verdict = check_digest(request, self._digest, self._passwords, header="Proxy-Authorization")
        if verdict is None:
            who, verdict = check_digest(request, self._digest, self._passwords)
        if verdict is not Verdict.OK or who is None:
            if verdict is Verdict.INVALID:
                self.counters["auth_failed"] += 1
            # 407 as a proxy would: the INVITE's credentials go in Proxy-Authorization (§22.3)
            self.registrar.challenge(txn, request, stale=verdict is Verdict.STALE, status=407)
            return
        to = self._called(request)
        if to is None:
            self._refuse(request, txn, 404, "unknown_number", source)
            return
        self._offer(request, txn, source, to=to, from_=self._users[who].number, origin=f"user:{who}",
                    registered_user=True)

    def _offer(self, request: Request, txn: ServerInviteTransaction, source: Address, *, to: str, from_: str,
               origin: str, registered_user: bool = False) -> None:
        handler = self._incoming
        if handler is None:
            self._refuse(request, txn, 503, "no_handler", source)
            return
        leg = SipCallLeg(self._host, leg_id=f"sip-{new_token(8)}", call_id=request.call_id, outbound=False)
        self._track(leg)

        async def accept() -> None:
            try:
                ok = await leg.accept_invite(request, txn, source)
            except Exception:
                log.exception("sip: incoming call setup failed")
                ok = False
                with contextlib.suppress(LookupError):
                    self.endpoint.respond(txn, make_response(request, 500, to_tag=leg.local_tag))
            if not ok:
                self._forget(leg)
                self.counters["bad_offer"] += 1
                return
            self.counters["incoming"] += 1
            handler.incoming(IncomingCall(leg=leg, to=to, from_=from_, source=origin,
                                          registered_user=registered_user))

        self._spawn(accept())


def _add_stats(total: LegStats, leg: LegStats) -> None:
    total.packets_sent += leg.packets_sent
    total.packets_late += leg.packets_late
    total.max_lateness = max(total.max_lateness, leg.max_lateness)
    total.packets_received += leg.packets_received
    total.digits_received += leg.digits_received
    total.rtcp_sent += leg.rtcp_sent
    total.rtcp_received += leg.rtcp_received
