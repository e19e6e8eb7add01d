#!/usr/bin/env bash
# The gateway as a user runs it, against nginx, in ONE interleaved run (docs/benchmarks.md
# "Defaults, unpinned"). Nothing is pinned (every process may run on every core), the gateway
# runs its defaults (bench/configs/gateway-defaults.yaml.in: 2 workers, residency evidence
# checks, metrics, SQLite audit with wait_durable in ./audit of its working directory, on the
# disk of BENCH_WORKDIR, by default the repository's build/ directory, not /tmp, which is tmpfs
# on many systems), and nginx is a plain reverse proxy with 2 workers to the same mock backend.
#
# Targets, all started side by side, then measured in rounds (only one loaded at a time, the
# order rotating each round):
#   direct     the mock backend itself (the base of "added" latency)
#   nginx      nginx, worker_processes 2, upstream keepalive (proxy_buffering off for SSE)
#   gw         regiongate, defaults
#   gw-none    regiongate, defaults but audit.sink: none
#   gw-nospill regiongate, defaults but audit.spill_dir: off (answers wait for the SQLite commit)
#   gw-nowait  regiongate, defaults but audit.wait_durable: false (answers wait for nothing)
#   gw-base    BENCH_BASELINE_BIN (another regiongate build, e.g. the previous commit) with the
#              defaults, for a before/after in the same run (BENCH_TARGETS to add)
#   portkey    Portkey's open-source AI gateway (npm @portkey-ai/gateway 1.15.2, one node process,
#              as shipped), installed by bench/peers/install_portkey.sh into BENCH_PORTKEY_DIR
#              (default build/peers/portkey); BENCH_TARGETS to add; skipped with a line saying
#              why when node or the install is missing. Requests name the mock backend as an
#              OpenAI-compatible custom host in headers (see start_portkey).
# Per target and round: non-streaming at 1 connection and at BENCH_CONNECTIONS (wrk), CPU per
# request of the whole server process tree (/proc, every thread: workers, audit writer and
# checkpointer, nginx's workers), and streaming time to first body byte (ttft_client.py).
# defaults_table.py prints the medians over rounds, each ratio taken within its round, and the
# verdict lines.
#
# Usage: bench/gateway_defaults.sh [BUILD_DIR]
# Env:   BENCH_QUICK=1 (1 round of 1 s runs, for CI)  BENCH_ROUNDS=N (default 3)
#        BENCH_DURATION=S (default 5)  BENCH_CONNECTIONS=N (default 32)  BENCH_TTFT_N=N
#        BENCH_TARGETS="direct nginx gw gw-none" (add gw-nospill, gw-nowait, gw-base, portkey)  BENCH_WORKDIR=DIR
#        BENCH_OUT=FILE (raw TSV)  BENCH_PORTKEY_DIR=DIR
#        BENCH_NICE=N: run every process of the benchmark (backend, proxies, load generators)
#        at this nice value, and its session's autogroup too (Linux gives each session an equal
#        share of CPU whatever its processes' nice values, /proc/<pid>/autogroup). On a machine
#        shared with other work, `setsid env BENCH_NICE=-20 bench/gateway_defaults.sh` (as root)
#        keeps the others' load mostly out of the figures without pinning anything.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RG_BIN=$(realpath "$(bench_find_bin "${1:-}")")  # absolute: gateways start in their own directories
if [[ -n "${BENCH_QUICK:-}" && "${BENCH_QUICK}" != 0 ]]; then QUICK=1; else QUICK=0; fi
DURATION=${BENCH_DURATION:-$([[ $QUICK == 1 ]] && echo 1 || echo 5)}
ROUNDS=${BENCH_ROUNDS:-$([[ $QUICK == 1 ]] && echo 1 || echo 3)}
SAT=${BENCH_CONNECTIONS:-32}
TTFT_N=${BENCH_TTFT_N:-$([[ $QUICK == 1 ]] && echo 50 || echo 500)}
TARGETS=${BENCH_TARGETS:-"direct nginx gw gw-none"}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
ALL_CPUS="0-$(($(nproc) - 1))"
NICE=(nice -n "${BENCH_NICE:-0}")
if [[ -n "${BENCH_NICE:-}" && -w /proc/$$/autogroup ]]; then
  echo "$BENCH_NICE" > "/proc/$$/autogroup" 2>/dev/null || echo "# could not set the autogroup's nice" >&2
