"""Messaging v1 Services, their PhoneNumbers and AlphaSenders through the official twilio SDK."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest
from twilio.rest import Client

from tests.conftest import validate_exchanges
from tests.support.schemas import check_error_body, validate
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client, prefix_style_client, rest_error

_numbers = itertools.count(100)


def buy(client: Client) -> str:
    """A fresh +1 555 555 01xx number on the client's account; its PN SID."""
    return str(client.incoming_phone_numbers.create(phone_number=f"+1555555{next(_numbers):04d}").sid)


@pytest.fixture
def tenant(client: Client, server: OpenlineServer) -> Iterator[Client]:
    """A fresh subaccount's own SDK client, so listings hold only what a test made."""
    sub = client.api.v2010.accounts.create(friendly_name="messaging tenant")
    sdk = host_style_client(server.url, sub.sid, sub.auth_token)
    yield sdk
    assert validate_exchanges(sdk) > 0


def _auth(server: OpenlineServer) -> tuple[str, str]:
    return server.account_sid, server.auth_token  # type: ignore[attr-defined]


def test_service_crud_and_defaults(client: Client) -> None:
    svc = client.messaging.v1.services.create(friendly_name="alerts", inbound_request_url="https://example.com/in",
                                              sticky_sender=False)
    assert svc.sid.startswith("MG") and len(svc.sid) == 34
    assert svc.friendly_name == "alerts" and svc.inbound_request_url == "https://example.com/in"
    assert svc.sticky_sender is False
    # Twilio's documented defaults.
    assert (svc.inbound_method, svc.fallback_method, svc.fallback_url, svc.status_callback) == ("POST", "POST",
                                                                                                None, None)
    assert (svc.mms_converter, svc.smart_encoding, svc.fallback_to_long_code, svc.area_code_geomatch) == (
        True, True, True, True)
    assert (svc.synchronous_validation, svc.use_inbound_webhook_on_number, svc.us_app_to_person_registered) == (
        False, False, False)
    assert (svc.scan_message_content, svc.validity_period, svc.usecase) == ("inherit", 36000, "undeclared")
    # ISO 8601 dates parse into datetimes; links are absolute and name only served subresources.
    assert isinstance(svc.date_created, datetime) and isinstance(svc.date_updated, datetime)
    base = f"https://messaging.twilio.com/v1/Services/{svc.sid}"
    assert svc.url == base
    assert svc.links == {"phone_numbers": f"{base}/PhoneNumbers", "alpha_senders": f"{base}/AlphaSenders"}

    fetched = client.messaging.v1.services(svc.sid).fetch()
    assert (fetched.sid, fetched.friendly_name, fetched.sticky_sender) == (svc.sid, "alerts", False)
    assert svc.sid in [s.sid for s in client.messaging.v1.services.list()]

    updated = client.messaging.v1.services(svc.sid).update(
        friendly_name="alerts 2", inbound_request_url="", inbound_method="GET", validity_period=60,
        usecase="marketing", scan_message_content="disable", status_callback="https://example.com/status",
        area_code_geomatch=False)
    assert (updated.friendly_name, updated.inbound_request_url, updated.inbound_method) == ("alerts 2", None, "GET")
    assert (updated.validity_period, updated.usecase, updated.scan_message_content) == (60, "marketing", "disable")
    assert updated.status_callback == "https://example.com/status" and updated.area_code_geomatch is False
    assert updated.sticky_sender is False  # untouched settings stay

    assert client.messaging.v1.services(svc.sid).delete() is True
    assert rest_error(lambda: client.messaging.v1.services(svc.sid).fetch()) == (404, 20404)
    assert rest_error(lambda: client.messaging.v1.services(svc.sid).delete()) == (404, 20404)
    assert rest_error(lambda: client.messaging.v1.services(svc.sid).update(friendly_name="x")) == (404, 20404)


def test_service_validation(client: Client) -> None:
    create = client.messaging.v1.services.create
    assert rest_error(lambda: create(friendly_name="x" * 65)) == (400, 20001)
    assert rest_error(lambda: create(friendly_name="")) == (400, 20001)
    assert rest_error(lambda: create(friendly_name="v", validity_period=0)) == (400, 90007)
    assert rest_error(lambda: create(friendly_name="v", validity_period=36001)) == (400, 90007)
    assert rest_error(lambda: create(friendly_name="v", inbound_method="PUT")) == (400, 20001)
    assert rest_error(lambda: create(friendly_name="v", inbound_request_url="ftp://example.com")) == (400, 20001)
    assert rest_error(lambda: create(friendly_name="v", usecase="spam")) == (400, 20001)
    assert rest_error(lambda: create(friendly_name="v", scan_message_content="maybe")) == (400, 20001)
    edge = create(friendly_name="v" * 64, validity_period=1)
    assert edge.validity_period == 1
    assert rest_error(lambda: client.messaging.v1.services(edge.sid).update(validity_period=-5)) == (400, 90007)
    assert rest_error(lambda: client.messaging.v1.services("MG" + "0" * 32).fetch()) == (404, 20404)
    assert rest_error(lambda: client.messaging.v1.services("not-a-sid").fetch()) == (404, 20404)


