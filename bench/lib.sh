# shellcheck shell=bash
# Shared helpers of the bench/*.sh scripts (sourced, not run). Every process a script starts is
# recorded in BENCH_PIDS and killed by PID in bench_cleanup (the scripts trap EXIT).
BENCH_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=$(dirname "$BENCH_HERE")
BENCH_PIDS=()

# The regiongate binary: $REGIONGATE_BIN, else BUILD_DIR/regiongate (first argument), else the
# bench or release build dirs.
bench_find_bin() {
  local dir=${1:-}
  if [[ -n "${REGIONGATE_BIN:-}" ]]; then echo "$REGIONGATE_BIN"; return; fi
  for c in ${dir:+"$dir/regiongate"} "$BENCH_ROOT/build/bench/regiongate" \
           "$BENCH_ROOT/build/release/regiongate"; do
    if [[ -x "$c" ]]; then echo "$c"; return; fi
  done
  echo "no regiongate binary: pass a build dir or set REGIONGATE_BIN" >&2
  return 2
}

bench_cleanup() {
  local p
  for p in "${BENCH_PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${BENCH_PIDS[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  BENCH_PIDS=()
  if [[ -n "${BENCH_TMP:-}" && -d "$BENCH_TMP" && -z "${BENCH_KEEP_TMP:-}" ]]; then
    rm -rf "$BENCH_TMP"
  fi
}

# bench_stop PID: stop one process this script started (SIGTERM, then SIGKILL after 5 s).
bench_stop() {
  local pid=$1 p keep=()
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${BENCH_PIDS[@]}"; do [[ "$p" == "$pid" ]] || keep+=("$p"); done
  BENCH_PIDS=("${keep[@]}")
}

# bench_wait_file FILE [SECONDS]: wait (bounded) until FILE exists and is non-empty.
bench_wait_file() {
  local f=$1 secs=${2:-10}
  for _ in $(seq 1 $((secs * 20))); do
    [[ -s "$f" ]] && return 0
    sleep 0.05
  done
  echo "timed out waiting for $f" >&2
  return 1
}

# bench_wait_port PORT [SECONDS]: wait (bounded) until 127.0.0.1:PORT accepts a connection.
bench_wait_port() {
  python3 - "$1" "${2:-10}" <<'PY'
import socket, sys, time
port, secs = int(sys.argv[1]), float(sys.argv[2])
deadline = time.monotonic() + secs
while time.monotonic() < deadline:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.05)
sys.exit(1)
PY
}

bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_gateway_config OUT BACKEND_PORT AUDIT_SINK AUDIT_DIR [FLUSH_MS] [WORKERS] [MAX_CONN]
#   (env BENCH_WAIT_DURABLE=true|false, default true; BENCH_CONFIG_TEMPLATE=file name under
#   bench/configs/, default gateway-bench.yaml.in)
bench_gateway_config() {
  sed -e "s|@BACKEND_PORT@|$2|" -e "s|@AUDIT_SINK@|$3|" -e "s|@AUDIT_DIR@|$4|" \
      -e "s|@AUDIT_FLUSH_MS@|${5:-2}|" -e "s|@WAIT_DURABLE@|${BENCH_WAIT_DURABLE:-true}|" -e "s|@WORKERS@|${6:-1}|" \
      -e "s|@MAX_CONNECTIONS@|${7:-10000}|" -e "s|@POLICY@|${BENCH_POLICY:-estimated_ttft}|" \
      "$BENCH_HERE/configs/${BENCH_CONFIG_TEMPLATE:-gateway-bench.yaml.in}" > "$1"
}

# bench_start_backend CPU OUTDIR -> sets BACKEND_PORT, BACKEND_PID
#   (env BENCH_BACKEND_WORKERS, default 1; BENCH_BACKEND_PREFIX, e.g. "nice -n -10")
bench_start_backend() {
  local cpu=$1 dir=$2
  # shellcheck disable=SC2086  # BENCH_BACKEND_PREFIX: words of a command prefix (nice -n N)
  ${BENCH_BACKEND_PREFIX:-} taskset -c "$cpu" "${BENCH_BACKEND_BIN:-$RG_BIN}" mock-backend --region eu-central-1 --listen 127.0.0.1:0 \
    --model llama-3.1-8b --time-scale 0 --workers "${BENCH_BACKEND_WORKERS:-1}" \
    --port-file "$dir/backend.port" >"$dir/backend.log" 2>&1 &
  BACKEND_PID=$!
  BENCH_PIDS+=("$BACKEND_PID")
  bench_wait_file "$dir/backend.port" 10
  BACKEND_PORT=$(awk '{print $1}' "$dir/backend.port")
}

