"""`openline serve` with a `[sip]` section: the user agent listens on UDP and TCP, the registrar
takes a SIP user's REGISTER, and the binding outlives a restart (it is in the database)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx

from openline.codecs.sip import NameAddr, SipUri, make_request, new_token
from openline.transports.rtp import MediaClock
from openline.transports.sip import Address
from tests.conftest import new_credentials
from tests.integration.test_sip_service import _register
from tests.support.server import OpenlineServer
from tests.support.sip_uas import TestUas, Uac
from tests.support.sip_voice import free_port
from tests.support.twilio_client import host_style_client


def write_config(path: Path, sip_port: int) -> Path:
    path.write_text(f"""
[sip]
listen = "127.0.0.1:{sip_port}"
rtp_ports = "21000-21999"

[[sip.trunks]]
name = "carrier-a"
proxy = "127.0.0.1:5070"
inbound_from = ["127.0.0.1"]
numbers = ["+14155550200"]

[[sip.users]]
username = "alice"
password = "secret"
number = "+14155550300"

[[routes]]
match = "+1415"
carriers = ["carrier-a"]
""")
    return path


async def _options_and_register(sip_port: int) -> tuple[int, list[int]]:
    clock = MediaClock()
    phone = TestUas(clock=clock)
    await phone.start()
    try:
        endpoint = phone.endpoint
        target = SipUri(host="127.0.0.1", port=sip_port)
        options = make_request("OPTIONS", target, from_=NameAddr(uri=SipUri(host="127.0.0.1", user="probe"))
                               .with_tag(new_token()), to=NameAddr(uri=target), call_id=new_token(), cseq=1,
                               via=endpoint.via("TCP"))
        responses, failure = await Uac(endpoint).request(options, Address("127.0.0.1", sip_port, "TCP"))
        assert failure is None
        return responses[-1].status, await _register(phone, sip_port, "alice", "secret")
    finally:
        await phone.close()


def test_serve_runs_the_sip_user_agent_and_keeps_registrations(data_dir: Path, tmp_path: Path) -> None:
    sip_port = free_port()
    config = write_config(tmp_path / "openline.toml", sip_port)
    sid, token = new_credentials()
    env = {"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}
    server = OpenlineServer(data_dir, env=env, args=["--config", str(config)]).start()
    try:
        # the trunk's numbers are inventory, as an SMPP carrier's are
        client = host_style_client(server.url, sid, token)
        offered = [n.phone_number for n in client.available_phone_numbers("US").local.list(area_code=415)]
        assert "+14155550200" in offered
        assert client.incoming_phone_numbers.create(phone_number="+14155550200").origin == "carrier-a"

        status, statuses = asyncio.run(_options_and_register(sip_port))
        assert status == 200  # OPTIONS over TCP
        assert statuses == [401, 200]
        health = httpx.get(f"{server.url}/health").json()
        assert health["sip"]["registrar"]["registered"] == 1
    finally:
        server.stop()
    with sqlite3.connect(data_dir / "openline.db") as db:
        rows = db.execute("SELECT username, transport FROM sip_registrations").fetchall()
    assert rows == [("alice", "UDP")]
    server = OpenlineServer(data_dir, env=env, args=["--config", str(config)]).start()  # keeps the binding
    server.stop()
    with sqlite3.connect(data_dir / "openline.db") as db:
        assert db.execute("SELECT count(*) FROM sip_registrations").fetchone() == (1,)
