"""The SMS pipeline end to end on PostgreSQL (the scale-out store), not only on SQLite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from twilio.rest import Client

from tests.conftest import postgres_server
from tests.integration.test_sms_basic import inbox, wait_for
from tests.integration.test_sms_webhooks import handset_sends
from tests.support.server import OpenlineServer
from tests.support.webhook_receiver import WebhookReceiver, twiml

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[OpenlineServer]:
    with postgres_server(tmp_path_factory, postgres_admin_url) as srv:
        yield srv


def test_round_trip_on_postgres(client: Client, server: OpenlineServer) -> None:
    receiver = WebhookReceiver(server.auth_token).start()  # type: ignore[attr-defined]
    try:
        receiver.on("/sms", twiml("<Response><Message>pong</Message></Response>"))
        number = client.incoming_phone_numbers.create(phone_number="+15555550600", sms_url=receiver.url("/sms"))
        service = client.messaging.v1.services.create(friendly_name="pg pool")
        client.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number.sid)
        direct = client.messages.create(body="direct", from_=number.phone_number, to="+15558675360",
                                        status_callback=receiver.url("/status"))
        pooled = client.messages.create(body="pooled", messaging_service_sid=service.sid, to="+15558675361")
        for sid in (direct.sid, pooled.sid):
            wait_for(lambda sid=sid: client.messages(sid).fetch().status == "delivered")
        assert [h.get("MessageStatus") for h in receiver.wait("/status", 4)] == [
            "queued", "sending", "sent", "delivered"]
        handset_sends(server, "+15558675362", number.phone_number, "ping")
        (hook,) = receiver.wait("/sms")
        assert hook.signature_valid
        assert wait_for(lambda: inbox(server, "+15558675362"))[0]["body"] == "pong"  # type: ignore[index]
        handset_sends(server, "+15558675363", number.phone_number, "STOP")
        wait_for(lambda: inbox(server, "+15558675363"))
        from tests.support.twilio_client import rest_error
        assert rest_error(lambda: client.messages.create(body="x", from_=number.phone_number,
                                                         to="+15558675363")) == (400, 21610)
    finally:
        receiver.stop()
