#!/usr/bin/env bash
# Gateway memory benchmark: resident set size (VmRSS) of `regiongate serve`
#   idle          after start-up and one request
#   under load    peak while wrk drives non-streaming chat at BENCH_CONNECTIONS connections
#   after load    idle again
#   10k idle      while bench/idle_conns.py holds BENCH_IDLE_CONNS idle connections open, plus
#                 whether a normal request is still answered meanwhile
# Same setup as bench/gateway_load.sh: fast mock backend (time-scale 0), residency + metrics +
# SQLite audit on, 1 worker; backend + load on cpu BENCH_CPU_LOAD, gateway on BENCH_CPU_PROXY.
#
# Usage: bench/memory.sh [BUILD_DIR]     Env: BENCH_QUICK=1 (2 s load)  BENCH_DURATION=S
#        BENCH_CONNECTIONS=N  BENCH_IDLE_CONNS=N (default 10000)  BENCH_PROXY_WORKERS=N
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RG_BIN=$(bench_find_bin "${1:-}")
if [[ -n "${BENCH_QUICK:-}" && "${BENCH_QUICK}" != 0 ]]; then QUICK=1; else QUICK=0; fi
DURATION=${BENCH_DURATION:-$([[ $QUICK == 1 ]] && echo 2 || echo 8)}
SAT=${BENCH_CONNECTIONS:-64}
IDLE=${BENCH_IDLE_CONNS:-10000}
CPU_LOAD=${BENCH_CPU_LOAD:-0}
CPU_PROXY=${BENCH_CPU_PROXY:-1}
WORKERS=${BENCH_PROXY_WORKERS:-1}

# 10k sockets here and 10k accepted in the gateway (children inherit the limit).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < IDLE + 256 )); then
  echo "ulimit -n is $(ulimit -n) (hard $(ulimit -Hn)); need $((IDLE + 256)) for $IDLE connections" >&2
  IDLE=$(( $(ulimit -n) - 256 ))
fi

BENCH_TMP=$(mktemp -d /tmp/rg-mem.XXXXXX)
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

one_request() {  # one_request PORT -> HTTP status (or "error")
  python3 - "$1" <<'PY'
import sys, urllib.request, urllib.error
body = (b'{"model":"llama-3.1-8b","max_tokens":16,"messages":[{"role":"user",'
        b'"content":"hello"}]}')
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/v1/chat/completions", data=body,
                             headers={"Authorization": "Bearer sk-bench-load",
                                      "Content-Type": "application/json"})
try:
    print(urllib.request.urlopen(req, timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
except OSError as e:
    print("error")
PY
}

bench_start_backend "$CPU_LOAD" "$BENCH_TMP"
mkdir -p "$BENCH_TMP/audit"
bench_gateway_config "$BENCH_TMP/gw.yaml" "$BACKEND_PORT" sqlite "$BENCH_TMP/audit" 2 "$WORKERS" \
  $((IDLE + 1000))
bench_start_gateway "$CPU_PROXY" "$BENCH_TMP/gw.yaml" "$BENCH_TMP" gw
echo "# regiongate memory benchmark: $RG_BIN (pid $GW_PID, $WORKERS worker, audit sqlite)"

st=$(one_request "$GW_PORT")
sleep 1
rss_idle=$(bench_rss_kb "$GW_PID")

# Under load: sample RSS every 0.2 s while wrk runs (bounded by the sample count).
BENCH_STREAM=0 timeout $((DURATION + 30)) taskset -c "$CPU_LOAD" wrk -t1 -c"$SAT" \
  -d"${DURATION}s" --timeout 10s -s "$BENCH_HERE/lua/chat.lua" "http://127.0.0.1:$GW_PORT" \
  >"$BENCH_TMP/wrk.txt" 2>&1 &
WRK_PID=$!
BENCH_PIDS+=("$WRK_PID")
rss_load=0
for _ in $(seq 1 $(( (DURATION + 5) * 5 ))); do
  kill -0 "$WRK_PID" 2>/dev/null || break
  r=$(bench_rss_kb "$GW_PID"); (( r > rss_load )) && rss_load=$r
  sleep 0.2
done
wait "$WRK_PID" || true
load_line=$(grep '^RESULT' "$BENCH_TMP/wrk.txt" || echo "RESULT rps=0")
load_rps=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<<"$load_line")
sleep 1
rss_after=$(bench_rss_kb "$GW_PID")

# 10k idle connections.
mkfifo "$BENCH_TMP/idle.fifo"
python3 "$BENCH_HERE/idle_conns.py" --port "$GW_PORT" -n "$IDLE" --hold 120 \
  <"$BENCH_TMP/idle.fifo" >"$BENCH_TMP/idle.out" 2>"$BENCH_TMP/idle.err" &
IDLE_PID=$!
BENCH_PIDS+=("$IDLE_PID")
exec 9>"$BENCH_TMP/idle.fifo"
for _ in $(seq 1 1200); do
  grep -q '^open' "$BENCH_TMP/idle.out" 2>/dev/null && break
  kill -0 "$IDLE_PID" 2>/dev/null || break
  sleep 0.1
done
opened=$(sed -n 's/^open \([0-9]*\)/\1/p' "$BENCH_TMP/idle.out")
opened=${opened:-0}
sleep 1  # let the gateway accept the backlog
rss_idle_conns=$(bench_rss_kb "$GW_PID")
st_during=$(one_request "$GW_PORT")
exec 9>&-
wait "$IDLE_PID" || true
closed=$(sed -n 's/^closed_by_peer \([0-9]*\)/\1/p' "$BENCH_TMP/idle.out")
sleep 1
rss_final=$(bench_rss_kb "$GW_PID")

per_conn=$(( opened > 0 ? (rss_idle_conns - rss_after) * 1024 / opened : 0 ))
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
echo
echo "Gateway memory (VmRSS)"
printf '  %-34s %10s  %s\n' "state" "RSS MiB" "notes"
printf '  %-34s %10s  %s\n' "idle (after start + 1 request)" "$(mb "$rss_idle")" "first request: HTTP $st"
printf '  %-34s %10s  %s\n' "under load (peak)" "$(mb "$rss_load")" "wrk ${SAT} connections, ${DURATION}s, ${load_rps:-0} req/s"
printf '  %-34s %10s  %s\n' "after load" "$(mb "$rss_after")" ""
printf '  %-34s %10s  %s\n' "$IDLE idle connections" "$(mb "$rss_idle_conns")" "$opened open, ~${per_conn} B/connection; request meanwhile: HTTP $st_during; closed by gateway: ${closed:-?}"
printf '  %-34s %10s  %s\n' "after they close" "$(mb "$rss_final")" ""
echo -e "SUMMARY\tmemory\tidle_mib=$(mb "$rss_idle") load_mib=$(mb "$rss_load") idle${IDLE}_mib=$(mb "$rss_idle_conns") bytes_per_conn=$per_conn request_during_idle=$st_during"
[[ "$st" == 200 && "$st_during" == 200 && "$opened" -ge "$IDLE" ]]
