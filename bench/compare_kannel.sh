#!/usr/bin/env bash
# Openline and the Kannel anchor in the same run, one after the other, on the same machine:
# prints both summaries and the ratios (Openline / Kannel) of the end-to-end rate, the accept
# rate and the CPU per message. Needs Debian's kannel (apt-get install kannel).
#
#   bench/compare_kannel.sh                      # RUNS=3 COUNT=10000 CONC=50 (as the anchor figures)
#   RUNS=1 COUNT=3000 bench/compare_kannel.sh
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SHARED=${SHARED:-$(cd "$HERE/../../shared/bench" && pwd)}
export PY=${PY:-$HERE/../.venv/bin/python}
OUT=${OUT:-/tmp/openline-bench/results}
command -v /usr/sbin/bearerbox >/dev/null || { echo "kannel is not installed (apt-get install kannel)" >&2; exit 2; }
OUT=$OUT/openline bash "$HERE/run_openline.sh" >/dev/null
OUT=$OUT/kannel bash "$SHARED/run_kannel.sh" >/dev/null
python3 - "$OUT/openline/summary.json" "$OUT/kannel/summary.json" <<'PYEOF'
import json, sys
o, k = (json.load(open(p)) for p in sys.argv[1:])
def med(s, key):
    v = s.get(key)
    return v["median"] if isinstance(v, dict) else v
def cpu_per_msg(s, names):
    cpu = s.get("cpu_s_median", {})
    return sum(cpu.get(n, 0) for n in names)
count = None
rows = []
for key in ("accept_rate_per_s", "e2e_rate_per_s", "e2e_lat_ms_p50", "e2e_lat_ms_p99"):
    rows.append((key, med(o, key), med(k, key)))
print(f"{'figure':<22}{'openline':>12}{'kannel':>12}{'ratio':>9}")
for key, a, b in rows:
    ratio = (a / b) if a and b else float("nan")
    print(f"{key:<22}{a:>12}{b:>12}{ratio:>9.3f}")
oc = cpu_per_msg(o, ["openline"])
kc = cpu_per_msg(k, ["bearerbox", "smsbox"])
print(f"{'cpu_s (gateway)':<22}{oc:>12}{kc:>12}{(oc / kc if kc else float('nan')):>9.3f}")
print(json.dumps({"openline": o, "kannel": k}), file=open(sys.argv[1].rsplit('/', 2)[0] + "/comparison.json", "w"))
PYEOF