fi

for tool in wrk python3; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/bootstrap.sh installs it)" >&2; exit 2; }
done
[[ -x "$NGINX" ]] || { echo "missing nginx (scripts/bootstrap.sh installs nginx-light)" >&2; exit 2; }

WORKDIR=${BENCH_WORKDIR:-$BENCH_ROOT/build}
mkdir -p "$WORKDIR"
BENCH_TMP=$(mktemp -d "$WORKDIR/rg-defaults.XXXXXX")
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
RESULTS=$BENCH_TMP/results.tsv
: > "$RESULTS"
CLK_TCK=$(getconf CLK_TCK)

echo "# regiongate defaults vs nginx, unpinned, one interleaved run"
echo "# binary: $RG_BIN"
echo "# cpus: $(nproc)  load avg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# audit dir: $BENCH_TMP/<target>/audit on $(df -T "$BENCH_TMP" | awk 'NR==2 {print $1 " (" $2 ")"}')"
echo "# nice ${BENCH_NICE:-0} ($(cat /proc/$$/autogroup 2>/dev/null || echo 'no autogroup')); $ROUNDS rounds; wrk runs ${DURATION}s; saturation = $SAT connections; ttft: $TTFT_N sequential streams"

# The backend gets 2 workers like the proxies, so that it is not the first to saturate.
BENCH_BACKEND_WORKERS=${BENCH_BACKEND_WORKERS:-2} BENCH_BACKEND_PREFIX="${NICE[*]}" bench_start_backend "$ALL_CPUS" "$BENCH_TMP"
echo "# mock backend on 127.0.0.1:$BACKEND_PORT (pid $BACKEND_PID)"

declare -A PID PORT SPORT HDRS  # HDRS: BENCH_EXTRA_HEADERS of chat.lua and ttft_client.py
start_gateway() {  # start_gateway TARGET AUDIT_LINE: in its own working directory (./audit)
  local target=$1 audit=$2 dir=$BENCH_TMP/$1
  mkdir -p "$dir"
  sed -e "s|@BACKEND_PORT@|$BACKEND_PORT|" -e "s|@AUDIT@|$audit|" \
    "$BENCH_HERE/configs/gateway-defaults.yaml.in" > "$dir/gateway.yaml"
  (cd "$dir" && exec "${NICE[@]}" "${3:-$RG_BIN}" serve --config gateway.yaml --log-level warn \
     --port-file "$dir/port") >"$dir/gateway.log" 2>&1 &
  PID[$target]=$!
  BENCH_PIDS+=("${PID[$target]}")
  if ! bench_wait_file "$dir/port" 15; then cat "$dir/gateway.log" >&2; return 1; fi
  read -r PORT[$target] _ < "$dir/port"
  SPORT[$target]=${PORT[$target]}
}

start_nginx() {
  local d=$BENCH_TMP/nginx
  PORT[nginx]=$(bench_free_port)
  SPORT[nginx]=$(bench_free_port)
  bench_nginx_conf "$d" 2 "  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 256; }
  server {
    listen 127.0.0.1:${PORT[nginx]};
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\"; }
  }
  server {
    listen 127.0.0.1:${SPORT[nginx]};
    location / { proxy_pass http://backend; proxy_http_version 1.1; proxy_set_header Connection \"\";
                 proxy_buffering off; }
  }"
  "${NICE[@]}" "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" >"$d/logs/stdout.log" 2>&1 &
  PID[nginx]=$!
  BENCH_PIDS+=("${PID[nginx]}")
  if ! bench_wait_port "${PORT[nginx]}" 10 || ! bench_wait_port "${SPORT[nginx]}" 10; then
    cat "$d/logs/error.log" "$d/logs/stdout.log" >&2
    return 1
  fi
}

