#!/usr/bin/env bash
# Where each proxy's CPU per request goes: user space (its own code and libraries) or the kernel
# (system calls, the loopback TCP stack), for nginx as a plain reverse proxy (2 workers) and the
# gateway with its defaults (bench/configs/gateway-defaults.yaml.in), unpinned, on the same mock
# backend, one `wrk -t1` run each, interleaved per round. The gateway/nginx CPU ratio of
# bench/gateway_defaults.sh says how far apart they are; this says in which half the difference
# lies. Counters from /proc (utime, stime of the process tree; context switches of its threads).
# Usage: bench/cpu_split.sh [BUILD_DIR]
# Env:   BENCH_CONNS=N (default 32)  BENCH_SECONDS=S (default 5)  BENCH_ROUNDS=N (default 2)
#        BENCH_BASELINE_BIN=<another regiongate build>: adds its two variants to each round
set -euo pipefail
source "$(dirname "$0")/lib.sh"
RG_BIN=$(realpath "$(bench_find_bin "${1:-}")")
CONNS=${BENCH_CONNS:-32}
SECS=${BENCH_SECONDS:-5}
ROUNDS=${BENCH_ROUNDS:-2}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
for tool in wrk "$NGINX"; do
  command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 2; }
done
mkdir -p "$BENCH_ROOT/build"
BENCH_TMP=$(mktemp -d "$BENCH_ROOT/build/rg-cpusplit.XXXXXX")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
BENCH_BACKEND_WORKERS=2 bench_start_backend "0-$(($(nproc) - 1))" "$BENCH_TMP"

declare -A PIDS PORTS
NAMES=(nginx)
start_nginx() {
  local d=$BENCH_TMP/nginx
  PORTS[nginx]=$(bench_free_port)
  bench_nginx_conf "$d" 2 "  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 256; }
  server { listen 127.0.0.1:${PORTS[nginx]};
           location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
  "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" >"$d/logs/stdout.log" 2>&1 &
  PIDS[nginx]=$!
  BENCH_PIDS+=("${PIDS[nginx]}")
  bench_wait_port "${PORTS[nginx]}" 10 || { cat "$d/logs/error.log" >&2; exit 1; }
}

start_variant() {  # start_variant NAME BINARY AUDIT_LINE
  local RG_BIN=$2
  bench_start_defaults_gateway "$BENCH_TMP/$1" "$3"
  PIDS[$1]=$GW_PID
  PORTS[$1]=$GW_PORT
  NAMES+=("$1")
}

# thread_switches PID: voluntary and involuntary context switches of all the threads of PID and
# its children (nginx's workers).
thread_switches() {
  local p procs=("$1")
  for p in $(pgrep -P "$1" || true); do procs+=("$p"); done
  for p in "${procs[@]}"; do cat /proc/"$p"/task/*/status 2>/dev/null || true; done |
    awk '/^voluntary_ctxt_switches/ {v += $2} /^nonvoluntary_ctxt_switches/ {n += $2} END {print v + 0, n + 0}'
}

measure() {  # measure NAME
  local pid=${PIDS[$1]} port=${PORTS[$1]} u0 s0 u1 s1 v0 n0 v1 n1 out reqs
  BENCH_STREAM=0 timeout 30 wrk -t1 -c"$CONNS" -d1s -s "$BENCH_HERE/lua/chat.lua" "http://127.0.0.1:$port" >/dev/null 2>&1 || true
  read -r u0 s0 < <(bench_cpu_split "$pid")
  read -r v0 n0 < <(thread_switches "$pid")
  out=$(BENCH_STREAM=0 timeout $((SECS + 30)) wrk -t1 -c"$CONNS" -d"${SECS}s" -s "$BENCH_HERE/lua/chat.lua" \
    "http://127.0.0.1:$port" 2>&1 | grep '^RESULT' || true)
  read -r u1 s1 < <(bench_cpu_split "$pid")
  read -r v1 n1 < <(thread_switches "$pid")
  reqs=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$out")
  awk -v name="$1" -v r="${reqs:-0}" -v hz="$(getconf CLK_TCK)" -v u=$((u1 - u0)) -v s=$((s1 - s0)) \
      -v cs=$((v1 - v0 + n1 - n0)) -v rps="$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$out")" 'BEGIN {
    if (r == 0) { printf "%-14s no requests\n", name; exit }
    printf "%-14s req/s %7.0f  CPU us/request: user %5.1f  system %5.1f  all %5.1f  switches/request %.2f\n",
           name, rps, u * 1e6 / hz / r, s * 1e6 / hz / r, (u + s) * 1e6 / hz / r, cs / r }'
}

start_nginx
start_variant gw "$RG_BIN" ""
start_variant gw-none "$RG_BIN" "audit: { sink: none }"
if [[ -n "${BENCH_BASELINE_BIN:-}" ]]; then
  start_variant gw-base "$(realpath "$BENCH_BASELINE_BIN")" ""
  start_variant gw-none-base "$(realpath "$BENCH_BASELINE_BIN")" "audit: { sink: none }"
fi
echo "# $RG_BIN, $CONNS connections, ${SECS}s per run, load avg $(cut -d' ' -f1-3 /proc/loadavg)"
for ((round = 1; round <= ROUNDS; ++round)); do
  echo "round $round"
  for name in "${NAMES[@]}"; do measure "$name"; done
done
