"""The web console over plain HTTP (no browser): sign-in, cookies, CSRF, sessions, tenancy, streams."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from twilio.rest import Client

from tests.browser.support import create_main_account, handset_inbox, wait_for
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client

CSRF = re.compile(r'name="csrf" value="([^"]+)"')
POST_ROUTES = ("/signout", "/switch", "/keys", "/keys/SK00000000000000000000000000000000/revoke", "/numbers/buy",
               "/numbers/PN00000000000000000000000000000000", "/numbers/PN00000000000000000000000000000000/release",
               "/services", "/services/MG00000000000000000000000000000000",
               "/services/MG00000000000000000000000000000000/numbers",
               "/services/MG00000000000000000000000000000000/numbers/PN00000000000000000000000000000000/remove",
               "/services/MG00000000000000000000000000000000/delete", "/verify", "/phone/send")


class ConsoleClient:
    """A browser, reduced to cookies, forms and the Origin header."""

    def __init__(self, base_url: str, **headers: str) -> None:
        self.base = base_url
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=10,
                                 headers={"Origin": base_url, **headers})

    def sign_in(self, username: str, password: str, next_path: str = "/console/") -> httpx.Response:
        page = self.http.get("/console/signin")
        csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
        return self.http.post("/console/signin", data={"csrf": csrf, "username": username, "password": password,
                                                        "next": next_path})

    def csrf(self) -> str:
        page = self.http.get("/console/keys")
        assert page.status_code == 200, page.text
        return CSRF.search(page.text).group(1)  # type: ignore[union-attr]

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get("/console" + path, **kwargs)

    def post(self, path: str, fields: dict[str, str] | None = None, csrf: bool = True, **kwargs: Any
             ) -> httpx.Response:
        data = {**({"csrf": self.csrf()} if csrf else {}), **(fields or {})}
        return self.http.post("/console" + path, data=data, **kwargs)

    def events(self, path: str, quiet: float = 2.0, **headers: str) -> list[tuple[str, str, str]]:
        """(id, event, data) of a stream's events until it is quiet for ``quiet`` seconds."""
        found: list[tuple[str, str, str]] = []
        event_id = event = ""
        data: list[str] = []
        timeout = httpx.Timeout(10, read=quiet)
        try:
            with self.http.stream("GET", "/console" + path, headers=headers, timeout=timeout) as response:
                assert response.status_code == 200 and response.headers["content-type"].startswith(
                    "text/event-stream")
                for line in response.iter_lines():
                    if line.startswith("id: "):
                        event_id = line[4:]
                    elif line.startswith("event: "):
                        event = line[7:]
                    elif line.startswith("data: "):
                        data.append(line[6:])
                    elif not line and data:
                        found.append((event_id, event, "\n".join(data)))
                        event, data = "", []
        except httpx.ReadTimeout:
            pass
        return found


@pytest.fixture
def browser() -> Iterator[Callable[..., ConsoleClient]]:
    """Makes console clients, and closes them after the test."""
    made: list[ConsoleClient] = []

    def make(base_url: str, **headers: str) -> ConsoleClient:
        made.append(ConsoleClient(base_url, **headers))
        return made[-1]

    yield make
    for c in made:
        c.http.close()


