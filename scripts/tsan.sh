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
status=0
for s in $suites; do
  echo "== TSan: $s"
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan.supp" \
    "build/tsan/tests/$s" --gtest_brief=1 || status=1
done
exit $status
