"""Web chat beyond sending: message edits and removals pushed to sockets (from a socket or the REST
API), conversation roles limiting what a chat client may do (Twilio's permission names), and a
moved read horizon firing onParticipantUpdated."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from twilio.rest import Client

from tests.conftest import new_credentials
from tests.integration.test_web_chat import Keys, chat_conversation, error
from tests.support.chat_client import ChatClient
from tests.support.server import OpenlineServer
from tests.support.webhook_receiver import WebhookReceiver


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("chatchanges") / "data",
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


@pytest.fixture
def receiver(server: OpenlineServer) -> Iterator[WebhookReceiver]:
    app = WebhookReceiver(server.auth_token).start()  # type: ignore[attr-defined]
    yield app
    app.stop()


@pytest.fixture
def keys(client: Client) -> Keys:
    return Keys(client)


def joined(server: OpenlineServer, keys: Keys, identity: str, conversation: str) -> ChatClient:
    chat = ChatClient(server.url)
    assert chat.auth(keys.token(identity))["type"] == "ready"
    assert chat.join(conversation)["type"] == "joined"
    return chat


def test_edits_and_removals_reach_every_socket(server: OpenlineServer, client: Client, keys: Keys,
                                               receiver: WebhookReceiver) -> None:
    conv = chat_conversation(client, "ann", "ben")
    v1 = client.conversations.v1
    v1.configuration.webhooks().update(post_webhook_url=receiver.url("/post"), method="POST",
                                       filters=["onMessageUpdated", "onMessageRemoved"], target="webhook")
    with joined(server, keys, "ann", conv) as ann, joined(server, keys, "ben", conv) as ben:
        sent = ann.call({"type": "send", "conversation": conv, "body": "helo"})["message"]
        ben.event("message", conversation=conv)
        ann.event("message", conversation=conv)

        # Ann fixes her typo: both sockets get the new text, the REST API has it.
        answer = ann.call({"type": "update", "conversation": conv, "message": sent["sid"], "body": "hello",
                           "attributes": {"edited": True}})
        assert answer["type"] == "updated" and answer["message"]["body"] == "hello"
        assert answer["message"]["index"] == sent["index"]
        for chat in (ann, ben):
            pushed = chat.event("message_updated", conversation=conv)["message"]
            assert (pushed["sid"], pushed["body"], pushed["attributes"]) == (sent["sid"], "hello", {"edited": True})
        assert v1.conversations(conv).messages(sent["sid"]).fetch().body == "hello"
        (hook,) = receiver.wait("/post")
        assert hook.form["EventType"] == "onMessageUpdated" and hook.form["Source"] == "SDK"
        assert hook.form["Body"] == "hello" and hook.form["ClientIdentity"] == "ann"

        # An edit over REST reaches the sockets too.
        v1.conversations(conv).messages(sent["sid"]).update(body="hello (by an admin)")
        for chat in (ann, ben):
            assert chat.event("message_updated", conversation=conv)["message"]["body"] == "hello (by an admin)"

        # Removal from a socket, then one over REST: every socket is told, by sid and index.
        removed = ann.call({"type": "remove", "conversation": conv, "message": sent["sid"]})
        assert removed["type"] == "removed" and removed["message"] == {"sid": sent["sid"], "index": sent["index"]}
        for chat in (ann, ben):
            assert chat.event("message_removed", conversation=conv)["message"] == removed["message"]
        assert [m.sid for m in v1.conversations(conv).messages.list()] == []
        second = v1.conversations(conv).messages.create(author="ben", body="second")
        ann.event("message", conversation=conv)
        ben.event("message", conversation=conv)
        v1.conversations(conv).messages(second.sid).delete()
        for chat in (ann, ben):
            gone = chat.event("message_removed", conversation=conv)["message"]
            assert gone == {"sid": second.sid, "index": second.index}
        # The REST calls (no X-Twilio-Webhook-Enabled) fired no webhook; the socket's actions did.
        assert [h.form["EventType"] for h in receiver.wait("/post", 2)] == ["onMessageUpdated", "onMessageRemoved"]
        # A removed message can be neither edited nor removed again.
        assert error(ann.call({"type": "update", "conversation": conv, "message": sent["sid"], "body": "x"})) == 20404
        assert error(ann.call({"type": "remove", "conversation": conv, "message": sent["sid"]})) == 20404
        assert error(ann.call({"type": "update", "conversation": conv, "message": sent["sid"]})) == 20001
        assert error(ann.call({"type": "remove", "conversation": conv})) == 20001


def test_roles_limit_chat_clients(server: OpenlineServer, client: Client, keys: Keys,
                                  receiver: WebhookReceiver) -> None:
    v1 = client.conversations.v1
    v1.configuration.webhooks().update(post_webhook_url=receiver.url("/post"), method="POST",
                                       filters=["onMessageRemoved"], target="webhook")
    svc = v1.services(keys.service_sid)
    roles = {r.friendly_name: r for r in svc.roles.list()}
    reader = svc.roles.create(friendly_name="reader", type="conversation", permission=["leaveConversation"])
    conv = v1.conversations.create(friendly_name="roles")
    parts = v1.conversations(conv.sid).participants
    parts.create(identity="user-1")  # the service's default conversation role: "channel user"
    parts.create(identity="user-2")
    watcher = parts.create(identity="watcher", role_sid=reader.sid)
    admin = parts.create(identity="boss", role_sid=roles["channel admin"].sid)
    with joined(server, keys, "user-1", conv.sid) as one, joined(server, keys, "user-2", conv.sid) as two, \
            joined(server, keys, "watcher", conv.sid) as w, joined(server, keys, "boss", conv.sid) as boss:
        mine = one.call({"type": "send", "conversation": conv.sid, "body": "from user-1"})["message"]
        theirs = two.call({"type": "send", "conversation": conv.sid, "body": "from user-2"})["message"]
        # A channel user edits and removes its own messages, never another's.
        assert one.call({"type": "update", "conversation": conv.sid, "message": mine["sid"],
                         "body": "edited"})["type"] == "updated"
        assert error(one.call({"type": "update", "conversation": conv.sid, "message": theirs["sid"],
                               "body": "hijacked"})) == 50107
        assert error(one.call({"type": "update", "conversation": conv.sid, "message": theirs["sid"],
                               "attributes": {"x": 1}})) == 50107
        assert error(one.call({"type": "remove", "conversation": conv.sid, "message": theirs["sid"]})) == 50107
        assert v1.conversations(conv.sid).messages(theirs["sid"]).fetch().body == "from user-2"
        # A role without sendMessage cannot send; it still reads.
        refused = w.call({"type": "send", "conversation": conv.sid, "body": "let me in"})
        assert error(refused) == 50107 and refused["status"] == 403
        assert w.call({"type": "history", "conversation": conv.sid})["type"] == "history"
        # The channel admin may remove anyone's message.
        assert boss.call({"type": "remove", "conversation": conv.sid, "message": theirs["sid"]})["type"] == "removed"
        (hook,) = receiver.wait("/post")  # the webhook names who acted, not who wrote
        assert (hook.form["ClientIdentity"], hook.form["Author"], hook.form["Source"]) == ("boss", "user-2", "SDK")
        assert [m.body for m in v1.conversations(conv.sid).messages.list()] == ["edited"]
        # A role given over REST applies to the open socket at once.
        parts(watcher.sid).update(role_sid=roles["channel user"].sid)
        assert w.call({"type": "send", "conversation": conv.sid, "body": "now I may"})["type"] == "sent"
        parts(admin.sid).update(role_sid=reader.sid)
        assert error(boss.call({"type": "send", "conversation": conv.sid, "body": "no more"})) == 50107
        # Taking editOwnMessage away from the default role stops edits of one's own messages.
        svc.roles(roles["channel user"].sid).update(permission=["sendMessage", "deleteOwnMessage"])
        assert error(one.call({"type": "update", "conversation": conv.sid, "message": mine["sid"],
                               "body": "again"})) == 50107
        assert one.call({"type": "remove", "conversation": conv.sid, "message": mine["sid"]})["type"] == "removed"
        svc.roles(roles["channel user"].sid).update(permission=list(roles["channel user"].permissions))


def test_read_horizon_fires_participant_updated(server: OpenlineServer, client: Client, keys: Keys,
                                                receiver: WebhookReceiver) -> None:
    conv = chat_conversation(client, "reader-1", "writer-1")
    v1 = client.conversations.v1
    v1.conversations(conv).messages.create(author="writer-1", body="one")
    v1.conversations(conv).messages.create(author="writer-1", body="two")
    v1.configuration.webhooks().update(post_webhook_url=receiver.url("/post"), method="POST",
                                       filters=["onParticipantUpdated"], target="webhook")
    with joined(server, keys, "reader-1", conv) as chat:
        assert chat.call({"type": "read", "conversation": conv, "index": 1})["last_read_message_index"] == 1
        (hook,) = receiver.wait("/post")
        participant = next(p for p in v1.conversations(conv).participants.list() if p.identity == "reader-1")
        assert hook.signature_valid and hook.form["EventType"] == "onParticipantUpdated"
        assert (hook.form["ParticipantSid"], hook.form["Identity"], hook.form["ConversationSid"]) == (
            participant.sid, "reader-1", conv)
        assert (hook.form["LastReadMessageIndex"], hook.form["Source"], hook.form["ClientIdentity"]) == (
            "1", "SDK", "reader-1")
        assert hook.form["LastReadTimestamp"] == participant.last_read_timestamp
        # The same horizon again changes nothing and fires nothing.
        chat.call({"type": "read", "conversation": conv, "index": 1})
        chat.call({"type": "read", "conversation": conv, "index": 0})
        hooks = receiver.wait("/post", 2)
        assert [h.form["LastReadMessageIndex"] for h in hooks] == ["1", "0"]
