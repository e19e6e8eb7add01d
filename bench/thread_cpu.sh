#!/usr/bin/env bash
# CPU per request of each thread of the gateway with its defaults (bench/configs/
# gateway-defaults.yaml.in), unpinned, under one `wrk -t1` run: which thread (worker, audit
# writer `rg-audit-<J>`, WAL checkpointer `rg-audit-ckpt`) a change moved CPU to or from. Each
# variant is a fresh gateway on the same mock backend, the variants interleaved per round.
# Usage: bench/thread_cpu.sh [BUILD_DIR]
# Env:   BENCH_CONNS=N (default 32)  BENCH_SECONDS=S (default 8)  BENCH_ROUNDS=N (default 2)
#        BENCH_VARIANTS: ';'-separated audit lines (default: "" and "audit: { sink: none }")
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RG_BIN=$(realpath "$(bench_find_bin "${1:-}")")
CONNS=${BENCH_CONNS:-32}
SECS=${BENCH_SECONDS:-8}
ROUNDS=${BENCH_ROUNDS:-2}
IFS=';' read -r -a VARIANTS <<<"${BENCH_VARIANTS-;audit: { sink: none \}}"
command -v wrk >/dev/null || { echo "missing wrk" >&2; exit 2; }
mkdir -p "$BENCH_ROOT/build"
BENCH_TMP=$(mktemp -d "$BENCH_ROOT/build/rg-threads.XXXXXX")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
BENCH_BACKEND_WORKERS=2 bench_start_backend "0-$(($(nproc) - 1))" "$BENCH_TMP"

# thread_ticks PID: "<tid>-<name> <user+system ticks>" per thread.
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "$(basename "$t")-$(tr ' ' _ < "$t/comm") $(awk '{print $14 + $15}' "$t/stat")"
  done | sort
}

run_variant() {  # run_variant ROUND INDEX AUDIT_LINE
  local dir=$BENCH_TMP/r$1-v$2 pid port reqs
  bench_start_defaults_gateway "$dir" "$3"
  pid=$GW_PID
  port=$GW_PORT
  # Warm-up (connections, pools, the audit files), then the measured run.
  BENCH_STREAM=0 timeout 30 wrk -t1 -c"$CONNS" -d2s -s "$BENCH_HERE/lua/chat.lua" "http://127.0.0.1:$port" >/dev/null 2>&1 || true
  thread_ticks "$pid" > "$dir/before"
  BENCH_STREAM=0 timeout $((SECS + 30)) wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$BENCH_HERE/lua/chat.lua" \
    "http://127.0.0.1:$port" > "$dir/wrk.txt" 2>&1 || true
  thread_ticks "$pid" > "$dir/after"
  reqs=$(sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p' "$dir/wrk.txt")
  echo "round $1 variant '${3:-defaults}': requests=${reqs:-0} $(grep -o 'rps=[0-9.]*' "$dir/wrk.txt" || true)"
  join "$dir/before" "$dir/after" | awk -v r="${reqs:-0}" -v hz="$(getconf CLK_TCK)" '
    r > 0 && $3 > $2 { us = ($3 - $2) * 1e6 / hz / r; sum += us
                       sub(/^[0-9]+-/, "", $1); printf "  %-16s %6.1f us/request\n", $1, us }
    END { if (r > 0) printf "  %-16s %6.1f us/request\n", "(all)", sum }'
  kill "$pid" && wait "$pid" 2>/dev/null || true
}

echo "# $RG_BIN, $CONNS connections, ${SECS}s per run, load avg $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= ROUNDS; ++round)); do
  for i in "${!VARIANTS[@]}"; do run_variant "$round" "$i" "${VARIANTS[$i]}"; done
done
