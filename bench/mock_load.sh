#!/usr/bin/env bash
# Load benchmark of one mock backend (docs/benchmarks.md, "mock backend"):
# non-streaming chat completions, --time-scale 0, wrk on loopback, bounded duration.
# Usage: bench/mock_load.sh [BIN] [SECONDS] [CONNECTIONS] [WRK_THREADS] [MOCK_WORKERS]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${1:-$here/../build/release/regiongate}"
secs="${2:-10}"
conns="${3:-64}"
threads="${4:-1}"
workers="${5:-1}"
command -v wrk >/dev/null || { echo "wrk not installed (Debian package wrk)" >&2; exit 2; }
[ -x "$bin" ] || { echo "no binary at $bin (build the regiongate target)" >&2; exit 2; }
tmp="$(mktemp -d)"
"$bin" mock-backend --region eu-central-1 --listen 127.0.0.1:0 --model llama@v1 \
  --time-scale 0 --workers "$workers" --port-file "$tmp/port" >"$tmp/out" 2>"$tmp/err" &
pid=$!
cleanup() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || { echo "mock backend did not start:" >&2; cat "$tmp/err" >&2; exit 1; }
port="$(cat "$tmp/port")"
echo "mock backend pid $pid on 127.0.0.1:$port, workers=$workers; wrk -t$threads -c$conns -d${secs}s"
wrk -t"$threads" -c"$conns" -d"${secs}s" --latency -s "$here/mock_load.lua" "http://127.0.0.1:$port"
echo "backend stats: $(curl -s "http://127.0.0.1:$port/admin/stats" 2>/dev/null || true)"
