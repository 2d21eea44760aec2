"""Peers that misbehave — webhook endpoints that hang, reset, fail or loop; an SMSC that stops
answering — cost alerts and retries, never a stalled API or a lost message."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from twilio.rest import Client

from tests.conftest import new_credentials
from tests.integration.test_smpp_pipeline import NUMBER, bound, one_carrier, sdk, start
from tests.integration.test_sms_basic import wait_for
from tests.support.reliability import record
from tests.support.server import OpenlineServer
from tests.support.smsc_thread import SmscThread
from tests.support.twilio_client import host_style_client

pytestmark = pytest.mark.slow


class _Faulty(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.startswith("/hang"):
            time.sleep(20)
        elif self.path.startswith("/reset"):
            # Close with RST (linger 0) before answering anything.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        elif self.path.startswith("/500"):
            self.send_response(500)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        elif self.path.startswith("/loop"):
            self.send_response(307)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def faulty() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Faulty)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_webhooks_that_hang_reset_fail_and_loop(tmp_path: Path, faulty: str) -> None:
    sid, token = new_credentials()
    server = OpenlineServer(tmp_path / "data", env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    server.start()
    try:
        client: Client = host_style_client(server.url, sid, token)
        client.incoming_phone_numbers.create(phone_number="+15555550460")
        targets = [f"{faulty}/hang#rt=1000", f"{faulty}/reset", f"{faulty}/500", f"{faulty}/loop"]
        slowest = 0.0
        sids = []
        for i in range(40):
            began = time.monotonic()
            sids.append(client.messages.create(to="+15558675460", from_="+15555550460", body=f"w{i}",
                                               status_callback=targets[i % 4]).sid)
            slowest = max(slowest, time.monotonic() - began)
        for message_sid in sids:
            wait_for(lambda s=message_sid: client.messages(s).fetch().status == "delivered", timeout=60)
        assert slowest < 5.0, f"an API call took {slowest:.1f} s while webhooks misbehaved"
        wanted = {"11205", "11200", "11215"}
        def alerts_with_every_code() -> list[object] | None:
            found = client.monitor.v1.alerts.list()
            return found if wanted <= {a.error_code for a in found} else None

        alerts = wait_for(alerts_with_every_code, timeout=120)
        by_url: dict[str, set[str]] = {}
        for alert in alerts:  # type: ignore[union-attr]
            by_url.setdefault((alert.request_url or "").split("#")[0].rsplit("/", 1)[-1], set()).add(alert.error_code)
        codes = sorted({a.error_code for a in alerts})  # type: ignore[union-attr]
        record("webhook endpoints that hang, reset, answer 500, redirect in a loop",
               "40 messages, status callbacks spread over the 4",
               f"alerts {codes}; slowest API call {slowest:.2f} s; all delivered", "0 messages")
        assert by_url["hang"] == {"11205"} and by_url["500"] == {"11200"} and by_url["loop"] == {"11215"}
        assert by_url["reset"] and by_url["reset"] <= {"11200", "11205", "11206"}  # RST: a retrieval failure
    finally:
        server.stop()


def test_smsc_that_stops_answering(tmp_path: Path) -> None:
    smsc = SmscThread().start()
    server = start(tmp_path, one_carrier(smsc.port, window=5, request_dlr=False))
    try:
        client = sdk(server)
        wait_for(lambda: bound(server, "aggregator-a"))
        client.incoming_phone_numbers.create(phone_number=NUMBER)
        smsc.run(smsc.smsc.hold)  # type: ignore[union-attr]  # it reads our PDUs and answers nothing
        sids = [client.messages.create(body=f"s{i}", from_=NUMBER, to="+447700900140").sid for i in range(10)]
        time.sleep(5)  # well past the 2 s response timeout
        began = time.monotonic()
        sids.append(client.messages.create(body="s10", from_=NUMBER, to="+447700900140").sid)
        assert time.monotonic() - began < 3.0, "the API waited on the silent SMSC"
        assert all(client.messages(s).fetch().status in ("queued", "sending", "accepted") for s in sids)
        smsc.smsc.holding = False  # type: ignore[union-attr]  # it answers again
        smsc.run(smsc.smsc.release)  # type: ignore[union-attr]
        for message_sid in sids:
            wait_for(lambda s=message_sid: client.messages(s).fetch().status == "sent", timeout=60)
        texts = [s.text for s in smsc.smsc.submits]  # type: ignore[union-attr]
        assert set(texts) == {f"s{i}" for i in range(11)}
        record("SMSC that stops answering (no submit_sm_resp) for 5 s", "11 messages",
               f"API kept answering; all sent once it answered; {len(texts) - 11} submits repeated", "0 messages")
    finally:
        server.stop()
        smsc.stop()
