#!/usr/bin/env bash
# System calls per request of the gateway with its defaults (bench/configs/gateway-defaults.yaml.in)
# under one `wrk -t1` run, counted by `strace -c -f` on the gateway process: on a virtual
# machine each one costs microseconds (the kernel's share of a request's CPU), so a change that
# adds or removes one per request shows here before it shows in req/s. strace slows the gateway
# down; only the counts per request are read, never the rates.
# Usage: bench/syscalls.sh [BUILD_DIR]
# Env:   BENCH_CONNS=N (default 32)  BENCH_SECONDS=S (default 3)  BENCH_AUDIT=<audit line>
#        (default: the defaults; e.g. "audit: { sink: none }")
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RG_BIN=$(realpath "$(bench_find_bin "${1:-}")")
CONNS=${BENCH_CONNS:-32}
SECS=${BENCH_SECONDS:-3}
for tool in wrk strace; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
mkdir -p "$BENCH_ROOT/build"
BENCH_TMP=$(mktemp -d "$BENCH_ROOT/build/rg-syscalls.XXXXXX")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
BENCH_BACKEND_WORKERS=2 bench_start_backend "0-$(($(nproc) - 1))" "$BENCH_TMP"
bench_start_defaults_gateway "$BENCH_TMP/gw" "${BENCH_AUDIT:-}"
GW=$GW_PID
PORT=$GW_PORT
BENCH_STREAM=0 timeout 30 wrk -t1 -c"$CONNS" -d1s -s "$BENCH_HERE/lua/chat.lua" "http://127.0.0.1:$PORT" >/dev/null 2>&1 || true
timeout $((SECS + 20)) strace -c -f -p "$GW" -o "$BENCH_TMP/strace.txt" 2>/dev/null &
ST=$!
sleep 1  # strace attaches to every thread first; the counts are divided by wrk's own request count
BENCH_STREAM=0 timeout $((SECS + 30)) wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$BENCH_HERE/lua/chat.lua" \
  "http://127.0.0.1:$PORT" > "$BENCH_TMP/wrk.txt" 2>&1 || true
kill -INT "$ST" 2>/dev/null || true
wait "$ST" 2>/dev/null || true
REQS=$(sed -n 's/^RESULT requests=\([0-9]*\).*/\1/p' "$BENCH_TMP/wrk.txt")
echo "# $RG_BIN, $CONNS connections, ${SECS}s, audit: '${BENCH_AUDIT:-defaults}', requests=${REQS:-0}"
awk -v r="${REQS:-0}" 'r > 0 && $4 ~ /^[0-9]+$/ && $NF != "total" && $4 / r >= 0.005 {
                         printf "  %-18s %6.2f per request\n", $NF, $4 / r }' "$BENCH_TMP/strace.txt" |
  sort -k2 -nr
awk -v r="${REQS:-0}" 'r > 0 && $NF == "total" { printf "  %-18s %6.2f per request\n", "(all)", $4 / r }' \
  "$BENCH_TMP/strace.txt"
