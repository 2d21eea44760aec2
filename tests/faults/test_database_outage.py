"""PostgreSQL unreachable for 10 s under a running Openline: the API answers 503 at once instead
of hanging, nothing accepted is lost, and it recovers by itself when the database is back."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_credentials
from tests.integration.test_console import ConsoleClient
from tests.integration.test_sms_basic import wait_for
from tests.support.reliability import record
from tests.support.server import OpenlineServer
from tests.support.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
NUMBER = "+15555550480"


def test_ten_seconds_without_the_database(tmp_path: Path, postgres_url: str) -> None:
    subprocess.run([sys.executable, "-m", "openline", "migrate", "--database-url", postgres_url,
                    "--data-dir", str(tmp_path / "data")], check=True, capture_output=True)
    proxy = TcpProxy("127.0.0.1", 5432).start()
    through_proxy = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    assert through_proxy != postgres_url
    sid, token = new_credentials()
    auth = (sid, token)
    server = OpenlineServer(tmp_path / "data", args=["--database-url", through_proxy],
                            env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    server.start()
    messages = f"{server.url}/2010-04-01/Accounts/{sid}/Messages.json"

    def send(body: str) -> httpx.Response:
        return httpx.post(messages, auth=auth, timeout=30, data={"To": "+15558675480", "From": NUMBER, "Body": body})

    console = ConsoleClient(server.url)
    try:
        httpx.post(f"{server.url}/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", auth=auth,
                   data={"PhoneNumber": NUMBER}).raise_for_status()
        accepted = [send(f"before {i}").json()["sid"] for i in range(10)]
        key = httpx.post(f"{server.url}/v3/api_keys", auth=auth, json={"name": "outage"}).json()["api_key"]
        assert console.sign_in(sid, token).status_code in (200, 303)
        assert console.get("/messages").status_code == 200
        proxy.cut()
        outage_ends = time.monotonic() + 10
        answers = []
        while time.monotonic() < outage_ends - 1:
            began = time.monotonic()
            answer = send("during the outage")
            answers.append((answer.status_code, time.monotonic() - began))
            if answer.status_code == 201:
                accepted.append(answer.json()["sid"])
            else:
                body = answer.json()
                assert (answer.status_code, body["code"]) == (503, 20503), body
            time.sleep(0.5)
        assert answers and all(took < 8 for _, took in answers), f"the API hung: {answers}"
        # The SendGrid API and the console answer "unavailable" in their own shapes too, not 500.
        mail = httpx.get(f"{server.url}/v3/templates", headers={"Authorization": f"Bearer {key}"}, timeout=30)
        assert mail.status_code == 503 and "errors" in mail.json(), mail.text
        page = console.get("/messages")
        assert page.status_code == 503 and page.headers["retry-after"] == "1", page.text
        assert any(status == 503 for status, _ in answers), "nothing noticed the outage"
        refused = sum(1 for status, _ in answers if status == 503)
        record("PostgreSQL unreachable for 10 s (connections cut at a TCP proxy)", f"{len(answers)} sends during it",
               f"{refused} answered 503/20503 within {max(t for _, t in answers):.1f} s; recovered by itself",
               "0 messages")
        time.sleep(max(0.0, outage_ends - time.monotonic()))
        proxy.restore()
        recovered = wait_for(lambda: (r := send("after")).status_code == 201 and r, timeout=60)
        accepted.append(recovered.json()["sid"])  # type: ignore[union-attr]
        for message_sid in accepted:
            wait_for(lambda s=message_sid: httpx.get(f"{server.url}/2010-04-01/Accounts/{sid}/Messages/{s}.json",
                                                     auth=auth).json().get("status") == "delivered", timeout=90)
    finally:
        console.http.close()
        server.stop()
        proxy.stop()
