"""The cluster under load: 2 API + 3 worker processes on one fresh PostgreSQL database.

20,000 messages (OPENLINE_CLUSTER_MESSAGES to change it) are sent concurrently through both API
processes to the sandbox network; one worker is killed with SIGKILL mid-run. Every message must
end delivered exactly once (one handset delivery per message, nothing lost with the dead worker's
leased jobs), and a sender paced at 50 msg/s must never exceed 55 in any 5-second window of its
send times, although three workers dispatch its messages.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from tests.support.cluster import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

TOTAL = int(os.environ.get("OPENLINE_CLUSTER_MESSAGES", "20000"))
PACED, FREE = "+15555550901", "+15555550902"
RATE = 50.0
PACED_COUNT = 750  # 15 s of the paced sender's budget: three full 5-second windows and more
CONCURRENCY = 48
CONFIG = f"""
log_level = "warning"
[database]
pool_size = 6
max_overflow = 6
[workers]
lease_seconds = 15
[messaging]
dispatch_concurrency = 12
webhook_concurrency = 4
sender_mps = {{ "{PACED}" = {RATE} }}
[sandbox]
delivery_delay_seconds = 0
"""


@pytest.fixture
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("cluster"), postgres_admin_url, CONFIG).create()
    try:
        yield cluster.start(apis=2, workers=3)
    finally:
        cluster.stop()


async def _send_all(cluster: Cluster, todo: list[tuple[str, str]]) -> tuple[int, int, int]:
    """POST every message, spread over the API processes; 20429 (back-pressure) is retried, and so
    is a connection that broke (its request may have been stored: counted as ambiguous)."""
    bases = itertools.cycle([f"{api.url}/2010-04-01/Accounts/{cluster.account_sid}/Messages.json"
                             for api in cluster.apis])
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    for item in todo:
        queue.put_nowait(item)
    accepted = throttled = ambiguous = 0
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    async with httpx.AsyncClient(auth=(cluster.account_sid, cluster.auth_token), timeout=60, limits=limits) as http:
        async def sender() -> None:
            nonlocal accepted, throttled, ambiguous
            while not queue.empty():
                from_, to = queue.get_nowait()
                while True:
                    try:
                        response = await http.post(next(bases), data={"From": from_, "To": to, "Body": f"to {to}"})
                    except httpx.TransportError:
                        ambiguous += 1
                        continue
                    if response.status_code == 429:
                        throttled += 1
                        await asyncio.sleep(0.05)
                        continue
                    assert response.status_code == 201, response.text
                    accepted += 1
                    break

        await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    return accepted, throttled, ambiguous


def _max_in_window(times: list[float], window: float) -> int:
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def test_twenty_thousand_messages_exactly_once_through_a_worker_crash(cluster: Cluster) -> None:
    with httpx.Client(base_url=f"{cluster.apis[0].url}/2010-04-01/Accounts/{cluster.account_sid}",
                      auth=(cluster.account_sid, cluster.auth_token)) as api:
        for number in (PACED, FREE):
            api.post("/IncomingPhoneNumbers.json", data={"PhoneNumber": number}).raise_for_status()
    # Paced messages first, so that they are all queued while the rest flood in.
    todo = [(PACED, f"+1555700{n:04d}") for n in range(PACED_COUNT)]
    todo += [(FREE, f"+1555{n:07d}") for n in range(TOTAL - PACED_COUNT)]
    started = time.monotonic()
    victim = cluster.workers[0]
    killed_at: list[int] = []

    async def kill_mid_run() -> None:
        while True:  # once a good part is delivered, the first worker dies without a word
            await asyncio.sleep(0.5)
            delivered = cluster.query("SELECT count(*) FROM messages WHERE status = 'delivered'")[0][0]
            if delivered >= TOTAL // 4:
                running = cluster.query("SELECT count(*) FROM jobs WHERE lease_until IS NOT NULL")[0][0]
                victim.kill()  # SIGKILL
                killed_at.append(int(str(delivered)))
                print(f"killed a worker at {delivered} delivered, {running} jobs leased")
                return

    async def run() -> tuple[int, int, int]:
        killer = asyncio.create_task(kill_mid_run())
        result = await _send_all(cluster, todo)
        await killer
        return result

    accepted, throttled, ambiguous = asyncio.run(run())
    intake = time.monotonic() - started
    assert accepted == TOTAL and killed_at
    stored = int(str(cluster.query("SELECT count(*) FROM messages")[0][0]))
    assert TOTAL <= stored <= TOTAL + ambiguous  # a broken connection may have stored its request
    deadline = time.monotonic() + 1800
    while time.monotonic() < deadline:
        delivered = cluster.query("SELECT count(*) FROM messages WHERE status = 'delivered'")[0][0]
        if delivered == stored:
            break
        time.sleep(1)
    elapsed = time.monotonic() - started
    print(f"{TOTAL} messages: accepted in {intake:.1f}s ({TOTAL / intake:.0f}/s, {throttled} answered 20429 "
          f"and retried, {ambiguous} retried after a broken connection), all delivered in {elapsed:.1f}s "
          f"({TOTAL / elapsed:.0f}/s)")
    # Every message delivered, exactly once: one handset delivery each, no job left behind.
    assert cluster.query("SELECT count(*) FROM messages WHERE status = 'delivered'") == [(stored,)]
    assert cluster.query("SELECT count(*), count(DISTINCT message_sid) FROM handset_messages") == [(stored, stored)]
    assert cluster.query("SELECT count(*) FROM jobs WHERE kind IN ('dispatch', 'sandbox_deliver')") == [(0,)]
    # The paced sender: never more than 10 % over 50 msg/s in any 5-second window of send times.
    sent = sorted(row[0].timestamp() for row in cluster.query(  # type: ignore[attr-defined]
        "SELECT date_sent FROM messages WHERE from_addr = %s", PACED) if isinstance(row[0], datetime))
    assert PACED_COUNT <= len(sent) <= PACED_COUNT + ambiguous
    worst = _max_in_window(sent, 5.0)
    print(f"paced sender: {PACED_COUNT} messages over {sent[-1] - sent[0]:.1f}s, "
          f"at most {worst} in any 5 s window (limit {RATE * 5:.0f} + 10 %)")
    assert worst <= RATE * 5 * 1.1
