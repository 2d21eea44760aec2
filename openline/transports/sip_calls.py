"""Call legs over SIP: one dialog (RFC 3261 §12-§15) and one RTP stream per leg.

:class:`SipCallLeg` implements :class:`openline.core.call_legs.CallLeg` for both directions.

Outbound (UAC): INVITE with an SDP offer; 1xx → ``Ringing``; a 401/407 is answered once with
the trunk's digest credentials (§22.2/§22.3, same Call-ID and From tag, CSeq + 1); 2xx → ACK
(re-sent for every retransmitted 2xx, §13.2.2.4), the answer is applied to the RTP leg and
``Answered`` follows; other final statuses end the leg with the reason :func:`end_reason_for`
gives. Giving up before the answer (``hangup`` or the ring timeout) sends CANCEL (§9.1), only
once a provisional response has arrived; a 2xx that crosses the CANCEL is ACKed and BYEd.

Inbound (UAS): the service hands over an INVITE it accepted; the leg answers its offer at once
(a bad offer is a 488 before anyone is told), rings (180), and on ``answer`` sends the 200 with
the SDP answer; the transaction layer retransmits that 200 until the ACK (RFC 6026 Accepted).
No ACK (Timer L) ends the leg with BYE, as §13.3.1.4 says.

In the dialog: BYE either way, re-INVITE answered with a new SDP answer on the same RTP socket
(hold/unhold, moved media), OPTIONS and INFO (``application/dtmf-relay`` digits) answered.

Media: linear16 frames from ``play`` are encoded to the negotiated G.711 law when they are
queued and handed to the RTP leg one 20 ms frame per media-clock tick through its ``source``,
so the leg knows when a playback token's last frame left (``PlaybackFinished``). Digits go out
as RFC 4733 events (``w`` pauses 0.5 s); received events become ``DigitReceived``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from openline.codecs.media import g711
from openline.codecs.sip import (
    Dialog,
    NameAddr,
    NegotiatedAudio,
    OfferAnswerError,
    Request,
    Response,
    SessionDescription,
    SipParseError,
    SipStateError,
    SipUri,
    answer_offer,
    build_offer,
    make_request,
    make_response,
    new_token,
    process_answer,
)
from openline.codecs.sip.digest import authorization_for
from openline.codecs.sip.transaction import ClientTransaction, ServerInviteTransaction, ServerTransaction
from openline.codecs.sip.uri import Uri
from openline.core.call_legs import (
    FRAME_BYTES,
    Answered,
    AudioSink,
    DigitReceived,
    Ended,
    EndReason,
    LegEvent,
    PlaybackFinished,
    RejectReason,
    Ringing,
)
from openline.transports.rtp import LegStats, MediaClock, PortRange, RtpLeg
from openline.transports.sip import Address, ClientCallbacks, SipEndpoint

__all__ = ["ALLOW", "EncodedPrompts", "LegHost", "OutboundTarget", "SipCallLeg", "address_of", "end_reason_for"]

log = logging.getLogger("openline.sip.calls")

ALLOW: Final = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"
# A trunk that has not even sent 100 Trying by then is taken as down when another trunk of the route
# is left (RFC 3261 §17.1.1.2 asks for 100 within 200 ms; Timer B's 32 s is too long to wait).
FAILOVER_SECONDS: Final = 4.0
FAILOVER_STATUSES: Final = frozenset({500, 502, 503, 504})  # the trunk, not the callee, failed
DTMF_INFO_TYPES: Final = ("application/dtmf-relay", "application/dtmf")
_DIGITS: Final = frozenset("0123456789*#ABCD")
_session_ids = itertools.count(1)


def end_reason_for(status: int) -> EndReason:
    """The one mapping from a final SIP status (before answer) to why the leg ended."""
    if status in (486, 600):
        return EndReason.BUSY
    if status in (408, 480):
        return EndReason.NO_ANSWER
    if status == 603:
        return EndReason.REJECTED
    if status == 487:
        return EndReason.CANCELED
    return EndReason.FAILED


def address_of(uri: Uri, default_transport: str = "UDP") -> Address:
    """Where to send a request for ``uri``: its host and port (5060), its transport parameter."""
    if not isinstance(uri, SipUri):
        raise LookupError(f"cannot reach {uri}")
    transport = (uri.transport or default_transport).upper()
    return Address(uri.host, uri.port or 5060, "TCP" if transport == "TCP" else "UDP")


PROMPT_CACHE_BYTES: Final = 16 * 1024 * 1024  # encoded prompts kept: minutes of audio per codec


class EncodedPrompts:
    """G.711 encodings of recently played audio, shared by every leg of a service.

    Hundreds of calls in one IVR play the same few prompts (the TTS cache hands each call equal
    bytes). Encoding a 5 s prompt costs milliseconds of pure Python on the event loop, which is
    also the media clock's loop: looked up here it costs a hash and a compare instead.
    """

    def __init__(self, limit: int = PROMPT_CACHE_BYTES) -> None:
        self._limit = limit
        self._size = 0
        self._entries: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def encode(self, pcm: bytes, codec: str) -> bytes:
        key = (codec, pcm)
        encoded = self._entries.get(key)
        if encoded is not None:
            self._entries.move_to_end(key)
            self.hits += 1
            return encoded
        self.misses += 1
        encoded = g711.encode(pcm, codec)
        if len(pcm) + len(encoded) <= self._limit // 4:  # one huge recording does not flush the prompts
            self._entries[key] = encoded
            self._size += len(pcm) + len(encoded)
            while self._size > self._limit:
                (_, old), dropped = self._entries.popitem(last=False)
                self._size -= len(old) + len(dropped)
        return encoded


@dataclass(slots=True)
class LegHost:
    """What every leg of one SIP service shares."""

    endpoint: SipEndpoint
    media_clock: MediaClock
    ports: PortRange
    rtp_host: str  # the address RTP sockets bind to
    sdp_address: str  # the address peers send media and requests to (advertised)
    forget: Callable[[SipCallLeg], None]  # the service drops the leg from its tables
    prompts: EncodedPrompts = field(default_factory=EncodedPrompts)

    def contact(self, user: str | None, transport: str) -> NameAddr:
        params: tuple[tuple[str, str | None], ...] = () if transport.upper() == "UDP" else (("transport", "tcp"),)
        return NameAddr(uri=SipUri(host=self.sdp_address, port=self.endpoint.port, user=user, params=params))


@dataclass(frozen=True, slots=True)
class OutboundTarget:
    """Where an outbound INVITE goes, resolved (possibly after a database look-up)."""

    request_uri: SipUri
    to: SipUri
    destination: Address
    credentials: tuple[str, str] | None = None  # (username, password) for a 401/407
    trunk: str | None = None  # the trunk's name, where the target is one


class SipCallLeg:
    def __init__(self, host: LegHost, *, leg_id: str, call_id: str, outbound: bool) -> None:
        self._host = host
        self._loop = asyncio.get_running_loop()
        self.leg_id_value = leg_id
        self.call_id = call_id
        self.outbound = outbound
        self.local_tag = new_token()
        self.dialog: Dialog | None = None
        self.rtp = RtpLeg(codec="PCMU", payload_type=0, remote=None, dtmf_payload_type=101)
        self.rtp.source = self._next_frame
        self.media: NegotiatedAudio | None = None
        self.peer: Address | None = None  # where in-dialog requests go
        self.answered = False
        self.ended = False
        self._listener: Callable[[LegEvent], None] | None = None
        self._pending: deque[LegEvent] = deque()
        self._frames: deque[bytes | int] = deque()  # encoded 20 ms frames and playback tokens
        self._sink: AudioSink | None = None
        self._session_id = next(_session_ids)
        self._sdp_version = 1
        self._on_hold = False
        # outbound
        self._invite: Request | None = None
        self._target: OutboundTarget | None = None
        self._offer: SessionDescription | None = None
        self._provisional = False
        self._ringing_sent = False
        self._give_up: EndReason | None = None  # set when we decided to stop ringing
        self._cancel_sent = False
        self._auth_tried = False
        self._bye_sent = False
        self._ring_timer: asyncio.TimerHandle | None = None
        self._fallbacks: deque[OutboundTarget] = deque()  # the route's next trunks, in order
        self._attempt = 0  # which INVITE (trunk) the transaction callbacks belong to
        self._invite_txn: ClientTransaction | None = None
        self._failover_timer: asyncio.TimerHandle | None = None
        self.trunks_tried: list[str] = []
        self._task: asyncio.Task[None] | None = None
        # inbound
        self._server_txn: ServerInviteTransaction | None = None
        self._answer_sdp: SessionDescription | None = None
        self._reinvite_txns: dict[int, ServerInviteTransaction] = {}
        self.rtp.on_dtmf = self._digit

    # --- CallLeg ------------------------------------------------------------------------------

    @property
    def leg_id(self) -> str:
        return self.leg_id_value

    @property
    def stats(self) -> LegStats:
        return self.rtp.stats

    def listen(self, listener: Callable[[LegEvent], None]) -> None:
        self._listener = listener
        if self._pending:
            self._loop.call_soon(self._deliver)

    def play(self, pcm: bytes, token: int) -> None:
        tail = len(pcm) % FRAME_BYTES
        if tail:
            pcm = pcm + b"\x00" * (FRAME_BYTES - tail)  # the last frame padded with silence
        if self.ended:
            return  # nothing goes out any more; the owner has (or will have) Ended
        encoded = self._host.prompts.encode(pcm, self.rtp.codec)  # whole prompt at once, usually cached
        size = FRAME_BYTES // 2
        self._frames.extend(encoded[i : i + size] for i in range(0, len(encoded), size))
        self._frames.append(token)

    def stop_playback(self) -> None:
        self._frames.clear()

    def send_digits(self, digits: str) -> None:
        wanted = "".join(d for d in digits.upper() if d in _DIGITS or d == "W")
        if not wanted or self.ended:
            return
        try:
            self.rtp.send_digits(wanted.replace("W", "w"))
        except ValueError:  # the peer negotiated no telephone-event: nothing can carry them
            log.info("leg %s: peer has no telephone-event, digits %r dropped", self.leg_id, digits)

    def set_audio_sink(self, sink: AudioSink | None) -> None:
        self._sink = sink
        self.rtp.on_audio = None if sink is None else self._heard

    def answer(self) -> None:
        if self.outbound or self.answered or self.ended or self._server_txn is None:
            return
        assert self.dialog is not None and self._answer_sdp is not None and self._server_txn is not None
        invite = self._server_txn.request
        response = make_response(invite, 200, to_tag=self.local_tag, contact=self.dialog.local_contact,
                                 body=bytes(self._answer_sdp), extra=[("Allow", ALLOW)])
        try:
            self._host.endpoint.respond(self._server_txn, response)
        except (LookupError, SipStateError):  # the caller gave up a moment ago (CANCEL): Ended is on its way
            return
        self.answered = True
        self._start_media()
        self._emit(Answered())

    def reject(self, reason: RejectReason) -> None:
        if self.outbound or self.answered or self.ended:
            return
        status = 486 if reason is RejectReason.BUSY else 603
        self._final_inbound(status)
        self._end(EndReason.BUSY if status == 486 else EndReason.REJECTED, status)

    def hangup(self) -> None:
        if self.ended:
            return
        if self.answered:
            self._send_bye()
            self._end(EndReason.HANGUP_LOCAL)
        elif self.outbound:
            self._stop_ringing(EndReason.CANCELED)
        else:
            self._final_inbound(480)
            self._end(EndReason.HANGUP_LOCAL, 480)

    # --- events -------------------------------------------------------------------------------

    def _emit(self, event: LegEvent) -> None:
        self._pending.append(event)
        if self._listener is not None:
            self._loop.call_soon(self._deliver)

    def _deliver(self) -> None:
        while self._pending and self._listener is not None:
            self._listener(self._pending.popleft())

    def _digit(self, digit: str) -> None:
        self._emit(DigitReceived(digit))

    def _heard(self, payload: bytes) -> None:
        if self._sink is not None:
            self._sink(g711.decode(payload, self.rtp.codec))

    def _next_frame(self) -> bytes | None:
        """The RTP leg's source: called once per tick when no digit is going out."""
        frames = self._frames
        while frames and isinstance(frames[0], int):  # empty audio (or tokens back to back): done now
            self._emit(PlaybackFinished(frames.popleft()))  # type: ignore[arg-type]
        if not frames:
            return None
        frame = frames.popleft()
        while frames and isinstance(frames[0], int):  # this was the token's last frame: it leaves now
            self._emit(PlaybackFinished(frames.popleft()))  # type: ignore[arg-type]
        # on hold the prompt still runs in real time (unsent), as it would on a phone network:
        # a <Say> or <Gather> must not wait for the far end to unhold
        return None if self._on_hold else frame  # type: ignore[return-value]

    # --- media --------------------------------------------------------------------------------

    async def open_media(self) -> int:
        return await self.rtp.open(self._host.rtp_host, self._host.ports)

    def _apply(self, media: NegotiatedAudio) -> None:
        self.media = media
        self.rtp.negotiate(codec=media.codec, payload_type=media.payload_type,
                           dtmf_payload_type=media.dtmf_payload_type,
                           remote=(media.remote_address, media.remote_port), rtcp_remote=media.remote_rtcp)
        self._on_hold = media.on_hold or media.direction in ("recvonly", "inactive")
        self.rtp.send_silence = not self._on_hold

    def _start_media(self) -> None:
        self._host.media_clock.add(self.rtp)

    def _end(self, reason: EndReason, status: int | None = None) -> None:
        if self.ended:
            return
        self.ended = True
        if self._ring_timer is not None:
            self._ring_timer.cancel()
        if self._failover_timer is not None:
            self._failover_timer.cancel()
        if self.dialog is not None:
            self.dialog.terminate()
        self._host.media_clock.remove(self.rtp)
        self.rtp.close()
        self._frames.clear()  # audio that never went out is not reported as played
        self._host.forget(self)
        self._emit(Ended(reason, status))

    # --- outbound -----------------------------------------------------------------------------

    def place(self, resolve: Callable[[], Awaitable[OutboundTarget | None]], caller: SipUri,
              timeout_seconds: int, fallbacks: Sequence[OutboundTarget] = ()) -> None:
        """Start the outbound call; ``resolve`` finds where it goes (None: nobody to ring, 480).

        ``fallbacks`` are the route's next trunks: the INVITE moves on to the next one when the
        current trunk answers 5xx, cannot be reached, or sends nothing within FAILOVER_SECONDS.
        """
        self._fallbacks.extend(fallbacks)
        self._task = self._loop.create_task(self._place(resolve, caller, timeout_seconds))

    async def _place(self, resolve: Callable[[], Awaitable[OutboundTarget | None]], caller: SipUri,
                     timeout_seconds: int) -> None:
        try:
            target = await resolve()
            if self.ended:
                return
            if target is None:
                self._end(EndReason.NO_ANSWER, 480)  # what a registrar's proxy answers for an unregistered user
                return
            port = await self.open_media()
        except Exception as exc:  # no free port, the database away: the leg fails, it never hangs
            log.warning("leg %s: cannot place the call: %s", self.leg_id, exc)
            self._end(EndReason.FAILED)
            return
        if self.ended:
            self.rtp.close()
            return
        self._target = target
        self.peer = target.destination
        self._offer = build_offer(address=self._host.sdp_address, port=port, session_id=self._session_id)
        transport = target.destination.transport
        self._invite = make_request(
            "INVITE", target.request_uri,
            from_=NameAddr(uri=caller).with_tag(self.local_tag), to=NameAddr(uri=target.to),
            call_id=self.call_id, cseq=1, via=self._host.endpoint.via(transport),
            contact=self._host.contact("openline", transport), body=bytes(self._offer),
            extra=[("Allow", ALLOW)])
        self._ring_timer = self._loop.call_later(timeout_seconds, self._stop_ringing, EndReason.NO_ANSWER)
        self._send_invite()

    def _send_invite(self) -> None:
        assert self._invite is not None and self._target is not None
        self._attempt += 1
        attempt = self._attempt
        if self._target.trunk is not None and self._target.trunk not in self.trunks_tried:
            self.trunks_tried.append(self._target.trunk)

        def on_response(response: Response, retransmission: bool) -> None:
            if attempt == self._attempt:  # answers from a trunk we moved away from are ignored
                self._on_invite_response(response, retransmission)

        def on_failure(reason: str) -> None:
            if attempt == self._attempt:
                self._on_invite_failure(reason)

        if self._failover_timer is not None:
            self._failover_timer.cancel()
            self._failover_timer = None
        if self._fallbacks:
            self._failover_timer = self._loop.call_later(FAILOVER_SECONDS, self._silent_trunk, attempt)
        try:
            self._invite_txn = self._host.endpoint.send_request(self._invite, self._target.destination,
                                                                ClientCallbacks(on_response, on_failure))
        except (ConnectionError, OSError) as exc:
            log.info("leg %s: INVITE not sent: %s", self.leg_id, exc)
            if not self._next_trunk():
                self._end(EndReason.FAILED)

    def _silent_trunk(self, attempt: int) -> None:
        if attempt == self._attempt and not self._provisional and not self.ended and self._give_up is None:
            log.info("leg %s: no answer at all from %s, trying the next trunk", self.leg_id,
                     self._target.destination if self._target else None)
            self._next_trunk(abandon=True)

    def _next_trunk(self, *, abandon: bool = False) -> bool:
        """Re-send the INVITE to the route's next trunk (same Call-ID and tag, CSeq + 1).

        ``abandon`` stops the silent trunk's transaction; after a final answer or a transport
        failure it is left alone (it still ACKs a retransmitted 5xx, §17.1.1.2)."""
        if not self._fallbacks or self.ended or self._give_up is not None or self._invite is None:
            return False
        if abandon and self._invite_txn is not None:
            self._host.endpoint.abandon(self._invite_txn)
        target = self._target = self._fallbacks.popleft()
        self.peer = target.destination
        invite = self._invite
        self._invite = make_request(
            "INVITE", target.request_uri, from_=invite.from_, to=NameAddr(uri=target.to), call_id=self.call_id,
            cseq=invite.cseq.number + 1, via=self._host.endpoint.via(target.destination.transport),
            contact=self._host.contact("openline", target.destination.transport), body=invite.body,
            extra=[("Allow", ALLOW)])
        self._provisional = False
        self._auth_tried = False
        self._send_invite()
        return True

    def _on_invite_response(self, response: Response, retransmission: bool) -> None:
        if response.status < 200:
            if self._failover_timer is not None:  # the trunk is alive: it rings or routes the call
                self._failover_timer.cancel()
                self._failover_timer = None
            self._provisional = True  # §9.1: any provisional response, 100 included, allows CANCEL
            if self._give_up is not None and not self._cancel_sent:
                self._send_cancel()
            if response.status in (180, 183) and not self._ringing_sent and not self.ended:
                self._ringing_sent = True
                self._emit(Ringing())
            return
        if response.success:
            self._on_2xx(response)
            return
        if response.status in (401, 407) and not self._auth_tried and self._target is not None \
                and self._target.credentials is not None and self._give_up is None and not self.ended:
            self._auth_tried = True
            if self._retry_with_credentials(response):
                return
        if response.status in FAILOVER_STATUSES and self._next_trunk():
            return
        self._end(self._give_up or end_reason_for(response.status), response.status)

    def _retry_with_credentials(self, challenge: Response) -> bool:
        assert self._invite is not None and self._target is not None and self._target.credentials is not None
        name = "WWW-Authenticate" if challenge.status == 401 else "Proxy-Authenticate"
        username, password = self._target.credentials
        try:
            header, value = authorization_for(
                challenge.status, challenge.headers.get_all(name), method="INVITE",
                uri=str(self._invite.request_uri), username=username, password=password, cnonce=new_token())
        except SipParseError as exc:
            log.info("leg %s: cannot answer the challenge: %s", self.leg_id, exc)
            return False
        invite = self._invite
        self._invite = make_request(
            "INVITE", invite.request_uri, from_=invite.from_, to=invite.to, call_id=self.call_id,
            cseq=invite.cseq.number + 1, via=self._host.endpoint.via(self._target.destination.transport),
            contact=invite.contact, body=invite.body, extra=[("Allow", ALLOW), (header, value)])
        self._provisional = False
        self._send_invite()
        return True

    def _on_2xx(self, response: Response) -> None:
        assert self._invite is not None and self._offer is not None
        if response.cseq.number != self._invite.cseq.number:
            return
        if self.dialog is None:
            try:
                self.dialog = Dialog.from_uac(self._invite, response)
            except (SipParseError, SipStateError) as exc:
                log.info("leg %s: unusable 2xx: %s", self.leg_id, exc)
                self._end(EndReason.FAILED, response.status)
                return
            self.dialog.local_cseq = self._invite.cseq.number
            if self.dialog.route_set:
                self.peer = address_of(self.dialog.route_set[0].uri, self.peer.transport if self.peer else "UDP")
        elif response.to.tag != self.dialog.remote_tag:
            return  # a second fork answering: not supported, its 2xx is left unanswered
        self._send_ack()
        if self._give_up is not None:
            if not self._bye_sent:
                self._send_bye()  # the 2xx crossed our CANCEL (or came after we gave up): end it (§9.1)
            self._end(self._give_up, 487)
            return
        if self.answered or self.ended:
            return
        try:
            media = process_answer(self._offer, SessionDescription.parse(response.body))
        except (SipParseError, OfferAnswerError) as exc:
            log.info("leg %s: bad SDP answer: %s", self.leg_id, exc)
            self._send_bye()
            self._end(EndReason.FAILED, 488)
            return
        if self._ring_timer is not None:
            self._ring_timer.cancel()
        self._apply(media)
        self.answered = True
        self._start_media()
        self._emit(Answered())

    def on_stray_2xx(self, response: Response) -> None:
        """A 2xx retransmitted after the INVITE transaction ended: our ACK was lost, re-send it."""
        if self.dialog is not None and response.to.tag == self.dialog.remote_tag:
            self._send_ack()

    def _send_ack(self) -> None:
        assert self.dialog is not None and self._invite is not None and self.peer is not None
        ack = self.dialog.create_ack(self._invite.cseq.number, via=self._host.endpoint.via(self.peer.transport))
        with contextlib.suppress(ConnectionError, OSError):
            self._host.endpoint.send_stateless(ack, self.peer)

    def _on_invite_failure(self, reason: str) -> None:
        # Timer B without any answer: nobody is there (unreachable), unless we were giving up anyway
        if not self._provisional and self._next_trunk():
            return
        self._end(self._give_up or (EndReason.NO_ANSWER if self._provisional else EndReason.FAILED), 408)

    def _stop_ringing(self, reason: EndReason) -> None:
        if self.ended or self.answered or self._give_up is not None:
            return
        self._give_up = reason
        if self._invite is None:  # still resolving the target: nothing was sent
            self._end(reason)
            return
        if self._provisional:
            self._send_cancel()
        else:
            # §9.1: no provisional response yet, so no CANCEL yet; it goes out when one arrives (a
            # late 2xx gets ACK and BYE). The leg is over for the caller now, not after Timer B.
            self._end(reason)

    def _send_cancel(self) -> None:
        assert self._invite is not None and self.peer is not None
        self._cancel_sent = True
        invite = self._invite
        cancel = make_request("CANCEL", invite.request_uri, from_=invite.from_, to=invite.to,
                              call_id=invite.call_id, cseq=invite.cseq.number, via=invite.via,
                              routes=invite.routes)

        def failed(reason: str) -> None:
            self._end(self._give_up or EndReason.CANCELED)

        try:
            self._host.endpoint.send_request(cancel, self.peer, ClientCallbacks(lambda r, _: None, failed))
        except (ConnectionError, OSError):
            self._end(self._give_up or EndReason.CANCELED)

    # --- inbound ------------------------------------------------------------------------------

    async def accept_invite(self, invite: Request, txn: ServerInviteTransaction, source: Address) -> bool:
        """Take an incoming INVITE: answer its offer, ring. False (and a final answer sent) if unusable."""
        self._server_txn = txn
        self.peer = source
        try:
            offer = SessionDescription.parse(invite.body)
            port = await self.open_media()
            answer, media = answer_offer(offer, address=self._host.sdp_address, port=port,
                                         session_id=self._session_id)
        except (SipParseError, OfferAnswerError) as exc:
            self._final_inbound(exc.status if isinstance(exc, OfferAnswerError) or invite.body else 488)
            self.rtp.close()
            self.ended = True
            return False
        except OSError as exc:
            log.warning("leg %s: %s", self.leg_id, exc)
            self._final_inbound(503)
            self.ended = True
            return False
        contact = self._host.contact("openline", source.transport)
        try:
            self.dialog = Dialog.from_uas(invite, local_tag=self.local_tag, local_contact=contact)
        except SipParseError:
            self._final_inbound(400)
            self.rtp.close()
            self.ended = True
            return False
        if self.dialog.route_set:
            self.peer = address_of(self.dialog.route_set[0].uri, source.transport)
        self._answer_sdp = answer
        self._apply(media)
        with contextlib.suppress(LookupError):
            self._host.endpoint.respond(txn, make_response(invite, 180, to_tag=self.local_tag, contact=contact))
        return True

    def _final_inbound(self, status: int) -> None:
        if self._server_txn is None:
            return
        with contextlib.suppress(LookupError, SipStateError):  # already answered 487 to a CANCEL
            self._host.endpoint.respond(self._server_txn,
                                        make_response(self._server_txn.request, status, to_tag=self.local_tag))

    def on_cancelled(self) -> None:
        """The caller's CANCEL arrived (the endpoint answered 487 already)."""
        if not self.answered:
            self._end(EndReason.CANCELED, 487)

    def on_ack(self, request: Request) -> None:
        if self.dialog is None:
            return
        if self.dialog.receive_request(request) is not None:
            return
        txn = self._reinvite_txns.pop(request.cseq.number, None)
        if txn is None and self._server_txn is not None and request.cseq.number == self._server_txn.request.cseq.number:
            txn = self._server_txn
            self.dialog.confirm()
        if txn is not None:
            self._host.endpoint.ack_for_2xx_received(txn)

    def on_ack_timeout(self) -> None:
        if not self.ended:
            self._send_bye()
            self._end(EndReason.FAILED)

    # --- in the dialog ------------------------------------------------------------------------

    def on_request(self, request: Request, txn: ServerTransaction) -> None:
        endpoint = self._host.endpoint
        if self.dialog is None:
            endpoint.respond(txn, make_response(request, 481))
            return
        status = self.dialog.receive_request(request)
        if status is not None:
            endpoint.respond(txn, make_response(request, status))
            return
        method = request.method
        if method == "BYE":
            endpoint.respond(txn, make_response(request, 200))
            self._end(EndReason.HANGUP_REMOTE if self.answered else EndReason.CANCELED)
        elif method == "INVITE" and isinstance(txn, ServerInviteTransaction):
            self._reinvite(request, txn)
        elif method == "OPTIONS":
            endpoint.respond(txn, make_response(request, 200, extra=[("Allow", ALLOW), ("Accept", "application/sdp")]))
        elif method == "INFO":
            endpoint.respond(txn, make_response(request, 200))
            self._info_digit(request)
        else:
            endpoint.respond(txn, make_response(request, 405, extra=[("Allow", ALLOW)]))

    def _reinvite(self, request: Request, txn: ServerInviteTransaction) -> None:
        """A re-INVITE (hold, unhold, new media address): answer on the same socket (§14.2)."""
        assert self.dialog is not None
        endpoint = self._host.endpoint
        if not request.body:
            endpoint.respond(txn, make_response(request, 488))  # offer-less re-INVITE: not supported
            return
        try:
            offer = SessionDescription.parse(request.body)
            self._sdp_version += 1
            answer, media = answer_offer(offer, address=self._host.sdp_address, port=self.rtp.local_port,
                                         session_id=self._session_id, version=self._sdp_version)
        except (SipParseError, OfferAnswerError) as exc:
            endpoint.respond(txn, make_response(request, exc.status))
            return
        self._apply(media)
        self._answer_sdp = answer
        self._reinvite_txns[request.cseq.number] = txn
        endpoint.respond(txn, make_response(request, 200, contact=self.dialog.local_contact, body=bytes(answer),
                                            extra=[("Allow", ALLOW)]))

    def _info_digit(self, request: Request) -> None:
        kind = (request.content_type or "").split(";", 1)[0].strip().lower()
        if kind not in DTMF_INFO_TYPES:
            return
        text = request.body.decode("utf-8", "replace").strip()
        for line in text.splitlines() or [text]:
            name, _, value = line.partition("=")
            digit = (value if value else name).strip().upper()
            if (not value or name.strip().lower() == "signal") and digit in _DIGITS:
                self._digit(digit)
                return

    def _send_bye(self) -> None:
        if self.dialog is None or self.peer is None:
            return
        self._bye_sent = True
        try:
            bye = self.dialog.create_request("BYE", via=self._host.endpoint.via(self.peer.transport))
        except SipStateError:
            return
        try:
            self._host.endpoint.send_request(bye, self.peer, ClientCallbacks(lambda r, _: None, lambda _: None))
        except (ConnectionError, OSError) as exc:
            log.info("leg %s: BYE not sent: %s", self.leg_id, exc)
