"""Accounts, subaccounts and API keys through the official twilio SDK against a real server."""

from __future__ import annotations

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from tests.conftest import validate_exchanges
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client, rest_error


def test_fetch_own_account(client: Client, server: OpenlineServer) -> None:
    account = client.api.v2010.accounts(server.account_sid).fetch()  # type: ignore[attr-defined]
    assert account.sid == server.account_sid  # type: ignore[attr-defined]
    assert account.status == "active"
    assert account.auth_token == server.auth_token  # type: ignore[attr-defined]
    assert account.owner_account_sid == server.account_sid  # type: ignore[attr-defined]
    assert account.date_created is not None  # RFC 2822 parsed by the SDK
    assert account.type == "Full"


def test_subaccount_lifecycle(client: Client, server: OpenlineServer) -> None:
    sub = client.api.v2010.accounts.create(friendly_name="tenant one")
    assert sub.sid.startswith("AC") and len(sub.sid) == 34
    assert sub.owner_account_sid == server.account_sid  # type: ignore[attr-defined]
    listed = {a.sid for a in client.api.v2010.accounts.list()}
    assert {sub.sid, server.account_sid} <= listed  # type: ignore[attr-defined]
    assert [a.sid for a in client.api.v2010.accounts.list(friendly_name="tenant one")] == [sub.sid]

    renamed = client.api.v2010.accounts(sub.sid).update(friendly_name="tenant 1")
    assert renamed.friendly_name == "tenant 1"
    suspended = client.api.v2010.accounts(sub.sid).update(status="suspended")
    assert suspended.status == "suspended"
    assert sub.sid in {a.sid for a in client.api.v2010.accounts.list(status="suspended")}
    assert client.api.v2010.accounts(sub.sid).update(status="active").status == "active"

    # Closing is how a Twilio subaccount is deleted: it cannot be reopened or used again.
    assert client.api.v2010.accounts(sub.sid).update(status="closed").status == "closed"
    with pytest.raises(TwilioRestException) as err:
        client.api.v2010.accounts(sub.sid).update(status="active")
    assert err.value.status in (400, 401)
    sub_client = host_style_client(server.url, sub.sid, sub.auth_token)
    assert rest_error(lambda: sub_client.api.v2010.accounts(sub.sid).applications.list()) == (401, 20003)


def test_parent_acts_on_subaccount_resources(client: Client, server: OpenlineServer) -> None:
    sub = client.api.v2010.accounts.create(friendly_name="child")
    app = client.api.v2010.accounts(sub.sid).applications.create(friendly_name="child app")
    assert app.account_sid == sub.sid
    sub_client = host_style_client(server.url, sub.sid, sub.auth_token)
    assert [a.sid for a in sub_client.applications.list()] == [app.sid]


def test_subaccount_cannot_reach_parent_or_sibling(client: Client, server: OpenlineServer) -> None:
    one = client.api.v2010.accounts.create(friendly_name="one")
    two = client.api.v2010.accounts.create(friendly_name="two")
    parent_app = client.applications.create(friendly_name="parent only")
    one_client = host_style_client(server.url, one.sid, one.auth_token)
    cases = [
        lambda: one_client.api.v2010.accounts(server.account_sid).fetch(),  # type: ignore[attr-defined]
        lambda: one_client.api.v2010.accounts(server.account_sid).applications.list(),  # type: ignore[attr-defined]
        lambda: one_client.api.v2010.accounts(server.account_sid).applications(parent_app.sid).fetch(),  # type: ignore[attr-defined]
        lambda: one_client.api.v2010.accounts(two.sid).fetch(),
        lambda: one_client.api.v2010.accounts(two.sid).incoming_phone_numbers.list(),
        lambda: one_client.api.v2010.accounts.create(friendly_name="grandchild"),
    ]
    for case in cases:
        assert rest_error(case) == (401, 20003)
    # The parent's SID does not show up in the subaccount's own listing either.
    assert [a.sid for a in one_client.api.v2010.accounts.list()] == [one.sid]
    validate_exchanges(one_client)


