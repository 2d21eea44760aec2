"""Messages through a real SMPP bind: Openline serve ↔ a scripted SMSC on loopback.

The SMSC (tests/support/smsc.py) runs in this process on its own loop; Openline runs as a user
runs it, with the carrier and routes in a TOML file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import new_credentials, validate_exchanges
from tests.integration.test_sms_basic import wait_for
from tests.support.server import OpenlineServer
from tests.support.smsc_thread import SmscThread
from tests.support.twilio_client import host_style_client, rest_error
from tests.support.webhook_receiver import WebhookReceiver

NUMBER = "+14155550100"  # in carrier A's inventory


def carrier_toml(name: str, port: int, numbers: list[str], **extra: object) -> str:
    lines = ["[[carriers]]", f'name = "{name}"', 'type = "smpp"', 'host = "127.0.0.1"', f"port = {port}",
             'system_id = "openline"', 'password = "secret"', f"numbers = {numbers!r}".replace("'", '"'),
             "reconnect_min = 0.1", "reconnect_max = 0.5", "response_timeout = 2.0"]
    lines += [f"{key} = {value!r}".replace("'", '"') if isinstance(value, str) else f"{key} = {str(value).lower()}"
              for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def one_carrier(port: int, **extra: object) -> str:
    """Config for one SMPP carrier, "aggregator-a", owning NUMBER and taking every destination."""
    return carrier_toml("aggregator-a", port, [NUMBER], **extra) + \
        '[[routes]]\nmatch = "+"\ncarriers = ["aggregator-a"]\n'


def start(tmp: Path, config: str, name: str = "data") -> OpenlineServer:
    path = tmp / f"{name}.toml"
    path.write_text(config)
    sid, token = new_credentials()
    server = OpenlineServer(tmp / name, args=["--config", str(path)],
                            env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    server.account_sid, server.auth_token = sid, token  # type: ignore[attr-defined]
    return server.start()


@pytest.fixture
def smsc() -> Iterator[SmscThread]:
    thread = SmscThread().start()
    yield thread
    thread.stop()


def sdk(server: OpenlineServer) -> Client:
    return host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]


def bound(server: OpenlineServer, carrier: str) -> bool:
    return bool(httpx.get(f"{server.url}/health").json()["carriers"][carrier]["state"] == "bound")


def test_send_receipt_mo_and_inventory(tmp_path: Path, smsc: SmscThread) -> None:
    config = one_carrier(smsc.port)
    server = start(tmp_path, config)
    receiver = WebhookReceiver(server.auth_token).start()  # type: ignore[attr-defined]
    try:
        client = sdk(server)
        wait_for(lambda: bound(server, "aggregator-a"))
        # The carrier's inventory is on offer, and buying it routes its inbound traffic here.
        offered = [n.phone_number for n in client.available_phone_numbers("US").local.list(area_code=415)]
        assert NUMBER in offered
        number = client.incoming_phone_numbers.create(phone_number=NUMBER, sms_url=receiver.url("/mo"))
        assert number.origin == "aggregator-a"

        message = client.messages.create(body="Hello over SMPP", from_=NUMBER, to="+447700900123",
                                         status_callback=receiver.url("/status"))
        (submit,) = smsc.call(smsc.smsc.wait_for_submits(1))  # type: ignore[union-attr]
        assert submit.pdu.destination_addr == "447700900123" and submit.pdu.source_addr == "14155550100"
        assert submit.pdu.registered_delivery == 1 and submit.text == "Hello over SMPP"
        sent = wait_for(lambda: (m := client.messages(message.sid).fetch()).status == "sent" and m)
        assert sent.price.startswith("-")  # type: ignore[attr-defined]
        smsc.call(smsc.smsc.send_receipt(submit, "DELIVRD"))  # type: ignore[union-attr]
        wait_for(lambda: client.messages(message.sid).fetch().status == "delivered")
        latency = httpx.get(f"{server.url}/health").json()["carriers"]["aggregator-a"]["receipt_latency_s"]
        assert latency["samples"] == 1 and latency["p50"] >= 0
        hooks = receiver.wait("/status", 4)
        assert [h.get("MessageStatus") for h in hooks] == ["queued", "sending", "sent", "delivered"]

        smsc.call(smsc.smsc.send_mo("+447700900123", NUMBER, "reply over SMPP"))  # type: ignore[union-attr]
        (mo,) = receiver.wait("/mo")
        assert mo.signature_valid and (mo.get("From"), mo.get("To"), mo.get("Body")) == (
            "+447700900123", NUMBER, "reply over SMPP")
        validate_exchanges(client)
    finally:
        receiver.stop()
        server.stop()


def test_multipart_ucs2_delivered_after_last_part(tmp_path: Path, smsc: SmscThread) -> None:
    config = one_carrier(smsc.port)
    server = start(tmp_path, config)
    try:
        client = sdk(server)
        wait_for(lambda: bound(server, "aggregator-a"))
        client.incoming_phone_numbers.create(phone_number=NUMBER)
        body = "Привет, мир! 😀 " * 9  # 144 UTF-16 units: UCS-2 in three parts of at most 67
        message = client.messages.create(body=body, from_=NUMBER, to="+447700900124")
        assert message.num_segments == "3"
        parts = smsc.call(smsc.smsc.wait_for_submits(3))  # type: ignore[union-attr]
        assert all(p.pdu.data_coding == 0x08 and p.pdu.esm_class & 0x40 for p in parts)
        assert "".join(p.text for p in parts) == body
        wait_for(lambda: client.messages(message.sid).fetch().status == "sent")
        for part in parts[:2]:
            smsc.call(smsc.smsc.send_receipt(part, "DELIVRD"))  # type: ignore[union-attr]
        time.sleep(0.5)
        assert client.messages(message.sid).fetch().status == "sent"  # one part still out
        smsc.call(smsc.smsc.send_receipt(parts[2], "DELIVRD"))  # type: ignore[union-attr]
        wait_for(lambda: client.messages(message.sid).fetch().status == "delivered")

        # A failed part makes the whole message undelivered.
        other = client.messages.create(body=body, from_=NUMBER, to="+447700900125")
        more = smsc.call(smsc.smsc.wait_for_submits(6))[3:]  # type: ignore[union-attr]
        wait_for(lambda: client.messages(other.sid).fetch().status == "sent")
        smsc.call(smsc.smsc.send_receipt(more[0], "DELIVRD"))  # type: ignore[union-attr]
        smsc.call(smsc.smsc.send_receipt(more[1], "UNDELIV", err="001"))  # type: ignore[union-attr]
        failed = wait_for(lambda: (m := client.messages(other.sid).fetch()).status == "undelivered" and m)
        assert failed.error_code == 30005  # type: ignore[attr-defined]  # GSM MAP 1: unknown subscriber
    finally:
        server.stop()


def test_receipt_before_response_and_hex_ids(tmp_path: Path) -> None:
    thread = SmscThread(message_ids="hex", receipt="DELIVRD", receipt_before_response=True,
                        receipt_ids="decimal").start()
    config = one_carrier(thread.port)
    server = start(tmp_path, config)
    try:
        client = sdk(server)
        wait_for(lambda: bound(server, "aggregator-a"))
        client.incoming_phone_numbers.create(phone_number=NUMBER)
        sids = [client.messages.create(body=f"early {i}", from_=NUMBER, to="+447700900126").sid for i in range(3)]
        for sid in sids:
            wait_for(lambda sid=sid: client.messages(sid).fetch().status == "delivered")
        health = httpx.get(f"{server.url}/health").json()
        assert health["carriers"]["aggregator-a"]["unmatched_receipts"] == 0
    finally:
        server.stop()
        thread.stop()


def test_unmatched_receipts_are_kept(tmp_path: Path, smsc: SmscThread) -> None:
    config = one_carrier(smsc.port)
    server = start(tmp_path, config)
    try:
        wait_for(lambda: bound(server, "aggregator-a"))
        smsc.call(smsc.smsc.send_receipt("99999999", "DELIVRD"))  # type: ignore[union-attr]
        wait_for(lambda: httpx.get(f"{server.url}/health").json()["carriers"]["aggregator-a"]["unmatched_receipts"] == 1)
    finally:
        server.stop()


def test_throttling_and_permanent_errors(tmp_path: Path, smsc: SmscThread) -> None:
    config = one_carrier(smsc.port)
    server = start(tmp_path, config)
    try:
        client = sdk(server)
        wait_for(lambda: bound(server, "aggregator-a"))
        client.incoming_phone_numbers.create(phone_number=NUMBER)
        smsc.run(smsc.smsc.throttle, 2)  # type: ignore[union-attr]
        throttled = client.messages.create(body="wait for me", from_=NUMBER, to="+447700900127")
        wait_for(lambda: client.messages(throttled.sid).fetch().status == "sent", timeout=15)
        assert len(smsc.smsc.submits) == 3  # type: ignore[union-attr]  # two refusals, then accepted
        smsc.run(smsc.smsc.reject_destination, "447700900128")  # type: ignore[union-attr]
        refused = client.messages.create(body="nope", from_=NUMBER, to="+447700900128")
        failed = wait_for(lambda: (m := client.messages(refused.sid).fetch()).status == "failed" and m)
        assert failed.error_code == 30005  # type: ignore[attr-defined]  # ESME_RINVDSTADR
    finally:
        server.stop()


def test_failover_and_return(tmp_path: Path) -> None:
    first, second = SmscThread().start(), SmscThread().start()
    config = (carrier_toml("first", first.port, [NUMBER]) + carrier_toml("second", second.port, [])
              + '[[routes]]\nmatch = "+44"\ncarriers = ["first", "second"]\n')
    server = start(tmp_path, config)
    try:
        client = sdk(server)
        wait_for(lambda: bound(server, "first") and bound(server, "second"))
        client.incoming_phone_numbers.create(phone_number=NUMBER)
        first.call(first.smsc.stop())  # type: ignore[union-attr]  # the first SMSC goes down
        wait_for(lambda: not bound(server, "first"))
        message = client.messages.create(body="via second", from_=NUMBER, to="+447700900129")
        wait_for(lambda: client.messages(message.sid).fetch().status == "sent")
        assert [s.text for s in second.smsc.submits] == ["via second"]  # type: ignore[union-attr]
        first.call(first.smsc.start())  # type: ignore[union-attr]  # back (same port)
        wait_for(lambda: bound(server, "first"), timeout=15)
        back = client.messages.create(body="via first again", from_=NUMBER, to="+447700900130")
        wait_for(lambda: client.messages(back.sid).fetch().status == "sent")
        assert [s.text for s in first.smsc.submits] == ["via first again"]  # type: ignore[union-attr]
    finally:
        server.stop()
        first.stop()
        second.stop()


def test_disconnect_with_full_window_loses_nothing(tmp_path: Path, smsc: SmscThread) -> None:
    config = one_carrier(smsc.port, window=5)
    server = start(tmp_path, config)
    try:
        client = sdk(server)
        wait_for(lambda: bound(server, "aggregator-a"))
        client.incoming_phone_numbers.create(phone_number=NUMBER)
        smsc.run(smsc.smsc.hold)  # type: ignore[union-attr]  # keep the responses back: the window fills
        sids = [client.messages.create(body=f"m{i}", from_=NUMBER, to="+447700900131").sid for i in range(8)]
        smsc.call(smsc.smsc.wait_for_submits(5))  # type: ignore[union-attr]
        smsc.call(smsc.smsc.drop())  # type: ignore[union-attr]  # connection lost with 5 in flight
        smsc.smsc.holding = False  # type: ignore[union-attr]
        for sid in sids:
            wait_for(lambda sid=sid: client.messages(sid).fetch().status == "sent", timeout=20)
        texts = [s.text for s in smsc.smsc.submits]  # type: ignore[union-attr]
        assert set(texts) == {f"m{i}" for i in range(8)}
        resent = len(texts) - 8
        assert resent <= 5  # at most the in-flight window went out twice
    finally:
        server.stop()


def test_sandbox_disabled_limits_inventory(tmp_path: Path, smsc: SmscThread) -> None:
    config = carrier_toml("aggregator-a", smsc.port, [NUMBER]) + \
        '[[routes]]\nmatch = "+44"\ncarriers = ["aggregator-a"]\n[sandbox]\nenabled = false\n'
    server = start(tmp_path, config)
    try:
        client = sdk(server)
        assert rest_error(lambda: client.incoming_phone_numbers.create(phone_number="+15555550123")) == (400, 21422)
        assert client.incoming_phone_numbers.create(phone_number=NUMBER).phone_number == NUMBER
        assert [n.phone_number for n in client.available_phone_numbers("US").local.list()] == []
        unroutable = client.messages.create(body="x", from_=NUMBER, to="+15558675399")
        failed = wait_for(lambda: (m := client.messages(unroutable.sid).fetch()).status == "failed" and m)
        assert failed.error_code == 21612  # type: ignore[attr-defined]
    finally:
        server.stop()


@pytest.mark.parametrize("concat", ["udh8", "udh16", "sar"])
def test_multipart_mo_is_reassembled(tmp_path: Path, smsc: SmscThread, concat: str) -> None:
    config = one_carrier(smsc.port)
    server = start(tmp_path, config)
    receiver = WebhookReceiver(server.auth_token).start()  # type: ignore[attr-defined]
    try:
        client = sdk(server)
        wait_for(lambda: bound(server, "aggregator-a"))
        client.incoming_phone_numbers.create(phone_number=NUMBER, sms_url=receiver.url("/mo"))
        text = "Über 160 Zeichen? " * 12  # GSM-7, several parts
        # Parts out of order, and one repeated (an SMSC retry): still one message, whole.
        smsc.call(smsc.smsc.send_mo("+447700900150", NUMBER, text, concat=concat,  # type: ignore[union-attr]
                                    order=[2, 1, 2]))
        (mo,) = receiver.wait("/mo")
        assert mo.get("Body") == text and mo.get("NumSegments") == "2"
        messages = client.messages.list(from_="+447700900150")
        assert [m.body for m in messages] == [text] and messages[0].direction == "inbound"
    finally:
        receiver.stop()
        server.stop()
