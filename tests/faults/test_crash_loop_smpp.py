"""kill -9 at random moments under load, 20 times, with a real SMPP bind: nothing accepted is lost,
and what a carrier sees twice stays within what was in flight at each crash."""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_credentials
from tests.integration.test_smpp_pipeline import NUMBER, one_carrier
from tests.support.reliability import record
from tests.support.server import OpenlineServer
from tests.support.smsc_thread import SmscThread

KILLS = 20
WINDOW = 10
DISPATCH_CONCURRENCY = 16
SENDERS = 8


@pytest.mark.slow
def test_random_kill_9_twenty_times(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("OPENLINE_FAULT_SEED", "20261127")))
    smsc = SmscThread().start()
    sid, token = new_credentials()
    auth = (sid, token)
    config = tmp_path / "openline.toml"
    config.write_text(one_carrier(smsc.port, window=WINDOW, request_dlr=False)
                      + f"[messaging]\ndispatch_concurrency = {DISPATCH_CONCURRENCY}\n")
    env = {"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token}

    def start() -> OpenlineServer:
        return OpenlineServer(tmp_path / "data", env=env, args=["--config", str(config)]).start(timeout=90)

    server = start()
    httpx.post(f"{server.url}/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", data={"PhoneNumber": NUMBER},
               auth=auth).raise_for_status()
    current = {"url": server.url}
    accepted: dict[str, str] = {}  # message sid -> its unique text
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(10**9))

    def sender() -> None:
        with httpx.Client(auth=auth, timeout=10) as http:
            while not stop.is_set():
                text = f"fault {next(counter)}"
                try:
                    answer = http.post(f"{current['url']}/2010-04-01/Accounts/{sid}/Messages.json",
                                       data={"To": "+15558675450", "From": NUMBER, "Body": text})
                except httpx.HTTPError:
                    time.sleep(0.1)  # down: not accepted; the next attempt is a new message
                    continue
                if answer.status_code == 201:
                    with lock:
                        accepted[answer.json()["sid"]] = text

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
    for thread in threads:
        thread.start()
    submits_at_kill: list[int] = []
    try:
        for _ in range(KILLS):
            time.sleep(rng.uniform(0.3, 2.5))
            server.kill()
            submits_at_kill.append(len(smsc.smsc.submits))  # type: ignore[union-attr]
            server = start()
            current["url"] = server.url
        time.sleep(1.0)
        stop.set()
        for thread in threads:
            thread.join(15)
        # Every accepted message reaches the SMSC.
        texts = set(accepted.values())
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            seen = Counter(s.text for s in smsc.smsc.submits)  # type: ignore[union-attr]
            if texts <= set(seen):
                break
            time.sleep(0.5)
        seen = Counter(s.text for s in smsc.smsc.submits)  # type: ignore[union-attr]
        lost = sorted(texts - set(seen))
        twice = {text: n - 1 for text, n in seen.items() if n > 1}
        report = {"kills": KILLS, "accepted": len(accepted), "submits": sum(seen.values()), "lost": len(lost),
                  "resubmitted": sum(twice.values()), "window": WINDOW,
                  "dispatch_concurrency": DISPATCH_CONCURRENCY, "submits_at_each_kill": submits_at_kill}
        print("fault report:", json.dumps(report))
        if path := os.environ.get("OPENLINE_FAULT_REPORT"):
            Path(path).write_text(json.dumps(report, indent=1))
        bound = KILLS * (WINDOW + DISPATCH_CONCURRENCY)
        record("kill -9 at random moments under load (SMPP bind)", f"{KILLS} kills, {len(accepted):,} accepted",
               f"recovered every time; {sum(twice.values())} submits repeated (bound {bound})", f"{len(lost)} messages")
        assert not lost, f"{len(lost)} accepted messages never reached the carrier, e.g. {lost[:3]}"
        assert len(accepted) > KILLS * 20, "too little traffic for the kills to mean anything"
        # A crash can only repeat what was submitted and not yet recorded: at most the window of
        # outstanding submits plus the dispatches awaiting their commit.
        assert sum(twice.values()) <= KILLS * (WINDOW + DISPATCH_CONCURRENCY), report
        assert max(twice.values(), default=0) <= KILLS
    finally:
        stop.set()
        server.stop()
        smsc.stop()
