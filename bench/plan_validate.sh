#!/usr/bin/env bash
# The planner checked against the real gateway (issue 7; docs/planner.md, "Checked against the
# real gateway"): `regiongate plan-validate` replays a slice of the Mooncake conversation trace
# through the in-process gateway and one mock backend per instance of bench/configs/
# plan_validate.yaml, runs the planner on the same requests, and prints per region the planner's
# and the measured hit rate and TTFT p50 with PASS/FAIL (5 points / 15 %).
#
# Usage: bench/plan_validate.sh [BUILD_DIR]
# Env:   BENCH_QUICK=1: 300 requests (~20 s); default 1200 requests (~65 s).
#        PLAN_VALIDATE_REQUESTS=N  PLAN_VALIDATE_COMPRESS=X (wall s per simulated s, default 0.1)
set -uo pipefail
source "$(dirname "$0")/lib.sh"

RG_BIN=$(bench_find_bin "${1:-}") || exit 2
if [[ -n "${BENCH_QUICK:-}" && "${BENCH_QUICK}" != 0 ]]; then DEF_N=300; else DEF_N=1200; fi
N=${PLAN_VALIDATE_REQUESTS:-$DEF_N}
COMPRESS=${PLAN_VALIDATE_COMPRESS:-0.1}
OUT=$(mktemp /tmp/rg-planval.XXXXXX)
trap 'rm -f "$OUT"' EXIT

echo "+ $RG_BIN plan-validate --deployment bench/configs/plan_validate.yaml --trace data/mooncake_conversation_trace.jsonl --limit $N --compress $COMPRESS --quiet"
"$RG_BIN" plan-validate --deployment "$BENCH_ROOT/bench/configs/plan_validate.yaml" \
  --trace "$BENCH_ROOT/data/mooncake_conversation_trace.jsonl" --limit "$N" \
  --compress "$COMPRESS" --quiet | tee "$OUT"
rc=${PIPESTATUS[0]}
verdict=$(grep -o '^plan-validate: \(PASS\|FAIL\)' "$OUT" | cut -d' ' -f2)
rows=$(awk '/^check /{ split($5, a, "="); split($6, b, "="); split($7, c, "="); split($8, d, "=");
  printf "%s hit %.1f/%.1f%% ttft_p50 %.0f/%.0fms; ", $2, 100*a[2], 100*b[2], c[2], d[2] }' "$OUT")
echo -e "SUMMARY\tplan_validate\t${N} requests: ${verdict:-error} (plan/real) ${rows}"
exit "$rc"
