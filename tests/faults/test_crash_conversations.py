"""kill -9 right after conversation messages are accepted: every SMS copy still goes out, once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import wait_for
from tests.support.server import OpenlineServer

NUMBER, HANDSET = "+15555550510", "+15558670510"
MESSAGES = 30


@pytest.mark.slow
def test_kill_9_after_accepting_conversation_messages(tmp_path: Path) -> None:
    sid, token = new_credentials()
    env = {"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}
    server = OpenlineServer(tmp_path / "data", env=env).start()
    auth = (sid, token)
    host = {"Host": "conversations.twilio.com"}
    try:
        httpx.post(f"{server.url}/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", data={"PhoneNumber": NUMBER},
                   auth=auth).raise_for_status()
        conv = httpx.post(f"{server.url}/v1/Conversations", headers=host, auth=auth).json()["sid"]
        httpx.post(f"{server.url}/v1/Conversations/{conv}/Participants", headers=host, auth=auth,
                   data={"MessagingBinding.Address": HANDSET,
                         "MessagingBinding.ProxyAddress": NUMBER}).raise_for_status()
        with httpx.Client(base_url=server.url, headers=host, auth=auth) as http:
            for i in range(MESSAGES):
                answer = http.post(f"/v1/Conversations/{conv}/Messages", data={"Body": f"copy {i}"})
                assert answer.status_code == 201, answer.text
        server.kill()  # the copies are at most queued: only the database knows about them now
        server.start()

        def received() -> list[str]:
            response = httpx.get(f"{server.url}/sandbox/v1/Handsets/{HANDSET}/Messages",
                                 params={"PageSize": 200}, auth=auth)
            return [m["body"] for m in response.json()["messages"]]

        wait_for(lambda: len(received()) >= MESSAGES, timeout=30)
        counts = Counter(received())
        assert counts == Counter({f"copy {i}": 1 for i in range(MESSAGES)})
        listed = httpx.get(f"{server.url}/v1/Conversations/{conv}/Messages", headers=host, auth=auth,
                           params={"PageSize": 100}).json()["messages"]
        assert [m["index"] for m in listed] == list(range(MESSAGES))
    finally:
        server.stop()
