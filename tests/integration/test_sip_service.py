"""The SIP user agent against itself on loopback: trunk calls with audio and digits both ways,
busy/reject/cancel/timeout outcomes, refused sources, and calls to a registered SIP user.

Two SipService instances play carrier and Openline: A's route sends +1415555… to a trunk whose
proxy is B; B accepts calls from A's address for the trunk's numbers. Real sockets, real RTP.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from openline.codecs.sip import Dialog, NameAddr, Response, SipUri, build_offer, make_request, new_token
from openline.codecs.sip.digest import authorization_for
from openline.config import RouteSettings
from openline.core.call_legs import Answered, DialRequest, EndReason, PlaybackFinished, RejectReason, Ringing
from openline.core.call_legs import Ended as _Ended
from openline.transports.rtp import MediaClock
from openline.transports.sip import Address, ClientCallbacks
from tests.support.sip_uas import TestUas, Uac
from tests.support.sip_voice import LegWatch, ToneHandler, free_port, sip_service

TRUNK_NUMBER = "+14155550200"


def trunk(port: int, **extra: object) -> dict[str, object]:
    return {"name": "carrier-a", "proxy": f"127.0.0.1:{port}", "inbound_from": ["127.0.0.1"],
            "numbers": [TRUNK_NUMBER], **extra}


def dial(target: str, timeout: int = 10) -> DialRequest:
    return DialRequest(target=target, caller_id="+14155550999", account_sid="AC" + "0" * 32,
                       call_sid="CA" + new_token(16), timeout_seconds=timeout)


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_trunk_call_audio_and_digits_both_ways(tmp_path: Path, transport: str) -> None:
    handler = ToneHandler()
    async with sip_service(tmp_path, name="b", handler=handler, trunks=[trunk(1)]) as b:
        routes = [RouteSettings(match="+1415", carriers=["carrier-a"])]
        outbound = trunk(b.endpoint.port, transport=transport)
        async with sip_service(tmp_path, name="a", routes=routes, trunks=[outbound]) as a:
            watch = LegWatch(a.dialer.dial(dial(TRUNK_NUMBER)))
            await watch.wait_for(Answered)
            assert Ringing in watch.kinds
            far = await handler.first()
            call = handler.calls[0]
            assert (call.to, call.from_, call.source) == (TRUNK_NUMBER, "+14155550999", "carrier-a")
            await watch.wait_heard(0.5)  # B's tone reached A
            watch.leg.play(b"\x10\x20" * 4000, 7)  # 0.5 s of a loud square-ish wave
            await watch.wait_for(PlaybackFinished)
            await far.wait_heard(0.3)
            watch.leg.send_digits("1w2#")
            for _ in range(100):
                if far.digits == ["1", "2", "#"]:
                    break
                await asyncio.sleep(0.05)
            assert far.digits == ["1", "2", "#"]
            assert (await far.wait_for(PlaybackFinished)).token == 1
            assert handler.calls[0].leg.peer.transport == transport.upper()  # type: ignore[attr-defined]
            watch.leg.hangup()
            assert (await watch.wait_for(_Ended)).reason is EndReason.HANGUP_LOCAL
            assert (await far.wait_for(_Ended)).reason is EndReason.HANGUP_REMOTE
            assert not a.legs and not b.legs


@pytest.mark.parametrize(("mode", "reason", "status"), [("busy", EndReason.BUSY, 486),
                                                       ("reject", EndReason.REJECTED, 603)])
async def test_refusals_map_to_end_reasons(tmp_path: Path, mode: str, reason: EndReason, status: int) -> None:
    handler = ToneHandler(mode=mode)
    async with (
        sip_service(tmp_path, name="b", handler=handler, trunks=[trunk(1)]) as b,
        sip_service(tmp_path, name="a") as a,
    ):
        watch = LegWatch(a.dialer.dial(dial(f"sip:{TRUNK_NUMBER}@127.0.0.1:{b.endpoint.port}")))
        ended = await watch.wait_for(_Ended)
        assert (ended.reason, ended.sip_status) == (reason, status)
        far = await handler.first()
        assert (await far.wait_for(_Ended)).reason is reason


async def test_cancel_before_answer_and_ring_timeout(tmp_path: Path) -> None:
    handler = ToneHandler(mode="ring")
    async with (
        sip_service(tmp_path, name="b", handler=handler, trunks=[trunk(1)]) as b,
        sip_service(tmp_path, name="a") as a,
    ):
        target = f"sip:{TRUNK_NUMBER}@127.0.0.1:{b.endpoint.port}"
        watch = LegWatch(a.dialer.dial(dial(target)))
        await watch.wait_for(Ringing)
        watch.leg.hangup()
        assert (await watch.wait_for(_Ended)).reason is EndReason.CANCELED
        far = await handler.first()
        assert (await far.wait_for(_Ended)) == _Ended(EndReason.CANCELED, 487)

        timed = LegWatch(a.dialer.dial(dial(target, timeout=1)))
        ended = await timed.wait_for(_Ended, timeout=5)
        assert ended.reason is EndReason.NO_ANSWER
        assert (await handler.watches[1].wait_for(_Ended)).reason is EndReason.CANCELED


async def test_disallowed_source_403_and_unknown_number_404(tmp_path: Path) -> None:
    handler = ToneHandler()
    async with (
        sip_service(tmp_path, name="b", handler=handler, trunks=[{**trunk(1), "inbound_from": ["10.0.0.0/8"]}]) as b,
        sip_service(tmp_path, name="a") as a,
    ):
        watch = LegWatch(a.dialer.dial(dial(f"sip:{TRUNK_NUMBER}@127.0.0.1:{b.endpoint.port}")))
        assert (await watch.wait_for(_Ended)) == _Ended(EndReason.FAILED, 403)
        assert b.counters["forbidden_source"] == 1 and not handler.calls
    async with (
        sip_service(tmp_path, name="c", handler=handler, trunks=[trunk(1)]) as c,
        sip_service(tmp_path, name="d") as d,
    ):
        watch = LegWatch(d.dialer.dial(dial(f"sip:+14155550777@127.0.0.1:{c.endpoint.port}")))
        assert (await watch.wait_for(_Ended)) == _Ended(EndReason.FAILED, 404)
        assert c.counters["unknown_number"] == 1


async def test_dialer_raises_lookup_error_for_unreachable_targets(tmp_path: Path) -> None:
    routes = [RouteSettings(match="+44", carriers=["carrier-a"])]
    async with sip_service(tmp_path, routes=routes, trunks=[trunk(5070)]) as a:
        with pytest.raises(LookupError):
            a.dialer.dial(dial("+14155550111"))  # no route to a trunk
        with pytest.raises(LookupError):
            a.dialer.dial(dial("client:bob"))
        assert a.dialer.reaches("+442071838750") and a.dialer.reaches("sip:bob@example.com")
        assert not a.legs


async def _register(uac: TestUas, registrar_port: int, user: str, password: str, expires: int = 600,
                    contact: NameAddr | None = None) -> list[int]:
    """REGISTER through ``uac``'s endpoint, answering one challenge; the statuses seen."""
    endpoint = uac.endpoint
    aor = SipUri(host="127.0.0.1", port=registrar_port, user=user)
    call_id, statuses, extra = new_token(), [], []
    dest = Address("127.0.0.1", registrar_port, "UDP")
    for cseq in (1, 2):
        request = make_request("REGISTER", SipUri(host="127.0.0.1", port=registrar_port),
                               from_=NameAddr(uri=aor).with_tag(new_token()), to=NameAddr(uri=aor),
                               call_id=call_id, cseq=cseq, via=endpoint.via(),
                               contact=contact or endpoint.contact(user), extra=[("Expires", str(expires)), *extra])
        responses, failure = await Uac(endpoint).request(request, dest)
        assert failure is None
        final = responses[-1]
        statuses.append(final.status)
        if final.status != 401:
            break
        header, value = authorization_for(401, final.headers.get_all("WWW-Authenticate"), method="REGISTER",
                                          uri=str(request.request_uri), username=user, password=password,
                                          cnonce=new_token())
        extra = [(header, value)]
    return statuses


