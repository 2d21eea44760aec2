"""`serve --role`: API processes answer HTTP and run no workers; worker processes run the pools
(woken by LISTEN/NOTIFY) and answer only /health and /metrics. On one fresh PostgreSQL database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.cluster import Cluster

pytestmark = pytest.mark.postgres

CONFIG = """
[workers]
lease_seconds = 10
notify_poll_interval_seconds = 30  # long: deliveries below must come from NOTIFY, not the poll
[messaging]
sender_mps = { "+15555550902" = 20 }
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, postgres_admin_url: str) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("roles"), postgres_admin_url, CONFIG).create()
    try:
        yield cluster.start(apis=1, workers=2)
    finally:
        cluster.stop()


def _api(cluster: Cluster) -> httpx.Client:
    return httpx.Client(base_url=f"{cluster.apis[0].url}/2010-04-01/Accounts/{cluster.account_sid}",
                        auth=(cluster.account_sid, cluster.auth_token), timeout=30)


def test_roles_split_the_work(cluster: Cluster) -> None:
    api, worker = cluster.apis[0], cluster.workers[0]
    assert httpx.get(f"{api.url}/health").json()["role"] == "api"
    health = httpx.get(f"{worker.url}/health").json()
    assert health["role"] == "worker" and health["job_notifications"] == "listening"
    # A worker serves no API: Twilio's 404 envelope.
    refused = httpx.get(f"{worker.url}/2010-04-01/Accounts.json", auth=(cluster.account_sid, cluster.auth_token))
    assert refused.status_code == 404 and refused.json()["code"] == 20404
    assert "Console" not in "\n".join(worker.banner)
    assert "role:     api" in "\n".join(api.banner)


def test_api_enqueues_workers_deliver_woken_by_notify(cluster: Cluster) -> None:
    with _api(cluster) as api:
        api.post("/IncomingPhoneNumbers.json", data={"PhoneNumber": "+15555550901"}).raise_for_status()
        started = time.monotonic()
        sids = [api.post("/Messages.json", data={"To": f"+1555867{n:04d}", "From": "+15555550901",
                                                 "Body": f"m{n}"}).json()["sid"] for n in range(40)]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rows = cluster.query("SELECT count(*) FROM messages WHERE status = 'delivered'")
            if rows[0][0] == len(sids):
                break
            time.sleep(0.1)
        # Far below the 30 s fallback poll: the workers were woken by the API's NOTIFY.
        assert rows[0][0] == len(sids) and time.monotonic() - started < 20
    # Both workers took part: the dispatch jobs were claimed with SKIP LOCKED across processes.
    assert cluster.query("SELECT count(*), count(DISTINCT message_sid) FROM handset_messages") == [(40, 40)]
    metrics = [httpx.get(f"{w.url}/metrics").text for w in cluster.workers]
    done = [sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                if line.startswith('openline_job_latency_seconds_count{kind="dispatch",outcome="ok"}'))
            for text in metrics]
    assert sum(done) == 40 and all(d > 0 for d in done), done
    assert "openline_job_notifications_connected 1.0" in metrics[0]
    api_metrics = httpx.get(f"{cluster.apis[0].url}/metrics").text
    assert 'openline_api_request_duration_seconds_count{area="2010-04-01",method="POST",status="2xx"} 41.0' \
        in api_metrics


def test_master_key_and_media_are_shared(cluster: Cluster, tmp_path: Path) -> None:
    # Every process uses the one master key kept in the database: none wrote its own key file.
    assert cluster.query("SELECT count(*) FROM blobs WHERE key = 'keys/master'") == [(1,)]
    assert not any((s.data_dir / "secret.key").exists() for s in [*cluster.apis, *cluster.workers])
