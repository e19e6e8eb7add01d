#!/usr/bin/env bash
# Second CI command (not in .ci/run: a third full build does not fit CI's 90 minutes on 2 cores):
# builds the concurrency-heavy test suites with ThreadSanitizer and runs them.
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
