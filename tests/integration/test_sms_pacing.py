"""Per-sender pacing (off by default) and ValidityPeriod expiry in the queue (30001)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import wait_for
from tests.integration.test_sms_lifecycle import advance
from tests.support.server import OpenlineServer

PACED = "+15555550400"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("pace") / "data", args=["--sandbox-clock"],
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token,
                              "OPENLINE_MESSAGING__SENDER_MPS": json.dumps({PACED: 0.01})})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def test_paced_message_expires_in_the_queue(client: Client, server: OpenlineServer) -> None:
    client.incoming_phone_numbers.create(phone_number=PACED)
    first = client.messages.create(to="+15558675340", body="goes now", from_=PACED)
    second = client.messages.create(to="+15558675341", body="waits", from_=PACED, validity_period=60)
    wait_for(lambda: client.messages(first.sid).fetch().status == "delivered")
    # One message per 100 s: the second one waits in the queue.
    assert client.messages(second.sid).fetch().status == "queued"
    assert httpx.get(f"{server.url}/health").json()["queue_depths"] == {PACED: 1}
    advance(server, 200)
    expired = wait_for(lambda: (m := client.messages(second.sid).fetch()).status == "failed" and m)
    assert expired.error_code == 30001  # type: ignore[attr-defined]


def test_unpaced_senders_are_not_held(client: Client) -> None:
    other = client.incoming_phone_numbers.create(phone_number="+15555550401").phone_number
    sids = [client.messages.create(to=f"+1555867535{i}", body="fast", from_=other).sid for i in range(5)]
    for sid in sids:
        wait_for(lambda sid=sid: client.messages(sid).fetch().status == "delivered")
