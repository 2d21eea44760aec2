#!/usr/bin/env python3
"""Throughput of worker processes on PostgreSQL (1, 2, 4 workers) next to the embedded SQLite figure.

For each worker count: a fresh PostgreSQL database, one `serve --role api` process, COUNT messages
posted to the sandbox network while no worker runs (they wait, queued), then N `serve --role
worker` processes start and we time how long they take to deliver them all: the drain rate is
what the workers sustain together. SQLite has no roles: one `serve` process gets the same load,
and its figure is end to end (intake and delivery in the same process).

    .venv/bin/python bench/cluster_scaling.py                 # COUNT=3000, workers 1 2 4
    COUNT=10000 WORKERS="1 2 4" .venv/bin/python bench/cluster_scaling.py

Needs PostgreSQL at OPENLINE_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test).
On a 2-core machine the API, PostgreSQL and the workers share the cores: the curve flattens once
the cores are busy, which is the point of measuring it.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.cluster import Cluster
from tests.support.server import OpenlineServer

ADMIN = os.environ.get("OPENLINE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
COUNT = int(os.environ.get("COUNT", "3000"))
WORKERS = [int(n) for n in os.environ.get("WORKERS", "1 2 4").split()]
CONCURRENCY = int(os.environ.get("CONC", "32"))
SENDER = "+15555550902"
CONFIG = """
log_level = "warning"
[database]
pool_size = 8
max_overflow = 4
[messaging]
dispatch_concurrency = 16
webhook_concurrency = 4
[sandbox]
delivery_delay_seconds = 0
"""


async def post_all(urls: list[str], auth: tuple[str, str]) -> float:
    started = time.monotonic()
    targets = itertools.cycle(urls)
    numbers = iter(range(COUNT))
    async with httpx.AsyncClient(auth=auth, timeout=60) as http:
        async def one() -> None:
            for n in numbers:
                while True:
                    response = await http.post(next(targets), data={"From": SENDER, "To": f"+1555{n:07d}",
                                                                     "Body": f"bench {n}"})
                    if response.status_code != 429:
                        response.raise_for_status()
                        break
                    await asyncio.sleep(0.05)

        await asyncio.gather(*(one() for _ in range(CONCURRENCY)))
    return time.monotonic() - started


def buy(base: str, auth: tuple[str, str]) -> None:
    httpx.post(f"{base}/IncomingPhoneNumbers.json", data={"PhoneNumber": SENDER}, auth=auth).raise_for_status()


def wait_delivered(count_delivered: object, deadline: float = 1800) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if count_delivered() >= COUNT:  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise RuntimeError("not all messages were delivered in time")


def postgres_run(workers: int, root: Path) -> tuple[float, float]:
    root.mkdir(parents=True, exist_ok=True)
    cluster = Cluster(root, ADMIN, CONFIG).create()
    try:
        cluster.start(apis=1, workers=0)
        base = f"{cluster.apis[0].url}/2010-04-01/Accounts/{cluster.account_sid}"
        auth = (cluster.account_sid, cluster.auth_token)
        buy(base, auth)
        intake = asyncio.run(post_all([f"{base}/Messages.json"], auth))
        started = time.monotonic()
        cluster.start(apis=0, workers=workers)
        wait_delivered(lambda: int(str(cluster.query(
            "SELECT count(*) FROM messages WHERE status = 'delivered'")[0][0])))
        # Worker start-up (a few seconds each, in parallel) is inside the drain time: subtract the
        # moment the first message was sent to measure the steady rate.
        first = cluster.query("SELECT extract(epoch FROM min(date_sent)), extract(epoch FROM max(date_updated)) "
                              "FROM messages")[0]
        steady = float(str(first[1])) - float(str(first[0]))
        return COUNT / intake, COUNT / max(steady, 1e-6) if steady else COUNT / (time.monotonic() - started)
    finally:
        cluster.stop()


def sqlite_run(root: Path) -> float:
    server = OpenlineServer(root / "sqlite", args=["--config", str(root / "sqlite.toml")],
                            env={"OPENLINE_ACCOUNT_SID": "AC" + "1" * 32, "OPENLINE_AUTH_TOKEN": "2" * 32})
    (root / "sqlite.toml").write_text(CONFIG)
    server.start()
    try:
        base = f"{server.url}/2010-04-01/Accounts/AC{'1' * 32}"
        auth = ("AC" + "1" * 32, "2" * 32)
        buy(base, auth)
        started = time.monotonic()
        asyncio.run(post_all([f"{base}/Messages.json"], auth))

        def delivered() -> int:
            with sqlite3.connect(root / "sqlite" / "openline.db") as db:
                return int(db.execute("SELECT count(*) FROM messages WHERE status = 'delivered'").fetchone()[0])

        wait_delivered(delivered)
        return COUNT / (time.monotonic() - started)
    finally:
        server.stop()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(f"{COUNT} messages to the sandbox network, {os.cpu_count()} cores")
        sqlite_rate = sqlite_run(root)
        print(f"{'SQLite, 1 process (end to end)':<40} {sqlite_rate:8.0f} msg/s")
        base_rate = None
        for n in WORKERS:
            intake, drain = postgres_run(n, root / f"pg{n}")
            base_rate = base_rate or drain
            print(f"{f'PostgreSQL, {n} worker process(es)':<40} {drain:8.0f} msg/s delivered "
                  f"(x{drain / base_rate:.2f} vs 1 worker, x{drain / sqlite_rate:.2f} vs SQLite); "
                  f"API intake {intake:.0f} req/s")


if __name__ == "__main__":
    main()
