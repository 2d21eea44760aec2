"""kill -9 in the middle of a send stream loses no accepted message and delivers each exactly once."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_credentials
from tests.support.reliability import record
from tests.support.server import OpenlineServer

TOTAL = 2000
HANDSETS = 100
KILL_AFTER = 700  # accepted messages before the kill
NUMBER = "+15555550500"


def handset(i: int) -> str:
    return f"+1555868{i % HANDSETS:04d}"


@pytest.mark.slow
def test_kill_9_mid_stream(tmp_path: Path) -> None:
    sid, token = new_credentials()
    env = {"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token,
           "OPENLINE_SANDBOX__DELIVERY_DELAY_SECONDS": "0.2"}
    server = OpenlineServer(tmp_path / "data", env=env).start()
    auth = (sid, token)
    httpx.post(f"{server.url}/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", data={"PhoneNumber": NUMBER},
               auth=auth).raise_for_status()

    accepted: dict[str, int] = {}  # sid -> index
    lock = threading.Lock()
    killed = threading.Event()
    current = {"url": server.url}

    def send(i: int) -> None:
        while True:
            try:
                response = httpx.post(f"{current['url']}/2010-04-01/Accounts/{sid}/Messages.json",
                                      data={"To": handset(i), "From": NUMBER, "Body": f"message {i}"},
                                      auth=auth, timeout=10)
            except httpx.HTTPError:
                # The server is down (killed): the answer never came, so this send is not accepted.
                # Wait for the restart and send it again as a new message.
                time.sleep(0.2)
                continue
            if response.status_code != 201:
                time.sleep(0.05)
                continue
            with lock:
                accepted[response.json()["sid"]] = i
                if len(accepted) >= KILL_AFTER and not killed.is_set():
                    killed.set()
                    server.kill()
            return

    def restarter() -> None:
        killed.wait()
        # A loaded machine can take a while to reopen the data dir: wait as long as it takes.
        restarted = OpenlineServer(tmp_path / "data", env=env).start(timeout=300)
        current["url"] = restarted.url
        servers.append(restarted)

    servers: list[OpenlineServer] = []
    watcher = threading.Thread(target=restarter)
    watcher.start()
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(send, range(TOTAL)))
    watcher.join()
    assert killed.is_set() and servers, "the server was never killed mid-stream"
    live = servers[0]
    try:
        assert len(accepted) == TOTAL
        # Every accepted message reaches a final state...
        deadline = time.monotonic() + 120
        pending: set[str] = set(accepted)
        while pending and time.monotonic() < deadline:
            page = f"{live.url}/2010-04-01/Accounts/{sid}/Messages.json?PageSize=1000"
            seen: dict[str, str] = {}
            while page:
                body = httpx.get(page, auth=auth, timeout=30).json()
                seen.update({m["sid"]: m["status"] for m in body["messages"]})
                page = f"{live.url}{body['next_page_uri']}" if body["next_page_uri"] else ""
            pending = {s for s in accepted if seen.get(s) != "delivered"}
            if pending:
                time.sleep(0.5)
        assert not pending, f"{len(pending)} accepted messages never delivered, e.g. {sorted(pending)[:3]}"
        # ... and each handset received each of its messages exactly once.
        deliveries: Counter[str] = Counter()
        for h in range(HANDSETS):
            url = f"{live.url}/sandbox/v1/Handsets/{handset(h)}/Messages?PageSize=1000"
            for item in httpx.get(url, auth=auth, timeout=30).json()["messages"]:
                deliveries[item["sid"]] += 1
        duplicates = {s: n for s, n in deliveries.items() if n > 1}
        record("kill -9 mid-stream (sandbox delivery)", f"1 kill after {KILL_AFTER} of {TOTAL} accepted",
               f"restarted; {len(duplicates)} delivered twice", f"{len(set(accepted) - set(deliveries))} messages")
        assert not duplicates, f"delivered twice: {duplicates}"
        assert set(deliveries) >= set(accepted)
    finally:
        live.stop()