# start_portkey: node runs the package's own entry point (what `npx @portkey-ai/gateway` runs) with
# --port=N (its only port option; --headless: no web UI). It listens without a host, so
# bench/peers/loopback.mjs, preloaded, binds it to 127.0.0.1. Returns 1 (the target is skipped)
# when node or the install is missing or it does not start.
start_portkey() {
  local d=$BENCH_TMP/portkey dir=${BENCH_PORTKEY_DIR:-$BENCH_ROOT/build/peers/portkey}
  local js pkg preload version
  js=$dir/node_modules/@portkey-ai/gateway/build/start-server.js
  pkg=$dir/node_modules/@portkey-ai/gateway/package.json
  if ! command -v node >/dev/null; then
    echo "# skipping portkey: node not found (apt-get install nodejs npm)"; return 1
  fi
  if [[ ! -f $js ]]; then
    echo "# skipping portkey: not installed in $dir (bench/peers/install_portkey.sh installs it)"
    return 1
  fi
  version=$(node -p 'require(process.argv[1]).version' "$pkg")
  preload=$(node -p 'require("url").pathToFileURL(process.argv[1]).href' "$BENCH_HERE/peers/loopback.mjs")
  PORT[portkey]=$(bench_free_port)
  SPORT[portkey]=${PORT[portkey]}
  mkdir -p "$d"
  (cd "$d" && exec "${NICE[@]}" node --import "$preload" "$js" --port="${PORT[portkey]}" --headless) \
    >"$d/portkey.log" 2>&1 &
  PID[portkey]=$!
  BENCH_PIDS+=("${PID[portkey]}")
  if ! bench_wait_port "${PORT[portkey]}" 15; then
    echo "# skipping portkey: it did not start (log below)"; cat "$d/portkey.log" >&2
    bench_stop "${PID[portkey]}"
    return 1
  fi
  # The provider and the OpenAI-compatible base URL travel in request headers: x-portkey-provider
  # and x-portkey-custom-host (Portkey-AI/gateway v1.15.2 src/globals.ts HEADER_KEYS and
  # src/middlewares/requestValidator/index.ts, which trusts 127.0.0.1 as a custom host;
  # https://portkey.ai/docs/integrations/llms/byollm "Direct Integration"). The tenant's Bearer
  # key is forwarded to the backend, which ignores it.
  HDRS[portkey]="x-portkey-provider: openai; x-portkey-custom-host: http://127.0.0.1:$BACKEND_PORT/v1"
  echo "# portkey: @portkey-ai/gateway $version on node $(node --version), 127.0.0.1:${PORT[portkey]} (pid ${PID[portkey]})"
}

ACTIVE=()  # the targets that started, in BENCH_TARGETS order
for t in $TARGETS; do
  case $t in
    direct) PID[direct]=$BACKEND_PID; PORT[direct]=$BACKEND_PORT; SPORT[direct]=$BACKEND_PORT ;;
    nginx) start_nginx ;;
    gw) start_gateway gw "" ;;
    gw-none) start_gateway gw-none "audit: { sink: none }" ;;
    gw-nospill) start_gateway gw-nospill "audit: { spill_dir: \"off\" }" ;;
    gw-nowait) start_gateway gw-nowait "audit: { wait_durable: false }" ;;
    gw-base) start_gateway gw-base "" "${BENCH_BASELINE_BIN:?gw-base needs BENCH_BASELINE_BIN}" ;;
    portkey) start_portkey || continue ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  ACTIVE+=("$t")
done

