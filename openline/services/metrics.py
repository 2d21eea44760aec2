"""Prometheus metrics of one process (each process serves its own /metrics; Prometheus scrapes
them all and sums): API latency, job latency and outcomes, webhook outcomes, and — read at
scrape time — queue depths and carrier bind state.

The instruments live in a registry owned by this object (no module-level state); what is only
known by asking (the database, the links) comes from a snapshot the caller refreshes before
each scrape.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
JOB_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)
BIND_STATES = ("standby", "disconnected", "connecting", "binding", "bound", "unbinding", "stopped")


class _Snapshot(Collector):
    """Gauges from the last snapshot: jobs by kind and state, messages waiting, bind state."""

    def __init__(self) -> None:
        self.jobs: Mapping[str, Mapping[str, int]] = {}
        self.queued_messages: Mapping[str, int] = {}
        self.carriers: Mapping[str, Mapping[str, Any]] = {}
        self.notifications_connected: bool | None = None
        self.media: Mapping[str, float | int] | None = None  # SIP legs' RTP pacing, where SIP runs

    def collect(self) -> Iterable[Metric]:
        jobs = GaugeMetricFamily("openline_jobs", "Jobs in the queue by kind and state "
                                 "(due: waiting for a worker; running: leased; later: scheduled; dead)",
                                 labels=["kind", "state"])
        for kind, states in sorted(self.jobs.items()):
            for state, count in sorted(states.items()):
                jobs.add_metric([kind, state], count)
        yield jobs
        queued = GaugeMetricFamily("openline_messages_waiting", "Outbound messages queued or sending, by sender",
                                   labels=["sender"])
        for sender, count in sorted(self.queued_messages.items()):
            queued.add_metric([sender], count)
        yield queued
        bind = GaugeMetricFamily("openline_smpp_bind_state", "1 for the carrier's current bind state "
                                  "in this process (standby: another process owns the binds)",
                                  labels=["carrier", "state"])
        window = GaugeMetricFamily("openline_smpp_window_in_use", "submit_sm awaiting a response",
                                   labels=["carrier"])
        submits = GaugeMetricFamily("openline_smpp_submits", "submit_sm sent by this process since start",
                                    labels=["carrier"])
        reconnects = GaugeMetricFamily("openline_smpp_reconnects", "Reconnects since start", labels=["carrier"])
        for name, m in sorted(self.carriers.items()):
            for value in BIND_STATES:
                bind.add_metric([name, value], 1.0 if m.get("state") == value else 0.0)
            window.add_metric([name], float(m.get("window_in_use") or 0))
            submits.add_metric([name], float(m.get("submits_total") or 0))
            reconnects.add_metric([name], float(m.get("reconnects") or 0))
        yield from (bind, window, submits, reconnects)
        if self.notifications_connected is not None:
            listening = GaugeMetricFamily("openline_job_notifications_connected",
                                          "1 while the LISTEN connection for job wake-ups is up")
            listening.add_metric([], 1.0 if self.notifications_connected else 0.0)
            yield listening
        if self.media is not None:
            yield from _media_metrics(self.media)


_MEDIA_METRICS = (  # (key in SipService.media_stats, metric name, help)
    ("calls", "openline_sip_calls", "SIP call legs live in this process"),
    ("packets_sent", "openline_rtp_packets_sent", "RTP packets sent by this process's call legs since start"),
    ("packets_late", "openline_rtp_packets_late", "RTP packets sent more than 10 ms after their deadline"),
    ("max_lateness_ms", "openline_rtp_max_lateness_ms", "Worst RTP send lateness seen, in milliseconds"),
    ("packets_received", "openline_rtp_packets_received", "RTP packets received by this process's call legs"),
)


def _media_metrics(media: Mapping[str, float | int]) -> Iterable[Metric]:
    for key, name, text in _MEDIA_METRICS:
        gauge = GaugeMetricFamily(name, text)
        gauge.add_metric([], float(media.get(key) or 0))
        yield gauge


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.api_latency = Histogram(
            "openline_api_request_duration_seconds", "HTTP requests by method, area and status class",
            ["method", "area", "status"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.job_latency = Histogram(
            "openline_job_latency_seconds", "From a job's due time until its attempt finished",
            ["kind", "outcome"], buckets=JOB_BUCKETS, registry=self.registry)
        self.job_run = Histogram(
            "openline_job_run_seconds", "How long a job's handler ran", ["kind"], buckets=LATENCY_BUCKETS,
            registry=self.registry)
        self.webhooks = Counter(
            "openline_webhook_requests", "Webhook and status-callback requests by purpose and outcome",
            ["purpose", "outcome"], registry=self.registry)
        self.snapshot = _Snapshot()
        self.registry.register(self.snapshot)

    def observe_request(self, method: str, path: str, status: int, seconds: float) -> None:
        area = path.strip("/").split("/", 1)[0] or "root"
        if area not in _AREAS:
            area = "other"  # bound the label set: paths are user input
        self.api_latency.labels(method if method in _METHODS else "other", area, f"{status // 100}xx").observe(seconds)

    def observe_job(self, kind: str, outcome: str, latency: float, ran: float) -> None:
        self.job_latency.labels(kind, outcome).observe(max(0.0, latency))
        self.job_run.labels(kind).observe(ran)

    def observe_webhook(self, purpose: str, ok: bool, status_code: int | None) -> None:
        if ok:
            outcome = "ok"
        elif status_code is None:
            outcome = "error"  # no HTTP answer: connection refused, timeout, TLS
        else:
            outcome = f"http_{status_code // 100}xx"
        self.webhooks.labels(purpose, outcome).inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_AREAS = frozenset({"2010-04-01", "v1", "v2", "console", "sandbox", "health", "metrics", "docs", "openapi.json",
                    "root", "api", "verify", "messaging", "conversations", "video", "monitor", "lookups"})
