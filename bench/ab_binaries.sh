#!/usr/bin/env bash
# A/B of two regiongate binaries as a user runs them: the same config (the bench config with its
# defaults: SQLite audit in a directory on the default disk, 2 workers, evidence checks, metrics),
# the same mock backend, no CPU pinning. Both gateways run side by side and are measured in
# alternation (A, B, A, B, ...), each pair seconds apart, so a machine that slows down during the
# run shifts both sides alike. Prints each pair's req/s and CPU per request, the medians of B/A,
# and a verdict against a tolerance.
#
# Usage: bench/ab_binaries.sh BIN_A BIN_B
# Env:   BENCH_ROUNDS=N (pairs, default 5)  BENCH_DURATION=S (per run, default 5)
#        BENCH_CONNECTIONS=N (default 32)  BENCH_TOLERANCE=0.03  BENCH_QUICK=1 (2 rounds of 2 s)
set -euo pipefail
source "$(dirname "$0")/lib.sh"

BIN_A=${1:?usage: bench/ab_binaries.sh BIN_A BIN_B}
BIN_B=${2:?usage: bench/ab_binaries.sh BIN_A BIN_B}
if [[ -n "${BENCH_QUICK:-}" && "${BENCH_QUICK}" != 0 ]]; then QUICK=1; else QUICK=0; fi
ROUNDS=${BENCH_ROUNDS:-$([[ $QUICK == 1 ]] && echo 2 || echo 5)}
DURATION=${BENCH_DURATION:-$([[ $QUICK == 1 ]] && echo 2 || echo 5)}
CONNS=${BENCH_CONNECTIONS:-32}
TOL=${BENCH_TOLERANCE:-0.03}
command -v wrk >/dev/null || { echo "missing wrk (scripts/bootstrap.sh installs it)" >&2; exit 2; }

BENCH_TMP=$(mktemp -d "${TMPDIR:-/var/tmp}/rg-ab.XXXXXX")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
CLK_TCK=$(getconf CLK_TCK)

echo "# A/B: A=$BIN_A"
echo "#      B=$BIN_B"
echo "# cpus: $(nproc)  load avg at start: $(cut -d' ' -f1-3 /proc/loadavg)  no pinning"
echo "# $ROUNDS alternated pairs of ${DURATION}s wrk runs at $CONNS connections; audit dirs under $BENCH_TMP"

RG_BIN=$BIN_B
"$RG_BIN" mock-backend --region eu-central-1 --listen 127.0.0.1:0 --model llama-3.1-8b \
  --time-scale 0 --port-file "$BENCH_TMP/backend.port" >"$BENCH_TMP/backend.log" 2>&1 &
BENCH_PIDS+=("$!")
bench_wait_file "$BENCH_TMP/backend.port" 10
BACKEND_PORT=$(awk '{print $1}' "$BENCH_TMP/backend.port")

# start_side NAME BIN -> PORT_<NAME>, PID_<NAME>
start_side() {
  local name=$1 bin=$2
  bench_gateway_config "$BENCH_TMP/$name.yaml" "$BACKEND_PORT" sqlite "$BENCH_TMP/$name-audit" 2 2
  "$bin" serve --config "$BENCH_TMP/$name.yaml" --log-level warn \
    --port-file "$BENCH_TMP/$name.port" >"$BENCH_TMP/$name.log" 2>&1 &
  BENCH_PIDS+=("$!")
  eval "PID_$name=$!"
  bench_wait_file "$BENCH_TMP/$name.port" 15 || { cat "$BENCH_TMP/$name.log" >&2; exit 1; }
  eval "PORT_$name=$(awk '{print $1}' "$BENCH_TMP/$name.port")"
}
start_side A "$BIN_A"
start_side B "$BIN_B"

# run NAME -> prints "rps cpu_us p99_ms"
run() {
  local name=$1 port pid out c0 c1 line reqs rps p99
  port=$(eval echo "\$PORT_$name"); pid=$(eval echo "\$PID_$name")
  out=$BENCH_TMP/wrk-$name.txt
  c0=$(bench_cpu_ticks "$pid")
  timeout $((DURATION + 30)) wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency \
    -s "$BENCH_HERE/lua/chat.lua" "http://127.0.0.1:$port" >"$out" 2>&1 || true
  c1=$(bench_cpu_ticks "$pid")
  line=$(grep '^RESULT' "$out" || echo "RESULT requests=0 rps=0 p99=0")
  reqs=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
  rps=$(sed -n 's/.* rps=\([0-9.]*\).*/\1/p' <<<"$line")
  p99=$(sed -n 's/.* p99=\([0-9.]*\).*/\1/p' <<<"$line")
  python3 -c "import sys; r=int(sys.argv[1]); print(sys.argv[2], (int(sys.argv[3])*1e6/int(sys.argv[4])/r) if r else 0, sys.argv[5])" \
    "$reqs" "$rps" "$((c1 - c0))" "$CLK_TCK" "$p99"
}

# Warm both (connections, caches, the audit files).
for s in A B; do
  port=$(eval echo "\$PORT_$s")
  timeout 20 wrk -t1 -c"$CONNS" -d1s -s "$BENCH_HERE/lua/chat.lua" "http://127.0.0.1:$port" >/dev/null 2>&1 || true
done

: > "$BENCH_TMP/pairs"
for i in $(seq 1 "$ROUNDS"); do
  a=$(run A); b=$(run B)
  echo "$a $b" >> "$BENCH_TMP/pairs"
  read -r ra ca pa rb cb pb <<<"$a $b"
  printf 'pair %d: A %8.0f req/s %6.1f us/req p99 %s | B %8.0f req/s %6.1f us/req p99 %s\n' \
    "$i" "$ra" "$ca" "$pa" "$rb" "$cb" "$pb"
done

python3 - "$BENCH_TMP/pairs" "$TOL" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
tol = float(sys.argv[2])
rps = [b[3] / b[0] for b in rows if b[0] > 0]
cpu = [b[4] / b[1] for b in rows if b[1] > 0]
if not rps or not cpu:
    print("VERDICT ab: no measurement"); sys.exit(1)
mr, mc = statistics.median(rps), statistics.median(cpu)
print(f"B/A req/s per pair: {' '.join(f'{x:.3f}' for x in rps)}  median {mr:.3f}")
print(f"B/A CPU per request per pair: {' '.join(f'{x:.3f}' for x in cpu)}  median {mc:.3f}")
ok_r = mr >= 1 - tol
ok_c = mc <= 1 + tol
print(f"VERDICT req/s B/A {mr:.3f} >= {1 - tol:.2f}: {'PASS' if ok_r else 'FAIL'}")
print(f"VERDICT cpu/request B/A {mc:.3f} <= {1 + tol:.2f}: {'PASS' if ok_c else 'FAIL'}")
PY
