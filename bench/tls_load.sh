#!/usr/bin/env bash
# TLS on both sides: regiongate against nginx doing the same TLS, in one interleaved run.
#
#   upstream  nginx terminating TLS in front of the mock backend (the "TLS upstream"), on the
#             load CPU with the backend and wrk
#   direct    wrk --TLS--> upstream --> backend                 (baseline for added latency)
#   nginx     wrk --TLS--> nginx --TLS--> upstream --> backend   (nginx: TLS listener, proxy_pass
#             https with proxy_ssl_verify against the same CA, upstream keepalive, session reuse)
#   gateway   wrk --TLS--> regiongate --TLS--> upstream --> backend  (tls:, an https:// endpoint
#             with ca_file and server_name; residency evidence + metrics on, audit off)
# Same certificates (made here with the openssl tool), same backend, same connections; both
# proxies run side by side on the proxy CPU (one worker each) and the rounds alternate
# direct / nginx / gateway, so a machine that slows down during the run shifts all three alike.
# Non-streaming chat at 1 connection and at saturation; per-round lines, then the medians and:
#   throughput  gateway req/s / nginx req/s at saturation          target >= 0.90
#   added p99   (gateway p99 - direct p99) / (nginx p99 - direct p99), at 1 and at saturation
#                                                                   target <= 1.50
#
# Usage: bench/tls_load.sh [BUILD_DIR]        (docs/benchmarks.md, "TLS on both sides")
# Env:   BENCH_QUICK=1 (2 s runs, 2 rounds)  BENCH_DURATION=S  BENCH_ROUNDS=N  BENCH_CONNECTIONS=N
#        BENCH_CPU_LOAD=0  BENCH_CPU_PROXY=1  BENCH_KEEP_TMP=1
set -euo pipefail
source "$(dirname "$0")/lib.sh"

RG_BIN=$(bench_find_bin "${1:-}")
if [[ -n "${BENCH_QUICK:-}" && "${BENCH_QUICK}" != 0 ]]; then QUICK=1; else QUICK=0; fi
DURATION=${BENCH_DURATION:-$([[ $QUICK == 1 ]] && echo 2 || echo 5)}
ROUNDS=${BENCH_ROUNDS:-$([[ $QUICK == 1 ]] && echo 2 || echo 3)}
SAT=${BENCH_CONNECTIONS:-64}
CPU_LOAD=${BENCH_CPU_LOAD:-0}
CPU_PROXY=${BENCH_CPU_PROXY:-1}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

for tool in wrk taskset python3 openssl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (scripts/bootstrap.sh installs it)" >&2; exit 2; }
done
[[ -x "$NGINX" ]] || { echo "missing nginx (scripts/bootstrap.sh installs nginx-light)" >&2; exit 2; }

BENCH_TMP=$(mktemp -d /tmp/rg-tlsload.XXXXXX)
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
RESULTS=$BENCH_TMP/results.tsv
: > "$RESULTS"

echo "# regiongate TLS benchmark (TLS client->proxy and proxy->upstream)"
echo "# binary: $RG_BIN"
echo "# cpus: $(nproc)  load avg at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# pinning: backend + TLS upstream (nginx) + wrk on cpu $CPU_LOAD; gateway and nginx proxy (1 worker each) on cpu $CPU_PROXY"
echo "# $ROUNDS interleaved rounds of ${DURATION}s wrk runs; saturation = $SAT connections"

# ---- certificates: a CA, and one server certificate (upstream.test, localhost, 127.0.0.1)
# used by every TLS server here (the upstream, nginx's listener, the gateway's listener).
PKI=$BENCH_TMP/pki
mkdir -p "$PKI"
(
  cd "$PKI"
  KEY=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${KEY[@]}" -keyout ca.key -out ca.pem -days 2 -subj "/CN=regiongate bench CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
  openssl req "${KEY[@]}" -keyout server.key -out server.csr -subj /CN=upstream.test
  printf 'subjectAltName=DNS:upstream.test,DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > server.ext
  openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
    -extfile server.ext -out server.pem
) > "$BENCH_TMP/openssl.log" 2>&1 || { cat "$BENCH_TMP/openssl.log" >&2; exit 1; }

