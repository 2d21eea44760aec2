"""SmppClient against node-smpp (npm "smpp", tests/peers/smsc_node.js): an SMSC Openline did not write."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from openline.codecs.smpp import CommandStatus, DataSm, DeliverSm, SubmitSm
from openline.codecs.smpp.concat import ConcatMethod, build_parts, split_text
from openline.codecs.smpp.encoding import decode_text, encode_text
from openline.codecs.smpp.receipt import MessageState, receipt_from_pdu
from openline.codecs.smpp.udh import concat_from_sar, split_udh
from openline.config import SmppCarrierSettings
from openline.transports.smpp import SmppClient
from tests.support.node_smsc import NodeSmsc, node_peer_fixture, node_smsc_fixture  # noqa: F401 - fixtures


class Recorder:
    def __init__(self) -> None:
        self.pdus: list[DeliverSm | DataSm] = []
        self.answers: list[int] = []
        self.changed = asyncio.Event()

    async def on_deliver(self, carrier: str, pdu: DeliverSm | DataSm) -> int:
        assert carrier == "node-smpp"
        self.pdus.append(pdu)
        self.changed.set()
        return self.answers.pop(0) if self.answers else 0

    async def wait(self, count: int, timeout: float = 10.0) -> list[DeliverSm | DataSm]:
        async with asyncio.timeout(timeout):
            while len(self.pdus) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.pdus[:count]


@contextlib.asynccontextmanager
async def client_for(settings: SmppCarrierSettings, events: Recorder) -> AsyncIterator[SmppClient]:
    client = SmppClient(settings, events)
    await client.start()
    try:
        await client.wait_bound(10)
        yield client
    finally:
        await client.stop()


def submit(text: str, *, data_coding: int | None = None, **fields: Any) -> SubmitSm:
    encoded = encode_text(text, data_coding)
    values: dict[str, Any] = {
        "source_addr_ton": 1, "source_addr_npi": 1, "source_addr": "14155550100",
        "dest_addr_ton": 1, "dest_addr_npi": 1, "destination_addr": "447700900123",
        "data_coding": encoded.data_coding, "short_message": encoded.payload,
    }
    values.update(fields)
    return SubmitSm(**values)


async def test_bind_and_submit_gsm_and_ucs2(node_smsc: NodeSmsc) -> None:
    events = Recorder()
    async with client_for(node_smsc.carrier_settings(system_type="OPENLN"), events) as client:
        (bound,) = await node_smsc.wait_event("bound")
        assert bound["mode"] == "trx" and bound["system_type"] == "OPENLN" and bound["interface_version"] == 0x34
        gsm_text = "Hello @ £5 {ok} ÄÖ ß"  # basic set, extension table ({}), accented letters
        gsm = await client.submit(submit(gsm_text, registered_delivery=1))
        ucs2_text = "Привет, мир 👋"  # Cyrillic and a non-BMP emoji (a UTF-16 surrogate pair)
        ucs2 = await client.submit(submit(ucs2_text, source_addr="Openline", source_addr_ton=5, source_addr_npi=0))
        first, second = await node_smsc.wait_event("submit_sm", count=2)
    assert gsm.command_status == 0 and gsm.message_id == first["message_id"]
    assert ucs2.command_status == 0 and ucs2.message_id == second["message_id"]
    assert first["data_coding"] == 0 and first["text"] == gsm_text  # node-smpp's GSM 03.38 decoder agrees
    assert bytes.fromhex(first["short_message"]) == encode_text(gsm_text).payload
    assert (first["source_addr_ton"], first["source_addr_npi"], first["source_addr"]) == (1, 1, "14155550100")
    assert (first["dest_addr_ton"], first["dest_addr_npi"], first["destination_addr"]) == (1, 1, "447700900123")
    assert first["registered_delivery"] == 1 and first["esm_class"] == 0
    assert second["data_coding"] == 8 and second["text"] == ucs2_text
    assert bytes.fromhex(second["short_message"]) == ucs2_text.encode("utf-16-be")
    assert (second["source_addr_ton"], second["source_addr_npi"], second["source_addr"]) == (5, 0, "Openline")


async def test_multipart_ucs2_with_udh_and_sar(node_smsc: NodeSmsc) -> None:
    text = "Многочастное сообщение на кириллице, чтобы не поместиться в одну часть. " * 2  # 144 chars
    template = submit("x", data_coding=0x08)
    async with client_for(node_smsc.carrier_settings(), Recorder()) as client:
        for method, ref in ((ConcatMethod.UDH8, 0x17), (ConcatMethod.SAR, 0x1234)):
            coding, payloads = split_text(text, method, 0x08)
            assert coding == 0x08 and len(payloads) == 3
            for part in build_parts(payloads, method, coding, ref):
                assert (await client.submit(part.apply(template))).command_status == 0
        parts = await node_smsc.wait_event("submit_sm", count=6)
    udh, sar = parts[:3], parts[3:]
    assert all(p["esm_class"] == 0x40 and p["data_coding"] == 8 for p in udh)
    headers = [split_udh(bytes.fromhex(p["short_message"]))[0].concat for p in udh]
    assert [(h.ref, h.total, h.seq) for h in headers if h] == [(0x17, 3, 1), (0x17, 3, 2), (0x17, 3, 3)]
    assert "".join(p["text"] for p in udh) == text  # node-smpp strips the UDH and decodes each part
    assert [(p["sar_msg_ref_num"], p["sar_total_segments"], p["sar_segment_seqnum"]) for p in sar] == [
        (0x1234, 3, 1), (0x1234, 3, 2), (0x1234, 3, 3)]
    assert all(p["esm_class"] == 0 for p in sar) and "".join(p["text"] for p in sar) == text


async def test_receipts_text_and_tlv_reach_on_deliver(node_peer: str) -> None:
    events = Recorder()
    async with NodeSmsc(node_peer, auto_receipt="DELIVRD", message_ids="hex") as peer, \
            client_for(peer.carrier_settings(), events) as client:
        resp = await client.submit(submit("receipt please", registered_delivery=1))
        (auto,) = await events.wait(1)
        ref = await peer.command("receipt", message_id=resp.message_id, stat="UNDELIV", err="001", form="tlv")
        await peer.command("receipt", message_id=resp.message_id, stat="EXPIRED", form="both")
        _, tlv, both = await events.wait(3)
        (answer,) = await peer.wait_event("deliver_sm_resp", ref=ref)
        assert answer["command_status"] == 0
        assert client.metrics()["receipts_total"] == 3
    assert resp.message_id is not None and resp.message_id == resp.message_id.upper()  # hex ids
    receipt = receipt_from_pdu(auto)
    assert receipt is not None and auto.is_delivery_receipt
    assert (receipt.message_id, receipt.stat, receipt.state, receipt.text) == (
        resp.message_id, "DELIVRD", MessageState.DELIVERED, "receipt please")
    tlv_receipt, both_receipt = receipt_from_pdu(tlv), receipt_from_pdu(both)
    assert tlv_receipt is not None and tlv_receipt.message_id == resp.message_id
    assert tlv_receipt.state is MessageState.UNDELIVERABLE
    assert both_receipt is not None and both_receipt.state is MessageState.EXPIRED and both_receipt.stat == "EXPIRED"


async def test_mo_plain_and_multipart_with_the_status_node_receives(node_smsc: NodeSmsc) -> None:
    events = Recorder()
    events.answers = [0, CommandStatus.ESME_RX_T_APPN]
    async with client_for(node_smsc.carrier_settings(bind_mode="tx+rx"), events):
        await node_smsc.wait_event("bound", count=2)
        assert sorted(e["mode"] for e in node_smsc.of("bound")) == ["rx", "tx"]
        plain = await node_smsc.command("mo", source="447700900123", destination="14155550100", text="Hi there")
        temp = await node_smsc.command("mo", source="447700900123", destination="14155550100", text="again")
        multi = await node_smsc.command("mo", source="447700900123", destination="14155550100", encoding="UCS2",
                                        parts=["Доброе ", "утро, ", "мир"], ref_num=0x99)
        sar = await node_smsc.command("mo", source="447700900123", destination="14155550100",
                                      parts=["one ", "two"], concat="sar", ref_num=0x0102)
        pdus = await events.wait(7)
        for ref, count in ((plain, 1), (temp, 1), (multi, 3), (sar, 2)):
            await node_smsc.wait_event("deliver_sm_resp", count=count, ref=ref)
        statuses = {ref: [e["command_status"] for e in node_smsc.of("deliver_sm_resp", ref=ref)]
                    for ref in (plain, temp, multi, sar)}
    assert statuses == {plain: [0], temp: [CommandStatus.ESME_RX_T_APPN], multi: [0, 0, 0], sar: [0, 0]}
    first = pdus[0]
    assert (first.source_addr, first.destination_addr, first.data_coding) == ("447700900123", "14155550100", 0)
    assert decode_text(first.data_coding, first.short_message) == "Hi there" and not first.is_delivery_receipt
    texts = {}
    for pdu in pdus[2:5]:
        assert pdu.udhi and pdu.data_coding == 8
        header, body = split_udh(pdu.short_message)
        assert header.concat is not None and (header.concat.ref, header.concat.total) == (0x99, 3)
        texts[header.concat.seq] = decode_text(8, body)
    assert "".join(texts[i] for i in (1, 2, 3)) == "Доброе утро, мир"
    sar_parts = [concat_from_sar(p.tlvs) for p in pdus[5:]]
    assert [(c.ref, c.total, c.seq) for c in sar_parts if c] == [(0x0102, 2, 1), (0x0102, 2, 2)]


async def test_keepalive_unbind_and_graceful_stop(node_smsc: NodeSmsc) -> None:
    events = Recorder()
    settings = node_smsc.carrier_settings(enquire_link_interval=0.2)
    client = SmppClient(settings, events)
    await client.start()
    try:
        await client.wait_bound(10)
        await node_smsc.wait_event("enquire_link")  # ours, on an idle link
        await node_smsc.command("enquire_link")
        await node_smsc.wait_event("enquire_link_resp")  # node-smpp's, answered by us
        await node_smsc.command("unbind")  # SMSC-initiated: we answer and bind again
        await node_smsc.wait_event("unbind_resp")
        await node_smsc.wait_event("bound", count=2)
        await client.wait_bound(10)
        assert (await client.submit(submit("after rebind"))).command_status == 0
    finally:
        await client.stop()
    (unbind,) = await node_smsc.wait_event("unbind")
    assert unbind["mode"] == "trx"
    await node_smsc.wait_event("close", count=2)
    assert not node_smsc.of("error"), node_smsc.of("error")
