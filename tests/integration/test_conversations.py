"""Conversations v1 through the official SDK: every resource's create/list/fetch/update/delete,
paging, Twilio's error codes, and both path styles (default service and service-scoped)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from twilio.rest import Client

from tests.conftest import new_credentials, validate_exchanges
from tests.support.server import OpenlineServer
from tests.support.twilio_client import prefix_style_client, rest_error


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("conv") / "data", args=["--sandbox-clock"],
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def test_configuration_and_services(client: Client) -> None:
    v1 = client.conversations.v1
    config = v1.configuration().fetch()
    default = config.default_chat_service_sid
    assert default.startswith("IS") and config.account_sid == client.account_sid
    assert config.default_inactive_timer is None
    service = v1.services.create(friendly_name="Support")
    assert service.sid.startswith("IS") and service.friendly_name == "Support"
    assert v1.services(service.sid).fetch().friendly_name == "Support"
    sids = [s.sid for s in v1.services.list()]
    assert default in sids and service.sid in sids
    assert [s.sid for s in v1.services.list(page_size=1, limit=5)] == sids  # paging follows next_page_url
    assert rest_error(lambda: v1.services.create(friendly_name="")) == (400, 20001)
    # The default service cannot go; another one can, with what it holds.
    assert rest_error(lambda: v1.services(default).delete()) == (400, 20001)
    v1.services(service.sid).conversations.create(friendly_name="inside")
    assert v1.services(service.sid).delete() is True
    assert rest_error(lambda: v1.services(service.sid).fetch()) == (404, 20404)

    updated = v1.configuration().update(default_inactive_timer="PT5M", default_closed_timer="PT1H")
    assert (updated.default_inactive_timer, updated.default_closed_timer) == ("PT5M", "PT1H")
    assert rest_error(lambda: v1.configuration().update(default_closed_timer="PT1M")) == (400, 20001)
    assert rest_error(lambda: v1.configuration().update(default_chat_service_sid="IS" + "0" * 32)) == (404, 20404)
    v1.configuration().update(default_inactive_timer="", default_closed_timer="")
    assert v1.configuration().fetch().default_inactive_timer is None


def test_service_configuration_roles_and_users(client: Client) -> None:
    v1 = client.conversations.v1
    service = v1.services.create(friendly_name="Roles")
    svc = v1.services(service.sid)
    roles = {r.friendly_name: r for r in svc.roles.list()}
    assert set(roles) == {"service admin", "service user", "channel admin", "channel user"}
    cfg = svc.configuration().fetch()
    assert cfg.default_conversation_role_sid == roles["channel user"].sid
    assert cfg.default_chat_service_role_sid == roles["service user"].sid

    role = svc.roles.create(friendly_name="reader", type="conversation", permission=["sendMessage"])
    assert role.sid.startswith("RL") and role.permissions == ["sendMessage"] and role.type == "conversation"
    assert svc.roles(role.sid).update(permission=["sendMessage", "leaveConversation"]).permissions == [
        "sendMessage", "leaveConversation"]
    assert rest_error(lambda: svc.roles.create(friendly_name="x", type="conversation",
                                               permission=["createConversation"])) == (400, 20001)
    assert rest_error(lambda: svc.roles.create(friendly_name="x", type="nope", permission=["sendMessage"])) == (
        400, 20001)
    assert svc.configuration().update(default_conversation_role_sid=role.sid).default_conversation_role_sid == role.sid
    assert rest_error(lambda: svc.roles(role.sid).delete()) == (400, 20001)  # in use as a default
    svc.configuration().update(default_conversation_role_sid=roles["channel user"].sid)
    assert svc.roles(role.sid).delete() is True
    assert rest_error(lambda: svc.roles(role.sid).fetch()) == (404, 20404)

    alice = svc.users.create(identity="alice", friendly_name="Alice", attributes=json.dumps({"tier": 1}))
    assert alice.sid.startswith("US") and alice.role_sid == roles["service user"].sid
    assert svc.users("alice").fetch().sid == alice.sid  # by identity too
    assert rest_error(lambda: svc.users.create(identity="alice")) == (409, 50201)
    assert svc.users(alice.sid).update(friendly_name="Alice B").friendly_name == "Alice B"
    assert rest_error(lambda: svc.users(alice.sid).update(attributes="{nope")) == (400, 20001)
    for name in ("bob", "carol"):
        svc.users.create(identity=name)
    assert len(list(svc.users.stream(page_size=2))) == 3
    assert svc.users(alice.sid).delete() is True
    assert rest_error(lambda: svc.users("alice").fetch()) == (404, 20404)
    # The default-service paths serve the same resources.
    assert {r.friendly_name for r in v1.roles.list()} >= {"channel user", "service user"}
    user = v1.users.create(identity="dana")
    assert v1.users(user.sid).fetch().chat_service_sid == v1.configuration().fetch().default_chat_service_sid
    assert v1.users(user.sid).delete() is True


def test_conversation_crud_paging_and_errors(client: Client) -> None:
    v1 = client.conversations.v1
    conv = v1.conversations.create(friendly_name="Order 1", unique_name="order-1",
                                   attributes=json.dumps({"order": 1}), timers_inactive="PT5M")
    assert conv.sid.startswith("CH") and conv.state == "active" and conv.unique_name == "order-1"
    assert json.loads(conv.attributes) == {"order": 1} and conv.timers.get("date_inactive")
    assert conv.url.endswith(f"/v1/Conversations/{conv.sid}")
    assert v1.conversations("order-1").fetch().sid == conv.sid
    assert rest_error(lambda: v1.conversations.create(unique_name="order-1")) == (409, 50353)
    assert rest_error(lambda: v1.conversations.create(attributes="{bad")) == (400, 20001)
    assert rest_error(lambda: v1.conversations.create(timers_inactive="10 minutes")) == (400, 20001)
    assert rest_error(lambda: v1.conversations.create(messaging_service_sid="MG" + "0" * 32)) == (400, 21701)

    updated = v1.conversations(conv.sid).update(friendly_name="Order one", state="inactive")
    assert updated.friendly_name == "Order one" and updated.state == "inactive"
    closed = v1.conversations(conv.sid).update(state="closed")
    assert closed.state == "closed"
    assert rest_error(lambda: v1.conversations(conv.sid).update(state="active")) == (400, 20001)

    made = [v1.conversations.create(friendly_name=f"page {i}").sid for i in range(3)]
    listed = [c.sid for c in v1.conversations.list(page_size=2)]
    assert set(made) <= set(listed) and len(listed) == len(set(listed))
    assert all(c.state == "closed" for c in v1.conversations.list(state="closed"))

    assert v1.conversations(conv.sid).delete() is True
    assert rest_error(lambda: v1.conversations(conv.sid).fetch()) == (404, 20404)

    # A named service's conversations live under its own path only.
    service = v1.services.create(friendly_name="Scoped")
    scoped = v1.services(service.sid).conversations.create(friendly_name="scoped")
    assert scoped.chat_service_sid == service.sid
    assert scoped.url.endswith(f"/v1/Services/{service.sid}/Conversations/{scoped.sid}")
    assert v1.services(service.sid).conversations(scoped.sid).fetch().friendly_name == "scoped"
    assert rest_error(lambda: v1.conversations(scoped.sid).fetch()) == (404, 20404)
    assert [c.sid for c in v1.services(service.sid).conversations.list()] == [scoped.sid]
    assert v1.services(service.sid).conversations(scoped.sid).update(attributes="{}").attributes == "{}"
    assert v1.services(service.sid).conversations(scoped.sid).delete() is True


def test_participants(client: Client) -> None:
    v1 = client.conversations.v1
    number = client.incoming_phone_numbers.create(phone_number="+15555550300").phone_number
    conv = v1.conversations.create(friendly_name="participants")
    parts = v1.conversations(conv.sid).participants
    agent = parts.create(identity="agent-7", attributes=json.dumps({"team": "a"}))
    assert agent.sid.startswith("MB") and agent.identity == "agent-7" and agent.messaging_binding is None
    assert agent.role_sid and agent.role_sid.startswith("RL")
    assert rest_error(lambda: parts.create(identity="agent-7")) == (409, 50433)
    assert parts("agent-7").fetch().sid == agent.sid
    assert v1.users("agent-7").fetch().identity == "agent-7"  # created with the participant

    sms = parts.create(messaging_binding_address="+15558670001", messaging_binding_proxy_address=number)
    assert sms.messaging_binding == {"type": "sms", "address": "+15558670001", "proxy_address": number}
    assert sms.identity is None
    assert rest_error(lambda: parts.create(messaging_binding_address="+15558670001",
                                           messaging_binding_proxy_address=number)) == (409, 50433)
    other = v1.conversations.create()
    assert rest_error(lambda: v1.conversations(other.sid).participants.create(
        messaging_binding_address="+15558670001", messaging_binding_proxy_address=number)) == (409, 50416)
    assert rest_error(lambda: parts.create(messaging_binding_address="+15558670002")) == (400, 20001)
    assert rest_error(lambda: parts.create(messaging_binding_address="+15558670002",
                                           messaging_binding_proxy_address="+15555559999")) == (400, 21606)
    assert rest_error(lambda: parts.create(messaging_binding_address="not a number",
                                           messaging_binding_proxy_address=number)) == (400, 21211)
    assert rest_error(lambda: parts.create()) == (400, 20001)

    assert len(list(parts.stream(page_size=1))) == 2
    changed = parts(agent.sid).update(attributes=json.dumps({"team": "b"}), last_read_message_index=0)
    assert json.loads(changed.attributes) == {"team": "b"} and changed.last_read_message_index == 0
    assert parts(sms.sid).delete() is True
    # The binding is free again once its participant has gone.
    assert v1.conversations(other.sid).participants.create(
        messaging_binding_address="+15558670001", messaging_binding_proxy_address=number).sid
    assert rest_error(lambda: parts(sms.sid).fetch()) == (404, 20404)


def test_messages_receipts_and_scoped_webhooks(client: Client) -> None:
    v1 = client.conversations.v1
    conv = v1.conversations.create(friendly_name="messages")
    msgs = v1.conversations(conv.sid).messages
    first = msgs.create(author="agent", body="one", attributes=json.dumps({"k": 1}))
    assert first.sid.startswith("IM") and first.index == 0 and first.author == "agent"
    assert first.delivery is None and first.participant_sid is None  # no SMS participants, no receipts
    second = msgs.create(body="two")
    assert second.index == 1 and second.author == "system"
    msgs.create(body="three")
    assert [m.body for m in msgs.list()] == ["one", "two", "three"]
    assert [m.body for m in msgs.list(order="desc", page_size=2)] == ["three", "two", "one"]
    assert msgs(first.sid).update(body="uno").body == "uno"
    assert rest_error(lambda: msgs.create()) == (400, 20001)
    assert rest_error(lambda: msgs.create(body="x", attributes="nope")) == (400, 20001)
    assert rest_error(lambda: msgs.create(body="x", media_sid="ME" + "0" * 32)) == (400, 20001)
    assert msgs(second.sid).delete() is True
    assert rest_error(lambda: msgs(second.sid).fetch()) == (404, 20404)
    assert list(msgs(first.sid).delivery_receipts.list()) == []

    hooks = v1.conversations(conv.sid).webhooks
    hook = hooks.create(target="webhook", configuration_url="https://example.com/hook",
                        configuration_method="POST", configuration_filters=["onMessageAdded"])
    assert hook.sid.startswith("WH") and hook.target == "webhook"
    assert hook.configuration["filters"] == ["onMessageAdded"] and hook.configuration["url"] == "https://example.com/hook"
    trigger = hooks.create(target="trigger", configuration_url="https://example.com/t",
                           configuration_triggers=["help"])
    assert trigger.configuration["triggers"] == ["help"]
    assert len(hooks.list()) == 2
    assert hooks(hook.sid).update(configuration_filters=["onParticipantAdded"]).configuration["filters"] == [
        "onParticipantAdded"]
    assert rest_error(lambda: hooks.create(target="studio", configuration_flow_sid="FW" + "0" * 32)) == (400, 20001)
    assert rest_error(lambda: hooks.create(target="webhook")) == (400, 20001)
    assert rest_error(lambda: hooks.create(target="webhook", configuration_url="ftp://example.com/x")) == (400, 20001)
    assert rest_error(lambda: hooks.create(target="webhook", configuration_url="https://e.com",
                                           configuration_filters=["onMessageAdd"])) == (400, 20001)
    assert hooks(trigger.sid).delete() is True
    assert hooks(hook.sid).fetch().sid == hook.sid


def test_timers_move_the_state(client: Client, server: OpenlineServer) -> None:
    import httpx

    from tests.integration.test_sms_basic import wait_for

    v1 = client.conversations.v1
    conv = v1.conversations.create(timers_inactive="PT1M", timers_closed="PT10M")

    def advance(seconds: int) -> None:
        response = httpx.post(f"{server.url}/sandbox/v1/Clock", data={"Advance": str(seconds)},
                              auth=(server.account_sid, server.auth_token))  # type: ignore[attr-defined]
        assert response.status_code == 200, response.text

    advance(61)
    wait_for(lambda: v1.conversations(conv.sid).fetch().state == "inactive")
    v1.conversations(conv.sid).messages.create(body="wake up")
    assert v1.conversations(conv.sid).fetch().state == "active"
    advance(600)
    wait_for(lambda: v1.conversations(conv.sid).fetch().state == "closed")
    assert rest_error(lambda: v1.conversations(conv.sid).messages.create(body="late")) == (400, 20001)


def test_prefix_style_paths(server: OpenlineServer) -> None:
    sdk = prefix_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    conv = sdk.conversations.v1.conversations.create(friendly_name="prefix")
    assert conv.url.startswith(f"{server.url}/conversations/v1/Conversations/")
    assert sdk.conversations.v1.conversations(conv.sid).fetch().friendly_name == "prefix"
    assert sdk.conversations.v1.services.list()  # /v1/Services is Conversations' here, not Messaging's
    assert validate_exchanges(sdk) >= 3


def test_readme_snippet(client: Client, server: OpenlineServer) -> None:
    import re
    from pathlib import Path

    from tests.integration.test_sms_basic import inbox, wait_for

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    (code,) = [b for b in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "On its way!" in b]
    client.incoming_phone_numbers.create(phone_number="+15555550100")
    exec(code, {"client": client})  # the snippet as written, with this test's client
    got = wait_for(lambda: inbox(server, "+15558675310"))
    assert got[0]["body"] == "On its way!" and got[0]["from"] == "+15555550100"  # type: ignore[index]
