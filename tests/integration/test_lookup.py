"""Lookup v2 through the official twilio SDK: validity, formats, country and line type."""

from __future__ import annotations

import httpx
from twilio.rest import Client

from tests.conftest import validate_exchanges
from tests.support.server import OpenlineServer
from tests.support.twilio_client import prefix_style_client, rest_error

FIELDS = ("calling_country_code", "country_code", "phone_number", "national_format", "valid", "validation_errors",
          "caller_name", "sim_swap", "call_forwarding", "line_type_intelligence", "line_status", "identity_match",
          "reassigned_number", "sms_pumping_risk", "phone_number_quality_score", "pre_fill", "url")


def test_mobile_number(client: Client) -> None:
    result = client.lookups.v2.phone_numbers("+33612345678").fetch(fields="line_type_intelligence")
    assert (result.phone_number, result.valid, result.validation_errors) == ("+33612345678", True, [])
    assert (result.calling_country_code, result.country_code, result.national_format) == ("33", "FR", "06 12 34 56 78")
    assert result.line_type_intelligence == {"carrier_name": "SFR", "error_code": None, "mobile_country_code": None,
                                             "mobile_network_code": None, "type": "mobile"}
    assert result.url == "https://lookups.twilio.com/v2/PhoneNumbers/+33612345678"
    # Without Fields, only the free formatting and validation.
    assert client.lookups.v2.phone_numbers("+33612345678").fetch().line_type_intelligence is None


def test_landline_and_national_format(client: Client) -> None:
    result = client.lookups.v2.phone_numbers("020 7183 8750").fetch(country_code="GB", fields="line_type_intelligence")
    assert (result.phone_number, result.valid, result.country_code) == ("+442071838750", True, "GB")
    assert result.line_type_intelligence["type"] == "landline"  # type: ignore[index]
    # Twilio's test number for "not a mobile" reads as a landline, as Verify's SkipSmsToLandlines sees it.
    magic = client.lookups.v2.phone_numbers("+15005550009").fetch(fields="line_type_intelligence")
    assert magic.line_type_intelligence["type"] == "landline"  # type: ignore[index]
    # The +1 plan does not tell mobile from fixed line: Openline says so rather than guess.
    us = client.lookups.v2.phone_numbers("+14155552671").fetch(fields="line_type_intelligence")
    assert (us.valid, us.national_format, us.line_type_intelligence["type"]) == (  # type: ignore[index]
        True, "(415) 555-2671", "unknown")
    toll_free = client.lookups.v2.phone_numbers("+18005551234").fetch(fields="line_type_intelligence")
    assert toll_free.line_type_intelligence["type"] == "tollFree"  # type: ignore[index]


def test_invalid_numbers_are_answers_not_errors(client: Client) -> None:
    cases = {"+12345": "TOO_SHORT", "+141599299600": "TOO_LONG", "+15555550100": "INVALID_BUT_POSSIBLE",
             "+9991234567": "INVALID_COUNTRY_CODE", "not-a-number": "NOT_A_NUMBER"}
    for number, error in cases.items():
        result = client.lookups.v2.phone_numbers(number).fetch(fields="line_type_intelligence")
        assert (result.valid, result.validation_errors) == (False, [error]), number
        assert result.line_type_intelligence is None and result.national_format is None


def test_every_field_is_present(server: OpenlineServer) -> None:
    response = httpx.get(f"{server.url}/lookups/v2/PhoneNumbers/%2B442071838750",
                         auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
    assert response.status_code == 200 and set(response.json()) == set(FIELDS)


def test_bad_requests(client: Client, server: OpenlineServer) -> None:
    assert rest_error(lambda: client.lookups.v2.phone_numbers("+33612345678").fetch(fields="horoscope")) == (
        400, 20001)
    assert rest_error(lambda: client.lookups.v2.phone_numbers("0612345678").fetch(country_code="France")) == (
        400, 20001)
    unauthenticated = httpx.get(f"{server.url}/lookups/v2/PhoneNumbers/+33612345678")
    assert unauthenticated.status_code == 401 and unauthenticated.json()["code"] == 20003


def test_prefix_style(server: OpenlineServer) -> None:
    client = prefix_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    result = client.lookups.v2.phone_numbers("0612345678").fetch(country_code="FR")
    assert (result.phone_number, result.valid) == ("+33612345678", True)
    assert result.url == f"{server.url}/lookups/v2/PhoneNumbers/+33612345678"
    assert validate_exchanges(client) == 1