bench_start_backend "$CPU_LOAD" "$BENCH_TMP"
echo "# mock backend on 127.0.0.1:$BACKEND_PORT (pid $BACKEND_PID)"

# start_nginx NAME CPU BODY: nginx with its own prefix; BODY goes inside http { }.
start_nginx() {
  local name=$1 cpu=$2 body=$3 d=$BENCH_TMP/$1
  bench_nginx_conf "$d" 1 "  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_certificate $PKI/server.pem;
  ssl_certificate_key $PKI/server.key;
  ssl_session_cache shared:$name:10m;
  keepalive_requests 100000;
$body"
  taskset -c "$cpu" "$NGINX" -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" \
    >"$d/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  BENCH_PIDS+=("$NGINX_PID")
}

UPSTREAM_PORT=$(bench_free_port)
start_nginx upstream "$CPU_LOAD" "  upstream plain_backend { server 127.0.0.1:$BACKEND_PORT; keepalive 256; }
  server {
    listen 127.0.0.1:$UPSTREAM_PORT ssl;
    location / {
      proxy_pass http://plain_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
    }
  }"
UPSTREAM_PID=$NGINX_PID
bench_wait_port "$UPSTREAM_PORT" 10 || { cat "$BENCH_TMP/upstream/logs/error.log" >&2; exit 1; }

NGINX_PORT=$(bench_free_port)
start_nginx proxy "$CPU_PROXY" "  upstream tls_upstream { server 127.0.0.1:$UPSTREAM_PORT; keepalive 256; }
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    location / {
      proxy_pass https://tls_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection \"\";
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate $PKI/ca.pem;
      proxy_ssl_name upstream.test;
      proxy_ssl_server_name on;
      proxy_ssl_protocols TLSv1.2 TLSv1.3;
      proxy_ssl_session_reuse on;
    }
  }"
PROXY_PID=$NGINX_PID
bench_wait_port "$NGINX_PORT" 10 || { cat "$BENCH_TMP/proxy/logs/error.log" >&2; exit 1; }

mkdir -p "$BENCH_TMP/gw-audit"
sed -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|" -e "s|@CA@|$PKI/ca.pem|" -e "s|@CERT@|$PKI/server.pem|" \
    -e "s|@KEY@|$PKI/server.key|" -e "s|@WORKERS@|1|" -e "s|@AUDIT_DIR@|$BENCH_TMP/gw-audit|" \
    "$BENCH_HERE/configs/gateway-tls.yaml.in" > "$BENCH_TMP/gateway.yaml"
bench_start_gateway "$CPU_PROXY" "$BENCH_TMP/gateway.yaml" "$BENCH_TMP" gateway
echo "# TLS upstream nginx :$UPSTREAM_PORT, nginx proxy :$NGINX_PORT, regiongate :$GW_PORT (admin :$GW_ADMIN)"

declare -A PORT=([direct]=$UPSTREAM_PORT [nginx]=$NGINX_PORT [gateway]=$GW_PORT)
declare -A PID=([direct]=$UPSTREAM_PID [nginx]=$PROXY_PID [gateway]=$GW_PID)

wrk_run() {  # wrk_run TARGET ROUND CONNS
  local target=$1 round=$2 conns=$3 out line
  out=$BENCH_TMP/wrk-$target-$round-$conns.txt
  BENCH_STREAM=0 timeout $((DURATION + 30)) taskset -c "$CPU_LOAD" \
    wrk -t1 -c"$conns" -d"${DURATION}s" --timeout 10s --latency -s "$BENCH_HERE/lua/chat.lua" \
    "https://127.0.0.1:${PORT[$target]}" >"$out" 2>&1 || true
  line=$(grep '^RESULT' "$out" || true)
  if [[ -z "$line" ]]; then
    echo "wrk failed for $target:" >&2; cat "$out" >&2
    line="RESULT requests=0 rps=0 p50=0 p99=0 p999=0 max=0 connect_err=1 read_err=0 write_err=0 status_err=0 timeout_err=0"
  fi
  printf '%s\t%s\t%s\t%s\n' "$target" "$round" "$conns" "${line#RESULT }" >> "$RESULTS"
  printf '  round %s %-8s c=%-3s %s\n' "$round" "$target" "$conns" "${line#RESULT }"
}

