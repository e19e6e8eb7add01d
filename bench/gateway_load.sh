#!/usr/bin/env bash
# Whole-gateway load benchmark (issues 2 and 10): in ONE run, against the same fast mock backend
# on loopback (time-scale 0) with the same connection counts and duration, measure
#   direct        the mock backend itself
#   nginx         nginx as a plain reverse proxy (upstream keepalive; proxy_buffering off for SSE)
#   gw+audit      regiongate: residency evidence checks, metrics, SQLite audit (defaults:
#                 wait_durable: true, i.e. a response completes after its group commit;
#                 flush_interval_ms: 0)
#   gw+async      the same with audit.wait_durable: false (records committed in the background)
#   gw-noaudit    regiongate with audit.sink: none (residency + metrics still on)
#   gw-bare       regiongate with residency evidence checks off (evidence: endpoint,
#                 require_evidence: false) and audit.sink: none (bench/configs/gateway-bare.yaml.in;
#                 metrics cannot be switched off): the "residency + audit off" baseline
# Non-streaming at 1 connection and at saturation, streaming throughput at saturation (wrk), and
# streaming time to first body byte (bench/ttft_client.py, sequential requests).
#
# Usage: bench/gateway_load.sh [BUILD_DIR]        (docs/benchmarks.md explains the table)
# Env:   BENCH_QUICK=1 (2 s runs, for CI)  BENCH_DURATION=S  BENCH_CONNECTIONS=N (saturation)
#        BENCH_TTFT_N=N  BENCH_CPU_LOAD=0 (backend + load generators)  BENCH_CPU_PROXY=1 (proxy)
#        BENCH_PROXY_WORKERS=1 (gateway workers = nginx worker_processes)
#        BENCH_FLUSH_MS=2 (audit.flush_interval_ms of the gateway targets; 2 is the default)
#        BENCH_TARGETS="direct nginx gw+audit gw+async gw-noaudit gw-bare"
#        BENCH_BACKEND_BIN=PATH (another binary for the mock backend, for A/B runs)
#        BENCH_OUT=FILE (also write the raw results as TSV)  BENCH_KEEP_TMP=1 (keep logs)
#        BENCH_AUDIT_ROUNDS=N (interleaved audit on/off rounds, below; 0 = skip; default 3, quick 2)
#
# Interleaved audit on/off: the targets above run one after the other, so a machine
# that slows down during the run (a shared VM) shifts the ratio between two targets measured
# minutes apart. The last block starts gw-noaudit and gw+audit side by side (same core, only one
# loaded at a time) and alternates non-streaming saturation runs, off/on/off/on..., each pair
# seconds apart; gateway_table.py prints each pair's ratio and the median.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RG_BIN=$(bench_find_bin "${1:-}")
if [[ -n "${BENCH_QUICK:-}" && "${BENCH_QUICK}" != 0 ]]; then QUICK=1; else QUICK=0; fi
DURATION=${BENCH_DURATION:-$([[ $QUICK == 1 ]] && echo 2 || echo 8)}
SAT=${BENCH_CONNECTIONS:-64}
TTFT_N=${BENCH_TTFT_N:-$([[ $QUICK == 1 ]] && echo 100 || echo 1000)}
CPU_LOAD=${BENCH_CPU_LOAD:-0}
CPU_PROXY=${BENCH_CPU_PROXY:-1}
WORKERS=${BENCH_PROXY_WORKERS:-1}
AUDIT_ROUNDS=${BENCH_AUDIT_ROUNDS:-$([[ $QUICK == 1 ]] && echo 2 || echo 3)}
TARGETS=${BENCH_TARGETS:-"direct nginx gw+audit gw+async gw-noaudit gw-bare"}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

for tool in wrk taskset python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/bootstrap.sh installs it)" >&2; exit 2; }
done
[[ -x "$NGINX" ]] || { echo "missing nginx (scripts/bootstrap.sh installs nginx-light)" >&2; exit 2; }

BENCH_TMP=$(mktemp -d /tmp/rg-gwload.XXXXXX)
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
RESULTS=$BENCH_TMP/results.tsv
: > "$RESULTS"

echo "# regiongate gateway load benchmark"
echo "# binary: $RG_BIN"
echo "# cpus: $(nproc)  load avg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# pinning: backend + wrk + ttft client on cpu $CPU_LOAD; proxy (gateway or nginx, $WORKERS worker) on cpu $CPU_PROXY"
echo "# wrk runs: ${DURATION}s each (+1s warm-up per target); saturation = $SAT connections; ttft: $TTFT_N sequential streams"

