#!/usr/bin/env bash
# Runs the whole benchmark suite and prints one summary table (docs/benchmarks.md):
#   gateway_load.sh   gateway vs direct vs nginx (throughput, added latency, TTFT, CPU/request)
#   tls_load.sh       TLS on both sides: gateway vs nginx doing the same TLS (interleaved rounds)
#   gateway_defaults.sh the gateway with its defaults, unpinned, vs nginx and vs audit off
#                     (interleaved rounds; the verdict lines of the audit and gateway targets)
#   audit_moderate.sh the audit's CPU per request below saturation (group commit, flush interval)
#   memory.sh         gateway RSS idle / under load / with 10k idle connections
#   plan_validate.sh  planner vs gateway + mock backends (per-region hit rate, TTFT p50)
#   *_bench           every Google Benchmark binary built from bench/*_bench.cc in BUILD_DIR/bench
# Usage: bench/run_all.sh BUILD_DIR        (BUILD_DIR holds regiongate and bench/*_bench)
# Env:   BENCH_QUICK=1: 2 s wrk runs, 100 TTFT requests, 0.05 s per microbenchmark (CI smoke run);
#        everything bench/gateway_load.sh and bench/memory.sh accept.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BUILD_DIR=$(cd "${1:-$ROOT/build/bench}" && pwd) || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
export REGIONGATE_BIN=${REGIONGATE_BIN:-$BUILD_DIR/regiongate}
[[ -x "$REGIONGATE_BIN" ]] || { echo "no $REGIONGATE_BIN: build the regiongate target first" >&2; exit 2; }
if [[ -n "${BENCH_QUICK:-}" && "${BENCH_QUICK}" != 0 ]]; then MIN_TIME=0.05; else MIN_TIME=0.5; fi

LOGS=$(mktemp -d /tmp/rg-benchall.XXXXXX)
trap 'rm -rf "$LOGS"' EXIT
SUMMARY=$LOGS/summary.tsv
: > "$SUMMARY"
failed=()

run_part() {  # run_part NAME CMD...: stream the output, keep the SUMMARY lines
  local name=$1; shift
  echo "################ $name"
  "$@" 2>&1 | tee "$LOGS/$name.log"
  local rc=${PIPESTATUS[0]}
  grep $'^SUMMARY\t' "$LOGS/$name.log" | cut -f2- >> "$SUMMARY" || true
  if (( rc != 0 )); then failed+=("$name (exit $rc)"); fi
  echo
}

run_part gateway_load "$HERE/gateway_load.sh" "$BUILD_DIR"
run_part tls_load "$HERE/tls_load.sh" "$BUILD_DIR"
run_part gateway_defaults "$HERE/gateway_defaults.sh" "$BUILD_DIR"
run_part audit_moderate "$HERE/audit_moderate.sh" "$BUILD_DIR"
run_part memory "$HERE/memory.sh" "$BUILD_DIR"
run_part plan_validate "$HERE/plan_validate.sh" "$BUILD_DIR"

micro=()
while IFS= read -r b; do micro+=("$b"); done < <(find "$BUILD_DIR/bench" -maxdepth 1 -type f \
  -name '*_bench' -perm -u+x 2>/dev/null | sort)
if (( ${#micro[@]} == 0 )); then
  echo "no microbenchmarks in $BUILD_DIR/bench (build the *_bench targets to include them)"
  failed+=("microbenchmarks (none built)")
fi
for b in "${micro[@]}"; do
  name=$(basename "$b")
  echo "################ $name"
  if [[ $name == sim_bench ]]; then
    # A plain main, not Google Benchmark: sim_bench [requests] [instances] [policy].
    reqs=1000000
    [[ $MIN_TIME == 0.05 ]] && reqs=100000
    if timeout 600 "$b" "$reqs" 8 estimated_ttft | tee "$LOGS/$name.txt"; then
      printf 'micro:%s	%s requests	%s\n' "$name" "$reqs" \
        "$(grep -o 'CPU time: .*' "$LOGS/$name.txt" | head -1)" >> "$SUMMARY"
    else
      failed+=("$name")
    fi
    echo
    continue
  fi
  if timeout 600 "$b" --benchmark_min_time="$MIN_TIME" --benchmark_format=console \
       --benchmark_out="$LOGS/$name.json" --benchmark_out_format=json; then
    python3 - "$LOGS/$name.json" "$name" >> "$SUMMARY" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
for b in data.get("benchmarks", []):
    if b.get("run_type") == "aggregate":
        continue
    extra = ""
    if "items_per_second" in b:
        extra = f" items/s={b['items_per_second']:.3g}"
    print(f"micro:{sys.argv[2]}\t{b['name']}\tcpu={b['cpu_time']:.1f}{b.get('time_unit', 'ns')}{extra}")
PY
  else
    failed+=("$name")
  fi
  echo
done

echo "================ regiongate benchmark summary ($( [[ $MIN_TIME == 0.05 ]] && echo quick || echo full ) run, $(date -u +%FT%TZ), load avg $(cut -d' ' -f1-3 /proc/loadavg))"
printf '  %-22s %-40s %s\n' "part" "row" "figures (docs/benchmarks.md: how to read them)"
awk -F'\t' '{ printf "  %-22s %-40s %s\n", $1, $2, $3 }' "$SUMMARY"
if (( ${#failed[@]} > 0 )); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all parts ran"