def test_openline_opt_out_extensions(server: OpenlineServer) -> None:
    url = f"{server.url}/messaging/v1/Services"
    created = httpx.post(url, auth=_auth(server), data={"FriendlyName": "opt", "OptOutEnabled": "false",
                                                        "StopReply": "Bye now", "HelpReply": "Call us"})
    assert created.status_code == 201
    body = created.json()
    validate("messaging", "POST", "/v1/Services", 201, body)
    assert (body["opt_out_enabled"], body["stop_reply"], body["start_reply"], body["help_reply"]) == (
        False, "Bye now", None, "Call us")
    assert body["url"] == f"{url}/{body['sid']}"  # prefix style: links keep the /messaging prefix

    plain = httpx.post(url, auth=_auth(server), data={"FriendlyName": "defaults"}).json()
    assert (plain["opt_out_enabled"], plain["stop_reply"]) == (True, None)

    updated = httpx.post(f"{url}/{body['sid']}", auth=_auth(server), data={"StopReply": "", "OptOutEnabled": "true"})
    assert updated.status_code == 200
    assert (updated.json()["opt_out_enabled"], updated.json()["stop_reply"]) == (True, None)
    assert updated.json()["help_reply"] == "Call us"
    too_long = httpx.post(f"{url}/{body['sid']}", auth=_auth(server), data={"HelpReply": "x" * 1601})
    check_error_body(too_long.json(), 20001, 400)
    bad_bool = httpx.post(url, auth=_auth(server), data={"FriendlyName": "b", "OptOutEnabled": "perhaps"})
    check_error_body(bad_bool.json(), 20001, 400)


def test_phone_number_senders(client: Client) -> None:
    first, second = buy(client), buy(client)
    svc_a = client.messaging.v1.services.create(friendly_name="pool a")
    svc_b = client.messaging.v1.services.create(friendly_name="pool b")
    numbers_a = client.messaging.v1.services(svc_a.sid).phone_numbers

    added = numbers_a.create(phone_number_sid=first)
    number = client.incoming_phone_numbers(first).fetch()
    assert added.sid == first  # the sender's SID is the number's own PN SID, as on Twilio
    assert (added.service_sid, added.account_sid, added.phone_number) == (svc_a.sid, number.account_sid,
                                                                          number.phone_number)
    assert added.country_code == "US" and added.capabilities == ["SMS", "MMS", "Voice"]
    assert added.url == f"https://messaging.twilio.com/v1/Services/{svc_a.sid}/PhoneNumbers/{first}"
    assert isinstance(added.date_created, datetime)

    assert [n.sid for n in numbers_a.list()] == [first]
    assert numbers_a(first).fetch().phone_number == number.phone_number
    # A number serves one service: again here is 21710, in another service 21712.
    assert rest_error(lambda: numbers_a.create(phone_number_sid=first)) == (409, 21710)
    numbers_b = client.messaging.v1.services(svc_b.sid).phone_numbers
    assert rest_error(lambda: numbers_b.create(phone_number_sid=first)) == (409, 21712)
    assert rest_error(lambda: numbers_b(first).fetch()) == (404, 20404)
    assert rest_error(lambda: numbers_b(first).delete()) == (404, 20404)

    numbers_a.create(phone_number_sid=second)
    assert {n.sid for n in numbers_a.list()} == {first, second}
    assert numbers_a(first).delete() is True
    assert rest_error(lambda: numbers_a(first).fetch()) == (404, 20404)
    assert client.incoming_phone_numbers(first).fetch().sid == first  # the number stays on the account
    assert numbers_b.create(phone_number_sid=first).service_sid == svc_b.sid

    # Deleting a service frees its numbers.
    assert client.messaging.v1.services(svc_b.sid).delete() is True
    assert rest_error(lambda: numbers_b.list()) == (404, 20404)
    assert numbers_a.create(phone_number_sid=first).service_sid == svc_a.sid


