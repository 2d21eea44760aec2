"""Account B reaches none of account A's objects through any endpoint /openapi.json lists.

Driven by Openline's own OpenAPI document: every path template must be covered here, so a new
endpoint fails this test until its tenancy is checked. For each template and method, B tries
A's objects both under A's account path (must be 401/20003) and under its own (must be 404
with nothing changed), lists show none of A's SIDs, A's page tokens show B nothing, and the
sandbox lets B neither read A's handset traffic nor inject into A's numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from twilio.rest import Client
from twilio.rest.content.v1.content import ContentList

from tests.browser.support import create_main_account
from tests.conftest import new_credentials
from tests.integration.test_sms_basic import wait_for
from tests.support.reliability import record
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client

HANDSET = "+15558675440"  # A's customer


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("tenancy") / "data",
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def a(server: OpenlineServer) -> dict[str, Any]:
    """Account A with one of everything."""
    sid, token = server.account_sid, server.auth_token  # type: ignore[attr-defined]
    c: Client = host_style_client(server.url, sid, token)
    number = c.incoming_phone_numbers.create(phone_number="+15555550440", sms_url="http://127.0.0.1:9/down")
    message = c.messages.create(to=HANDSET, from_=number.phone_number, body="A's secret order 1042",
                                media_url=[f"{server.url}/health"])
    wait_for(lambda: c.messages(message.sid).fetch().status in ("delivered", "failed"))
    httpx.post(f"{server.url}/sandbox/v1/Messages", auth=(sid, token),
               data={"From": HANDSET, "To": number.phone_number, "Body": "reply to A"})
    alert = wait_for(lambda: c.monitor.v1.alerts.list(limit=1))[0]  # type: ignore[index]
    service = c.messaging.v1.services.create(friendly_name="A service")
    number2 = c.incoming_phone_numbers.create(phone_number="+15555550441")
    service_number = c.messaging.v1.services(service.sid).phone_numbers.create(phone_number_sid=number2.sid)
    alpha = c.messaging.v1.services(service.sid).alpha_senders.create(alpha_sender="ACME")
    verify = c.verify.v2.services.create(friendly_name="A verify")
    verification = c.verify.v2.services(verify.sid).verifications.create(to="+15558675441", channel="sms")
    rate_limit = c.verify.v2.services(verify.sid).rate_limits.create(unique_name="end_user_ip")
    bucket = c.verify.v2.services(verify.sid).rate_limits(rate_limit.sid).buckets.create(max=5, interval=60)
    media = c.messages(message.sid).media.list()
    conv = c.conversations.v1
    chat_service = conv.configuration().fetch().default_chat_service_sid
    conversation = conv.conversations.create(friendly_name="A's thread")
    participant = conv.conversations(conversation.sid).participants.create(identity="a-agent")
    conv.conversations(conversation.sid).participants.create(messaging_binding_address="+15558675444",
                                                             messaging_binding_proxy_address=number.phone_number)
    conv_message = conv.conversations(conversation.sid).messages.create(author="a-agent", body="A's private chat")
    receipts = wait_for(lambda: conv.conversations(conversation.sid).messages(conv_message.sid)
                        .delivery_receipts.list())
    hook = conv.conversations(conversation.sid).webhooks.create(target="webhook",
                                                                configuration_url="https://a.example/hook")
    conv_ids = {
        "chat_service": chat_service, "IS": conv.services.create(friendly_name="A chat").sid,
        "CH": conversation.sid, "MB": participant.sid, "IM": conv_message.sid,
        "DY": receipts[0].sid,  # type: ignore[index]
        "WH": hook.sid, "US": conv.users.create(identity="a-user").sid,
        "RL": conv.roles.create(friendly_name="a-role", type="conversation", permission=["sendMessage"]).sid,
        "IG": conv.address_configurations.create(type="sms", address=number2.phone_number).sid,
        "HX": c.content.v1.contents.create(ContentList.ContentCreateRequest({
            "friendly_name": "A's template", "language": "en",
            "types": {"twilio/text": {"body": "A's secret template"}}})).sid,
    }
    call = c.calls.create(to=HANDSET, from_=number.phone_number, record=True,
                          twiml="<Response><Say>A's private call</Say></Response>")
    wait_for(lambda: c.calls(call.sid).fetch().status == "completed", timeout=30)
    recording = wait_for(lambda: c.recordings.list(call_sid=call.sid), timeout=10)[0]  # type: ignore[index]
    return {**conv_ids, "CA": call.sid, "RE": recording.sid,
        "sid": sid, "token": token, "client": c, "sub": c.api.v2010.accounts.create(friendly_name="A child").sid,
        "AP": c.applications.create(friendly_name="A app").sid, "SK": c.new_keys.create(friendly_name="A key").sid,
        "PN": number.sid, "SM": message.sid, "ME": media[0].sid if media else None, "NO": alert.sid,
        "MG": service.sid, "service_number": service_number.sid, "AI": alpha.sid, "VA": verify.sid,
        "VE": verification.sid, "RK": rate_limit.sid, "BL": bucket.sid, "number": number.phone_number,
    }


@pytest.fixture(scope="module")
def b(server: OpenlineServer) -> dict[str, Any]:
    sid, token = create_main_account(server, "Account B")
    number = host_style_client(server.url, sid, token).incoming_phone_numbers.create(phone_number="+15555550449")
    return {"sid": sid, "token": token, "PN": number.sid}


def _valid_form(b: dict[str, Any], template: str = "") -> dict[str, str]:
    """One form that every create/update accepts as valid, so handlers get as far as the lookup."""
    return {"FriendlyName": "B was here", "Body": "B was here" if template.startswith("/conversations/") else "", "PhoneNumberSid": b["PN"], "AlphaSender": "BCO",
            "To": "+15558675443", "Channel": "sms", "Code": "123456", "Status": "canceled",
            "UniqueName": "b_key", "Max": "5", "Interval": "60", "Identity": "b-user", "Author": "b",
            "Target": "webhook", "Configuration.Url": "https://b.example/hook", "Type": "sms",
            "Address": "+15555550449"}


def _fill(template: str, a: dict[str, Any], account: str) -> str | None:
    """The template with A's objects in it (under ``account``), or None if nothing of A's applies."""
    conversations = template.startswith("/conversations/")
    params = {
        "AccountSid": account, "MessageSid": a["IM"] if conversations else a["SM"],
        "ServiceSid": a["MG"] if "/messaging/" in template else a["VA"], "RateLimitSid": a["RK"],
        "CountryCode": "US", "PhoneNumber": a["number"], "address": HANDSET, "ConversationSid": a["CH"],
        "ChatServiceSid": a["chat_service"], "CallSid": a["CA"],
    }
    if conversations and "{Sid}" in template:
        for marker, key in [("/Receipts/", "DY"), ("/Participants/", "MB"), ("/Messages/", "IM"),
                            ("/Webhooks/", "WH"), ("/Addresses/", "IG"), ("/Users/", "US"), ("/Roles/", "RL"),
                            ("/Conversations/", "CH"), ("/Services/", "IS")]:
            if marker + "{Sid}" in template:
                params["Sid"] = a[key]
                break
    sid_by_collection = [
        ("/Recordings/", "RE"), ("/Calls/", "CA"), ("/Keys/", "SK"), ("/Applications/", "AP"), ("/IncomingPhoneNumbers/", "PN"), ("/Media/", "ME"),
        ("/Messages/", "SM"), ("/Alerts/", "NO"), ("/Buckets/", "BL"), ("/RateLimits/", "RK"),
        ("/Verifications/", "VE"), ("/PhoneNumbers/", "service_number"), ("/AlphaSenders/", "AI"),
        ("/messaging/v1/Services/", "MG"), ("/verify/v2/Services/", "VA"), ("/Accounts/", "sub"),
        ("/Content/", "HX"),
    ]
    if "{Sid}" in template and not conversations:
        for marker, key in sid_by_collection:
            if marker + "{Sid}" in template:
                params["Sid"] = a[key]
                break
    if any(value is None for value in params.values()):
        return None
    return re.sub(r"\{(\w+)\}", lambda m: str(params[m.group(1)]), template)


# Templates whose data is not per account, or that act on the caller itself.
NOT_TENANT_DATA = {
    "/lookups/v2/PhoneNumbers/{PhoneNumber}",  # public numbering facts
    "/accounts/v1/AuthTokens/Secondary", "/accounts/v1/AuthTokens/Promote",  # the caller's own account
    "/api/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers.json",  # inventory offered to everyone
    "/api/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}.json",
    "/api/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/Local.json",
    "/api/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/Mobile.json",
    "/api/2010-04-01/Accounts/{AccountSid}/AvailablePhoneNumbers/{CountryCode}/TollFree.json",
}
SANDBOX = {"/sandbox/v1/Messages", "/sandbox/v1/Handsets/{address}/Messages",  # test_sandbox_handsets_...
           "/sandbox/v1/Mailboxes/{address}/Messages",  # test_email_objects_...
           "/sandbox/v1/Mailboxes/{address}/Messages/{id}/raw",
           # test_sandbox_calls_are_per_account
           "/sandbox/v1/Calls", "/sandbox/v1/Handsets/{address}/Calls", "/sandbox/v1/Handsets/{address}/Behavior",
           "/sandbox/v1/Handsets/{address}/Calls/{sid}.wav"}


def _a_sids(a: dict[str, Any]) -> list[str]:
    return [str(v) for k, v in a.items() if k.isupper() and v] + [a["sub"], a["number"], a["chat_service"]]


def test_every_endpoint_keeps_a_objects_from_b(server: OpenlineServer, a: dict[str, Any],
                                               b: dict[str, Any]) -> None:
    spec = httpx.get(f"{server.url}/openapi.json").json()
    b_auth = (b["sid"], b["token"])
    tried = 0
    with httpx.Client(base_url=server.url, auth=b_auth) as http:
        for template, operations in spec["paths"].items():
            if template in NOT_TENANT_DATA or template in SANDBOX:
                continue
            for method in operations:
                # Under A's account path (A itself, and A's subaccount): refused outright.
                if "{AccountSid}" in template:
                    for account in (a["sid"], a["sub"]):
                        url = _fill(template, a, account)
                        assert url, template
                        answer = http.request(method.upper(), url, data=_valid_form(b, template) if method == "post" else None)
                        assert (answer.status_code, answer.json()["code"]) == (401, 20003), (method, url)
                        tried += 1
                # Under B's own path (or a v1/v2 path): A's objects do not exist for B.
                url = _fill(template, a, b["sid"])
                assert url, f"no A object for {template}: extend this test"
                answer = http.request(method.upper(), url, data=_valid_form(b, template) if method == "post" else None)
                tried += 1
                if template.endswith("/Accounts/{AccountSid}.json"):
                    continue  # B's own account
                if set(re.findall(r"\{(\w+)\}", template)) - {"AccountSid"}:
                    # One of A's objects, or a collection under one: it does not exist for B.
                    assert answer.status_code in (401, 404), (method, url, answer.status_code, answer.text)
                    assert answer.json()["code"] in (20003, 20404), (method, url, answer.text)
                else:  # B's own collection: a create may succeed for B, a list shows nothing of A's
                    assert answer.status_code < 500, (method, url, answer.text)
                    if method == "get":
                        assert not any(s in answer.text for s in _a_sids(a)), (url, answer.text[:500])
    assert tried > 60
    record("account B against account A's objects (every /openapi.json endpoint and method)",
           f"{tried} requests with A's SIDs, under A's and B's paths", "401/20003 or 404/20404 each; A unchanged",
           "0 objects read or changed")
    # Nothing of A's changed or disappeared.
    c: Client = a["client"]
    assert c.messages(a["SM"]).fetch().body == "A's secret order 1042"
    assert c.applications(a["AP"]).fetch().friendly_name == "A app"
    assert c.messaging.v1.services(a["MG"]).fetch().friendly_name == "A service"
    assert c.verify.v2.services(a["VA"]).fetch().friendly_name == "A verify"
    assert c.api.v2010.accounts(a["sub"]).fetch().friendly_name == "A child"
    assert c.keys(a["SK"]).fetch().friendly_name == "A key"
    assert c.incoming_phone_numbers(a["PN"]).fetch().sid == a["PN"]
    assert c.monitor.v1.alerts(a["NO"]).fetch().sid == a["NO"]
    assert c.verify.v2.services(a["VA"]).rate_limits(a["RK"]).buckets(a["BL"]).fetch().max == 5
    thread = c.conversations.v1.conversations(a["CH"])
    assert thread.fetch().friendly_name == "A's thread"
    assert thread.messages(a["IM"]).fetch().body == "A's private chat"
    assert thread.participants(a["MB"]).fetch().identity == "a-agent"
    assert thread.webhooks(a["WH"]).fetch().configuration["url"] == "https://a.example/hook"
    assert c.conversations.v1.users(a["US"]).fetch().identity == "a-user"
    assert c.conversations.v1.services(a["IS"]).fetch().friendly_name == "A chat"
    assert c.calls(a["CA"]).fetch().status == "completed"
    assert c.recordings(a["RE"]).fetch().call_sid == a["CA"]
    assert httpx.get(f"{server.url}/2010-04-01/Accounts/{a['sid']}/Recordings/{a['RE']}.wav").status_code == 200


def test_page_tokens_of_a_show_b_nothing(server: OpenlineServer, a: dict[str, Any], b: dict[str, Any]) -> None:
    first = httpx.get(f"{server.url}/2010-04-01/Accounts/{a['sid']}/Messages.json?PageSize=1",
                      auth=(a["sid"], a["token"])).json()
    assert first["next_page_uri"], "A needs two pages of messages for this test"
    stolen = first["next_page_uri"].replace(a["sid"], b["sid"])
    as_b = httpx.get(f"{server.url}{stolen}", auth=(b["sid"], b["token"]))
    assert as_b.status_code in (200, 400), as_b.text
    assert not any(s in as_b.text for s in _a_sids(a) if s != a["sid"])
    direct = httpx.get(f"{server.url}{first['next_page_uri']}", auth=(b["sid"], b["token"]))
    assert (direct.status_code, direct.json()["code"]) == (401, 20003)


def test_sandbox_handsets_and_injection_are_per_account(server: OpenlineServer, a: dict[str, Any],
                                                        b: dict[str, Any]) -> None:
    b_auth = (b["sid"], b["token"])
    inbox = httpx.get(f"{server.url}/sandbox/v1/Handsets/{HANDSET}/Messages", auth=b_auth)
    assert inbox.status_code == 200 and inbox.json()["messages"] == [], inbox.text
    own = httpx.get(f"{server.url}/sandbox/v1/Handsets/{HANDSET}/Messages", auth=(a["sid"], a["token"]))
    assert any("1042" in m["body"] for m in own.json()["messages"])  # the test would see a leak
    before = len(a["client"].messages.list(to=a["number"]))
    injected = httpx.post(f"{server.url}/sandbox/v1/Messages", auth=b_auth,
                          data={"From": "+15558675442", "To": a["number"], "Body": "B pretending"})
    assert injected.status_code in (400, 404), injected.text
    assert set(injected.json()) == {"code", "message", "more_info", "status"}
    assert len(a["client"].messages.list(to=a["number"])) == before


def test_sandbox_calls_are_per_account(server: OpenlineServer, a: dict[str, Any], b: dict[str, Any]) -> None:
    b_auth, a_auth = (b["sid"], b["token"]), (a["sid"], a["token"])
    own = httpx.get(f"{server.url}/sandbox/v1/Handsets/{HANDSET}/Calls", auth=a_auth).json()["calls"]
    assert [item["sid"] for item in own] == [a["CA"]]  # the test would see a leak
    assert own[0]["heard"] == ["A's private call"]
    listed = httpx.get(f"{server.url}/sandbox/v1/Handsets/{HANDSET}/Calls", auth=b_auth)
    assert listed.status_code == 200 and listed.json()["calls"] == [], listed.text
    audio = httpx.get(f"{server.url}/sandbox/v1/Handsets/{HANDSET}/Calls/{a['CA']}.wav", auth=b_auth)
    assert (audio.status_code, audio.json()["code"]) == (404, 20404)
    assert httpx.get(f"{server.url}/sandbox/v1/Handsets/{HANDSET}/Calls/{a['CA']}.wav", auth=a_auth).status_code == 200
    before = len(a["client"].calls.list(to=a["number"]))
    placed = httpx.post(f"{server.url}/sandbox/v1/Calls", auth=b_auth, data={"From": "+15558675442", "To": a["number"]})
    assert placed.status_code in (400, 404), placed.text
    assert set(placed.json()) == {"code", "message", "more_info", "status"}
    assert len(a["client"].calls.list(to=a["number"])) == before
    # B's setting for a handset is B's: A's calls to it still answer as before.
    assert httpx.post(f"{server.url}/sandbox/v1/Handsets/{HANDSET}/Behavior", auth=b_auth,
                      data={"Answer": "busy"}).status_code == 200
    c: Client = a["client"]
    call = c.calls.create(to=HANDSET, from_=a["number"], twiml="<Response><Hangup/></Response>")
    assert wait_for(lambda: c.calls(call.sid).fetch().status == "completed", timeout=20)


def test_email_objects_are_per_account(server: OpenlineServer, a: dict[str, Any], b: dict[str, Any]) -> None:
    """The SendGrid-style API (not in /openapi.json): keys, templates, groups, batches, mailboxes."""
    def key_for(auth: tuple[str, str]) -> tuple[str, str]:
        made = httpx.post(f"{server.url}/v3/api_keys", json={"name": "k"}, auth=auth)
        assert made.status_code == 201, made.text
        return made.json()["api_key"], made.json()["api_key_id"]

    a_key, a_key_id = key_for((a["sid"], a["token"]))
    b_key, _ = key_for((b["sid"], b["token"]))
    as_a = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {a_key}"})
    as_b = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {b_key}"})
    template = as_a.post("/v3/templates", json={"name": "A template", "generation": "dynamic"}).json()["id"]
    group = as_a.post("/v3/asm/groups", json={"name": "A news", "description": "A's"}).json()["id"]
    batch = as_a.post("/v3/mail/batch").json()["batch_id"]
    sent = as_a.post("/v3/mail/send", json={
        "personalizations": [{"to": [{"email": "customer@a.example"}]}], "from": {"email": "shop@a.example"},
        "subject": "A's invoice 77", "content": [{"type": "text/plain", "value": "A's secret invoice"}]})
    assert sent.status_code == 202, sent.text
    a_mail = wait_for(lambda: httpx.get(f"{server.url}/sandbox/v1/Mailboxes/customer@a.example/Messages",
                                        auth=(a["sid"], a["token"])).json()["messages"])[0]  # type: ignore[index]
    tried = 0
    for method, path in [("GET", f"/v3/templates/{template}"), ("PATCH", f"/v3/templates/{template}"),
                         ("DELETE", f"/v3/templates/{template}"), ("GET", f"/v3/api_keys/{a_key_id}"),
                         ("DELETE", f"/v3/api_keys/{a_key_id}"), ("GET", f"/v3/asm/groups/{group}"),
                         ("DELETE", f"/v3/asm/groups/{group}"), ("GET", f"/v3/mail/batch/{batch}"),
                         ("POST", f"/v3/templates/{template}/versions")]:
        answer = as_b.request(method, path, json={"name": "B was here", "subject": "x"}
                              if method in ("PATCH", "POST") else None)
        assert answer.status_code in (403, 404), (method, path, answer.status_code, answer.text)
        tried += 1
    for path in ("/v3/templates?generations=dynamic", "/v3/api_keys", "/v3/asm/groups"):
        listed = as_b.get(path)
        assert listed.status_code == 200, listed.text
        assert not {template, a_key_id, group} & set(_ids(listed.json())), (path, listed.text[:300])
        tried += 1
    b_auth = (b["sid"], b["token"])
    inbox = httpx.get(f"{server.url}/sandbox/v1/Mailboxes/customer@a.example/Messages", auth=b_auth)
    assert inbox.status_code == 200 and inbox.json()["messages"] == []
    raw = httpx.get(f"{server.url}/sandbox/v1/Mailboxes/customer@a.example/Messages/{a_mail['id']}/raw", auth=b_auth)
    assert raw.status_code == 404 and "invoice" not in raw.text
    assert as_a.get(f"/v3/templates/{template}").status_code == 200  # still there, unchanged
    assert as_a.get(f"/v3/api_keys/{a_key_id}").status_code == 200
    as_a.close()
    as_b.close()
    record("account B against account A's email objects (SendGrid API and sandbox mailboxes)",
           f"{tried + 2} requests", "403/404 for A's objects; lists and mailboxes show nothing of A's",
           "0 objects read or changed")


def _ids(node: Any) -> list[Any]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k in ("id", "api_key_id")] + [i for v in node.values() for i in _ids(v)]
    if isinstance(node, list):
        return [i for v in node for i in _ids(v)]
    return []
