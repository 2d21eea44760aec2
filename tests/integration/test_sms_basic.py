"""Sending through the sandbox network with the official SDK: the basic path end to end."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import new_credentials, validate_exchanges
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client, rest_error


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("sms") / "data", args=["--sandbox-clock"],
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def wait_for(predicate: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def inbox(server: OpenlineServer, handset: str) -> list[dict]:  # type: ignore[type-arg]
    response = httpx.get(f"{server.url}/sandbox/v1/Handsets/{handset}/Messages",
                         auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return response.json()["messages"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def number(server: OpenlineServer) -> str:
    client = host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    return client.incoming_phone_numbers.create(phone_number="+15555550100").phone_number  # type: ignore[no-any-return]


def test_send_and_deliver(client: Client, server: OpenlineServer, number: str) -> None:
    message = client.messages.create(body="Hello from Openline", from_=number, to="+15558675310")
    assert message.sid.startswith("SM") and message.status == "queued"
    assert message.num_segments == "1" and message.direction == "outbound-api"
    delivered = wait_for(lambda: (m := client.messages(message.sid).fetch()).status == "delivered" and m)
    assert delivered.date_sent is not None and delivered.price.startswith("-")  # type: ignore[attr-defined]
    received = inbox(server, "+15558675310")
    assert [(m["sid"], m["body"], m["from"]) for m in received] == [(message.sid, "Hello from Openline", number)]
    assert message.sid in [m.sid for m in client.messages.list(to="+15558675310")]
    validate_exchanges(client)


def test_validation_codes(client: Client, number: str) -> None:
    cases = [
        (dict(body="x", from_=number, to="+15005550001"), 21211),
        (dict(body="x", from_=number, to="nonsense"), 21211),
        (dict(body="x", from_=number, to="+15005550002"), 21612),
        (dict(body="x", from_=number, to="+15005550003"), 21408),
        (dict(body="x", from_=number, to="+15005550004"), 21610),
        (dict(body="x", from_=number, to="+15005550009"), 21614),
        (dict(body="x", from_="+15005550001", to="+15558675310"), 21212),
        (dict(body="x", from_="+15005550007", to="+15558675310"), 21606),
        (dict(body="x", from_="+15005550008", to="+15558675310"), 21611),
        (dict(body="x", from_="+15555550199", to="+15558675310"), 21606),
        (dict(from_=number, to="+15558675310"), 21602),
        (dict(body="x" * 1601, from_=number, to="+15558675310"), 21617),
        (dict(body="x", to="+15558675310"), 21603),
    ]
    for kwargs, code in cases:
        assert rest_error(lambda kwargs=kwargs: client.messages.create(**kwargs)) == (400, code), kwargs
    ok = client.messages.create(body="x", from_="+15005550006", to="+15558675310")
    assert ok.status == "queued"


def test_missing_to_and_suspended_account(client: Client, server: OpenlineServer, number: str) -> None:
    url = f"{server.url}/2010-04-01/Accounts/{server.account_sid}/Messages.json"  # type: ignore[attr-defined]
    auth = (server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    missing_to = httpx.post(url, data={"From": number, "Body": "x"}, auth=auth)
    assert missing_to.status_code == 400 and missing_to.json()["code"] == 21604
    sub = client.api.v2010.accounts.create(friendly_name="to suspend")
    sub_number = client.api.v2010.accounts(sub.sid).incoming_phone_numbers.create(phone_number="+15555550109")
    sub_client = host_style_client(server.url, sub.sid, sub.auth_token)
    assert sub_client.messages.create(body="ok", from_=sub_number.phone_number, to="+15558675319").status == "queued"
    client.api.v2010.accounts(sub.sid).update(status="suspended")
    assert rest_error(lambda: sub_client.messages.create(body="x", from_=sub_number.phone_number,
                                                         to="+15558675319")) == (403, 10001)
    # A suspended account can still read.
    assert sub_client.messages.list(limit=1)
    validate_exchanges(sub_client)


def test_alphanumeric_sender(client: Client, server: OpenlineServer) -> None:
    message = client.messages.create(body="from a brand", from_="Acme", to="+447400123456")
    assert message.from_ == "Acme"
    assert wait_for(lambda: client.messages(message.sid).fetch().status == "delivered")
    assert rest_error(lambda: client.messages.create(body="x", from_="Acme", to="+15558675318")) == (400, 21612)
    assert rest_error(lambda: client.messages.create(body="x", from_="Way too long name", to="+447400123456")) == (
        400, 21212)
    sub = client.api.v2010.accounts.create(friendly_name="no alpha")
    httpx.post(f"{server.url}/2010-04-01/Accounts/{sub.sid}.json", data={"AlphaSenderEnabled": "false"},
               auth=(server.account_sid, server.auth_token)).raise_for_status()  # type: ignore[attr-defined]
    sub_client = host_style_client(server.url, sub.sid, sub.auth_token)
    assert rest_error(lambda: sub_client.messages.create(body="x", from_="Acme", to="+447400123456")) == (400, 21212)


def test_sandbox_clock_needs_the_flag(data_dir) -> None:  # type: ignore[no-untyped-def]
    sid, token = new_credentials()
    srv = OpenlineServer(data_dir, env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}).start()
    try:
        response = httpx.post(f"{srv.url}/sandbox/v1/Clock", data={"Advance": "60"}, auth=(sid, token))
        assert response.status_code == 404 and response.json()["code"] == 20404
    finally:
        srv.stop()