for target in direct nginx gateway; do  # warm-up: connections, pools, TLS sessions
  BENCH_STREAM=0 timeout 30 taskset -c "$CPU_LOAD" wrk -t1 -c"$SAT" -d1s \
    -s "$BENCH_HERE/lua/chat.lua" "https://127.0.0.1:${PORT[$target]}" >/dev/null 2>&1 || true
done
for ((round = 1; round <= ROUNDS; ++round)); do
  for conns in 1 "$SAT"; do
    for target in direct nginx gateway; do wrk_run "$target" "$round" "$conns"; done
  done
done
echo "  (gateway: upstream_attempts by outcome: $(python3 - "$GW_ADMIN" <<'PY'
import sys, urllib.request
text = urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode()
out = {}
for ln in text.splitlines():
    if ln.startswith("regiongate_upstream_attempts_total{"):
        o = ln.split('outcome="')[1].split('"')[0]
        out[o] = out.get(o, 0) + int(float(ln.rsplit(" ", 1)[1]))
print(" ".join(f"{k}={v}" for k, v in sorted(out.items())) or "none")
PY
))"
echo "# load avg at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

python3 - "$RESULTS" "$SAT" <<'PY'
import statistics, sys
path, sat = sys.argv[1], sys.argv[2]
rows = {}
errors = 0
for ln in open(path):
    target, rnd, conns, rest = ln.rstrip("\n").split("\t")
    kv = dict(p.split("=") for p in rest.split())
    rows.setdefault((target, conns), []).append(kv)
    errors += sum(int(kv[k]) for k in ("connect_err", "read_err", "write_err", "status_err", "timeout_err"))
def med(target, conns, key):
    return statistics.median(float(r[key]) for r in rows[(target, conns)])
print("TLS on both sides, non-streaming chat (medians over the rounds; microseconds)")
print(f"  {'target':8} {'conns':>5} {'req/s':>9} {'p50':>7} {'p99':>7} {'+p99':>7}")
for conns in ("1", sat):
    for t in ("direct", "nginx", "gateway"):
        added = "-" if t == "direct" else f"{med(t, conns, 'p99') - med('direct', conns, 'p99'):+.0f}"
        print(f"  {t:8} {conns:>5} {med(t, conns, 'rps'):9.0f} {med(t, conns, 'p50'):7.0f} "
              f"{med(t, conns, 'p99'):7.0f} {added:>7}")
thr = med("gateway", sat, "rps") / max(1.0, med("nginx", sat, "rps"))
def added_ratio(conns):
    g = med("gateway", conns, "p99") - med("direct", conns, "p99")
    n = med("nginx", conns, "p99") - med("direct", conns, "p99")
    return None if n <= 0 else g / n
print(f"throughput gateway/nginx at {sat} connections: {thr:.2f}x  (target >= 0.90): "
      f"{'MEETS' if thr >= 0.90 else 'MISSES'}")
ok = thr >= 0.90
for conns in ("1", sat):
    r = added_ratio(conns)
    if r is None:
        print(f"added p99 gateway/nginx at {conns} connection(s): n/a (nginx adds nothing measurable)")
        continue
    ok = ok and r <= 1.50
    print(f"added p99 gateway/nginx at {conns} connection(s): {r:.2f}x  (target <= 1.50): "
          f"{'MEETS' if r <= 1.50 else 'MISSES'}")
print(f"verdict: {'MEETS' if ok else 'MISSES'} the TLS targets; request errors: {errors}")
a1 = added_ratio("1")
print(f"SUMMARY\ttls_load\tgateway vs nginx, TLS both sides\tthroughput={thr:.2f}x "
      f"added_p99@1={'n/a' if a1 is None else f'{a1:.2f}x'} "
      f"added_p99@{sat}={'n/a' if added_ratio(sat) is None else f'{added_ratio(sat):.2f}x'} "
      f"errors={errors} {'MEETS' if ok else 'MISSES'}")
sys.exit(1 if errors else 0)
PY
