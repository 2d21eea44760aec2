"""Both ways of pointing the SDK at Openline, the error envelope, and Openline's own endpoints."""

from __future__ import annotations

import re

import httpx
from twilio.rest import Client

from tests.conftest import validate_exchanges
from tests.support.schemas import check_error_body
from tests.support.server import OpenlineServer
from tests.support.twilio_client import prefix_style_client, rest_error


def _auth(server: OpenlineServer) -> tuple[str, str]:
    return server.account_sid, server.auth_token  # type: ignore[attr-defined]


def test_prefix_style_client_pages(server: OpenlineServer) -> None:
    sdk = prefix_style_client(server.url, *_auth(server))
    sub = sdk.api.v2010.accounts.create(friendly_name="prefix style")
    apps = sdk.api.v2010.accounts(sub.sid).applications
    made = {apps.create(friendly_name=f"app {i}").sid for i in range(7)}
    assert {a.sid for a in apps.list(page_size=3)} == made
    assert len(list(apps.stream(page_size=2, limit=5))) == 5
    assert all(path.startswith("/2010-04-01/") for _m, product, path, _r in sdk.http_client.exchanges  # type: ignore[attr-defined]
               if product == "api")
    assert validate_exchanges(sdk) > 5


def test_all_three_path_forms_reach_the_same_resource(server: OpenlineServer, client: Client) -> None:
    app = client.applications.create(friendly_name="shared")
    path = f"/2010-04-01/Accounts/{server.account_sid}/Applications/{app.sid}.json"  # type: ignore[attr-defined]
    for url, headers in [(f"{server.url}{path}", {}), (f"{server.url}/api{path}", {}),
                         (f"{server.url}{path}", {"Host": "api.twilio.com"})]:
        response = httpx.get(url, auth=_auth(server), headers=headers)
        assert response.status_code == 200 and response.json()["sid"] == app.sid


def test_v1_meta_links_follow_the_client_style(server: OpenlineServer) -> None:
    # The same path on two products: each answers its own list, with links in the caller's style.
    for url, headers, base, key in [
        (f"{server.url}/verify/v2/Services", {}, f"{server.url}/verify", "services"),
        (f"{server.url}/v2/Services", {"Host": "verify.twilio.com"}, "https://verify.twilio.com", "services"),
    ]:
        response = httpx.get(url, auth=_auth(server), headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["meta"]["key"] == key
        assert response.json()["meta"]["first_page_url"].startswith(f"{base}/v2/Services?")
    for url, headers in [(f"{server.url}/messaging/v1/Services", {}),
                         (f"{server.url}/v1/Services", {"Host": "messaging.twilio.com"})]:
        assert httpx.get(url, auth=_auth(server), headers=headers).json()["meta"]["key"] == "services"
    # A path no product serves answers Twilio's 404 envelope.
    unknown = httpx.get(f"{server.url}/video/v1/Nothing", auth=_auth(server))
    check_error_body(unknown.json(), 20404, 404)


def test_error_envelope_and_pages(server: OpenlineServer) -> None:
    response = httpx.get(f"{server.url}/2010-04-01/Accounts/{server.account_sid}/Keys.json",  # type: ignore[attr-defined]
                         auth=(server.account_sid, "wrong"))  # type: ignore[attr-defined]
    assert response.status_code == 401 and response.headers["www-authenticate"].startswith("Basic")
    body = response.json()
    check_error_body(body, 20003, 401)
    assert body["more_info"].startswith(server.url)
    page = httpx.get(body["more_info"])
    assert page.status_code == 200 and "20003" in page.text
    assert httpx.get(f"{server.url}/docs/errors").status_code == 200

    wrong_method = httpx.put(f"{server.url}/2010-04-01/Accounts.json", auth=_auth(server))
    check_error_body(wrong_method.json(), 20004, 405)
    unknown = httpx.get(f"{server.url}/2010-04-01/Nothing.json", auth=_auth(server))
    check_error_body(unknown.json(), 20404, 404)
    json_body = httpx.post(f"{server.url}/2010-04-01/Accounts.json", auth=_auth(server),
                           json={"FriendlyName": "x"})
    assert json_body.status_code == 415 and set(json_body.json()) == {"code", "message", "more_info", "status"}
    huge = httpx.post(f"{server.url}/2010-04-01/Accounts.json", auth=_auth(server),
                      data={"FriendlyName": "x" * (2 << 20)})
    check_error_body(huge.json(), 20413, 413)
    bad_page = httpx.get(f"{server.url}/2010-04-01/Accounts.json?PageToken=nope", auth=_auth(server))
    check_error_body(bad_page.json(), 20001, 400)
    bad_size = httpx.get(f"{server.url}/2010-04-01/Accounts.json?PageSize=abc", auth=_auth(server))
    check_error_body(bad_size.json(), 20001, 400)


def test_page_size_is_clamped(server: OpenlineServer) -> None:
    response = httpx.get(f"{server.url}/2010-04-01/Accounts.json?PageSize=5000", auth=_auth(server))
    assert response.status_code == 200 and response.json()["page_size"] == 1000


def test_health_and_openapi(server: OpenlineServer) -> None:
    health = httpx.get(f"{server.url}/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    doc = httpx.get(f"{server.url}/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    paths = doc["paths"]
    assert "/api/2010-04-01/Accounts.json" in paths
    assert set(paths["/api/2010-04-01/Accounts/{AccountSid}/Keys/{Sid}.json"]) == {"get", "post", "delete"}
    # Nothing that is not served: every documented operation answers something other than 404/405.
    for path, methods in paths.items():
        concrete = (path.replace("{AccountSid}", server.account_sid)  # type: ignore[attr-defined]
                    .replace("{Sid}", "XX" + "0" * 32).replace("{CountryCode}", "US"))
        for method in methods:
            response = httpx.request(method.upper(), f"{server.url}{concrete}", auth=_auth(server))
            assert response.status_code != 405, (method, path)
            # AuthTokens act on the caller's secondary token, which does not exist here: 404 is its answer.
            if not re.search(r"\{\w*(Sid|address)\}", path) and "/AuthTokens/" not in path:
                assert response.status_code != 404, (method, path, response.text)
    from openapi_spec_validator import validate as validate_spec
    validate_spec(doc)


def test_sdk_errors_carry_code_and_status(client: Client) -> None:
    assert rest_error(lambda: client.incoming_phone_numbers.create(phone_number="+1")) == (400, 21421)
    assert rest_error(lambda: client.applications("AP" + "f" * 32).update(friendly_name="x")) == (404, 20404)
    assert rest_error(lambda: client.applications("AP" + "f" * 32).delete()) == (404, 20404)
