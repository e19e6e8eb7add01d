#!/usr/bin/env bash
# Builds the concurrency-heavy test suites with ThreadSanitizer and runs them. Part of
# scripts/test.sh (= .ci/run; skip with RG_SKIP_TSAN=1): it builds only `regiongate` and these
# five suites, not a third full tree. Measured on the shared 2-core VM (2026-11-25): 7 min 10 s
# wall in all, ~5.4 min of it the build (76 of 80 steps recompiled, ccache mostly cold; ~640 s
# of compiler CPU, so ~6 min cold on an idle 2-core machine, ~11 min when loaded) and ~45 s of
# tests; .ci/run's other stages take ~40 min cold, within its 90-minute budget.
#   http (multi-worker server), upstream (shared health atomics), metrics (sharded counters
#   from several threads), audit (writer threads, queues), gateway (whole data plane).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake --preset tsan >/dev/null
suites="test_http test_upstream test_metrics test_audit test_gateway"
# shellcheck disable=SC2086
cmake --build build/tsan -j "$(nproc)" --target regiongate $suites
# Each suite's output goes to build/tsan/logs/<suite>.log as well as to the terminal. A failure is
# summed up at the very end, with the failing suite's report, because a CI log is often read
# from its tail, and a later suite's log lines would bury it.
logs=build/tsan/logs
mkdir -p "$logs"
failed=()
for s in $suites; do
  echo "== TSan: $s"
  set +e
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
    "build/tsan/tests/$s" --gtest_brief=1 2>&1 | tee "$logs/$s.log"
  rc=${PIPESTATUS[0]}
  set -e
  [[ $rc == 0 ]] || failed+=("$s:$rc")
done
echo "== TSan summary: ${#failed[@]} of $(wc -w <<<"$suites") suites failed ${failed[*]}"
for f in "${failed[@]}"; do
  s=${f%%:*}
  echo "== TSan: $s failed (exit ${f##*:}); its failures and reports ($logs/$s.log):"
  grep -E -A 30 '^\[  FAILED  \]|WARNING: ThreadSanitizer|ERROR: ThreadSanitizer|Failure$|SUMMARY:' \
    "$logs/$s.log" | grep -v 'residency violation' | head -n 120 || true
  echo "== TSan: the last lines of $s:"
  tail -n 15 "$logs/$s.log"
done
[[ ${#failed[@]} == 0 ]]