def test_phone_number_sender_errors(client: Client, tenant: Client) -> None:
    svc = client.messaging.v1.services.create(friendly_name="strict")
    numbers = client.messaging.v1.services(svc.sid).phone_numbers
    assert rest_error(lambda: numbers.create(phone_number_sid="PN123")) == (400, 21421)
    assert rest_error(lambda: numbers.create(phone_number_sid="MG" + "0" * 32)) == (400, 21421)
    assert rest_error(lambda: numbers.create(phone_number_sid="")) == (400, 20001)
    assert rest_error(lambda: numbers.create(phone_number_sid="PN" + "0" * 32)) == (404, 20404)
    # Another account's number answers as an unknown one, even to the parent account.
    foreign = buy(tenant)
    assert rest_error(lambda: numbers.create(phone_number_sid=foreign)) == (404, 20404)
    assert numbers.list() == []
    mine = buy(client)
    missing_service = client.messaging.v1.services("MG" + "0" * 32).phone_numbers
    assert rest_error(lambda: missing_service.create(phone_number_sid=mine)) == (404, 20404)
    assert rest_error(lambda: missing_service.list()) == (404, 20404)
    assert rest_error(lambda: numbers("PN" + "0" * 32).fetch()) == (404, 20404)


def test_alpha_senders(client: Client) -> None:
    svc = client.messaging.v1.services.create(friendly_name="branded")
    alphas = client.messaging.v1.services(svc.sid).alpha_senders
    sender = alphas.create(alpha_sender="Openline")
    assert sender.sid.startswith("AI") and len(sender.sid) == 34
    assert (sender.alpha_sender, sender.service_sid, sender.capabilities) == ("Openline", svc.sid, ["SMS"])
    assert sender.url == f"https://messaging.twilio.com/v1/Services/{svc.sid}/AlphaSenders/{sender.sid}"
    assert [a.sid for a in alphas.list()] == [sender.sid]
    assert alphas(sender.sid).fetch().alpha_sender == "Openline"
    # One alpha sender per service, as on Twilio.
    assert rest_error(lambda: alphas.create(alpha_sender="Other")) == (400, 20001)
    assert alphas(sender.sid).delete() is True
    assert rest_error(lambda: alphas(sender.sid).fetch()) == (404, 20404)
    assert rest_error(lambda: alphas(sender.sid).delete()) == (404, 20404)
    assert alphas.create(alpha_sender="My Shop 24").alpha_sender == "My Shop 24"
    # The sender's SID is not reachable through the phone-number subresource or another service.
    other = client.messaging.v1.services.create(friendly_name="other")
    sid = alphas.list()[0].sid
    assert rest_error(lambda: client.messaging.v1.services(other.sid).alpha_senders(sid).fetch()) == (404, 20404)
    assert rest_error(lambda: client.messaging.v1.services(svc.sid).phone_numbers(sid).fetch()) == (404, 20404)


@pytest.mark.parametrize("value", ["12345", "TwelveChars1", "bad!char", "", "é-shop", "  "])
def test_alpha_sender_validation(client: Client, value: str) -> None:
    svc = client.messaging.v1.services.create(friendly_name="alpha check")
    alphas = client.messaging.v1.services(svc.sid).alpha_senders
    assert rest_error(lambda: alphas.create(alpha_sender=value)) == (400, 20001)
    assert alphas.list() == []


def test_alpha_sender_accepts_twilio_characters(client: Client) -> None:
    svc = client.messaging.v1.services.create(friendly_name="chars")
    assert client.messaging.v1.services(svc.sid).alpha_senders.create(alpha_sender="A&B-C+D_1").alpha_sender == (
        "A&B-C+D_1")


def test_paging_host_style(tenant: Client) -> None:
    services = tenant.messaging.v1.services
    made = [services.create(friendly_name=f"svc {i}").sid for i in range(5)]
    assert [s.sid for s in services.list(page_size=2)] == made[::-1]  # newest first, over three pages
    assert [s.sid for s in services.stream(page_size=2, limit=3)] == made[::-1][:3]
    first = services.page(page_size=2)
    assert first.next_page_url is not None
    assert first.next_page_url.startswith("https://messaging.twilio.com/v1/Services?")
    last = first.next_page().next_page()
    assert [s.sid for s in last] == made[:1] and last.next_page_url is None

    numbers = tenant.messaging.v1.services(made[0]).phone_numbers
    pns = [numbers.create(phone_number_sid=buy(tenant)).sid for _ in range(3)]
    assert [n.sid for n in numbers.list(page_size=2)] == pns[::-1]
    assert len(list(numbers.stream(page_size=1))) == 3
    alphas = tenant.messaging.v1.services(made[0]).alpha_senders
    alphas.create(alpha_sender="Pager")
    assert [a.alpha_sender for a in alphas.list(page_size=1)] == ["Pager"]


