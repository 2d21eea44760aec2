"""`[webhooks] block_private_addresses`: webhooks, status callbacks and media never reach inside."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from twilio.rest import Client

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import wait_for
from tests.integration.test_sms_webhooks import handset_sends
from tests.support.reliability import record
from tests.support.server import OpenlineServer
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("ssrf") / "data",
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token,
                              "OPENLINE_WEBHOOKS__BLOCK_PRIVATE_ADDRESSES": "true"})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


@pytest.fixture
def receiver(server: OpenlineServer) -> Iterator[WebhookReceiver]:
    app = WebhookReceiver(server.auth_token).start()  # type: ignore[attr-defined]
    yield app
    app.stop()


def test_inbound_webhook_to_loopback_is_refused_and_reported(client: Client, server: OpenlineServer,
                                                             receiver: WebhookReceiver) -> None:
    targets = [receiver.url("/sms"), receiver.url("/sms").replace("127.0.0.1", "localhost")]
    for index, target in enumerate(targets):
        number = client.incoming_phone_numbers.create(phone_number=f"+1555555030{index}", sms_url=target)
        handset_sends(server, "+15558675399", number.phone_number, f"knock {index}")
    alerts = wait_for(lambda: len(found := [a for a in client.monitor.v1.alerts.list()
                                            if "block_private_addresses" in (a.alert_text or "")]) >= 2 and found)
    assert {a.error_code for a in alerts} == {"11200"}
    assert not receiver.received  # nothing ever arrived
    record("SSRF: webhooks to loopback by IP and by name, block_private_addresses on", "2 targets",
           "refused, 11200 alerts; nothing reached the target", "n/a")


def test_status_callback_and_media_to_private_targets_are_refused(client: Client, server: OpenlineServer,
                                                                   receiver: WebhookReceiver) -> None:
    client.incoming_phone_numbers.create(phone_number="+15555550310")
    receiver.on("/cat.png", (200, "image/png", b"\x89PNG"))
    sent = client.messages.create(to="+15558675300", from_="+15555550310", body="hi",
                                  status_callback=receiver.url("/status"))
    with_media = client.messages.create(to="+15558675300", from_="+15555550310",
                                        media_url=[receiver.url("/cat.png")])
    failed = wait_for(lambda: ((m := client.messages(with_media.sid).fetch()).status == "failed" and m) or None)
    assert failed.error_code == 11200  # the media fetch was refused like any other private target
    assert wait_for(lambda: client.messages(sent.sid).fetch().status == "delivered")
    alert = wait_for(lambda: [a for a in client.monitor.v1.alerts.list() if a.resource_sid == sent.sid] or None)
    assert "block_private_addresses" in alert[0].alert_text  # type: ignore[index]
    assert not receiver.received
