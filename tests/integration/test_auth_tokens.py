"""Accounts v1 AuthTokens: rotate an Auth Token with no moment where no token works."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.conftest import validate_exchanges
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client, prefix_style_client, rest_error
from tests.support.webhook_receiver import WebhookReceiver

SECONDARY_FIELDS = {"account_sid", "date_created", "date_updated", "secondary_auth_token", "url"}
PROMOTION_FIELDS = {"account_sid", "auth_token", "date_created", "date_updated", "url"}


@pytest.fixture
def sub(client: Client) -> Iterator[tuple[str, str]]:
    account = client.api.v2010.accounts.create(friendly_name="rotation")
    yield account.sid, account.auth_token


def _handset_sends(server: OpenlineServer, auth: tuple[str, str], to: str, body: str) -> None:
    response = httpx.post(f"{server.url}/sandbox/v1/Messages", auth=auth,
                          data={"From": "+15558675410", "To": to, "Body": body})
    assert response.status_code == 201, response.text


def _can_list(server: OpenlineServer, sid: str, token: str) -> bool:
    sdk = host_style_client(server.url, sid, token)
    try:
        sdk.api.v2010.accounts(sid).fetch()
    except Exception:
        return False
    return True


def test_rotate_create_both_work_promote_old_one_stops(server: OpenlineServer, sub: tuple[str, str]) -> None:
    sid, primary = sub
    sdk = host_style_client(server.url, sid, primary)
    created = sdk.accounts.v1.secondary_auth_token().create()
    secondary = created.secondary_auth_token
    assert created.account_sid == sid and secondary and secondary != primary and len(secondary) == 32
    assert created.url == "https://accounts.twilio.com/v1/AuthTokens/Secondary"
    assert _can_list(server, sid, primary) and _can_list(server, sid, secondary)

    rotator = host_style_client(server.url, sid, secondary)
    promoted = rotator.accounts.v1.auth_token_promotion().update()
    assert promoted.auth_token == secondary and promoted.account_sid == sid
    assert not _can_list(server, sid, primary)
    assert _can_list(server, sid, secondary)
    status, code = rest_error(lambda: sdk.api.v2010.accounts(sid).fetch())
    assert (status, code) == (401, 20003)
    # The account resource shows the new primary token.
    fresh = host_style_client(server.url, sid, secondary)
    assert fresh.api.v2010.accounts(sid).fetch().auth_token == secondary
    checked = set()
    for client in (sdk, rotator):
        for _method, product, path, response in client.http_client.exchanges:  # type: ignore[attr-defined]
            if product == "accounts" and response.status_code < 300:
                body = json.loads(response.text)
                assert set(body) == (SECONDARY_FIELDS if path.endswith("Secondary") else PROMOTION_FIELDS)
                checked.add(path)
    assert checked == {"/v1/AuthTokens/Secondary", "/v1/AuthTokens/Promote"}
    validate_exchanges(fresh)


def test_delete_secondary_and_errors(server: OpenlineServer, sub: tuple[str, str]) -> None:
    sid, primary = sub
    sdk = prefix_style_client(server.url, sid, primary)  # the path-prefix style reaches it too
    assert rest_error(lambda: sdk.accounts.v1.auth_token_promotion().update()) == (404, 20404)
    assert rest_error(lambda: sdk.accounts.v1.secondary_auth_token().delete()) == (404, 20404)
    first = sdk.accounts.v1.secondary_auth_token().create().secondary_auth_token
    second = sdk.accounts.v1.secondary_auth_token().create().secondary_auth_token
    assert first != second and not _can_list(server, sid, first)  # a new secondary replaces the old
    assert sdk.accounts.v1.secondary_auth_token().delete() is True
    assert not _can_list(server, sid, second) and _can_list(server, sid, primary)


def test_standard_keys_cannot_rotate(client: Client, server: OpenlineServer, sub: tuple[str, str]) -> None:
    sid, primary = sub
    owner = host_style_client(server.url, sid, primary)
    key = owner.new_keys.create(friendly_name="standard")
    keyed = host_style_client(server.url, key.sid, key.secret, account_sid=sid)
    assert rest_error(lambda: keyed.accounts.v1.secondary_auth_token().create()) == (401, 20003)
    assert rest_error(lambda: keyed.accounts.v1.auth_token_promotion().update()) == (401, 20003)


def test_webhooks_are_signed_with_the_current_primary(server: OpenlineServer, sub: tuple[str, str]) -> None:
    sid, primary = sub
    sdk = host_style_client(server.url, sid, primary)
    receiver = WebhookReceiver(primary).start()
    try:
        number = sdk.incoming_phone_numbers.create(phone_number="+15555550410", sms_url=receiver.url("/sms"))
        secondary = sdk.accounts.v1.secondary_auth_token().create().secondary_auth_token
        _handset_sends(server, (sid, primary), number.phone_number, "before")
        (before,) = receiver.wait("/sms")
        assert before.signature_valid  # still the old primary until promotion
        host_style_client(server.url, sid, secondary).accounts.v1.auth_token_promotion().update()
        _handset_sends(server, (sid, secondary), number.phone_number, "after")
        hits = receiver.wait("/sms", count=2)
        after = hits[1]
        validator = RequestValidator(secondary)
        assert validator.validate(after.url, after.form, after.headers["X-Twilio-Signature"])
        assert not RequestValidator(primary).validate(after.url, after.form, after.headers["X-Twilio-Signature"])
    finally:
        receiver.stop()