async def test_registrar_digest_expiry_unregister_and_call_to_user(tmp_path: Path) -> None:
    clock = MediaClock()
    clock.start()
    phone = TestUas(clock=clock, prompt=None)
    await phone.start()
    users = [{"username": "alice", "password": "secret", "number": "+14155550300"}]
    try:
        async with sip_service(tmp_path, users=users, min_expires=60, digest_algorithms=["SHA-256", "MD5"]) as a:
            port = a.endpoint.port
            assert await _register(phone, port, "alice", "wrong") == [401, 401]
            assert a.registrar.counters["auth_failed"] == 1
            assert await _register(phone, port, "mallory", "x") == [404]
            assert await _register(phone, port, "alice", "secret", expires=10) == [401, 423]
            assert await _register(phone, port, "alice", "secret") == [401, 200]
            bindings = await a.registrar._registrations.bindings("alice")
            assert [b.contact for b in bindings] == [f"sip:alice@127.0.0.1:{phone.endpoint.port}"]

            watch = LegWatch(a.dialer.dial(dial("+14155550300")))
            await watch.wait_for(Answered)
            assert await asyncio.wait_for(phone.call_started.wait(), 5) is True
            invite = next(iter(phone.calls.values())).invite
            assert str(invite.request_uri) == f"sip:alice@127.0.0.1:{phone.endpoint.port}"
            watch.leg.hangup()
            await watch.wait_for(_Ended)

            assert await _register(phone, port, "alice", "secret", expires=0) == [401, 200]
            assert await a.registrar._registrations.bindings("alice") == []
            gone = LegWatch(a.dialer.dial(dial("+14155550300")))
            assert (await gone.wait_for(_Ended)) == _Ended(EndReason.NO_ANSWER, 480)
    finally:
        await phone.close()
        await clock.stop()


