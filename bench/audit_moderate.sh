#!/usr/bin/env bash
# The audit's cost at moderate load (docs/benchmarks.md "Group commit at moderate load"): the
# state an LLM gateway mostly runs in, its requests waiting upstream, where group commit cannot
# count on records queueing up behind a busy writer.
#
# The mock backend models inference time (--time-scale, default 0.002: ~55 ms per request at 512
# connections, its modelled batch capacity ~9 000 req/s), so the gateway runs well below
# saturation. Three gateways, started side by side and measured in alternation (only one loaded
# at a time): audit.sink none, and SQLite with each audit.flush_interval_ms in BENCH_FLUSH_VALUES.
# Per run: req/s, p50/p99, mean group size (regiongate_audit_records_total / _commits_total from
# the admin endpoint), CPU per request of the audit writer thread (named rg-audit-EU) and of the
# whole gateway (/proc/<pid>/task).
#
# Usage: bench/audit_moderate.sh [BUILD_DIR]
# Env:   BENCH_QUICK=1 (2 s runs, 1 round)  BENCH_DURATION=S  BENCH_ROUNDS=N (default 2)
#        BENCH_CONNECTIONS=N (default 512)  BENCH_TIME_SCALE=F (default 0.002)
#        BENCH_FLUSH_VALUES="0 2" (flush_interval_ms of the SQLite gateways)
#        BENCH_CPU_LOAD=0 (backend + wrk)  BENCH_CPU_PROXY=1 (gateways)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RG_BIN=$(bench_find_bin "${1:-}")
if [[ -n "${BENCH_QUICK:-}" && "${BENCH_QUICK}" != 0 ]]; then QUICK=1; else QUICK=0; fi
DURATION=${BENCH_DURATION:-$([[ $QUICK == 1 ]] && echo 2 || echo 5)}
ROUNDS=${BENCH_ROUNDS:-$([[ $QUICK == 1 ]] && echo 1 || echo 2)}
CONNS=${BENCH_CONNECTIONS:-512}
TIME_SCALE=${BENCH_TIME_SCALE:-0.002}
FLUSH_VALUES=${BENCH_FLUSH_VALUES:-"0 2"}
CPU_LOAD=${BENCH_CPU_LOAD:-0}
CPU_PROXY=${BENCH_CPU_PROXY:-1}
for tool in wrk taskset curl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/bootstrap.sh installs it)" >&2; exit 2; }
done

BENCH_TMP=$(mktemp -d /tmp/rg-auditmod.XXXXXX)
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
CLK_TCK=$(getconf CLK_TCK)

echo "# audit at moderate load: mock --time-scale $TIME_SCALE, wrk -c$CONNS, ${DURATION}s runs, $ROUNDS rounds"
echo "# binary: $RG_BIN; cpus: $(nproc); load avg at start: $(cut -d' ' -f1-3 /proc/loadavg)"

taskset -c "$CPU_LOAD" "$RG_BIN" mock-backend --region eu-central-1 --listen 127.0.0.1:0 \
  --model llama-3.1-8b --time-scale "$TIME_SCALE" --workers 1 \
  --port-file "$BENCH_TMP/backend.port" >"$BENCH_TMP/backend.log" 2>&1 &
BENCH_PIDS+=("$!")
bench_wait_file "$BENCH_TMP/backend.port" 10
BACKEND_PORT=$(awk '{print $1}' "$BENCH_TMP/backend.port")

