"""Scheduling on the sandbox clock, cancel, redact, delete, messaging services, opt-out, segments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import inbox, wait_for
from tests.integration.test_sms_webhooks import handset_sends
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client, rest_error


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("life") / "data", args=["--sandbox-clock"],
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def advance(server: OpenlineServer, seconds: float) -> dict:  # type: ignore[type-arg]
    response = httpx.post(f"{server.url}/sandbox/v1/Clock", data={"Advance": str(seconds)},
                          auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def sandbox_now(server: OpenlineServer) -> datetime:
    return datetime.strptime(advance(server, 0)["now"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


@pytest.fixture(scope="module")
def service(server: OpenlineServer) -> tuple[str, str]:
    client = host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    number = client.incoming_phone_numbers.create(phone_number="+15555550300")
    svc = client.messaging.v1.services.create(friendly_name="pool")
    client.messaging.v1.services(svc.sid).phone_numbers.create(phone_number_sid=number.sid)
    return svc.sid, number.phone_number


def test_schedule_fires_when_the_clock_moves(client: Client, server: OpenlineServer,
                                             service: tuple[str, str]) -> None:
    send_at = sandbox_now(server) + timedelta(minutes=20)
    message = client.messages.create(to="+15558675320", body="later", messaging_service_sid=service[0],
                                     send_at=send_at, schedule_type="fixed")
    assert message.status == "scheduled"
    advance(server, 60)
    assert client.messages(message.sid).fetch().status == "scheduled"
    advance(server, 20 * 60)
    final = wait_for(lambda: (m := client.messages(message.sid).fetch()).status == "delivered" and m)
    assert final.from_ == service[1]  # type: ignore[attr-defined]
    assert [m["sid"] for m in inbox(server, "+15558675320")] == [message.sid]


def test_cancel_scheduled(client: Client, server: OpenlineServer, service: tuple[str, str]) -> None:
    send_at = sandbox_now(server) + timedelta(hours=1)
    message = client.messages.create(to="+15558675321", body="never", messaging_service_sid=service[0],
                                     send_at=send_at, schedule_type="fixed")
    assert client.messages(message.sid).update(status="canceled").status == "canceled"
    advance(server, 2 * 3600)
    assert client.messages(message.sid).fetch().status == "canceled"
    assert inbox(server, "+15558675321") == []
    assert rest_error(lambda: client.messages(message.sid).update(status="canceled"))[0] == 400


def test_schedule_validation(client: Client, server: OpenlineServer, service: tuple[str, str]) -> None:
    now = sandbox_now(server)
    number = service[1]
    assert rest_error(lambda: client.messages.create(to="+15558675322", body="x", from_=number,
                                                     send_at=now + timedelta(hours=1),
                                                     schedule_type="fixed")) == (400, 35118)
    assert rest_error(lambda: client.messages.create(to="+15558675322", body="x", messaging_service_sid=service[0],
                                                     send_at=now + timedelta(minutes=5),
                                                     schedule_type="fixed")) == (400, 35114)
    assert rest_error(lambda: client.messages.create(to="+15558675322", body="x", messaging_service_sid=service[0],
                                                     send_at=now + timedelta(days=36),
                                                     schedule_type="fixed")) == (400, 35115)


def test_service_send_is_accepted_then_queued(client: Client, server: OpenlineServer,
                                               service: tuple[str, str]) -> None:
    message = client.messages.create(to="+15558675323", body="via pool", messaging_service_sid=service[0])
    assert message.status == "accepted" and message.messaging_service_sid == service[0] and message.from_ is None
    final = wait_for(lambda: (m := client.messages(message.sid).fetch()).status == "delivered" and m)
    assert final.from_ == service[1]  # type: ignore[attr-defined]


def test_redact_and_delete(client: Client, server: OpenlineServer, service: tuple[str, str]) -> None:
    message = client.messages.create(to="+15558675325", body="secret", from_=service[1])
    wait_for(lambda: client.messages(message.sid).fetch().status == "delivered")
    assert client.messages(message.sid).update(body="").body == ""
    assert client.messages(message.sid).fetch().body == ""
    assert client.messages(message.sid).delete() is True
    assert rest_error(lambda: client.messages(message.sid).fetch()) == (404, 20404)


def test_opt_out_and_back_in(client: Client, server: OpenlineServer, service: tuple[str, str]) -> None:
    handset = "+15558675326"
    handset_sends(server, handset, service[1], "STOP")
    confirmation = wait_for(lambda: inbox(server, handset))
    assert "unsubscribed" in confirmation[0]["body"]  # type: ignore[index]
    assert rest_error(lambda: client.messages.create(to=handset, body="x", from_=service[1])) == (400, 21610)
    assert rest_error(lambda: client.messages.create(to=handset, body="x", messaging_service_sid=service[0])) == (
        400, 21610)
    handset_sends(server, handset, service[1], "help")
    wait_for(lambda: any("Reply STOP" in m["body"] for m in inbox(server, handset)))
    handset_sends(server, handset, service[1], "Start")
    wait_for(lambda: any("re-subscribed" in m["body"] for m in inbox(server, handset)))
    again = client.messages.create(to=handset, body="welcome back", from_=service[1])
    assert again.status == "queued"


def test_opt_out_survives_restart(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sid, token = new_credentials()
    env = {"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}
    srv = OpenlineServer(tmp_path / "data", env=env).start()
    try:
        client = host_style_client(srv.url, sid, token)
        number = client.incoming_phone_numbers.create(phone_number="+15555550302").phone_number
        srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
        handset_sends(srv, "+15558675327", number, "STOP")
    finally:
        srv.stop()
    srv = OpenlineServer(tmp_path / "data", env=env).start()
    try:
        client = host_style_client(srv.url, sid, token)
        assert rest_error(lambda: client.messages.create(to="+15558675327", body="x", from_=number)) == (400, 21610)
    finally:
        srv.stop()


@pytest.mark.parametrize(("body", "segments"), [
    ("hello", "1"), ("a" * 160, "1"), ("a" * 161, "2"), ("a" * 1600, "11"), ("€" * 80, "1"), ("€" * 81, "2"),
    ("{" * 81, "2"), ("á" * 70, "1"), ("á" * 71, "2"), ("😀" * 35, "1"), ("😀" * 36, "2"), ("你好" * 35, "1"),
    ("你好" * 36, "2"), ("Ç" * 160, "1"),
])
def test_segment_counts(client: Client, service: tuple[str, str], body: str, segments: str) -> None:
    message = client.messages.create(to="+15558675328", body=body, from_=service[1])
    assert message.num_segments == segments


def test_handset_inbox_is_per_account(client: Client, server: OpenlineServer, service: tuple[str, str]) -> None:
    handset = "+15558675329"
    sent = [client.messages.create(to=handset, body=f"n{i}", from_=service[1]).sid for i in range(5)]
    wait_for(lambda: len(inbox(server, handset)) == 5)
    everything = [m["sid"] for m in inbox(server, handset)]  # newest delivery first
    assert sorted(everything) == sorted(sent)
    page = httpx.get(f"{server.url}/sandbox/v1/Handsets/%2B{handset[1:]}/Messages?PageSize=2",
                     auth=(server.account_sid, server.auth_token)).json()  # type: ignore[attr-defined]
    assert [m["sid"] for m in page["messages"]] == everything[:2]
    assert page["meta"]["key"] == "messages" and page["meta"]["next_page_url"]
    second = httpx.get(page["meta"]["next_page_url"], auth=(server.account_sid, server.auth_token)).json()  # type: ignore[attr-defined]
    assert [m["sid"] for m in second["messages"]] == everything[2:4]
    stranger = client.api.v2010.accounts.create(friendly_name="stranger")
    theirs = httpx.get(f"{server.url}/sandbox/v1/Handsets/{handset}/Messages", auth=(stranger.sid, stranger.auth_token))
    assert theirs.json()["messages"] == []


def test_list_filters(client: Client, service: tuple[str, str]) -> None:
    a = client.messages.create(to="+15558675330", body="a", from_=service[1])
    wait_for(lambda: client.messages(a.sid).fetch().date_sent is not None)
    today = client.messages(a.sid).fetch().date_sent.date()  # type: ignore[union-attr]
    assert a.sid in [m.sid for m in client.messages.list(to="+15558675330", date_sent=today)]
    assert a.sid in [m.sid for m in client.messages.list(from_=service[1], date_sent_after=today)]
    assert a.sid not in [m.sid for m in client.messages.list(date_sent_before=today - timedelta(days=1))]


def test_media_auth_can_be_required(client: Client, server: OpenlineServer) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550303", sms_url="")
    inbound = handset_sends(server, "+15558675331", number.phone_number, "pic", ["http://127.0.0.1:9/x.png"])
    media = client.messages(inbound["sid"]).media.list()[0]
    content_url = f"{server.url}{media.uri.removesuffix('.json')}"
    assert httpx.get(content_url).status_code == 302  # not stored: points at the original
    response = httpx.post(f"{server.url}/2010-04-01/Accounts/{server.account_sid}.json",  # type: ignore[attr-defined]
                          data={"MediaAuthRequired": "true"}, auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert httpx.get(content_url).status_code == 401
    assert httpx.get(content_url, auth=(server.account_sid, server.auth_token)).status_code == 302  # type: ignore[attr-defined]