async def test_registration_to_a_provider_is_kept_and_removed_on_close(tmp_path: Path) -> None:
    users = [{"username": "alice", "password": "secret", "number": "+14155550300"}]
    async with sip_service(tmp_path, name="provider", users=users) as provider:
        registering = {**trunk(provider.endpoint.port), "username": "alice", "password": "secret",
                       "register": True, "expires": 120}
        async with sip_service(tmp_path, name="a", trunks=[registering]) as a:
            registration = a.providers[0]
            for _ in range(50):
                if registration.registrations:
                    break
                await asyncio.sleep(0.05)
            assert registration.state.value == "registered" and registration.granted == 120
            bindings = await provider.registrar._registrations.bindings("alice")
            assert [b.contact for b in bindings] == [f"sip:openline@127.0.0.1:{a.endpoint.port}"]
        assert await provider.registrar._registrations.bindings("alice") == []  # Expires: 0 on close


async def test_in_dialog_reinvite_hold_options_info_and_remote_bye(tmp_path: Path) -> None:
    """A raw UAC calls in, then re-INVITEs to hold (sendonly), pings OPTIONS, sends an INFO digit, BYEs."""
    handler = ToneHandler()
    clock = MediaClock()
    uac = TestUas(clock=clock)
    await uac.start()
    try:
        async with sip_service(tmp_path, handler=handler, trunks=[trunk(1)]) as b:
            endpoint, dest = uac.endpoint, Address("127.0.0.1", b.endpoint.port, "UDP")
            target = SipUri(host="127.0.0.1", port=b.endpoint.port, user=TRUNK_NUMBER)

            def offer(direction: str) -> bytes:
                return bytes(build_offer(address="127.0.0.1", port=40000, session_id=9, direction=direction))

            invite = make_request("INVITE", target, from_=NameAddr(uri=SipUri(host="127.0.0.1", user="+1555"))
                                  .with_tag(new_token()), to=NameAddr(uri=target), call_id=new_token(), cseq=1,
                                  via=endpoint.via(), contact=endpoint.contact("caller"), body=offer("sendrecv"))
            responses, failure = await Uac(endpoint).request(invite, dest)
            assert failure is None and [r.status for r in responses][-1] == 200
            dialog = Dialog.from_uac(invite, responses[-1])
            endpoint.send_stateless(dialog.create_ack(1, via=endpoint.via()), dest)
            far = await handler.first()
            await far.wait_for(Answered)

            hold = dialog.create_request("INVITE", via=endpoint.via(), body=offer("sendonly"))
            responses, failure = await Uac(endpoint).request(hold, dest)
            assert failure is None and responses[-1].status == 200
            assert b"a=recvonly" in responses[-1].body  # §6.1 of RFC 3264: the answer mirrors sendonly
            endpoint.send_stateless(dialog.create_ack(hold.cseq.number, via=endpoint.via()), dest)
            leg = handler.calls[0].leg
            assert leg.rtp.send_silence is False  # type: ignore[attr-defined]  # on hold: we stop sending
            sent = leg.stats.packets_sent  # type: ignore[attr-defined]
            leg.play(b"\x10\x20" * 800, 41)  # 0.1 s, held: it runs out unsent, TwiML does not stall
            leg.play(b"", 42)  # empty audio is finished too
            for _ in range(100):
                if {41, 42} <= {e.token for e in far.events if isinstance(e, PlaybackFinished)}:
                    break
                await asyncio.sleep(0.02)
            assert [e.token for e in far.events if isinstance(e, PlaybackFinished) and e.token > 40] == [41, 42]
            assert leg.stats.packets_sent == sent  # type: ignore[attr-defined]
            unhold = dialog.create_request("INVITE", via=endpoint.via(), body=offer("sendrecv"))
            responses, failure = await Uac(endpoint).request(unhold, dest)
            assert failure is None and responses[-1].status == 200 and b"a=sendrecv" in responses[-1].body
            endpoint.send_stateless(dialog.create_ack(unhold.cseq.number, via=endpoint.via()), dest)
            assert leg.rtp.send_silence is True  # type: ignore[attr-defined]  # media flows again

            for method, body, ctype in (("OPTIONS", b"", None),
                                        ("INFO", b"Signal=5\r\nDuration=160\r\n", "application/dtmf-relay")):
                request = dialog.create_request(method, via=endpoint.via(), body=body, content_type=ctype)
                responses, failure = await Uac(endpoint).request(request, dest)
                assert failure is None and responses[-1].status == 200, method
            assert far.digits == ["5"]

            responses, failure = await Uac(endpoint).request(dialog.create_request("BYE", via=endpoint.via()), dest)
            assert failure is None and responses[-1].status == 200
            assert (await far.wait_for(_Ended)).reason is EndReason.HANGUP_REMOTE
            assert not b.legs
    finally:
        await uac.close()


