"""The dashboard: volume and delivery rate over time, queue depth per sender, carrier health."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from openline.console.charts import Series, line, stacked_bars
from openline.console.web import Console, Ctx, guard

log = logging.getLogger("openline.console")

# range name → (bucket, number of buckets, label format, words)
RANGES: dict[str, tuple[timedelta, int, str, str]] = {
    "24h": (timedelta(hours=1), 24, "%H:00", "the last 24 hours, by hour"),
    "7d": (timedelta(days=1), 7, "%a %d", "the last 7 days, by day"),
    "30d": (timedelta(days=1), 30, "%d %b", "the last 30 days, by day"),
}


def _carrier_rows(health: dict[str, Any], sandbox: bool) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if sandbox:
        rows.append({"name": "sandbox", "kind": "Simulated network", "state": "available", "ok": True,
                     "detail": "Messages to numbers outside Openline land in simulated handsets."})
    carriers = health.get("carriers") or {}
    for name, metrics in sorted(carriers.items()) if isinstance(carriers, dict) else []:
        m = metrics if isinstance(metrics, dict) else {}
        state = str(m.get("state", "unknown"))
        since = m.get("bound_since")
        details = [f"bind {m.get('bind_mode', '?')}"]
        if isinstance(since, int | float):
            details.append("bound since " + datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
        if m.get("window_size"):
            details.append(f"window {m.get('window_in_use', 0)}/{m.get('window_size')}")
        if m.get("submits_total") is not None:
            details.append(f"{m.get('submits_total')} submits")
        latency = m.get("response_latency_ms")
        if isinstance(latency, dict) and latency.get("p99") is not None:
            details.append(f"p99 {latency['p99']} ms")
        if m.get("unmatched_receipts"):
            details.append(f"{m['unmatched_receipts']} unmatched receipts")
        if m.get("last_error"):
            details.append(f"last error: {m['last_error']}")
        rows.append({"name": str(name), "kind": "SMPP", "state": state, "ok": state == "bound",
                     "detail": "; ".join(details)})
    return rows


def routes(console: Console) -> list[Route]:
    async def dashboard(ctx: Ctx) -> Response:
        span = ctx.query("range")
        span = span if span in RANGES else "24h"
        bucket, count, fmt, words = RANGES[span]
        volume = await ctx.s.insight.volume(ctx.account, bucket, count)
        labels = [b.start.strftime(fmt) for b in volume]
        volume_chart = stacked_bars("volume", f"Messages over {words}", labels, [
            Series("outbound", "bar-out", [b.outbound for b in volume]),
            Series("inbound", "bar-in", [b.inbound for b in volume])])
        rate_chart = line("rate", f"Delivery rate over {words}", labels,
                          Series("delivery rate", "rate-line", [b.delivery_rate for b in volume]))
        delivered = sum(b.delivered for b in volume)
        failed = sum(b.failed for b in volume)
        totals = {"outbound": sum(b.outbound for b in volume), "inbound": sum(b.inbound for b in volume),
                  "delivered": delivered, "failed": failed,
                  "rate": f"{delivered / (delivered + failed) * 100:.1f}%" if delivered + failed else "—"}
        try:
            health = await ctx.s.health()
            database = str(health.get("database", "?"))
        except Exception:
            log.warning("dashboard: health check failed", exc_info=True)
            health, database = {}, "unavailable"
        return await ctx.render(
            "dashboard.html", title="Dashboard", nav="dashboard", span=span, ranges=RANGES, words=words,
            volume=volume, labels=labels, volume_chart=volume_chart, rate_chart=rate_chart, totals=totals,
            depths=await ctx.s.insight.queue_depths(ctx.account),
            carriers=_carrier_rows(health, ctx.s.sandbox_enabled), database=database,
            alerts=await ctx.s.insight.recent_alerts(ctx.account, 5))

    return [Route("/", guard(console, dashboard), methods=["GET"])]
