"""Pure parts of the SIP call legs: the final-status mapping and where requests for a URI go."""

from __future__ import annotations

import pytest

from openline.codecs.sip import SipUri, TelUri, parse_uri
from openline.core.call_legs import EndReason
from openline.transports.sip import Address
from openline.transports.sip_calls import address_of, end_reason_for


@pytest.mark.parametrize(("status", "reason"), [
    (486, EndReason.BUSY), (600, EndReason.BUSY), (480, EndReason.NO_ANSWER), (408, EndReason.NO_ANSWER),
    (603, EndReason.REJECTED), (487, EndReason.CANCELED), (404, EndReason.FAILED), (403, EndReason.FAILED),
    (488, EndReason.FAILED), (500, EndReason.FAILED), (503, EndReason.FAILED), (302, EndReason.FAILED),
])
def test_final_statuses_map_to_end_reasons(status: int, reason: EndReason) -> None:
    assert end_reason_for(status) is reason


def test_address_of_uris() -> None:
    assert address_of(parse_uri("sip:bob@127.0.0.1:5080")) == Address("127.0.0.1", 5080, "UDP")
    assert address_of(parse_uri("sip:bob@h.example;transport=TCP")) == Address("h.example", 5060, "TCP")
    assert address_of(SipUri(host="h"), "TCP") == Address("h", 5060, "TCP")
    with pytest.raises(LookupError):
        address_of(TelUri(number="+14155550100"))