async def test_far_end_hangs_up_an_outbound_leg_and_close_byes_live_calls(tmp_path: Path) -> None:
    handler = ToneHandler()
    async with (
        sip_service(tmp_path, name="b", handler=handler, trunks=[trunk(1)]) as b,
        sip_service(tmp_path, name="a") as a,
    ):
        target = f"sip:{TRUNK_NUMBER}@127.0.0.1:{b.endpoint.port}"
        first = LegWatch(a.dialer.dial(dial(target)))
        await first.wait_for(Answered)
        handler.calls[0].leg.hangup()
        assert (await first.wait_for(_Ended)).reason is EndReason.HANGUP_REMOTE
        second = LegWatch(a.dialer.dial(dial(target)))
        await second.wait_for(Answered)
        await a.close()  # shutdown: the live call gets its BYE
        far = handler.watches[1]
        assert (await far.wait_for(_Ended)).reason is EndReason.HANGUP_REMOTE
        assert (await second.wait_for(_Ended)).reason is EndReason.HANGUP_LOCAL


async def test_a_sip_user_calls_out_with_proxy_authentication(tmp_path: Path) -> None:
    handler = ToneHandler(mode="ring")
    clock = MediaClock()
    phone = TestUas(clock=clock)
    await phone.start()
    users = [{"username": "alice", "password": "secret", "number": "+14155550300"}]
    try:
        async with sip_service(tmp_path, handler=handler, users=users) as a:
            endpoint, dest = phone.endpoint, Address("127.0.0.1", a.endpoint.port, "UDP")
            target = SipUri(host="127.0.0.1", port=a.endpoint.port, user="+14155550111")
            offer = bytes(build_offer(address="127.0.0.1", port=40002, session_id=3))

            def invite(user: str, cseq: int, call_id: str, extra: list[tuple[str, str]]) -> object:
                return make_request("INVITE", target, from_=NameAddr(uri=SipUri(host="127.0.0.1", user=user))
                                    .with_tag("t" + call_id[:6]), to=NameAddr(uri=target), call_id=call_id,
                                    cseq=cseq, via=endpoint.via(), contact=endpoint.contact(user), body=offer,
                                    extra=extra)

            async def call(user: str, password: str) -> list[int]:
                call_id, statuses, extra = new_token(), [], []
                for cseq in (1, 2):
                    request = invite(user, cseq, call_id, extra)
                    responses, failure = await Uac(endpoint).request(request, dest)  # type: ignore[arg-type]
                    assert failure is None
                    statuses.append(responses[-1].status)
                    if responses[-1].status != 407:
                        statuses[-1:] = [r.status for r in responses if r.status > 100]
                        break
                    header, value = authorization_for(
                        407, responses[-1].headers.get_all("Proxy-Authenticate"), method="INVITE",
                        uri=str(target), username=user, password=password, cnonce=new_token())
                    extra = [(header, value)]
                return statuses

            assert await call("alice", "wrong") == [407, 407]
            assert a.counters["auth_failed"] == 1 and not handler.calls
            ringing = asyncio.create_task(call("alice", "secret"))
            far = await handler.first()
            call_in = handler.calls[0]
            assert (call_in.from_, call_in.to, call_in.source) == ("+14155550300", "+14155550111", "user:alice")
            assert call_in.registered_user
            far.leg.reject(RejectReason.BUSY)
            assert await ringing == [407, 180, 486]
            assert await call("mallory", "x") == [403]  # neither a user nor a trunk source
    finally:
        await phone.close()