@pytest.fixture
def console(server: OpenlineServer, browser: Callable[..., ConsoleClient]) -> ConsoleClient:
    c = browser(server.url)
    response = c.sign_in(server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    assert response.status_code == 303
    return c


@pytest.fixture(scope="module")
def other(server: OpenlineServer) -> dict[str, Any]:
    """Account B, a second main account on the same installation."""
    sid, token = create_main_account(server, "Account B")
    return {"sid": sid, "token": token, "client": host_style_client(server.url, sid, token)}


def cookie_value(response: httpx.Response, name: str = "openline_console") -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(name + "="):
            return header
    raise AssertionError(f"no {name} cookie set: {response.headers.get_list('set-cookie')}")


# --- sign-in, cookies -------------------------------------------------------------------------


def test_banner_names_the_console(server: OpenlineServer) -> None:
    assert server.banner_value("Console") == f"{server.url}/console"
    assert server.banner_value("Account SID") == server.account_sid  # type: ignore[attr-defined]
    assert httpx.get(f"{server.url}/console").status_code == 307  # → /console/
    assert httpx.get(f"{server.url}/console/").headers["location"].startswith("/console/signin")


def test_sign_in_sets_a_signed_httponly_samesite_cookie_without_the_token(server: OpenlineServer,
                                                                          browser: Callable[..., ConsoleClient]) -> None:
    c = browser(server.url)
    response = c.sign_in(server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    assert response.status_code == 303 and response.headers["location"] == "/console/"
    header = cookie_value(response)
    flags = [part.strip().lower() for part in header.split(";")]
    assert "httponly" in flags and "samesite=lax" in flags and "path=/console/" in flags
    assert "secure" not in flags  # plain http here
    value = header.split(";")[0].split("=", 1)[1]
    body = json.loads(base64.urlsafe_b64decode(value.split(".")[0] + "=="))
    assert body["u"] == server.account_sid and body["a"] == server.account_sid  # type: ignore[attr-defined]
    assert server.auth_token not in value and server.auth_token not in json.dumps(body)  # type: ignore[attr-defined]
    page = c.get("/")
    assert page.status_code == 200 and "<h1>Dashboard</h1>" in page.text
    headers = page.headers
    assert "script-src 'self'" in headers["content-security-policy"] and "frame-ancestors 'none'" in headers[
        "content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["cache-control"] == "no-store"
    assert server.auth_token not in page.text  # type: ignore[attr-defined]


def test_cookie_is_secure_when_served_over_https(server: OpenlineServer, browser: Callable[..., ConsoleClient]) -> None:
    # A TLS-terminating proxy on this host says so with X-Forwarded-Proto (uvicorn trusts 127.0.0.1).
    c = browser(server.url, **{"X-Forwarded-Proto": "https"})
    page = c.http.get("/console/signin")
    signin_cookie = cookie_value(page, "openline_console_signin")
    assert "secure" in [part.strip().lower() for part in signin_cookie.split(";")]
    # httpx keeps Secure cookies for https: hand it over as the browser behind the proxy would.
    response = c.http.post("/console/signin", headers={"Cookie": signin_cookie.split(";")[0]}, data={
        "csrf": CSRF.search(page.text).group(1),  # type: ignore[union-attr]
        "username": server.account_sid, "password": server.auth_token})  # type: ignore[attr-defined]
    assert response.status_code == 303
    assert "secure" in [part.strip().lower() for part in cookie_value(response).split(";")]


@pytest.mark.parametrize(("username", "password"), [
    ("AC" + "0" * 32, "0" * 32),  # unknown account
    (None, "0" * 32),  # the right account, a wrong token
    ("SK" + "0" * 32, "0" * 32),  # unknown key
    ("admin", "admin"),
    (None, "x" * 500),
])
def test_wrong_credentials_fail_and_set_no_session(server: OpenlineServer, username: str | None,
                                                   password: str, browser: Callable[..., ConsoleClient]) -> None:
    c = browser(server.url)
    response = c.sign_in(username or server.account_sid, password)  # type: ignore[attr-defined]
    assert response.status_code in (400, 401)
    assert "openline_console=" not in " ".join(response.headers.get_list("set-cookie"))
    assert c.get("/").status_code == 303


def test_sign_in_form_has_its_own_csrf_token(server: OpenlineServer, browser: Callable[..., ConsoleClient]) -> None:
    creds = {"username": server.account_sid, "password": server.auth_token}  # type: ignore[attr-defined]
    bare = httpx.post(f"{server.url}/console/signin", data={**creds, "csrf": "guess"}, headers={"Origin": server.url})
    assert bare.status_code == 403 and "openline_console=" not in bare.headers.get("set-cookie", "")
    c = browser(server.url)
    c.http.get("/console/signin")
    assert c.http.post("/console/signin", data={**creds, "csrf": "guess"}).status_code == 403
    evil = browser(server.url, Origin="https://evil.example")
    csrf = CSRF.search(evil.http.get("/console/signin").text).group(1)  # type: ignore[union-attr]
    assert evil.http.post("/console/signin", data={**creds, "csrf": csrf}).status_code == 403


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/elsewhere", "/console\\@evil"])
def test_sign_in_never_redirects_off_the_console(server: OpenlineServer, target: str, browser: Callable[..., ConsoleClient]) -> None:
    response = browser(server.url).sign_in(server.account_sid, server.auth_token, target)  # type: ignore[attr-defined]
    assert response.status_code == 303 and response.headers["location"] == "/console/"


def test_every_post_needs_the_session_csrf_token_and_this_origin(console: ConsoleClient,
                                                                 server: OpenlineServer) -> None:
    before = [k.sid for k in host_style_client(server.url, server.account_sid, server.auth_token).keys.list()]  # type: ignore[attr-defined]
    for path in POST_ROUTES:
        assert console.post(path, {"friendly_name": "x"}, csrf=False).status_code == 403, path
        assert console.post(path, {"friendly_name": "x", "csrf": "wrong"}, csrf=False).status_code == 403, path
    token = console.csrf()
    cross = console.http.post("/console/keys", data={"csrf": token, "friendly_name": "x"},
                              headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    after = [k.sid for k in host_style_client(server.url, server.account_sid, server.auth_token).keys.list()]  # type: ignore[attr-defined]
    assert after == before  # nothing was created
    created = console.post("/keys", {"friendly_name": "allowed"})
    assert created.status_code == 201 and "copy its secret now" in created.text


def test_unauthenticated_requests_go_to_sign_in(server: OpenlineServer) -> None:
    for path in ("/", "/messages", "/messages/stream", "/phone/stream", "/keys", "/alerts/NO123"):
        response = httpx.get(f"{server.url}/console{path}")
        assert response.status_code == 303 and response.headers["location"].startswith("/console/signin"), path
    for path in POST_ROUTES:
        assert httpx.post(f"{server.url}/console{path}", data={"csrf": "x"}).status_code == 401, path


def test_a_tampered_cookie_is_refused(console: ConsoleClient) -> None:
    value = console.http.cookies["openline_console"]
    body, mac = value.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=="))
    data["a"] = "AC" + "1" * 32
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    for bad in (f"{forged}.{mac}", value[:-2] + ("AA" if value[-2:] != "AA" else "BB"), "garbage", ""):
        console.http.cookies.clear()
        console.http.cookies.set("openline_console", bad, path="/console/")
        assert console.get("/").status_code == 303


def test_sign_out_ends_the_session(console: ConsoleClient) -> None:
    response = console.post("/signout")
    assert response.status_code == 303 and response.headers["location"] == "/console/signin"
    assert "openline_console=\"\"" in cookie_value(response) or "max-age=0" in cookie_value(response).lower()
    assert console.get("/").status_code == 303


def test_a_key_session_ends_when_the_key_is_revoked(server: OpenlineServer, client: Client, browser: Callable[..., ConsoleClient]) -> None:
    key = client.new_keys.create(friendly_name="console session key")
    c = browser(server.url)
    assert c.sign_in(key.sid, key.secret).status_code == 303
    page = c.get("/keys")
    assert page.status_code == 200 and "Signed in with a standard API key" in page.text
    refused = c.post("/keys", {"friendly_name": "not allowed"})
    assert refused.status_code == 403 and "standard API key" in refused.text
    client.keys(key.sid).delete()
    assert c.get("/").status_code == 303  # at once: sessions look the credential up on every request


# --- tenancy ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def a_data(server: OpenlineServer) -> dict[str, Any]:
    client = host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    number = client.incoming_phone_numbers.create(phone_number="+15555550600",
                                                  sms_url="http://127.0.0.1:9/unreachable")
    message = client.messages.create(body="A's private text", from_=number.phone_number, to="+15558670600")
    inbound = httpx.post(f"{server.url}/sandbox/v1/Messages", auth=(server.account_sid, server.auth_token),  # type: ignore[attr-defined]
                         data={"From": "+15558670600", "To": number.phone_number, "Body": "A's customer wrote"})
    assert inbound.status_code == 201
    service = client.messaging.v1.services.create(friendly_name="A service")
    verify = client.verify.v2.services.create(friendly_name="A verify")
    verification = client.verify.v2.services(verify.sid).verifications.create(to="+15558670601", channel="sms")
    key = client.new_keys.create(friendly_name="A key")
    alert = wait_for(lambda: client.monitor.v1.alerts.list(limit=1), timeout=15)[0]
    return {"client": client, "number": number, "message": message, "inbound": inbound.json(), "service": service,
            "verify": verify, "verification": verification, "key": key, "alert": alert}


def test_other_account_cannot_read_or_change_anything_of_a(server: OpenlineServer, a_data: dict[str, Any],
                                                            other: dict[str, Any], browser: Callable[..., ConsoleClient]) -> None:
    b = browser(server.url)
    assert b.sign_in(other["sid"], other["token"]).status_code == 303
    a = a_data
    secrets = [server.account_sid, a["number"].sid, a["number"].phone_number, a["message"].sid,  # type: ignore[attr-defined]
               a["inbound"]["sid"], "A's private text", "A's customer wrote", a["service"].sid, a["verify"].sid,
               a["verification"].sid, a["key"].sid, a["alert"].sid]
    for path in ("/", "/messages", "/messages?to=%2B15558670600", "/numbers", "/services", "/verify", "/keys",
                 "/alerts", "/phone", "/phone?chat=%2B15555550600%2C%2B15558670600"):
        page = b.get(path)
        assert page.status_code == 200, path
        assert [s for s in secrets if s in page.text] == [], path
    for path in (f"/messages/{a['message'].sid}", f"/messages/{a['inbound']['sid']}", f"/numbers/{a['number'].sid}",
                 f"/services/{a['service'].sid}", f"/verify/{a['verify'].sid}", f"/alerts/{a['alert'].sid}"):
        page = b.get(path)
        assert page.status_code == 404 and [s for s in secrets if s in page.text] == [], path
    for path, fields in ((f"/numbers/{a['number'].sid}", {"sms_url": "https://evil.example/"}),
                         (f"/numbers/{a['number'].sid}/release", {}),
                         (f"/keys/{a['key'].sid}/revoke", {}),
                         (f"/services/{a['service'].sid}", {"friendly_name": "pwned"}),
                         (f"/services/{a['service'].sid}/numbers", {"number_sid": a["number"].sid}),
                         (f"/services/{a['service'].sid}/delete", {}),
                         ("/switch", {"account": server.account_sid})):  # type: ignore[attr-defined]
        assert b.post(path, fields).status_code == 404, path
    # B's own service cannot take A's number either.
    own = other["client"].messaging.v1.services.create(friendly_name="B service")
    assert b.post(f"/services/{own.sid}/numbers", {"number_sid": a["number"].sid}).status_code == 404
    sent = b.post("/phone/send", {"number": a["number"].phone_number, "handset": "+15558670600", "body": "spoof"},
                  headers={"Accept": "application/json"})
    assert sent.status_code == 400 and "21606" in sent.json()["error"]
    client = a["client"]
    assert client.incoming_phone_numbers(a["number"].sid).fetch().sms_url == "http://127.0.0.1:9/unreachable"
    assert client.messaging.v1.services(a["service"].sid).fetch().friendly_name == "A service"
    assert a["key"].sid in [k.sid for k in client.keys.list()]
    assert b.get("/").status_code == 200 and other["sid"] in b.get("/").text  # still B, never A


def test_live_streams_carry_only_the_sessions_account(server: OpenlineServer, console: ConsoleClient,
                                                      a_data: dict[str, Any], other: dict[str, Any],
                                                      browser: Callable[..., ConsoleClient]) -> None:
    a_events = console.events("/messages/stream?after=m0e0", quiet=1.5)
    a_sids = {re.search(r'data-sid="([^"]+)"', d).group(1) for _, e, d in a_events if e == "row"}  # type: ignore[union-attr]
    assert a_data["message"].sid in a_sids and a_data["inbound"]["sid"] in a_sids
    b = browser(server.url)
    assert b.sign_in(other["sid"], other["token"]).status_code == 303
    b_events = b.events("/messages/stream?after=m0e0", quiet=1.5)
    assert not [d for _, _, d in b_events if any(s in d for s in a_sids)]
    phone = b.events("/phone/stream?" + urlencode({"chat": f"{a_data['number'].phone_number},+15558670600",
                                                  "after": "h0m0"}), quiet=1.5)
    assert not [e for e in phone if e[1] == "bubble"]


def test_verify_pages_show_status_never_the_code(server: OpenlineServer, console: ConsoleClient,
                                                 a_data: dict[str, Any]) -> None:
    service, verification = a_data["verify"], a_data["verification"]
    inbox = wait_for(lambda: handset_inbox(server.url, (server.account_sid, server.auth_token), "+15558670601"))  # type: ignore[attr-defined]
    code = re.search(r"\b(\d{6})\b", inbox[0]["body"]).group(1)  # type: ignore[union-attr]
    for path in (f"/verify/{service.sid}", "/verify", "/messages", "/", "/messages?to=%2B15558670601"):
        page = console.get(path)
        assert page.status_code == 200 and code not in page.text, path
    page = console.get(f"/verify/{service.sid}")
    assert verification.sid in page.text and ">pending<" in page.text
    a_data["client"].verify.v2.services(service.sid).verification_checks.create(to="+15558670601", code=code)
    assert ">approved<" in console.get(f"/verify/{service.sid}").text
    events = console.events("/messages/stream?after=m0e0", quiet=1.0)
    assert not [d for _, _, d in events if code in d or "+15558670601" in d]


def test_the_log_filters(console: ConsoleClient, a_data: dict[str, Any]) -> None:
    inbound_only = console.get("/messages?direction=inbound").text
    assert a_data["inbound"]["sid"] in inbound_only and a_data["message"].sid not in inbound_only
    to = console.get("/messages?" + urlencode({"to": "+15558670600"})).text
    assert a_data["message"].sid in to and a_data["inbound"]["sid"] not in to
    status = console.get("/messages?status=received").text
    assert a_data["inbound"]["sid"] in status and a_data["message"].sid not in status
    today = time.strftime("%Y-%m-%d", time.gmtime())
    assert a_data["message"].sid in console.get(f"/messages?date_from={today}&date_to={today}").text
    assert a_data["message"].sid not in console.get("/messages?date_to=2001-01-01").text
    assert "Dates are written YYYY-MM-DD" in console.get("/messages?date_from=yesterday").text
    detail = console.get(f"/messages/{a_data['inbound']['sid']}").text
    assert "http://127.0.0.1:9/unreachable" in detail and "no answer" in detail  # the attempt
    assert "/alerts/NO" in detail and ">11205<" in detail  # and its alert (connection failure)


def test_stream_resumes_from_last_event_id(console: ConsoleClient, server: OpenlineServer, client: Client) -> None:
    first = console.events("/messages/stream?after=m0e0", quiet=1.0)
    last_id = first[-1][0]
    number = client.incoming_phone_numbers.list(limit=1)[0].phone_number
    fresh = client.messages.create(body="after the cursor", from_=number, to="+15558670700")
    resumed = console.events("/messages/stream?after=m0e0", quiet=1.0, **{"Last-Event-ID": last_id})
    rows = [d for _, e, d in resumed if e == "row"]
    assert len(rows) == 1 and fresh.sid in rows[0]


def test_restart_keeps_sessions_and_streams_resume(tmp_path: Any, browser: Callable[..., ConsoleClient]) -> None:
    from tests.conftest import new_credentials

    sid, token = new_credentials()
    env = {"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}
    srv = OpenlineServer(tmp_path / "data", env=env).start()
    try:
        c = browser(srv.url)
        assert c.sign_in(sid, token).status_code == 303
        cookie = c.http.cookies["openline_console"]
        client = host_style_client(srv.url, sid, token)
        number = client.incoming_phone_numbers.create(phone_number="+15555550700").phone_number
        client.messages.create(body="before restart", from_=number, to="+15558670701")
        cursor = c.events("/messages/stream?after=m0e0", quiet=1.0)[-1][0]
    finally:
        srv.stop()
    srv = OpenlineServer(tmp_path / "data", env=env).start()
    try:
        c = browser(srv.url)
        c.http.cookies.set("openline_console", cookie, path="/console/")
        assert c.get("/").status_code == 200  # the session key comes from the installation's secret key
        client = host_style_client(srv.url, sid, token)
        after = client.messages.create(body="after restart", from_=number, to="+15558670701")
        rows = [d for _, e, d in c.events("/messages/stream", quiet=1.0, **{"Last-Event-ID": cursor}) if e == "row"]
        assert len(rows) == 1 and after.sid in rows[0]
    finally:
        srv.stop()


def test_static_files_and_not_found(server: OpenlineServer, console: ConsoleClient) -> None:
    css = httpx.get(f"{server.url}/console/static/console.css")
    js = httpx.get(f"{server.url}/console/static/console.js")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert js.status_code == 200 and "javascript" in js.headers["content-type"]
    assert "http://" not in js.text and "https://" not in css.text  # offline: nothing from elsewhere
    missing = console.get("/no/such/page")
    assert missing.status_code == 404 and "Not found" in missing.text