bench_start_backend "$CPU_LOAD" "$BENCH_TMP"
echo "# mock backend on 127.0.0.1:$BACKEND_PORT (pid $BACKEND_PID)"

CLK_TCK=$(getconf CLK_TCK)
# wrk_run TARGET SCENARIO CONNS PORT [STREAM]; CPU of the measured server ($SERVER_PID: the
# proxy, or the backend for "direct") per request is recorded as cpu_us.
wrk_run() {
  local target=$1 scenario=$2 conns=$3 port=$4 stream=${5:-0} out line c0 c1 reqs cpu_us
  out=$BENCH_TMP/wrk-$target-$scenario-$conns.txt
  c0=$(bench_cpu_ticks "$SERVER_PID")
  BENCH_STREAM=$stream timeout $((DURATION + 30)) taskset -c "$CPU_LOAD" \
    wrk -t1 -c"$conns" -d"${DURATION}s" --timeout 10s --latency -s "$BENCH_HERE/lua/chat.lua" \
    "http://127.0.0.1:$port" >"$out" 2>&1 || true
  line=$(grep '^RESULT' "$out" || true)
  if [[ -z "$line" ]]; then
    echo "wrk failed for $target/$scenario:" >&2; cat "$out" >&2
    line="RESULT requests=0 rps=0 p50=0 p99=0 p999=0 max=0 connect_err=1 read_err=0 write_err=0 status_err=0 timeout_err=0"
  fi
  c1=$(bench_cpu_ticks "$SERVER_PID")
  reqs=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
  # In tenths of a microsecond: at ~16 us per request a whole microsecond is 6 %.
  cpu_us=$(( reqs > 0 ? (c1 - c0) * 10000000 / CLK_TCK / reqs : 0 ))
  line="$line cpu_us=$((cpu_us / 10)).$((cpu_us % 10))"
  printf 'wrk\t%s\t%s\t%s\t%s\n' "$target" "$scenario" "$conns" "${line#RESULT }" >> "$RESULTS"
  printf '  %-12s %-10s c=%-3s %s\n' "$target" "$scenario" "$conns" "${line#RESULT }"
}

ttft_run() {
  local target=$1 port=$2 out line
  out=$BENCH_TMP/ttft-$target.txt
  timeout 300 taskset -c "$CPU_LOAD" python3 "$BENCH_HERE/ttft_client.py" --port "$port" \
    -n "$TTFT_N" >"$out" 2>&1 || true
  line=$(grep '^RESULT' "$out" || echo "RESULT n=$TTFT_N ok=0 ttfb_p50=0 ttfb_p99=0 ttfb_p999=0 total_p50=0 total_p99=0")
  printf 'ttft\t%s\tstream-ttfb\t1\t%s\n' "$target" "${line#RESULT }" >> "$RESULTS"
  printf '  %-12s %-10s c=1   %s\n' "$target" "ttfb" "${line#RESULT }"
}

measure() {  # measure TARGET PORT [STREAM_PORT]
  local target=$1 port=$2 sport=${3:-$2}
  # warm-up: connections, upstream pools, allocator
  BENCH_STREAM=0 timeout 30 taskset -c "$CPU_LOAD" wrk -t1 -c"$SAT" -d1s \
    -s "$BENCH_HERE/lua/chat.lua" "http://127.0.0.1:$port" >/dev/null 2>&1 || true
  wrk_run "$target" nonstream 1 "$port"
  wrk_run "$target" nonstream "$SAT" "$port"
  wrk_run "$target" stream "$SAT" "$sport" 1
  ttft_run "$target" "$sport"
}

start_nginx() {
  NGINX_PORT=$(bench_free_port)
  NGINX_SPORT=$(bench_free_port)
  local d=$BENCH_TMP/nginx
  bench_nginx_conf "$d" $WORKERS "  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 256; }
  # Plain reverse proxy (default buffering) for JSON responses.
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }
  }
  # SSE: pass chunks through as they arrive.
  server {
    listen 127.0.0.1:$NGINX_SPORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_buffering off;
    }
  }"
  taskset -c "$CPU_PROXY" "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" \
    >"$d/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  BENCH_PIDS+=("$NGINX_PID")
  if ! bench_wait_port "$NGINX_PORT" 10 || ! bench_wait_port "$NGINX_SPORT" 10; then
    cat "$d/logs/error.log" "$d/logs/stdout.log" >&2
    return 1
  fi
}

