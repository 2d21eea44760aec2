"""Channel addresses, the WhatsApp window, platform error mapping and Content rendering."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from openline.core.channels import (
    Channel,
    check_pair,
    check_to,
    parse_address,
    telegram_bot_id,
    twilio_error,
    within_session,
)
from openline.core.content import check_types, check_variables, render
from openline.core.errors import TwilioError

LINE_ID = "U" + "0123456789abcdef" * 2


@pytest.mark.parametrize(("raw", "canonical"), [
    ("+15558675310", "+15558675310"),
    ("whatsapp:+15558675310", "whatsapp:+15558675310"),
    ("WhatsApp:+1 555 867 5310", "whatsapp:+15558675310"),
    ("messenger:1254477777772919", "messenger:1254477777772919"),
    ("telegram:-1001234567890", "telegram:-1001234567890"),
    (f"line:{LINE_ID}", f"line:{LINE_ID}"),
])
def test_parse_address(raw: str, canonical: str) -> None:
    address = parse_address(raw)
    assert address is not None and str(address) == canonical


@pytest.mark.parametrize("raw", ["", "whatsapp:", "whatsapp:15558675310", "whatsapp:+1", "messenger:abc",
                                 "telegram:12a", "line:U123", "line:" + "X" * 33, "fax:+15558675310",
                                 "whatsapp:+" + "1" * 70])
def test_bad_addresses(raw: str) -> None:
    assert parse_address(raw) is None


def test_check_to_and_pair() -> None:
    with pytest.raises(TwilioError) as bad:
        check_to("whatsapp:123")
    assert bad.value.code == 21211
    with pytest.raises(TwilioError) as pair:
        check_pair(check_to("whatsapp:+15558675310"), check_to("+15558675311"))
    assert pair.value.code == 21910


def test_window() -> None:
    now = datetime(2026, 1, 2, tzinfo=UTC)
    assert within_session(now - timedelta(hours=23, minutes=59), now)
    assert not within_session(now - timedelta(hours=24), now)
    assert not within_session(None, now)


def test_platform_errors() -> None:
    assert twilio_error(Channel.WHATSAPP, 131047) == 63016
    assert twilio_error(Channel.WHATSAPP, 190) == 63001
    assert twilio_error(Channel.WHATSAPP, 999999) == 30008
    assert twilio_error(Channel.MESSENGER, 2018278) == 63016
    assert twilio_error(Channel.TELEGRAM, 400, "Bad Request: chat not found") == 63003
    assert twilio_error(Channel.TELEGRAM, 400, "Bad Request: message text is empty") == 63005
    assert twilio_error(Channel.LINE, None) == 30008
    assert telegram_bot_id("123456:ABC-def") == "123456"
    assert telegram_bot_id("nocolon") is None


def test_content_render() -> None:
    types = check_types({"twilio/media": {"body": "Hi {{1}}, see {{ item }}", "media": ["https://x/{{1}}.png"]}})
    rendered = render(json.dumps(types), json.dumps({"1": "you", "item": "this"}), "en", None, {"1": "Ada"})
    assert (rendered.body, rendered.media, rendered.template) == ("Hi Ada, see this", ("https://x/Ada.png",), None)
    approved = render(json.dumps(types), "{}", "en", json.dumps({"name": "promo", "status": "approved"}), {})
    assert approved.template == "promo" and approved.parameters == ("", "")
    for bad in ({}, {"twilio/card": {"body": "x"}}, {"twilio/text": {}}, {"twilio/media": {"body": "x"}}):
        with pytest.raises(TwilioError):
            check_types(bad)
    with pytest.raises(TwilioError) as invalid:
        check_variables("[1]", "ContentVariables")
    assert invalid.value.code == 21656
