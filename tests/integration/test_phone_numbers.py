"""Applications, incoming phone numbers and the number inventory through the twilio SDK."""

from __future__ import annotations

import pytest
from twilio.rest import Client

from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client, rest_error


def test_application_crud(client: Client) -> None:
    app = client.applications.create(
        friendly_name="ivr", voice_url="https://example.com/voice", voice_method="GET",
        sms_url="https://example.com/sms", sms_status_callback="https://example.com/status",
        status_callback="https://example.com/call-status", voice_caller_id_lookup=True)
    assert app.sid.startswith("AP")
    assert (app.voice_url, app.voice_method, app.sms_method) == ("https://example.com/voice", "GET", "POST")
    assert app.voice_caller_id_lookup is True
    fetched = client.applications(app.sid).fetch()
    assert fetched.sms_status_callback == "https://example.com/status"
    assert app.sid in [a.sid for a in client.applications.list(friendly_name="ivr")]
    updated = client.applications(app.sid).update(sms_url="https://example.com/sms2", voice_url="")
    assert updated.sms_url == "https://example.com/sms2" and updated.voice_url is None
    assert client.applications(app.sid).delete() is True
    assert rest_error(lambda: client.applications(app.sid).fetch()) == (404, 20404)


def test_application_validation(client: Client) -> None:
    assert rest_error(lambda: client.applications.create(voice_url="ftp://x")) == (400, 20001)
    assert rest_error(lambda: client.applications.create(voice_method="PUT")) == (400, 20001)
    assert rest_error(lambda: client.applications.create(friendly_name="x" * 300)) == (400, 20001)
    assert client.applications.list(friendly_name="x" * 300) == []


def test_search_and_buy_a_number(client: Client) -> None:
    found = client.available_phone_numbers("US").local.list(area_code=415, limit=5)
    assert 1 <= len(found) <= 5
    assert all(n.phone_number.startswith("+1415") for n in found)
    assert all(n.iso_country == "US" and n.capabilities["sms"] for n in found)
    bought = client.incoming_phone_numbers.create(phone_number=found[0].phone_number,
                                                  sms_url="https://example.com/sms", friendly_name="main line")
    assert bought.sid.startswith("PN") and bought.phone_number == found[0].phone_number
    assert bought.capabilities == {"voice": True, "sms": True, "mms": True, "fax": False}
    assert bought.sms_url == "https://example.com/sms" and bought.sms_method == "POST"
    # A bought number is no longer offered.
    again = client.available_phone_numbers("US").local.list(contains=found[0].phone_number[-7:], limit=20)
    assert found[0].phone_number not in [n.phone_number for n in again]

    app = client.applications.create(friendly_name="sms app")
    updated = client.incoming_phone_numbers(bought.sid).update(sms_application_sid=app.sid, voice_url="https://e.com/v")
    assert updated.sms_application_sid == app.sid and updated.voice_url == "https://e.com/v"
    assert [n.sid for n in client.incoming_phone_numbers.list(phone_number=found[0].phone_number)] == [bought.sid]
    assert client.incoming_phone_numbers(bought.sid).delete() is True
    assert rest_error(lambda: client.incoming_phone_numbers(bought.sid).fetch()) == (404, 20404)


def test_buy_by_area_code_and_kind_endpoints(client: Client) -> None:
    by_area = client.incoming_phone_numbers.create(area_code="212")
    assert by_area.phone_number.startswith("+1212") and by_area.type == "local"
    offer = client.available_phone_numbers("US").local.list(limit=1)[0]
    local = client.incoming_phone_numbers.local.create(phone_number=offer.phone_number)
    assert client.incoming_phone_numbers(local.sid).fetch().type == "local"
    toll_free_number = client.available_phone_numbers("US").toll_free.list(limit=1)[0].phone_number
    assert rest_error(lambda: client.incoming_phone_numbers.local.create(phone_number=toll_free_number)) == (400, 21422)
    toll_free_offer = client.available_phone_numbers("US").toll_free.list(limit=1)[0]
    toll_free = client.incoming_phone_numbers.toll_free.create(phone_number=toll_free_offer.phone_number)
    assert client.incoming_phone_numbers(toll_free.sid).fetch().type == "tollfree"
    assert [n.sid for n in client.incoming_phone_numbers.toll_free.list()] == [toll_free.sid]
    assert local.sid in [n.sid for n in client.incoming_phone_numbers.local.list()]
    mobile = client.available_phone_numbers("GB").mobile.list(limit=2)
    assert len(mobile) == 2 and all(n.phone_number.startswith("+447") for n in mobile)


def test_countries(client: Client) -> None:
    countries = {c.country_code: c for c in client.available_phone_numbers.list()}
    assert {"US", "GB", "DE"} <= set(countries)
    us = client.available_phone_numbers("US").fetch()
    assert us.country == "United States" and "local" in us.subresource_uris
    assert rest_error(lambda: client.available_phone_numbers("XX").fetch()) == (404, 20404)


@pytest.mark.parametrize(("number", "code"), [
    ("not-a-number", 21421), ("+1", 21421), ("+999123", 21421), ("4155550100", 21421),
    ("+15005550000", 21422),  # Twilio's magic "unavailable" number
    ("+15005550001", 21421),  # Twilio's magic "invalid" number
])
def test_invalid_numbers(client: Client, number: str, code: int) -> None:
    assert rest_error(lambda: client.incoming_phone_numbers.create(phone_number=number)) == (400, code)


def test_fictional_numbers_are_accepted(client: Client) -> None:
    # is_possible_number, not is_valid_number: +1 555 and the +1 500 555 0006 test number work.
    for number in ("+15555550142", "+15005550006"):
        assert client.incoming_phone_numbers.create(phone_number=number).phone_number == number


def test_number_has_one_owner(client: Client, server: OpenlineServer) -> None:
    number = client.incoming_phone_numbers.create(phone_number="+15555550177")
    sub = client.api.v2010.accounts.create(friendly_name="other tenant")
    other = host_style_client(server.url, sub.sid, sub.auth_token)
    assert rest_error(lambda: other.incoming_phone_numbers.create(phone_number="+15555550177")) == (400, 21422)
    assert rest_error(lambda: other.incoming_phone_numbers(number.sid).fetch()) == (404, 20404)
    # A parent may move its number to a subaccount.
    moved = client.incoming_phone_numbers(number.sid).update(account_sid=sub.sid)
    assert moved.account_sid == sub.sid
    assert [n.sid for n in other.incoming_phone_numbers.list()] == [number.sid]


def test_paging_120_numbers(client: Client, server: OpenlineServer) -> None:
    sub = client.api.v2010.accounts.create(friendly_name="pager")
    numbers = client.api.v2010.accounts(sub.sid).incoming_phone_numbers
    bought = {numbers.create(phone_number=f"+1555556{i:04d}").sid for i in range(120)}
    pages = []
    page = numbers.page(page_size=50)
    while page is not None:
        pages.append([n.sid for n in page])
        page = page.next_page()
    assert [len(p) for p in pages] == [50, 50, 20]
    assert set().union(*pages) == bought
    assert {n.sid for n in numbers.list(page_size=50)} == bought
    assert {n.sid for n in numbers.stream(page_size=50)} == bought
    assert len(list(numbers.stream(page_size=50, limit=70))) == 70
    first = numbers.page(page_size=50)
    assert first.next_page().previous_page() is not None
    assert [n.sid for n in first.next_page().previous_page()] == pages[0]
