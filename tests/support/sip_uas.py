"""A tiny test-only UAS (and UAC helpers) built from Openline's SIP and RTP transports.

It answers INVITEs with 180 then 200 + an SDP answer (RFC 3264), opens an RTP leg on the
shared media clock (sending silence or a queued prompt, counting what it receives), confirms
the dialog on ACK and answers BYE with 200. It exists to prove the stack against real peers
(SIPp) and against itself; the product's call control is not this.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

from openline.codecs.sip import (
    Dialog,
    DigestChallenge,
    DigestCredentials,
    DigestServer,
    NameAddr,
    NegotiatedAudio,
    OfferAnswerError,
    Request,
    Response,
    SessionDescription,
    SipParseError,
    Verdict,
    answer_offer,
    dialog_id_of_request,
    make_response,
)
from openline.codecs.sip.transaction import ServerInviteTransaction, ServerTransaction
from openline.transports.rtp import MediaClock, RtpLeg
from openline.transports.sip import Address, ClientCallbacks, SipEndpoint


@dataclass
class UasCall:
    invite: Request
    dialog: Dialog
    txn: ServerInviteTransaction
    media: NegotiatedAudio
    leg: RtpLeg
    heard: list[bytes] = field(default_factory=list)  # G.711 frames out of the jitter buffer
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)


class TestUas:
    __test__ = False  # not a pytest class

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: MediaClock,
        ring: bool = True,
        answer: bool = True,
        auth: tuple[str, str] | None = None,
        prompt: bytes | None = None,
    ) -> None:
        self.endpoint = SipEndpoint(self, host=host, port=port)
        self.clock = clock
        self.ring = ring
        self.answer = answer
        self.auth = auth
        self.digest = DigestServer("openline-test", b"test-secret-0123456789") if auth else None
        self.prompt = prompt
        self.calls: dict[tuple[str, str, str], UasCall] = {}
        self.call_started = asyncio.Event()
        self.cancelled: list[Request] = []
        self.requests: list[Request] = []
        self._tags = (f"uas{i}" for i in itertools.count(1))

    async def start(self) -> None:
        await self.endpoint.start()

    async def close(self) -> None:
        for call in self.calls.values():
            self.clock.remove(call.leg)
            call.leg.close()
        await self.endpoint.close()

    # --- SipHandler ---------------------------------------------------------------------------

    def on_request(self, request: Request, transaction: ServerTransaction, source: Address) -> None:
        self.requests.append(request)
        if request.method == "INVITE" and isinstance(transaction, ServerInviteTransaction):
            if request.to.tag:
                self._reinvite(request, transaction)
            elif self._authorised(request, transaction):
                asyncio.get_running_loop().create_task(self._invite(request, transaction, source))
            return
        if request.method == "BYE":
            call = self.calls.get(dialog_id_of_request(request))
            if call is None:
                self.endpoint.respond(transaction, make_response(request, 481))
                return
            status = call.dialog.receive_request(request)
            self.endpoint.respond(transaction, make_response(request, status or 200))
            self._end(call)
            return
        if request.method == "OPTIONS":
            self.endpoint.respond(
                transaction, make_response(request, 200, extra=[("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS")])
            )
            return
        self.endpoint.respond(transaction, make_response(request, 501))

    def on_ack(self, request: Request, source: Address) -> None:
        call = self.calls.get(dialog_id_of_request(request))
        if call is not None and call.dialog.receive_request(request) is None:
            call.dialog.confirm()
            self.endpoint.ack_for_2xx_received(call.txn)
            call.acked.set()

    def on_cancel(self, invite: Request, source: Address) -> None:
        self.cancelled.append(invite)

    def on_stray_response(self, response: Response, source: Address) -> None:
        pass

    def on_ack_timeout(self, invite: Request) -> None:
        for call in list(self.calls.values()):
            if call.invite is invite:
                self._end(call)

    # --- behaviour ----------------------------------------------------------------------------

    def _authorised(self, request: Request, txn: ServerInviteTransaction) -> bool:
        if self.digest is None or self.auth is None:
            return True
        now = asyncio.get_running_loop().time()
        value = request.headers.get("Authorization")
        if value is not None:
            try:
                creds = DigestCredentials.parse(value)
            except SipParseError:
                creds = None
            if creds is not None and creds.username == self.auth[0]:
                verdict = self.digest.verify(creds, method=request.method, password=self.auth[1], now=now)
                if verdict is Verdict.OK:
                    return True
        challenge = self.digest.challenge(now)
        response = make_response(request, 401, to_tag=next(self._tags), extra=[("WWW-Authenticate", str(challenge))])
        self.endpoint.respond(txn, response)
        return False

    async def _invite(self, request: Request, txn: ServerInviteTransaction, source: Address) -> None:
        tag = next(self._tags)
        contact = self.endpoint.contact("uas", source.transport)
        if not self.answer:
            if self.ring:
                self.endpoint.respond(txn, make_response(request, 180, to_tag=tag, contact=contact))
            return
        try:
            offer = SessionDescription.parse(request.body)
            leg = RtpLeg(codec="PCMU", payload_type=0, remote=None)
            port = await leg.open(self.endpoint.host)
            answer, media = answer_offer(offer, address=self.endpoint.host, port=port, session_id=port)
        except (SipParseError, OfferAnswerError) as exc:
            self.endpoint.respond(txn, make_response(request, exc.status, to_tag=tag))
            return
        leg.negotiate(
            codec=media.codec,
            payload_type=media.payload_type,
            dtmf_payload_type=media.dtmf_payload_type,
            remote=(media.remote_address, media.remote_port),
        )
        if self.prompt is not None:
            leg.play(self.prompt)
        if self.ring:
            self.endpoint.respond(txn, make_response(request, 180, to_tag=tag, contact=contact))
        dialog = Dialog.from_uas(request, local_tag=tag, local_contact=contact)
        call = UasCall(request, dialog, txn, media, leg)
        leg.on_audio = call.heard.append
        self.calls[dialog.id] = call
        self.clock.add(leg)
        self.endpoint.respond(txn, make_response(request, 200, to_tag=tag, contact=contact, body=bytes(answer)))
        self.call_started.set()

    def _reinvite(self, request: Request, txn: ServerInviteTransaction) -> None:
        call = self.calls.get(dialog_id_of_request(request))
        if call is None:
            self.endpoint.respond(txn, make_response(request, 481))
            return
        call.dialog.receive_request(request)
        self.endpoint.respond(txn, make_response(request, 488))

    def _end(self, call: UasCall) -> None:
        self.clock.remove(call.leg)
        call.leg.close()
        call.ended.set()


class Uac:
    """Minimal UAC helpers over a SipEndpoint: send a request, await its final response."""

    def __init__(self, endpoint: SipEndpoint) -> None:
        self.endpoint = endpoint

    async def request(
        self, request: Request, destination: Address, timeout: float = 10.0
    ) -> tuple[list[Response], str | None]:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[str | None] = loop.create_future()
        responses: list[Response] = []

        def on_response(response: Response, retransmission: bool) -> None:
            if not retransmission:
                responses.append(response)
            if response.final and not done.done():
                done.set_result(None)

        def on_failure(reason: str) -> None:
            if not done.done():
                done.set_result(reason)

        self.endpoint.send_request(request, destination, ClientCallbacks(on_response, on_failure))
        failure = await asyncio.wait_for(done, timeout)
        return responses, failure


def challenge_of(response: Response) -> DigestChallenge:
    value = response.headers.get("WWW-Authenticate") or response.headers.get("Proxy-Authenticate")
    assert value is not None
    return DigestChallenge.parse(value)


__all__ = ["NameAddr", "TestUas", "Uac", "UasCall", "challenge_of"]