declare -A PID PORT ADMIN
VARIANTS=("none")
for f in $FLUSH_VALUES; do VARIANTS+=("sqlite-flush$f"); done
for v in "${VARIANTS[@]}"; do
  sink=sqlite flush=${v#sqlite-flush}
  [[ $v == none ]] && sink=none flush=2
  mkdir -p "$BENCH_TMP/$v-audit"
  bench_gateway_config "$BENCH_TMP/$v.yaml" "$BACKEND_PORT" "$sink" "$BENCH_TMP/$v-audit" "$flush" 1 10000
  bench_start_gateway "$CPU_PROXY" "$BENCH_TMP/$v.yaml" "$BENCH_TMP" "$v"
  PID[$v]=$GW_PID PORT[$v]=$GW_PORT ADMIN[$v]=$GW_ADMIN
  timeout 30 taskset -c "$CPU_LOAD" wrk -t1 -c"$CONNS" -d1s -s "$BENCH_HERE/lua/chat.lua" \
    "http://127.0.0.1:$GW_PORT" >/dev/null 2>&1 || true
done

# thread_ticks PID [COMM_PREFIX]: CPU ticks of PID's threads (those whose name starts with the
# prefix, if given).
thread_ticks() {
  local t total=0 comm
  for t in /proc/"$1"/task/*; do
    comm=$(cat "$t/comm" 2>/dev/null) || continue
    [[ -n "${2:-}" && $comm != "$2"* ]] && continue
    total=$((total + $(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)))
  done
  echo "$total"
}
# group_counts ADMIN_PORT: "records commits" of the EU store.
group_counts() {
  curl -s "http://127.0.0.1:$1/metrics" | awk '
    /^regiongate_audit_records_total\{jurisdiction="EU"\}/ {r = $2}
    /^regiongate_audit_commits_total\{jurisdiction="EU"\}/ {c = $2}
    END {printf "%d %d\n", r, c}'
}

printf '%-15s %5s %9s %9s %9s %7s %11s %11s\n' variant round "req/s" "p50 ms" "p99 ms" group \
  "writer us" "all us"
declare -A WSUM ASUM GSUM
for ((round = 1; round <= ROUNDS; ++round)); do
  for v in "${VARIANTS[@]}"; do
    pid=${PID[$v]}
    read -r r0 k0 <<<"$(group_counts "${ADMIN[$v]}")"
    a0=$(thread_ticks "$pid") w0=$(thread_ticks "$pid" rg-audit)
    out=$(timeout $((DURATION + 30)) taskset -c "$CPU_LOAD" wrk -t1 -c"$CONNS" -d"${DURATION}s" \
      -s "$BENCH_HERE/lua/chat.lua" "http://127.0.0.1:${PORT[$v]}" 2>&1) || true
    a1=$(thread_ticks "$pid") w1=$(thread_ticks "$pid" rg-audit)
    read -r r1 k1 <<<"$(group_counts "${ADMIN[$v]}")"
    line=$(grep '^RESULT' <<<"$out" || true)
    [[ -n $line ]] || { echo "wrk failed for $v: $out" >&2; exit 1; }
    reqs=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
    rps=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
    p50=$(sed -n 's/.* p50=\([0-9]*\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.* p99=\([0-9]*\).*/\1/p' <<<"$line")
    python3 - "$v" "$round" "$reqs" "$rps" "$p50" "$p99" "$((r1 - r0))" "$((k1 - k0))" \
      "$((w1 - w0))" "$((a1 - a0))" "$CLK_TCK" >>"$BENCH_TMP/rows.txt" <<'PY'
import sys
v, rnd, reqs, rps, p50, p99, recs, commits, wt, at, tck = sys.argv[1:]
reqs, recs, commits, tck = int(reqs), int(recs), int(commits), int(tck)
us = lambda t: int(t) * 1e6 / tck / max(reqs, 1)
group = f"{recs / commits:.1f}" if commits else "-"
writer = f"{us(wt):.2f}" if v != "none" else "-"
print(f"{v:<15} {rnd:>5} {float(rps):9.0f} {int(p50) / 1000:9.1f} {int(p99) / 1000:9.1f} "
      f"{group:>7} {writer:>11} {us(at):11.2f}")
PY
    tail -1 "$BENCH_TMP/rows.txt"
  done
done
echo "# load avg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
# One SUMMARY line: per variant, the median over rounds of writer and whole-gateway CPU per
# request and of the mean group size.
python3 - "$BENCH_TMP/rows.txt" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.split()
    rows.setdefault(f[0], []).append(f)
def med(vals):
    vals = [float(x) for x in vals if x != "-"]
    return f"{statistics.median(vals):.2f}" if vals else "-"
parts = []
for v, fs in rows.items():
    parts.append(f"{v}: group={med(f[5] for f in fs)} writer_us={med(f[6] for f in fs)} "
                 f"all_us={med(f[7] for f in fs)}")
print("SUMMARY\taudit_moderate\t" + "; ".join(parts))
PY
