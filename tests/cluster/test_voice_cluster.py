"""Calls in a cluster: the API process accepts, a worker holds the live call, and updates made
through the API (a TwiML redirect, ending the call) reach the worker that holds it."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from tests.support.cluster import Cluster
from tests.support.twilio_client import host_style_client
from tests.support.webhook_receiver import WebhookReceiver, twiml

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("voice-cluster"), postgres_admin_url, "").create()
    try:
        yield cluster.start(apis=1, workers=2)
    finally:
        cluster.stop()


def wait_for(predicate: Callable[[], object], timeout: float = 30.0) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_live_call_updates_reach_the_worker_holding_the_call(cluster: Cluster) -> None:
    app = WebhookReceiver(cluster.auth_token).start()
    try:
        client = host_style_client(cluster.apis[0].url, cluster.account_sid, cluster.auth_token)
        number = client.incoming_phone_numbers.create(phone_number="+15555550960").phone_number
        app.on("/hold", twiml("<Response><Pause length='120'/></Response>"))
        app.on("/next", twiml("<Response><Pause length='120'/></Response>"))
        call = client.calls.create(to="+15558670960", from_=number, url=app.url("/hold"))
        wait_for(lambda: client.calls(call.sid).fetch().status == "in-progress")
        client.calls(call.sid).update(url=app.url("/next"))
        hit = app.wait("/next", timeout=30)[0]
        assert hit.signature_valid and hit.get("CallSid") == call.sid
        client.calls(call.sid).update(status="completed")
        wait_for(lambda: client.calls(call.sid).fetch().status == "completed")
    finally:
        app.stop()
