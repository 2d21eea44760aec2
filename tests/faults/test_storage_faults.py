"""The store fails under Openline — SQLite locked by another process, the disk full — and the API
answers errors instead of hanging, keeps what it accepted, and recovers by itself."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_credentials
from tests.integration.test_sms_basic import wait_for
from tests.support.reliability import record
from tests.support.server import OpenlineServer, free_port

pytestmark = pytest.mark.slow
NUMBER = "+15555550470"


def _send(url: str, auth: tuple[str, str], body: str, timeout: float = 30) -> tuple[int, dict, float]:  # type: ignore[type-arg]
    began = time.monotonic()
    answer = httpx.post(f"{url}/2010-04-01/Accounts/{auth[0]}/Messages.json", auth=auth, timeout=timeout,
                        data={"To": "+15558675470", "From": NUMBER, "Body": body})
    return answer.status_code, answer.json(), time.monotonic() - began


def _status(url: str, auth: tuple[str, str], sid: str) -> str:
    return str(httpx.get(f"{url}/2010-04-01/Accounts/{auth[0]}/Messages/{sid}.json", auth=auth).json()["status"])


def test_sqlite_locked_by_another_process(tmp_path: Path) -> None:
    sid, token = new_credentials()
    auth = (sid, token)
    server = OpenlineServer(tmp_path / "data", env={"OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token})
    server.start()
    try:
        httpx.post(f"{server.url}/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", auth=auth,
                   data={"PhoneNumber": NUMBER}).raise_for_status()
        status, before, _ = _send(server.url, auth, "before the lock")
        assert status == 201
        holder = sqlite3.connect(tmp_path / "data" / "openline.db", timeout=30, isolation_level=None,
                                 check_same_thread=False)
        holder.execute("BEGIN EXCLUSIVE")  # another program keeps the write lock for 8 s
        release = threading.Timer(8.0, lambda: holder.execute("COMMIT"))
        release.start()
        status, error, took = _send(server.url, auth, "during the lock")
        assert took < 15, f"the API hung for {took:.1f} s"
        if status != 201:  # refused: an error in Twilio's shape, and nothing half-written
            assert (status, error["code"]) == (503, 20503), error
            assert set(error) == {"code", "message", "more_info", "status"}
        release.join()
        record("SQLite write lock held by another process for 8 s", "a send during the lock",
               f"answered {status} in {took:.1f} s; sends after the lock accepted", "0 messages")
        status, after, _ = _send(server.url, auth, "after the lock")
        assert status == 201, after
        for message in (before, after) + ((error,) if status == 201 and "sid" in error else ()):
            wait_for(lambda m=message: _status(server.url, auth, m["sid"]) == "delivered", timeout=60)
    finally:
        server.stop()


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare for a tmpfs")
def test_disk_full_on_the_data_dir(tmp_path: Path) -> None:
    """The data dir is a 16 MiB tmpfs in a private mount namespace; a file then fills it."""
    sid, token = new_credentials()
    auth = (sid, token)
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    env = {**os.environ, "OPENLINE_ACCOUNT_SID": sid, "OPENLINE_AUTH_TOKEN": token, "OPENLINE_LOG_LEVEL": "warning"}
    script = (f"mount -t tmpfs -o size=16m tmpfs {data} && exec {sys.executable} -m openline serve "
              f"--port {port} --data-dir {data}")
    log = open(tmp_path / "server.log", "w")  # noqa: SIM115 - the child writes to it until the end
    proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def inside(*command: str) -> None:
        subprocess.run(["nsenter", "-t", str(proc.pid), "-m", *command], check=True, capture_output=True)

    try:
        wait_for(lambda: _healthy(url), timeout=90)
        httpx.post(f"{url}/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", auth=auth,
                   data={"PhoneNumber": NUMBER}).raise_for_status()
        status, before, _ = _send(url, auth, "before the disk filled")
        assert status == 201
        wait_for(lambda: _status(url, auth, before["sid"]) == "delivered", timeout=60)
        inside("sh", "-c", f"dd if=/dev/zero of={data}/filler bs=1M count=64 2>/dev/null; true")
        outcomes = [_send(url, auth, f"while full {i}") for i in range(20)]
        assert max(took for _, _, took in outcomes) < 15, "the API hung on a full disk"
        refused = [error for status, error, _ in outcomes if status != 201]
        assert refused, "a full disk accepted every write: the test filled nothing"
        for error in refused:
            assert (error["status"], error["code"]) == (503, 20503), error
            assert set(error) == {"code", "message", "more_info", "status"}
        accepted_while_full = [body["sid"] for status, body, _ in outcomes if status == 201]
        record("disk full on the data dir (16 MiB tmpfs filled)", "20 sends while full",
               f"{len(refused)} refused with 503/20503, {len(accepted_while_full)} accepted; recovered after freeing",
               "0 messages")
        inside("rm", "-f", f"{data}/filler")
        status, after, _ = _send(url, auth, "after space came back")
        assert status == 201, after
        for message_sid in [before["sid"], after["sid"], *accepted_while_full]:
            wait_for(lambda s=message_sid: _status(url, auth, s) == "delivered", timeout=60)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