def test_bad_credentials(server: OpenlineServer) -> None:
    for user, password in [(server.account_sid, "0" * 32),  # type: ignore[attr-defined]
                           ("AC" + "0" * 32, server.auth_token),  # type: ignore[attr-defined]
                           ("SK" + "0" * 32, "x" * 32), ("nobody", "nothing")]:
        bad = host_style_client(server.url, user, password, account_sid=server.account_sid)  # type: ignore[attr-defined]
        with pytest.raises(TwilioRestException) as err:
            bad.api.v2010.accounts(server.account_sid).applications.create(friendly_name="x")  # type: ignore[attr-defined]
        assert (err.value.status, err.value.code) == (401, 20003)
        validate_exchanges(bad)


def test_unknown_sids_are_404(client: Client) -> None:
    for fetch in (lambda: client.applications("AP" + "0" * 32).fetch(),
                  lambda: client.keys("SK" + "0" * 32).fetch(),
                  lambda: client.incoming_phone_numbers("PN" + "0" * 32).fetch(),
                  lambda: client.applications("not-a-sid").fetch()):
        with pytest.raises(TwilioRestException) as err:
            fetch()
        assert (err.value.status, err.value.code) == (404, 20404)


def test_api_keys(client: Client, server: OpenlineServer) -> None:
    created = client.new_keys.create(friendly_name="ci key")
    assert created.sid.startswith("SK") and len(created.secret) == 32
    fetched = client.keys(created.sid).fetch()
    assert fetched.friendly_name == "ci key"
    assert not hasattr(fetched, "secret") or getattr(fetched, "secret", None) is None
    assert created.sid in {k.sid for k in client.keys.list()}
    assert client.keys(created.sid).update(friendly_name="renamed").friendly_name == "renamed"

    # The key authenticates for its account (the SDK puts the AC sid in the path).
    keyed = host_style_client(server.url, created.sid, created.secret, account_sid=server.account_sid)  # type: ignore[attr-defined]
    app = keyed.applications.create(friendly_name="made with a key")
    assert app.account_sid == server.account_sid  # type: ignore[attr-defined]

    # A standard key may not manage keys or accounts (Twilio answers 20003).
    for manage in (lambda: keyed.keys.list(), lambda: keyed.new_keys.create(friendly_name="nope"),
                   lambda: keyed.keys(created.sid).delete(),
                   lambda: keyed.api.v2010.accounts(server.account_sid).fetch(),  # type: ignore[attr-defined]
                   lambda: keyed.api.v2010.accounts.create(friendly_name="nope")):
        assert rest_error(manage) == (401, 20003)
    validate_exchanges(keyed)

    assert client.keys(created.sid).delete() is True
    assert rest_error(lambda: keyed.applications.list()) == (401, 20003)
    with pytest.raises(TwilioRestException) as err:
        client.keys(created.sid).fetch()
    assert err.value.code == 20404


def test_main_key_manages_keys(client: Client, server: OpenlineServer) -> None:
    # Openline extension: KeyType=main (Twilio creates main keys only in its console).
    response = client.request("POST", f"https://api.twilio.com/2010-04-01/Accounts/{server.account_sid}/Keys.json",  # type: ignore[attr-defined]
                              data={"FriendlyName": "main", "KeyType": "main"})
    assert response.status_code == 201
    import json
    main = json.loads(response.text)
    keyed = host_style_client(server.url, main["sid"], main["secret"], account_sid=server.account_sid)  # type: ignore[attr-defined]
    made = keyed.new_keys.create(friendly_name="made by a main key")
    assert made.secret
    assert keyed.api.v2010.accounts(server.account_sid).fetch().sid == server.account_sid  # type: ignore[attr-defined]


def test_key_of_subaccount_cannot_reach_parent(client: Client, server: OpenlineServer) -> None:
    sub = client.api.v2010.accounts.create(friendly_name="keyed child")
    key = client.api.v2010.accounts(sub.sid).new_keys.create(friendly_name="child key")
    keyed = host_style_client(server.url, key.sid, key.secret, account_sid=server.account_sid)  # type: ignore[attr-defined]
    assert rest_error(lambda: keyed.applications.list()) == (401, 20003)
    own = host_style_client(server.url, key.sid, key.secret, account_sid=sub.sid)
    assert own.applications.list() == []
