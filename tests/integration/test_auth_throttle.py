"""Failed authentications are limited per client address, on the API and the console sign-in."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from openline.core.errors import TwilioError
from openline.services.auth import FailureThrottle
from tests.conftest import new_credentials
from tests.support.reliability import record
from tests.support.server import OpenlineServer

LIMIT = 5


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("throttle") / "data",
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token,
                              "OPENLINE_API__AUTH_FAILURES_PER_MINUTE": str(LIMIT)})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def _from(source: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source))


def test_wrong_tokens_from_one_address_are_cut_off_and_others_are_not(server: OpenlineServer) -> None:
    sid, token = server.account_sid, server.auth_token  # type: ignore[attr-defined]
    url = f"{server.url}/2010-04-01/Accounts/{sid}.json"
    with _from("127.0.0.3") as attacker, _from("127.0.0.4") as bystander:
        for _ in range(LIMIT):
            wrong = attacker.get(url, auth=(sid, "0" * 32))
            assert wrong.status_code == 401 and wrong.json()["code"] == 20003
        blocked = attacker.get(url, auth=(sid, "1" * 32))
        assert blocked.status_code == 429 and blocked.json()["code"] == 20429
        assert set(blocked.json()) == {"code", "message", "more_info", "status"}
        # Even the right token is refused from that address for now: guessing gains nothing.
        assert attacker.get(url, auth=(sid, token)).status_code == 429
        assert bystander.get(url, auth=(sid, token)).status_code == 200
        record("wrong Auth Tokens from one address", f"{LIMIT + 2} attempts (limit {LIMIT}/min)",
               "429/20429 after the limit, right token included; other addresses unaffected", "n/a")
        assert bystander.get(url, auth=(sid, "0" * 32)).status_code == 401


def test_console_sign_in_is_throttled_too(server: OpenlineServer) -> None:
    sid = server.account_sid  # type: ignore[attr-defined]
    with _from("127.0.0.5") as browser:
        statuses = []
        for _ in range(LIMIT + 1):
            page = browser.get(f"{server.url}/console/signin")
            csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            answer = browser.post(f"{server.url}/console/signin",
                                  data={"csrf": csrf, "username": sid, "password": "0" * 32})
            statuses.append(answer.status_code)
        assert statuses == [401] * LIMIT + [429]
        assert "Too many failed sign-ins" in answer.text


def test_throttle_window_slides() -> None:
    now = [0.0]
    throttle = FailureThrottle(2, clock=lambda: now[0])
    throttle.failed("a")
    now[0] = 30
    throttle.failed("a")
    with pytest.raises(TwilioError) as caught:
        throttle.check("a")
    assert caught.value.code == 20429
    throttle.check("b")
    now[0] = 60.5  # the first failure has left the window
    throttle.check("a")
    FailureThrottle(0).failed("a")  # 0 turns it off