async def test_our_200_is_retransmitted_until_the_ack_arrives(tmp_path: Path) -> None:
    handler = ToneHandler()
    clock = MediaClock()
    uac = TestUas(clock=clock)
    await uac.start()
    try:
        async with sip_service(tmp_path, handler=handler, trunks=[trunk(1)]) as b:
            endpoint, dest = uac.endpoint, Address("127.0.0.1", b.endpoint.port, "UDP")
            target = SipUri(host="127.0.0.1", port=b.endpoint.port, user=TRUNK_NUMBER)
            invite = make_request("INVITE", target, from_=NameAddr(uri=SipUri(host="127.0.0.1", user="+1555"))
                                  .with_tag(new_token()), to=NameAddr(uri=target), call_id=new_token(), cseq=1,
                                  via=endpoint.via(), contact=endpoint.contact("caller"),
                                  body=bytes(build_offer(address="127.0.0.1", port=40004, session_id=4)))
            oks: list[Response] = []

            def on_response(response: Response, retransmission: bool) -> None:
                if response.status == 200:
                    oks.append(response)

            endpoint.send_request(invite, dest, ClientCallbacks(on_response, lambda _: None))
            await asyncio.sleep(1.8)  # no ACK yet: §13.3.1.4, 200 again after T1, 2*T1 ...
            assert len(oks) >= 3
            dialog = Dialog.from_uac(invite, oks[0])
            endpoint.send_stateless(dialog.create_ack(1, via=endpoint.via()), dest)
            await asyncio.sleep(0.3)
            count = len(oks)
            await asyncio.sleep(1.5)
            assert len(oks) == count  # the ACK stopped the retransmissions
            assert Answered in handler.watches[0].kinds and not handler.watches[0].ended
    finally:
        await uac.close()


async def test_hanging_up_before_any_response_ends_the_leg_at_once(tmp_path: Path) -> None:
    silent = free_port()  # nothing listens there: no 100, no 180
    async with sip_service(tmp_path) as a:
        watch = LegWatch(a.dialer.dial(dial(f"sip:bob@127.0.0.1:{silent}")))
        await asyncio.sleep(0.3)
        watch.leg.hangup()
        assert (await watch.wait_for(_Ended, timeout=1)).reason is EndReason.CANCELED
        assert not a.legs