def test_paging_prefix_style(client: Client, server: OpenlineServer) -> None:
    sub = client.api.v2010.accounts.create(friendly_name="prefix tenant")
    sdk = prefix_style_client(server.url, sub.sid, sub.auth_token)
    services = sdk.messaging.v1.services
    made = [services.create(friendly_name=f"p{i}").sid for i in range(5)]
    assert [s.sid for s in services.list(page_size=2)] == made[::-1]
    assert [s.sid for s in services.stream(page_size=2, limit=4)] == made[::-1][:4]
    page = services.page(page_size=2)
    assert page.next_page_url is not None
    assert page.next_page_url.startswith(f"{server.url}/messaging/v1/Services?")
    fetched = services(made[0]).fetch()
    assert fetched.url == f"{server.url}/messaging/v1/Services/{made[0]}"

    numbers = services(made[1]).phone_numbers
    pns = [numbers.create(phone_number_sid=buy(sdk)).sid for _ in range(3)]
    assert [n.sid for n in numbers.list(page_size=2)] == pns[::-1]
    assert numbers(pns[0]).fetch().url == f"{server.url}/messaging/v1/Services/{made[1]}/PhoneNumbers/{pns[0]}"
    assert validate_exchanges(sdk) > 0


def test_page_tokens_and_bad_paging(server: OpenlineServer) -> None:
    url = f"{server.url}/v1/Services"
    headers = {"Host": "messaging.twilio.com"}
    bad = httpx.get(url, params={"PageToken": "nope"}, auth=_auth(server), headers=headers)
    check_error_body(bad.json(), 20001, 400)
    bad_size = httpx.get(url, params={"PageSize": "0"}, auth=_auth(server), headers=headers)
    check_error_body(bad_size.json(), 20001, 400)
    ok = httpx.get(url, params={"PageSize": "1"}, auth=_auth(server), headers=headers)
    assert ok.status_code == 200
    body = ok.json()
    validate("messaging", "GET", "/v1/Services", 200, body)
    assert body["meta"]["key"] == "services" and body["meta"]["page_size"] == 1
    assert body["meta"]["url"].startswith("https://messaging.twilio.com/v1/Services?")


def test_subaccount_cannot_see_parent_services(client: Client, server: OpenlineServer) -> None:
    parent_svc = client.messaging.v1.services.create(friendly_name="parent only")
    parent_pn = buy(client)
    client.messaging.v1.services(parent_svc.sid).phone_numbers.create(phone_number_sid=parent_pn)
    alpha = client.messaging.v1.services(parent_svc.sid).alpha_senders.create(alpha_sender="Parent")

    sub = client.api.v2010.accounts.create(friendly_name="child tenant")
    child = host_style_client(server.url, sub.sid, sub.auth_token)
    child_svc = child.messaging.v1.services.create(friendly_name="child only")
    assert child_svc.account_sid == sub.sid
    assert [s.sid for s in child.messaging.v1.services.list()] == [child_svc.sid]
    assert child_svc.sid not in [s.sid for s in client.messaging.v1.services.list()]

    theirs = child.messaging.v1.services(parent_svc.sid)
    assert rest_error(lambda: theirs.fetch()) == (404, 20404)
    assert rest_error(lambda: theirs.update(friendly_name="mine")) == (404, 20404)
    assert rest_error(lambda: theirs.delete()) == (404, 20404)
    assert rest_error(lambda: theirs.phone_numbers.list()) == (404, 20404)
    assert rest_error(lambda: theirs.phone_numbers(parent_pn).fetch()) == (404, 20404)
    assert rest_error(lambda: theirs.phone_numbers(parent_pn).delete()) == (404, 20404)
    assert rest_error(lambda: theirs.alpha_senders(alpha.sid).delete()) == (404, 20404)
    assert rest_error(lambda: theirs.alpha_senders.create(alpha_sender="Hijack")) == (404, 20404)
    mine = child.messaging.v1.services(child_svc.sid).phone_numbers
    assert rest_error(lambda: mine.create(phone_number_sid=parent_pn)) == (404, 20404)
    # The parent cannot reach the child's service through v1 either: v1 has no AccountSid.
    assert rest_error(lambda: client.messaging.v1.services(child_svc.sid).fetch()) == (404, 20404)
    # Nothing of the parent's changed.
    assert client.messaging.v1.services(parent_svc.sid).fetch().friendly_name == "parent only"
    assert [n.sid for n in client.messaging.v1.services(parent_svc.sid).phone_numbers.list()] == [parent_pn]
    assert validate_exchanges(child) > 0


def test_standard_api_key_manages_services(client: Client, server: OpenlineServer) -> None:
    key = client.new_keys.create(friendly_name="svc key")
    sdk = host_style_client(server.url, key.sid, key.secret, account_sid=server.account_sid)  # type: ignore[attr-defined]
    svc = sdk.messaging.v1.services.create(friendly_name="by key")
    assert svc.account_sid == server.account_sid  # type: ignore[attr-defined]
    assert sdk.messaging.v1.services(svc.sid).delete() is True
    bad = host_style_client(server.url, server.account_sid, "0" * 32)  # type: ignore[attr-defined]
    assert rest_error(lambda: bad.messaging.v1.services.list()) == (401, 20003)
