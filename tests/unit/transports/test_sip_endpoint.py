"""The SIP endpoint on real loopback sockets (UDP and TCP): UAC↔UAS through Openline's own
transports, transactions with real timers, CANCEL, digest, malformed input."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from openline.codecs.sip import (
    Dialog,
    NameAddr,
    Request,
    Response,
    SessionDescription,
    SipUri,
    Timers,
    Via,
    answer_challenge,
    build_offer,
    make_request,
    make_response,
    new_token,
    parse_message,
    process_answer,
)
from openline.codecs.sip.transaction import make_cancel
from openline.transports.rtp import MediaClock, RtpLeg
from openline.transports.sip import Address, ClientCallbacks, SipEndpoint
from tests.support.sip_uas import TestUas, Uac, challenge_of

FAST = Timers(t1=0.02, t2=0.16, t4=0.2)


class Recorder:
    """A UAC-side handler that records what reaches it outside transactions."""

    def __init__(self) -> None:
        self.stray: list[Response] = []
        self.requests: list[Request] = []

    def on_request(self, request, transaction, source):  # type: ignore[no-untyped-def]
        self.requests.append(request)
        self.endpoint.respond(transaction, make_response(request, 200))

    def on_ack(self, request, source):  # type: ignore[no-untyped-def]
        pass

    def on_cancel(self, invite, source):  # type: ignore[no-untyped-def]
        pass

    def on_stray_response(self, response, source):  # type: ignore[no-untyped-def]
        self.stray.append(response)

    def on_ack_timeout(self, invite):  # type: ignore[no-untyped-def]
        pass


@pytest_asyncio.fixture
async def pair() -> AsyncIterator[tuple[SipEndpoint, TestUas, Recorder]]:
    clock = MediaClock()
    clock.start()
    uas = TestUas(clock=clock)
    await uas.start()
    rec = Recorder()
    uac = SipEndpoint(rec, host="127.0.0.1", port=0)
    rec.endpoint = uac  # type: ignore[attr-defined]
    await uac.start()
    yield uac, uas, rec
    await uac.close()
    await uas.close()
    await clock.stop()


def _build(
    method: str, via: Via, contact: NameAddr, port: int, body: bytes = b"", call_id: str | None = None
) -> Request:
    target = SipUri(host="127.0.0.1", port=port, user="+14155550200")
    return make_request(
        method,
        target,
        from_=NameAddr(uri=SipUri(host="127.0.0.1", user="caller"), display_name="Caller").with_tag(new_token()),
        to=NameAddr(uri=target),
        call_id=call_id or new_token(),
        cseq=1,
        via=via,
        contact=contact,
        body=body,
    )


def _request(
    uac: SipEndpoint, uas: TestUas, method: str, transport: str, body: bytes = b"", call_id: str | None = None
) -> Request:
    return _build(method, uac.via(transport), uac.contact("caller", transport), uas.endpoint.port, body, call_id)


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_options_and_via_stamping(pair: tuple[SipEndpoint, TestUas, Recorder], transport: str) -> None:
    uac, uas, _ = pair
    dest = Address("127.0.0.1", uas.endpoint.port, transport)
    responses, failure = await Uac(uac).request(_request(uac, uas, "OPTIONS", transport), dest)
    assert failure is None and [r.status for r in responses] == [200]
    received = uas.requests[-1].via
    assert (received.received == "127.0.0.1" and received.rport == uac.port) or transport == "TCP"
    assert "INVITE" in (responses[0].headers.get("Allow") or "")


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
async def test_invite_ack_media_bye(pair: tuple[SipEndpoint, TestUas, Recorder], transport: str) -> None:
    uac, uas, _ = pair
    leg = RtpLeg(codec="PCMU", payload_type=0, remote=None, dtmf_payload_type=101)
    port = await leg.open("127.0.0.1")
    try:
        await _call(uac, uas, leg, port, transport)
    finally:
        uas.clock.remove(leg)
        leg.close()


async def _call(uac: SipEndpoint, uas: TestUas, leg: RtpLeg, port: int, transport: str) -> None:
    offer = build_offer(address="127.0.0.1", port=port, session_id=1)
    invite = _request(uac, uas, "INVITE", transport, body=bytes(offer))
    dest = Address("127.0.0.1", uas.endpoint.port, transport)
    responses, failure = await Uac(uac).request(invite, dest)
    assert failure is None and [r.status for r in responses] == [100, 180, 200]
    ok = responses[-1]
    media = process_answer(offer, SessionDescription.parse(ok.body))
    assert media.codec == "PCMU" and media.dtmf_payload_type == 101
    dialog = Dialog.from_uac(invite, ok)
    uac.send_stateless(dialog.create_ack(1, via=uac.via(transport)), dest)
    call = next(iter(uas.calls.values()))
    await asyncio.wait_for(call.acked.wait(), 5)
    # media both ways on the shared clock; digits from our leg reach the UAS leg
    leg.negotiate(codec="PCMU", payload_type=0, dtmf_payload_type=101, remote=(media.remote_address, media.remote_port))
    uas.clock.add(leg)
    leg.send_digits("1#")
    for _ in range(100):
        if call.leg.digits == ["1", "#"] and leg.stats.packets_received > 10 and call.leg.stats.packets_received > 10:
            break
        await asyncio.sleep(0.02)
    assert call.leg.digits == ["1", "#"] and leg.stats.packets_received > 10
    assert call.leg.stats.packets_received > 10 and call.leg.latched and call.leg.remote == ("127.0.0.1", port)
    bye = dialog.create_request("BYE", via=uac.via(transport))
    responses, failure = await Uac(uac).request(bye, dest)
    assert failure is None and responses[-1].status == 200
    await asyncio.wait_for(call.ended.wait(), 5)


async def test_invite_retransmission_timeout_to_silent_peer() -> None:
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    silent.setblocking(False)
    rec = Recorder()
    uac = SipEndpoint(rec, host="127.0.0.1", port=0, timers=FAST)
    rec.endpoint = uac  # type: ignore[attr-defined]
    await uac.start()
    try:
        port = silent.getsockname()[1]
        invite = _build("INVITE", uac.via("UDP"), uac.contact("caller", "UDP"), port)
        responses, failure = await Uac(uac).request(invite, Address("127.0.0.1", port, "UDP"))
        assert failure == "timeout" and responses == []
        copies = 0
        while True:
            try:
                silent.recv(65536)
                copies += 1
            except BlockingIOError:
                break
        # Timer A: 0, T1, 3T1, 7T1, 15T1, 31T1, 63T1 < 64T1 (Timer B); each A is armed relative to
        # the previous firing, so on a loaded machine the last one can slip past B (exact counts
        # are checked in virtual time in test_sip_transactions.py)
        assert 5 <= copies <= 7
        assert uac.transactions == 0
    finally:
        await uac.close()
        silent.close()


async def test_cancel_ringing_invite(pair: tuple[SipEndpoint, TestUas, Recorder]) -> None:
    uac, uas, _ = pair
    uas.answer = False
    invite = _request(uac, uas, "INVITE", "UDP", body=bytes(build_offer(address="127.0.0.1", port=4000, session_id=1)))
    dest = Address("127.0.0.1", uas.endpoint.port, "UDP")
    loop = asyncio.get_running_loop()
    final: asyncio.Future[Response] = loop.create_future()
    ringing = asyncio.Event()

    def on_response(response: Response, retransmission: bool) -> None:
        if response.status == 180:
            ringing.set()
        if response.final and not final.done():
            final.set_result(response)

    uac.send_request(invite, dest, ClientCallbacks(on_response, lambda reason: None))
    await asyncio.wait_for(ringing.wait(), 5)
    responses, failure = await Uac(uac).request(make_cancel(invite), dest)
    assert failure is None and responses[-1].status == 200
    assert (await asyncio.wait_for(final, 5)).status == 487
    assert [r.call_id for r in uas.cancelled] == [invite.call_id]
    # a CANCEL for nothing gets 481
    stray = make_cancel(_request(uac, uas, "INVITE", "UDP"))
    responses, _ = await Uac(uac).request(stray, dest)
    assert responses[-1].status == 481


async def test_digest_challenge_then_success(pair: tuple[SipEndpoint, TestUas, Recorder]) -> None:
    uac, uas, _ = pair
    uas.auth = ("alice", "secret")
    from openline.codecs.sip import DigestServer

    uas.digest = DigestServer("openline-test", b"test-secret-0123456789")
    offer = build_offer(address="127.0.0.1", port=4002, session_id=1)
    dest = Address("127.0.0.1", uas.endpoint.port, "UDP")
    first = _request(uac, uas, "INVITE", "UDP", body=bytes(offer))
    responses, _ = await Uac(uac).request(first, dest)
    assert responses[-1].status == 401
    challenge = challenge_of(responses[-1])
    second = _request(uac, uas, "INVITE", "UDP", body=bytes(offer), call_id=first.call_id)
    second.headers.set("CSeq", "2 INVITE")
    creds = answer_challenge(
        challenge, method="INVITE", uri=str(second.request_uri), username="alice", password="secret", cnonce=new_token()
    )
    second.headers.add("Authorization", str(creds))
    responses, _ = await Uac(uac).request(second, dest)
    assert responses[-1].status == 200
    wrong = _request(uac, uas, "INVITE", "UDP", body=bytes(offer))
    bad = answer_challenge(
        challenge, method="INVITE", uri=str(wrong.request_uri), username="alice", password="x", cnonce="c"
    )
    wrong.headers.add("Authorization", str(bad))
    responses, _ = await Uac(uac).request(wrong, dest)
    assert responses[-1].status == 401


async def test_malformed_input_is_counted_and_endpoint_survives(pair: tuple[SipEndpoint, TestUas, Recorder]) -> None:
    uac, uas, _ = pair
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for junk in (b"garbage\r\n\r\n", b"\x00\xff" * 50, b"INVITE sip:x SIP/2.0\r\n\r\n", b"\r\n\r\n"):
            sock.sendto(junk, ("127.0.0.1", uas.endpoint.port))
        for _ in range(250):
            if uas.endpoint.malformed >= 3:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        assert uas.endpoint.malformed == 3
    finally:
        sock.close()
    reader, writer = await asyncio.open_connection("127.0.0.1", uas.endpoint.port)
    writer.write(b"OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n")  # no Content-Length
    await writer.drain()
    assert await asyncio.wait_for(reader.read(), 5) == b""  # framing lost: connection closed
    writer.close()
    responses, failure = await Uac(uac).request(
        _request(uac, uas, "OPTIONS", "UDP"), Address("127.0.0.1", uas.endpoint.port, "UDP")
    )
    assert failure is None and responses[-1].status == 200


async def test_tcp_connect_failure_is_a_transport_error() -> None:
    rec = Recorder()
    uac = SipEndpoint(rec, host="127.0.0.1", port=0)
    rec.endpoint = uac  # type: ignore[attr-defined]
    await uac.start()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    closed_port = probe.getsockname()[1]
    probe.close()
    try:
        request = _build("OPTIONS", uac.via("TCP"), uac.contact("caller", "TCP"), closed_port)
        responses, failure = await Uac(uac).request(request, Address("127.0.0.1", closed_port, "TCP"))
        assert failure == "transport" and responses == []
    finally:
        await uac.close()


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda m: m.replace(b"Max-Forwards: 70", b"Max-Forwards: lots"), 400),
        (lambda m: m.replace(b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia", 1), 505),
        (lambda m: m.replace(b"OPTIONS sip:", b"OPTIONS http:", 1).replace(b"@127.0.0.1:", b"//127.0.0.1:", 1), 416),
    ],
)
async def test_malformed_request_gets_its_status_back(
    pair: tuple[SipEndpoint, TestUas, Recorder], mutate, status: int
) -> None:  # type: ignore[no-untyped-def]
    uac, uas, _ = pair
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    try:
        request = _request(uac, uas, "OPTIONS", "UDP")
        request.headers.replace_top("Via", f"SIP/2.0/UDP 127.0.0.1:{sock.getsockname()[1]};branch=z9hG4bKmal;rport")
        sock.sendto(mutate(bytes(request)), ("127.0.0.1", uas.endpoint.port))
        data, _ = await asyncio.get_running_loop().run_in_executor(None, sock.recvfrom, 65536)
        reply = parse_message(data)
        assert isinstance(reply, Response) and reply.status == status and reply.call_id == request.call_id
        assert reply.via.received == "127.0.0.1" and uas.endpoint.malformed == 1 and uas.requests == []
    finally:
        sock.close()


async def test_unacked_2xx_is_retransmitted_then_timer_l_ends_the_call() -> None:
    clock = MediaClock()
    uas = TestUas(clock=clock)
    uas.endpoint.timers = FAST
    await uas.start()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    try:
        here = sock.getsockname()[1]
        via = Via.parse(f"SIP/2.0/UDP 127.0.0.1:{here};branch=z9hG4bK{new_token()};rport")
        offer = build_offer(address="127.0.0.1", port=4010, session_id=1)
        invite = _build(
            "INVITE", via, NameAddr.parse(f"<sip:caller@127.0.0.1:{here}>"), uas.endpoint.port, bytes(offer)
        )
        sock.sendto(bytes(invite), ("127.0.0.1", uas.endpoint.port))
        await asyncio.wait_for(uas.call_started.wait(), 5)
        call = next(iter(uas.calls.values()))
        await asyncio.wait_for(call.ended.wait(), 5)  # 64*T1 = 1.28 s without an ACK
        statuses = []
        while True:
            try:
                statuses.append(parse_message(sock.recv(65536)).status)  # type: ignore[union-attr]
            except BlockingIOError:
                break
        assert statuses[:2] == [100, 180] and statuses.count(200) >= 5  # Timer N retransmissions
        assert not call.acked.is_set() and uas.endpoint.transactions == 0
    finally:
        sock.close()
        await uas.close()