gateway_metric() {  # gateway_metric ADMIN_PORT METRIC -> sum of the series
  python3 - "$1" "$2" <<'PY'
import sys, urllib.request
port, name = sys.argv[1], sys.argv[2]
try:
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
except OSError:
    print("?"); sys.exit(0)
total = 0.0
for ln in text.splitlines():
    if ln.startswith(name) and (ln[len(name)] in " {"):
        total += float(ln.rsplit(" ", 1)[1])
print(int(total))
PY
}

# start_gateway_target TARGET [NAME]: a gateway variant (the targets' table above) on $CPU_PROXY;
# sets GW_PID, GW_PORT, GW_ADMIN and GW_DESC.
start_gateway_target() {
  local target=$1 name=${2:-${1//+/p}} sink=sqlite durable=true
  local template=gateway-bench.yaml.in
  [[ $target == gw-noaudit || $target == gw-bare ]] && sink=none
  [[ $target == gw+async ]] && durable=false
  [[ $target == gw-bare ]] && template=gateway-bare.yaml.in
  mkdir -p "$BENCH_TMP/$name-audit"
  BENCH_CONFIG_TEMPLATE=$template BENCH_WAIT_DURABLE=$durable \
    bench_gateway_config "$BENCH_TMP/$name.yaml" "$BACKEND_PORT" "$sink" "$BENCH_TMP/$name-audit" \
    "${BENCH_FLUSH_MS:-2}" "$WORKERS" 10000
  bench_start_gateway "$CPU_PROXY" "$BENCH_TMP/$name.yaml" "$BENCH_TMP" "$name"
  GW_DESC="workers $WORKERS, audit sink $sink, wait_durable $durable"
}

for target in $TARGETS; do
  case $target in
    direct)
      echo "== direct: mock backend"
      SERVER_PID=$BACKEND_PID
      measure direct "$BACKEND_PORT" ;;
    nginx)
      echo "== nginx $($NGINX -v 2>&1 | sed 's/.*\///') (worker_processes $WORKERS, keepalive upstream)"
      start_nginx
      SERVER_PID=$NGINX_PID
      measure nginx "$NGINX_PORT" "$NGINX_SPORT"
      bench_stop "$NGINX_PID" ;;
    gw+audit|gw+async|gw-noaudit|gw-bare)
      start_gateway_target "$target"
      echo "== $target: regiongate ($GW_DESC) on :$GW_PORT"
      SERVER_PID=$GW_PID
      measure "$target" "$GW_PORT"
      echo "  (gateway metrics: requests_total=$(gateway_metric "$GW_ADMIN" regiongate_requests_total)" \
           "audit_records_total=$(gateway_metric "$GW_ADMIN" regiongate_audit_records_total)" \
           "violations=$(gateway_metric "$GW_ADMIN" regiongate_residency_violations_total))"
      bench_stop "$GW_PID" ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
  esac
done
if (( AUDIT_ROUNDS > 0 )); then
  echo "== interleaved audit on/off: gw-noaudit and gw+audit side by side, $AUDIT_ROUNDS rounds"
  declare -A AB_PID AB_PORT
  for target in gw-noaudit gw+audit; do
    start_gateway_target "$target" "ab-${target//+/p}"
    AB_PID[$target]=$GW_PID
    AB_PORT[$target]=$GW_PORT
    BENCH_STREAM=0 timeout 30 taskset -c "$CPU_LOAD" wrk -t1 -c"$SAT" -d1s \
      -s "$BENCH_HERE/lua/chat.lua" "http://127.0.0.1:$GW_PORT" >/dev/null 2>&1 || true
  done
  for ((round = 1; round <= AUDIT_ROUNDS; ++round)); do
    for target in gw-noaudit gw+audit; do
      SERVER_PID=${AB_PID[$target]}
      wrk_run "$target" "ab$round" "$SAT" "${AB_PORT[$target]}"
    done
  done
  bench_stop "${AB_PID[gw-noaudit]}"
  bench_stop "${AB_PID[gw+audit]}"
fi
echo "# load avg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

python3 "$BENCH_HERE/gateway_table.py" "$RESULTS" --saturation "$SAT"
rc=$?
if [[ -n "${BENCH_OUT:-}" ]]; then cp "$RESULTS" "$BENCH_OUT"; fi
exit $rc