# bench_start_gateway CPU CONFIG OUTDIR NAME -> sets GW_PORT, GW_ADMIN, GW_PID
bench_start_gateway() {
  local cpu=$1 cfg=$2 dir=$3 name=$4
  rm -f "$dir/$name.port"
  taskset -c "$cpu" "$RG_BIN" serve --config "$cfg" --log-level warn \
    --port-file "$dir/$name.port" >"$dir/$name.log" 2>&1 &
  GW_PID=$!
  BENCH_PIDS+=("$GW_PID")
  if ! bench_wait_file "$dir/$name.port" 15; then cat "$dir/$name.log" >&2; return 1; fi
  read -r GW_PORT GW_ADMIN < "$dir/$name.port"
}

# bench_start_defaults_gateway DIR AUDIT_LINE -> sets GW_PORT, GW_PID: the gateway as a user runs
# it (configs/gateway-defaults.yaml.in against BACKEND_PORT, AUDIT_LINE empty or one audit key),
# unpinned, with DIR as its working directory (its audit goes to DIR/audit).
bench_start_defaults_gateway() {
  local dir=$1
  mkdir -p "$dir"
  sed -e "s|@BACKEND_PORT@|$BACKEND_PORT|" -e "s|@AUDIT@|$2|" \
    "$BENCH_HERE/configs/gateway-defaults.yaml.in" > "$dir/gateway.yaml"
  (cd "$dir" && exec "$RG_BIN" serve --config gateway.yaml --log-level warn --port-file port) \
    > "$dir/gateway.log" 2>&1 &
  GW_PID=$!
  BENCH_PIDS+=("$GW_PID")
  if ! bench_wait_file "$dir/port" 15; then cat "$dir/gateway.log" >&2; return 1; fi
  read -r GW_PORT _ < "$dir/port"
}

# bench_nginx_conf DIR WORKERS BODY: DIR/nginx.conf for an nginx whose prefix is DIR (pid, logs
# and temporary files inside it), WORKERS worker processes, no access log; BODY goes inside
# http { }. Start it with: nginx -p DIR -c DIR/nginx.conf -e DIR/logs/error.log
bench_nginx_conf() {
  local d=$1
  mkdir -p "$d/logs" "$d/tmp"
  cat > "$d/nginx.conf" <<NGX
worker_processes $2;
daemon off;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
$3
}
NGX
}

# bench_rss_kb PID: resident set size in KiB (VmRSS).
bench_rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

# bench_cpu_split PID: "<user ticks> <system ticks>" of PID and all its descendants (see
# bench_cpu_ticks): where a proxy's CPU per request goes, its own code or the kernel's.
bench_cpu_split() {
  BENCH_CPU_SPLIT=1 bench_cpu_ticks "$1"
}

# bench_cpu_ticks PID: user+system CPU ticks (1/CLK_TCK s) of PID and all its descendants (nginx
# workers; any process a peer gateway forks), from /proc. A process's stat counts all its
# threads (node's libuv pool, regiongate's workers).
bench_cpu_ticks() {
  python3 - "$1" <<'PY'
import os, sys
root = sys.argv[1]
ppid, ticks = {}, {}
for p in os.listdir("/proc"):
    if not p.isdigit():
        continue
    try:
        with open(f"/proc/{p}/stat") as f:
            s = f.read()
    except OSError:
        continue
    fields = s[s.rfind(")") + 2:].split()
    ppid[p] = fields[1]
    ticks[p] = (int(fields[11]), int(fields[12]))  # utime, stime
children = {}
for p, parent in ppid.items():
    children.setdefault(parent, []).append(p)
user, system, todo = 0, 0, [root]
for _ in range(len(ppid) + 1):  # bounded walk of the tree under root
    if not todo:
        break
    p = todo.pop()
    u, s = ticks.get(p, (0, 0))
    user, system = user + u, system + s
    todo.extend(children.get(p, []))
print(f"{user} {system}" if os.environ.get("BENCH_CPU_SPLIT") else user + system)
PY
}
