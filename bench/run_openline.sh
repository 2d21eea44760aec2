#!/usr/bin/env bash
# Openline on the embedded default (SQLite, durable): HTTP Messages API -> SMPP v3.4 bind ->
# the shared smsc_sink.py. Everything on 127.0.0.1. Built on ../shared/bench (lib.sh, loadgen.py,
# smsc_sink.py, report.py), measured exactly as run_kannel.sh measures Kannel.
#
#   bench/run_openline.sh                    # 3 runs of 10,000 messages, concurrency 50
#   RUNS=1 COUNT=2000 bench/run_openline.sh
#   RATE=500 bench/run_openline.sh           # paced (open loop) at 500 requests/s
#
# Environment: as lib.sh (RUNS COUNT CONC WARMUP SINK_PORT PY RATE), plus OUT (default
# /tmp/openline-bench/results/openline), OPENLINE (the `openline` command, default .venv/bin/openline),
# HTTP_PORT (18080), WINDOW (SMPP window, default 10 as Kannel's), SYNCHRONOUS (SQLite, default FULL).
# Each run records: accept rate, end-to-end submit rate at the SMSC, p50/p99 latency from the HTTP
# request to its submit_sm, CPU per message (Openline's process), peak RSS.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$(cd "$HERE/../../shared/bench" && pwd)}
# The project venv has aiohttp (test extra) for the load generator.
export PY=${PY:-$HERE/../.venv/bin/python}
source "$SHARED/lib.sh"

OUT=${OUT:-/tmp/openline-bench/results/openline}
OPENLINE=${OPENLINE:-$HERE/../.venv/bin/openline}
HTTP_PORT=${HTTP_PORT:-18080}
WINDOW=${WINDOW:-10}
SYNCHRONOUS=${SYNCHRONOUS:-FULL}
SID=AC$(python3 -c 'import secrets; print(secrets.token_hex(16))')
TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
FROM=+14155551000
trap stop_all EXIT
mkdir -p "$OUT"
machine_json >"$OUT/machine.json"

write_conf() {  # write_conf DIR
  cat >"$1/openline.toml" <<EOF
log_level = "warning"
[database]
sqlite_synchronous = "$SYNCHRONOUS"
[[carriers]]
name = "sink"
type = "smpp"
host = "127.0.0.1"
port = $SINK_PORT
system_id = "bench"
password = "bench"
bind_mode = "trx"
window = $WINDOW
request_dlr = false
numbers = ["$FROM"]
[[routes]]
match = "+"
carriers = ["sink"]
EOF
}

LG_ARGS=(--method POST --auth "$SID:$TOKEN"
         --url "http://127.0.0.1:$HTTP_PORT/2010-04-01/Accounts/$SID/Messages.json"
         --data "From=%2B14155551000&To=%2B15551230001&Body=bench SEQ{seq} openline")

one_run() {  # one_run DIR
  local d=$1
  rm -rf "$d"; mkdir -p "$d"
  write_conf "$d"
  start_sink "$d" $((WARMUP + COUNT))
  OPENLINE_ACCOUNT_SID=$SID OPENLINE_AUTH_TOKEN=$TOKEN \
    start_bg openline "$d/openline.log" "$OPENLINE" serve --port "$HTTP_PORT" --data-dir "$d/data" \
    --config "$d/openline.toml"
  wait_port "$HTTP_PORT" 60
  wait_file "$d/sink_ready" 30 || { log "Openline did not bind to the sink"; return 1; }
  curl -fsS -u "$SID:$TOKEN" --data-urlencode "PhoneNumber=$FROM" \
    "http://127.0.0.1:$HTTP_PORT/2010-04-01/Accounts/$SID/IncomingPhoneNumbers.json" >/dev/null
  measure "$d" openline="${PID_OF[openline]}" sink="${PID_OF[sink]}"
  grep VmHWM "/proc/${PID_OF[openline]}/status" | awk '{print $2}' >"$d/peak_rss_kb"
  stop_name openline
  stop_name sink
  finish_run "$d" || return 1
  python3 - "$d/result.json" "$d/peak_rss_kb" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
r["peak_rss_mb"] = round(int(open(sys.argv[2]).read().strip() or 0) / 1024, 1)
json.dump(r, open(sys.argv[1], "w"), indent=1)
PYEOF
}

for ((r = 1; r <= RUNS; r++)); do
  for ((try = 1; ; try++)); do
    log "openline run $r/$RUNS (try $try): $COUNT messages, concurrency $CONC${RATE:+, paced at $RATE/s}"
    if one_run "$OUT/run$r"; then break; fi
    if ((try >= ${MAX_TRIES:-3})); then log "run $r disturbed on every try: kept as is"; break; fi
    rm -rf "$OUT/run$r-disturbed$try"; mv "$OUT/run$r" "$OUT/run$r-disturbed$try"
  done
done
python3 "$SHARED/report.py" --summarize "$OUT"/run?/result.json | tee "$OUT/summary.json"