async def test_dialer_answers_a_407_with_the_trunk_credentials(tmp_path: Path) -> None:
    """B challenges like a proxy (407: A's caller is B's SIP user alice); A's trunk knows her password."""
    handler = ToneHandler()
    users = [{"username": "alice", "password": "secret", "number": "+14155550300"}]
    async with sip_service(tmp_path, name="b", handler=handler, users=users) as b:
        creds = {"username": "alice", "password": "secret"}
        routes = [RouteSettings(match="+1", carriers=["carrier-a"])]
        async with sip_service(tmp_path, name="a", routes=routes, trunks=[trunk(b.endpoint.port, **creds)]) as a:
            request = DialRequest(target="+14155550111", caller_id="alice", account_sid="AC" + "0" * 32,
                                  call_sid="CA" + "3" * 32)
            watch = LegWatch(a.dialer.dial(request))
            await watch.wait_for(Answered)
            call = handler.calls[0]
            assert (call.from_, call.to, call.source) == ("+14155550300", "+14155550111", "user:alice")
            watch.leg.hangup()
            await watch.wait_for(_Ended)


@pytest.mark.parametrize("failure", ["503", "silent"])
async def test_a_call_fails_over_to_the_routes_next_trunk(tmp_path: Path, failure: str) -> None:
    """The first trunk answers 503 (a carrier with nobody to take the call) or says nothing at all
    (a dead proxy: a bound UDP socket that never answers); the INVITE moves to the second trunk."""
    handler = ToneHandler()
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        async with sip_service(tmp_path, name="dead", handler=None, trunks=[trunk(1)]) as dead, \
                sip_service(tmp_path, name="live", handler=handler, trunks=[trunk(1)]) as live:
            first_port = dead.endpoint.port if failure == "503" else silent.getsockname()[1]
            trunks = [{**trunk(first_port), "name": "first", "numbers": []},
                      {**trunk(live.endpoint.port), "name": "second", "numbers": []}]
            routes = [RouteSettings(match="+1415", carriers=["first", "second"])]
            async with sip_service(tmp_path, name="a", routes=routes, trunks=trunks) as a:
                started = asyncio.get_running_loop().time()
                watch = LegWatch(a.dialer.dial(dial(TRUNK_NUMBER)))
                await watch.wait_for(Answered, timeout=15)
                waited = asyncio.get_running_loop().time() - started
                assert watch.leg.trunks_tried == ["first", "second"]  # type: ignore[attr-defined]
                far = await handler.first()
                assert handler.calls[0].to == TRUNK_NUMBER
                if failure == "503":
                    assert dead.counters["no_handler"] == 1 and waited < 2
                else:
                    assert waited >= 3.5  # FAILOVER_SECONDS without even a 100 Trying
                watch.leg.hangup()
                assert (await far.wait_for(_Ended)).reason is EndReason.HANGUP_REMOTE
    finally:
        silent.close()


async def test_a_busy_callee_does_not_fail_over(tmp_path: Path) -> None:
    busy, spare = ToneHandler(mode="busy"), ToneHandler()
    async with sip_service(tmp_path, name="b1", handler=busy, trunks=[trunk(1)]) as b1, \
            sip_service(tmp_path, name="b2", handler=spare, trunks=[trunk(1)]) as b2:
        trunks = [{**trunk(b1.endpoint.port), "name": "first", "numbers": []},
                  {**trunk(b2.endpoint.port), "name": "second", "numbers": []}]
        routes = [RouteSettings(match="+1415", carriers=["first", "second"])]
        async with sip_service(tmp_path, name="a", routes=routes, trunks=trunks) as a:
            watch = LegWatch(a.dialer.dial(dial(TRUNK_NUMBER)))
            assert (await watch.wait_for(_Ended)).reason is EndReason.BUSY  # the callee said no: final
            assert watch.leg.trunks_tried == ["first"] and not spare.calls  # type: ignore[attr-defined]