# wrk_run TARGET ROUND CONNS: one wrk run; CPU of the target's process tree per request.
wrk_run() {
  local t=$1 round=$2 conns=$3 out line c0 c1 reqs cpu
  out=$BENCH_TMP/wrk-$t-$round-$conns.txt
  c0=$(bench_cpu_ticks "${PID[$t]}")
  BENCH_STREAM=0 BENCH_EXTRA_HEADERS="${HDRS[$t]:-}" timeout $((DURATION + 30)) "${NICE[@]}" wrk -t1 -c"$conns" -d"${DURATION}s" --timeout 10s \
    -s "$BENCH_HERE/lua/chat.lua" "http://127.0.0.1:${PORT[$t]}" >"$out" 2>&1 || true
  c1=$(bench_cpu_ticks "${PID[$t]}")
  line=$(grep '^RESULT' "$out" || echo "RESULT requests=0 rps=0 p50=0 p99=0 p999=0 max=0 connect_err=1 read_err=0 write_err=0 status_err=0 timeout_err=0")
  reqs=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$line")
  cpu=$(( reqs > 0 ? (c1 - c0) * 10000000 / CLK_TCK / reqs : 0 ))  # tenths of a microsecond
  line="${line#RESULT } cpu_us=$((cpu / 10)).$((cpu % 10))"
  printf 'wrk\t%s\t%s\t%s\t%s\n' "$t" "$round" "$conns" "$line" >> "$RESULTS"
  printf '  %-11s round %s c=%-3s %s\n' "$t" "$round" "$conns" "$line"
}

ttft_run() {  # ttft_run TARGET ROUND
  local t=$1 round=$2 out line
  out=$BENCH_TMP/ttft-$t-$round.txt
  BENCH_EXTRA_HEADERS="${HDRS[$t]:-}" timeout 300 "${NICE[@]}" python3 "$BENCH_HERE/ttft_client.py" --port "${SPORT[$t]}" -n "$TTFT_N" \
    >"$out" 2>&1 || true
  line=$(grep '^RESULT' "$out" || echo "RESULT n=$TTFT_N ok=0 ttfb_p50=0 ttfb_p99=0 ttfb_p999=0 total_p50=0 total_p99=0")
  printf 'ttft\t%s\t%s\t1\t%s\n' "$t" "$round" "${line#RESULT }" >> "$RESULTS"
  printf '  %-11s round %s ttfb  %s\n' "$t" "$round" "${line#RESULT }"
}

# Warm-up: connections, upstream pools, allocators, the audit files.
for t in "${ACTIVE[@]}"; do
  BENCH_STREAM=0 BENCH_EXTRA_HEADERS="${HDRS[$t]:-}" timeout 30 wrk -t1 -c"$SAT" -d1s -s "$BENCH_HERE/lua/chat.lua" \
    "http://127.0.0.1:${PORT[$t]}" >/dev/null 2>&1 || true
done
order=("${ACTIVE[@]}")
for ((round = 1; round <= ROUNDS; ++round)); do
  echo "== round $round (load avg $(cut -d' ' -f1-3 /proc/loadavg))"
  for t in "${order[@]}"; do
    wrk_run "$t" "$round" 1
    wrk_run "$t" "$round" "$SAT"
    ttft_run "$t" "$round"
  done
  order=("${order[@]:1}" "${order[0]}")  # rotate: no target always runs first or last
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo "# load avg at end: $LOAD_END"
if [[ -s $BENCH_TMP/gw/port ]]; then  # the audit's mean group size over the whole run
  python3 - "$(awk '{print $2}' "$BENCH_TMP/gw/port")" <<'PY' || true
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
v = {}
for ln in text.splitlines():
    for name in ("regiongate_audit_records_total", "regiongate_audit_commits_total"):
        if ln.startswith(name + "{"):
            v[name] = v.get(name, 0) + float(ln.rsplit(" ", 1)[1])
recs, commits = v.get("regiongate_audit_records_total", 0), v.get("regiongate_audit_commits_total", 0)
print(f"# gw audit: {recs:.0f} records in {commits:.0f} group commits"
      + (f" ({recs / commits:.1f} per commit)" if commits else ""))
PY
fi
if [[ -d $BENCH_TMP/gw/audit ]]; then
  echo "# gw audit files: $(cd "$BENCH_TMP/gw/audit" && ls -l --block-size=K | awk 'NR>1 {printf "%s %s  ", $9, $5}')"
fi
echo
[[ -n "${BENCH_OUT:-}" ]] && cp "$RESULTS" "$BENCH_OUT"
python3 "$BENCH_HERE/defaults_table.py" "$RESULTS" --saturation "$SAT" --load "$LOAD_END"
