"""The console's calls log: the account's calls with their status, and only that account's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.support import create_main_account, wait_for
from tests.conftest import new_credentials
from tests.integration.test_console import ConsoleClient
from tests.support.server import OpenlineServer
from tests.support.twilio_client import host_style_client


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenlineServer]:
    sid, token = new_credentials()
    srv = OpenlineServer(tmp_path_factory.mktemp("console-calls") / "data",
                         env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    srv.start()
    srv.account_sid, srv.auth_token = sid, token  # type: ignore[attr-defined]
    yield srv
    srv.stop()


def test_calls_page_lists_the_accounts_calls_by_status(server: OpenlineServer) -> None:
    client = host_style_client(server.url, server.account_sid, server.auth_token)  # type: ignore[attr-defined]
    number = client.incoming_phone_numbers.create(phone_number="+15555550180").phone_number
    call = client.calls.create(to="+15558670180", from_=number, twiml="<Response><Hangup/></Response>")
    wait_for(lambda: client.calls(call.sid).fetch().status == "completed")
    console, other = ConsoleClient(server.url), ConsoleClient(server.url)
    try:
        check(server, console, other, call.sid)
    finally:
        console.http.close()
        other.http.close()


def check(server: OpenlineServer, console: ConsoleClient, other: ConsoleClient, sid: str) -> None:
    assert console.sign_in(server.account_sid, server.auth_token).status_code == 303  # type: ignore[attr-defined]
    page = console.get("/calls")
    assert page.status_code == 200 and sid in page.text and "outbound-api" in page.text
    assert sid in console.get("/calls?status=completed").text
    busy = console.get("/calls?status=busy")
    assert sid not in busy.text and "No calls with status busy." in busy.text
    assert sid in console.get("/calls?status=nonsense").text  # an unknown status shows them all
    assert other.sign_in(*create_main_account(server, "Other")).status_code == 303
    assert sid not in other.get("/calls").text
