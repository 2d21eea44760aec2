"""SmppClient against the in-memory SMSC (tests/support/smsc.py): real TCP on loopback, small timers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from openline.codecs.smpp import (
    AlertNotification,
    CommandStatus,
    DataSm,
    DeliverSm,
    Outbind,
    SubmitSm,
    SubmitSmResp,
    Tlv,
    TlvTag,
)
from openline.codecs.smpp.events import ResponseReceived
from openline.codecs.smpp.receipt import receipt_from_pdu
from openline.codecs.smpp.udh import split_udh
from openline.config import SmppCarrierSettings
from openline.services.carriers import LinkDown
from openline.transports.smpp import MAX_TIMEOUTS_IN_A_ROW, SmppClient, _Pacer
from tests.support.smsc import FakeSmsc, self_signed_context

S = CommandStatus


class Recorder:
    """SmppEvents that records every delivery and answers ``status`` (or what ``answers`` says)."""

    def __init__(self, status: int = 0) -> None:
        self.status = status
        self.answers: list[int] = []  # consumed first, one per call
        self.pdus: list[DeliverSm | DataSm] = []
        self.carriers: set[str] = set()
        self.gate: asyncio.Event | None = None
        self.running = 0
        self.max_running = 0
        self.raise_next = False

    async def on_deliver(self, carrier: str, pdu: DeliverSm | DataSm) -> int:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            if self.gate is not None:
                await self.gate.wait()
            self.carriers.add(carrier)
            self.pdus.append(pdu)
            if self.raise_next:
                self.raise_next = False
                raise RuntimeError("database is locked")
            return self.answers.pop(0) if self.answers else self.status
        finally:
            self.running -= 1


def submit_pdu(destination: str = "14155550199", text: bytes = b"hello", **fields: Any) -> SubmitSm:
    return SubmitSm(source_addr_ton=1, source_addr_npi=1, source_addr="14155550100", dest_addr_ton=1,
                    dest_addr_npi=1, destination_addr=destination, short_message=text, **fields)


@pytest.fixture
async def smsc() -> AsyncIterator[FakeSmsc]:
    async with FakeSmsc() as server:
        yield server


@contextlib.asynccontextmanager
async def running(settings: SmppCarrierSettings, events: Recorder | None = None,
                  **kwargs: Any) -> AsyncIterator[SmppClient]:
    client = SmppClient(settings, events or Recorder(), **kwargs)
    await client.start()
    try:
        await client.wait_bound(5)
        yield client
    finally:
        await client.stop()


async def wait_for(predicate: Any, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


# --- bind and submit ------------------------------------------------------------------------


async def test_trx_bind_and_submit_returns_the_smsc_ids(smsc: FakeSmsc) -> None:
    async with running(smsc.carrier_settings(name="acme")) as client:
        assert client.bound and client.name == "acme"
        resps = [await client.submit(submit_pdu(text=f"msg {i}".encode())) for i in range(3)]
        assert all(isinstance(r, SubmitSmResp) and r.command_status == 0 for r in resps)
        assert [r.message_id for r in resps] == [s.message_id for s in smsc.submits]
        assert [s.pdu.short_message for s in smsc.submits] == [b"msg 0", b"msg 1", b"msg 2"]
        (bind,) = smsc.binds
        assert (bind.kind, bind.system_id, bind.password, bind.status) == ("trx", "openline", "secret", 0)
        metrics = client.metrics()
        assert metrics["state"] == "bound" and metrics["submits_total"] == 3
        assert metrics["window_in_use"] == 0 and metrics["errors_by_status"] == {}
    assert not client.bound
    with pytest.raises(LinkDown):
        await client.submit(submit_pdu())


async def test_hex_message_ids_pass_through(smsc: FakeSmsc) -> None:
    smsc.message_ids = "hex"
    async with running(smsc.carrier_settings()) as client:
        resp = await client.submit(submit_pdu())
    assert resp.message_id == f"{1_000_001:X}"


async def test_tx_rx_binds_two_connections_and_delivers_on_the_receiver(smsc: FakeSmsc) -> None:
    events = Recorder()
    async with running(smsc.carrier_settings(bind_mode="tx+rx"), events) as client:
        await smsc.wait_bound(2)
        assert sorted(b.kind for b in smsc.binds) == ["rx", "tx"]
        resp = await client.submit(submit_pdu())
        assert resp.command_status == 0
        (record,) = await smsc.send_mo("+14155550199", "+14155550100", "hi there")
        assert record.statuses == [0]
        tx = next(c for c in smsc.connections if c.kind == "tx")
        assert smsc.submits[0].system_id == "openline" and len(smsc.connections) == 2 and tx.bound
        assert events.pdus[0].short_message == b"hi there"
        assert set(client.metrics()["links"]) == {"tx", "rx"}  # type: ignore[arg-type]


async def test_rejected_bind_is_logged_and_retried_at_reconnect_max(
        smsc: FakeSmsc, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "openline.smpp")
    settings = smsc.carrier_settings(password="wrong", reconnect_min=0.01, reconnect_max=0.3)
    client = SmppClient(settings, Recorder())
    await client.start()
    try:
        await smsc.wait_until(lambda: len(smsc.binds) >= 2, timeout=3)
        assert not client.bound
        assert [b.status for b in smsc.binds[:2]] == [S.ESME_RINVPASWD] * 2
        # Not the fast backoff: a refused bind waits reconnect_max (minus jitter at most 20 %).
        assert smsc.binds[1].at - smsc.binds[0].at >= 0.3 * 0.8 - 0.02
        with pytest.raises(LinkDown):
            await client.submit(submit_pdu())
        assert "ESME_RINVPASWD" in str(client.metrics()["last_error"])
    finally:
        await client.stop()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert errors and "ESME_RINVPASWD" in errors[0].getMessage() and "fake-smsc" in errors[0].getMessage()


async def test_unreachable_smsc_raises_link_down_and_backs_off() -> None:
    with socketless_port() as port:
        settings = SmppCarrierSettings(name="down", host="127.0.0.1", port=port, system_id="x",
                                       reconnect_min=0.05, reconnect_max=0.2)
        client = SmppClient(settings, Recorder())
        await client.start()
        try:
            with pytest.raises(LinkDown):
                await client.submit(submit_pdu())
            await wait_for(lambda: client.metrics()["reconnects"] >= 2, timeout=3)  # type: ignore[operator]
            metrics = client.metrics()
            assert metrics["state"] in ("connecting", "disconnected") and "ConnectionRefused" in str(metrics["last_error"])
        finally:
            await client.stop()
    assert client.metrics()["state"] == "stopped"


@contextlib.contextmanager
def socketless_port() -> Any:
    import socket

    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_password_the_codec_cannot_carry_is_refused() -> None:
    # The settings refuse it (naming the key) before any client exists; the client checks again
    # for settings built by other means.
    with pytest.raises(ValueError, match="password"):
        SmppCarrierSettings(name="long", host="h", system_id="x", password="123456789")
    settings = SmppCarrierSettings.model_construct(name="long", host="h", system_id="x", port=2775,
                                                   password=SecretStr("123456789"), bind_mode="trx",
                                                   system_type="", throughput=None)
    with pytest.raises(ValueError, match=r"carrier long.*§4\.1\.1"):
        SmppClient(settings, Recorder())


# --- window, pacing, statuses ------------------------------------------------------------------


async def test_window_full_submit_waits_for_a_free_slot(smsc: FakeSmsc) -> None:
    smsc.hold()
    async with running(smsc.carrier_settings(window=3)) as client:
        tasks = [asyncio.create_task(client.submit(submit_pdu(text=b"%d" % i))) for i in range(4)]
        await smsc.wait_for_submits(3)
        await asyncio.sleep(0.1)
        assert len(smsc.submits) == 3 and not any(t.done() for t in tasks)  # the 4th waits, no error
        assert client.metrics()["window_in_use"] == 3
        smsc.release(1)
        await smsc.wait_for_submits(4)
        assert smsc.submits[3].pdu.short_message == b"3"
        smsc.release()
        resps = await asyncio.gather(*tasks)
        assert [r.command_status for r in resps] == [0, 0, 0, 0]
        assert client.metrics()["window_in_use"] == 0


async def test_cancelled_submit_keeps_its_slot_until_the_response(smsc: FakeSmsc) -> None:
    smsc.hold()
    async with running(smsc.carrier_settings(window=1)) as client:
        first = asyncio.create_task(client.submit(submit_pdu()))
        await smsc.wait_for_submits(1)
        first.cancel()
        second = asyncio.create_task(client.submit(submit_pdu(text=b"second")))
        await asyncio.sleep(0.1)
        assert len(smsc.submits) == 1  # the SMSC still counts the first against the window
        smsc.release()
        assert (await second).command_status == 0


async def test_throughput_paces_submits(smsc: FakeSmsc) -> None:
    async with running(smsc.carrier_settings(throughput=50, window=10)) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.submit(submit_pdu()) for _ in range(20)))
        elapsed = time.monotonic() - started
    arrivals = [s.at for s in smsc.submits]
    assert elapsed >= 0.3 and arrivals[-1] - arrivals[0] >= 0.3  # 19 gaps of 20 ms = 0.38 s
    assert client.metrics()["submits_total"] == 20


def test_pacer_reserves_on_the_ideal_schedule() -> None:
    pacer = _Pacer(10)
    assert pacer.reserve(100.0) == 0
    assert pacer.reserve(100.0) == pytest.approx(0.1)
    assert pacer.reserve(100.05) == pytest.approx(0.15)  # queued behind the previous one
    assert pacer.reserve(200.0) == 0  # idle: no credit is banked beyond one token


async def test_throttling_and_permanent_statuses_go_back_to_the_caller(smsc: FakeSmsc) -> None:
    smsc.throttle(2)
    smsc.throttle(1, S.ESME_RMSGQFUL)
    smsc.reject_destination("999", S.ESME_RINVDSTADR)
    async with running(smsc.carrier_settings()) as client:
        statuses = [(await client.submit(submit_pdu())).command_status for _ in range(4)]
        bad = await client.submit(submit_pdu(destination="999"))
        assert client.bound  # statuses are the caller's business, never the link's
        metrics = client.metrics()
    assert statuses == [S.ESME_RTHROTTLED, S.ESME_RTHROTTLED, S.ESME_RMSGQFUL, 0]
    assert bad.command_status == S.ESME_RINVDSTADR and bad.message_id is None
    assert metrics["errors_by_status"] == {"ESME_RTHROTTLED": 2, "ESME_RMSGQFUL": 1, "ESME_RINVDSTADR": 1}


async def test_retried_pdu_with_an_old_sequence_number_is_renumbered(smsc: FakeSmsc) -> None:
    async with running(smsc.carrier_settings()) as client:
        resp = await client.submit(submit_pdu(sequence_number=1))
        resp2 = await client.submit(submit_pdu(sequence_number=1))
    assert resp.command_status == resp2.command_status == 0
    assert len({s.pdu.sequence_number for s in smsc.submits}) == 2


# --- faults ----------------------------------------------------------------------------------


async def test_disconnect_with_full_window_fails_every_submit_then_reconnects(smsc: FakeSmsc) -> None:
    smsc.hold()
    async with running(smsc.carrier_settings(window=5)) as client:
        tasks = [asyncio.create_task(client.submit(submit_pdu())) for _ in range(6)]  # 5 in flight, 1 waiting
        await smsc.wait_for_submits(5)
        assert client.metrics()["window_in_use"] == 5
        await smsc.drop()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, LinkDown) for r in results), results
        smsc.holding = False
        await client.wait_bound(5)
        assert (await client.submit(submit_pdu())).command_status == 0
        metrics = client.metrics()
        assert metrics["reconnects"] == 1 and metrics["window_in_use"] == 0
        assert len(smsc.binds) == 2


async def test_smsc_that_stops_answering_times_out_and_is_dropped(smsc: FakeSmsc) -> None:
    settings = smsc.carrier_settings(response_timeout=0.3, reconnect_min=0.05, reconnect_max=0.1)
    async with running(settings) as client:
        smsc.answering = False
        started = time.monotonic()
        with pytest.raises(LinkDown, match=r"no submit_sm_resp within 0\.3s"):
            await client.submit(submit_pdu())
        assert 0.3 <= time.monotonic() - started < 2.0
        # Suspect: the client probes with enquire_link, which goes unanswered too: reconnect.
        await smsc.wait_until(lambda: len(smsc.enquire_links) >= 1 and smsc.connections_total >= 2, timeout=3)
        smsc.answering = True
        await client.wait_bound(3)
        assert (await client.submit(submit_pdu())).command_status == 0
        assert client.metrics()["response_timeouts"] == 1


async def test_repeated_submit_timeouts_drop_the_connection(smsc: FakeSmsc) -> None:
    smsc.hold()  # submits go unanswered, but enquire_link is answered: only the count trips it
    settings = smsc.carrier_settings(response_timeout=0.2, window=MAX_TIMEOUTS_IN_A_ROW)
    async with running(settings) as client:
        results = await asyncio.gather(*(client.submit(submit_pdu()) for _ in range(MAX_TIMEOUTS_IN_A_ROW)),
                                       return_exceptions=True)
        assert all(isinstance(r, LinkDown) for r in results)
        await smsc.wait_until(lambda: smsc.connections_total >= 2, timeout=3)
        smsc.holding = False
        await client.wait_bound(3)
        assert (await client.submit(submit_pdu())).command_status == 0


async def test_one_by_one_timeouts_drop_the_connection_even_if_enquire_link_is_answered(smsc: FakeSmsc) -> None:
    smsc.hold()  # an SMSC whose message side is stuck while its session side still answers
    async with running(smsc.carrier_settings(response_timeout=0.15)) as client:
        for _ in range(MAX_TIMEOUTS_IN_A_ROW):
            with pytest.raises(LinkDown):
                await client.submit(submit_pdu())
            await asyncio.sleep(0.05)  # let the enquire_link probe be answered in between
        assert smsc.enquire_links
        await smsc.wait_until(lambda: smsc.connections_total >= 2, timeout=3)


async def test_enquire_link_on_idle_and_answered_both_ways(smsc: FakeSmsc) -> None:
    async with running(smsc.carrier_settings(enquire_link_interval=0.15)) as client:
        await smsc.wait_until(lambda: len(smsc.enquire_links) >= 2, timeout=3)
        resp = await smsc.send_enquire_link()
        assert resp.command_id == 0x80000015 and resp.command_status == 0
        assert client.bound and smsc.connections_total == 1


async def test_malformed_pdu_costs_a_generic_nack_and_the_bind_stays(smsc: FakeSmsc) -> None:
    events = Recorder()
    async with running(smsc.carrier_settings(), events) as client:
        seq = await smsc.send_malformed("body")
        seq2 = await smsc.send_malformed("command_id")
        await smsc.wait_until(lambda: len(smsc.nacks) == 2)
        assert [n.sequence_number for n in smsc.nacks] == [seq, seq2]
        assert smsc.nacks[0].command_status != 0 and smsc.nacks[1].command_status == S.ESME_RINVCMDID
        assert (await client.submit(submit_pdu())).command_status == 0
        assert smsc.connections_total == 1 and client.metrics()["malformed_total"] == 2
        assert events.pdus == []


async def test_lost_framing_closes_and_reconnects(smsc: FakeSmsc) -> None:
    async with running(smsc.carrier_settings()) as client:
        await smsc.send_malformed("length")
        await smsc.wait_until(lambda: len(smsc.binds) == 2, timeout=3)
        await client.wait_bound(3)
        assert (await client.submit(submit_pdu())).command_status == 0
        assert client.metrics()["reconnects"] == 1


async def test_smsc_unbind_is_answered_and_the_client_rebinds(smsc: FakeSmsc) -> None:
    async with running(smsc.carrier_settings()) as client:
        await smsc.send_unbind()
        assert any(type(e).__name__ == "ResponseReceived" and e.pdu.command_id == 0x80000006  # type: ignore[attr-defined]
                   for e in smsc.events)
        await smsc.wait_until(lambda: len(smsc.binds) == 2, timeout=3)
        await client.wait_bound(3)
        assert (await client.submit(submit_pdu())).command_status == 0


# --- deliveries ------------------------------------------------------------------------------


async def test_receipt_before_the_response_is_still_handed_over() -> None:
    events = Recorder()
    async with FakeSmsc(receipt="DELIVRD", receipt_before_response=True) as smsc, \
            running(smsc.carrier_settings(), events) as client:
        resp = await client.submit(submit_pdu(registered_delivery=1))
        await smsc.wait_until(lambda: bool(smsc.delivers) and smsc.delivers[0].statuses == [0])
        await wait_for(lambda: len(events.pdus) == 1)
    receipt = receipt_from_pdu(events.pdus[0])
    assert receipt is not None and receipt.message_id == resp.message_id and receipt.stat == "DELIVRD"
    sent = [name for name, _ in smsc.sent]
    assert sent.index("deliver_sm") < sent.index("submit_sm_resp")  # on the wire the receipt came first
    assert client.metrics()["receipts_total"] == 1


async def test_tlv_receipts_and_receipt_counts() -> None:
    events = Recorder()
    async with FakeSmsc(receipt="UNDELIV", receipt_form="tlv") as smsc, \
            running(smsc.carrier_settings(), events) as client:
        resp = await client.submit(submit_pdu(registered_delivery=1))
        await wait_for(lambda: len(events.pdus) == 1)
        metrics = client.metrics()
    receipt = receipt_from_pdu(events.pdus[0])
    assert receipt is not None and receipt.message_id == resp.message_id and receipt.state is not None
    assert receipt.state.name == "UNDELIVERABLE"
    assert (metrics["delivers_total"], metrics["receipts_total"], metrics["mo_total"]) == (1, 1, 0)


async def test_on_deliver_status_is_the_answer_the_smsc_gets(smsc: FakeSmsc) -> None:
    events = Recorder()
    events.answers = [S.ESME_RX_T_APPN]  # first attempt: "try again later"; then 0
    async with running(smsc.carrier_settings(), events) as client:
        (record,) = await smsc.send_mo("+14155550199", "+14155550100", "stored?", wait=False)
        await smsc.wait_until(lambda: record.done, timeout=3)
        assert record.statuses == [S.ESME_RX_T_APPN, 0]  # the SMSC redelivered after the transient answer
        events.status = S.ESME_RX_P_APPN
        (record2,) = await smsc.send_mo("+14155550199", "+14155550100", "refused")
        assert record2.statuses == [S.ESME_RX_P_APPN]
        assert client.metrics()["deliver_errors"] == 2


async def test_on_deliver_failure_answers_a_transient_error(smsc: FakeSmsc, caplog: pytest.LogCaptureFixture) -> None:
    events = Recorder()
    events.raise_next = True
    async with running(smsc.carrier_settings(), events):
        (record,) = await smsc.send_mo("+14155550199", "+14155550100", "boom", wait=False)
        await smsc.wait_until(lambda: record.done, timeout=3)
    assert record.statuses == [S.ESME_RX_T_APPN, 0]
    assert any("on_deliver failed" in r.getMessage() for r in caplog.records)


async def test_deliveries_are_answered_only_after_on_deliver_returns(smsc: FakeSmsc) -> None:
    events = Recorder()
    events.gate = asyncio.Event()
    async with running(smsc.carrier_settings(), events, deliver_concurrency=2) as client:
        records = await smsc.send_mo("+1", "+2", "x" * 400, concat="udh8", wait=False)  # 3 parts
        records += await smsc.send_mo("+1", "+2", "y" * 400, concat="udh16", wait=False)
        await wait_for(lambda: events.running == 2)
        await asyncio.sleep(0.1)
        assert all(not r.statuses for r in records) and events.max_running == 2  # bounded concurrency
        events.gate.set()
        await smsc.wait_until(lambda: all(r.statuses == [0] for r in records))
        assert client.metrics()["mo_total"] == 6
    parts = [split_udh(p.short_message)[0].concat for p in events.pdus]
    assert sorted((c.ref_bits, c.seq) for c in parts if c) == sorted([(8, 1), (8, 2), (8, 3), (16, 1), (16, 2), (16, 3)])


async def test_deliveries_wait_in_the_smsc_while_the_receiver_is_down(smsc: FakeSmsc) -> None:
    events = Recorder()
    record = await smsc.send_deliver(DeliverSm(source_addr="1", destination_addr="2", short_message=b"queued"),
                                     wait=False)
    async with running(smsc.carrier_settings(), events):
        await smsc.wait_until(lambda: record.statuses == [0])
    assert events.pdus[0].short_message == b"queued"


async def test_data_sm_is_delivered_and_answered_with_data_sm_resp(smsc: FakeSmsc) -> None:
    events = Recorder()
    async with running(smsc.carrier_settings(), events):
        pdu = DataSm(source_addr="14155550199", destination_addr="14155550100",
                     tlvs=(Tlv(TlvTag.MESSAGE_PAYLOAD, b"via data_sm"),))
        record = await smsc.send_deliver(pdu)
    assert record.statuses == [0] and isinstance(events.pdus[0], DataSm) and events.pdus[0].payload == b"via data_sm"
    resp = next(e.pdu for e in smsc.events if isinstance(e, ResponseReceived) and e.request.command_id == pdu.command_id)
    assert resp.command_id == 0x80000103


async def test_outbind_and_alert_notification_are_ignored(smsc: FakeSmsc) -> None:
    async with running(smsc.carrier_settings()) as client:
        (conn,) = smsc.bound_connections
        conn.write_raw(bytes(Outbind(sequence_number=conn.next_raw_seq(), system_id="x", password="y")))
        conn.write_raw(bytes(AlertNotification(sequence_number=conn.next_raw_seq(), source_addr="1", esme_addr="2")))
        await asyncio.sleep(0.1)
        assert (await client.submit(submit_pdu())).command_status == 0
    assert smsc.connections_total == 1 and not smsc.nacks  # no answer exists for either (§4.1.7, §4.12)


async def test_smsc_restart_on_the_same_port_is_rejoined(smsc: FakeSmsc) -> None:
    async with running(smsc.carrier_settings()) as client:
        await smsc.stop()
        await wait_for(lambda: not client.bound)
        with pytest.raises(LinkDown):
            await client.submit(submit_pdu())
        await smsc.start()
        await client.wait_bound(5)
        assert (await client.submit(submit_pdu())).command_status == 0 and len(smsc.binds) == 2


# --- stop, TLS, metrics ----------------------------------------------------------------------


async def test_graceful_stop_lets_in_flight_finish_then_unbinds(smsc: FakeSmsc) -> None:
    smsc.hold()
    client = SmppClient(smsc.carrier_settings(window=2), Recorder())
    await client.start()
    await client.wait_bound(5)
    in_flight = asyncio.create_task(client.submit(submit_pdu()))
    await smsc.wait_for_submits(1)
    stopping = asyncio.create_task(client.stop())
    await asyncio.sleep(0.05)
    assert not client.bound and not smsc.unbinds  # no new submits, unbind waits for in-flight
    with pytest.raises(LinkDown):
        await client.submit(submit_pdu())
    smsc.release()
    assert (await in_flight).command_status == 0
    await stopping
    assert len(smsc.unbinds) == 1 and smsc.unbinds[0] >= smsc.submits[0].at
    await smsc.wait_until(lambda: not smsc.connections)
    assert client.metrics()["state"] == "stopped"


async def test_stop_with_a_silent_smsc_is_bounded(smsc: FakeSmsc) -> None:
    client = SmppClient(smsc.carrier_settings(response_timeout=0.2), Recorder())
    await client.start()
    await client.wait_bound(5)
    smsc.answering = False
    started = time.monotonic()
    await client.stop()
    assert time.monotonic() - started < 1.5


async def test_tls_with_and_without_verification() -> None:
    context, _ = self_signed_context()
    async with FakeSmsc(ssl_context=context) as smsc:
        async with running(smsc.carrier_settings(tls=True, tls_verify=False)) as client:
            assert (await client.submit(submit_pdu())).command_status == 0
        strict = SmppClient(smsc.carrier_settings(tls=True, tls_verify=True), Recorder())
        await strict.start()
        try:
            await wait_for(lambda: strict.metrics()["last_error"] is not None, timeout=3)
            assert not strict.bound and "CERTIFICATE_VERIFY_FAILED" in str(strict.metrics()["last_error"])
        finally:
            await strict.stop()


async def test_metrics_shape(smsc: FakeSmsc) -> None:
    async with running(smsc.carrier_settings(window=7, throughput=1000)) as client:
        for _ in range(5):
            await client.submit(submit_pdu())
        metrics = client.metrics()
    assert metrics["state"] == "bound" and isinstance(metrics["bound_since"], float)
    assert metrics["window_size"] == 7 and metrics["throughput_limit"] == 1000
    assert metrics["submits_total"] == 5 and 0 < metrics["submits_per_s"] <= 5  # type: ignore[operator]
    latency = metrics["response_latency_ms"]
    assert isinstance(latency, dict) and 0 <= latency["p50"] <= latency["p99"]
    assert metrics["reconnects"] == 0 and metrics["last_error"] is None
    import json

    json.dumps(metrics)  # plain data, ready for /health and the console


def test_backoff_grows_with_jitter_inside_the_bounds() -> None:
    settings = SmppCarrierSettings(name="b", host="h", system_id="x", reconnect_min=1, reconnect_max=30)
    client = SmppClient(settings, Recorder(), rng=random.Random(7))
    delays = [client._backoff(n) for n in range(8)]
    assert all(1 <= d <= 30 for d in delays)
    assert delays[0] < 1.25 and delays[3] > 6 and delays[-1] >= 24  # 1, 2, 4, 8 ... capped at 30
    assert len({round(client._backoff(3), 6) for _ in range(5)}) > 1


@pytest.mark.parametrize("mode", ["trx", "tx+rx"])
async def test_under_uvloop_too(mode: str) -> None:
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> None:
        events = Recorder()
        async with FakeSmsc(receipt="DELIVRD") as smsc, \
                running(smsc.carrier_settings(bind_mode=mode, window=4), events) as client:
            resps = await asyncio.gather(*(client.submit(submit_pdu(registered_delivery=1)) for _ in range(10)))
            assert all(r.command_status == 0 for r in resps)
            await wait_for(lambda: len(events.pdus) == 10)
            smsc.hold()
            tasks = [asyncio.create_task(client.submit(submit_pdu())) for _ in range(4)]
            await smsc.wait_for_submits(14)
            await smsc.drop()
            assert all(isinstance(r, LinkDown) for r in await asyncio.gather(*tasks, return_exceptions=True))

    # A fresh uvloop loop in a worker thread: the test's own loop is the default asyncio one.
    await asyncio.to_thread(uvloop.run, scenario())


def test_ssl_context_follows_settings() -> None:
    settings = SmppCarrierSettings(name="t", host="h", system_id="x", tls=True, tls_verify=False)
    context = SmppClient(settings, Recorder())._ssl_context()
    assert context is not None and context.verify_mode == ssl.CERT_NONE and not context.check_hostname
    strict = SmppClient(settings.model_copy(update={"tls_verify": True}), Recorder())._ssl_context()
    assert strict is not None and strict.verify_mode == ssl.CERT_REQUIRED and strict.check_hostname
    assert SmppClient(settings.model_copy(update={"tls": False}), Recorder())._ssl_context() is None
