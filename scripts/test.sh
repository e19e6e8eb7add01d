#!/usr/bin/env bash
# One command for a new machine: install dependencies (Debian 12), build, run the whole test suite.
#   1. release build (warnings are errors) + every test (unit, integration, CLI, PostgreSQL)
#   2. the benchmarks once, briefly (they must build and run; numbers are not judged here)
#   3. the whole suite again under ASan+UBSan (debug preset)      [skip: RG_SKIP_SANITIZERS=1]
#   4. every libFuzzer target for a short run over its corpus       [skip: RG_SKIP_FUZZ=1]
#   5. the concurrency suites under ThreadSanitizer (scripts/tsan.sh: builds only regiongate and
#      those suites, ~6-11 min cold on 2 cores, ~1 min of tests)    [skip: RG_SKIP_TSAN=1]
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
current=""
stage() { current=$*; echo; echo "=== $* (t=$(( $(date +%s) - t0 ))s)"; }
# The last line of a failed run names its stage: CI logs are often read from the tail.
trap 'rc=$?; [[ $rc == 0 ]] || echo "=== FAILED in stage \"$current\" (exit $rc, t=$(( $(date +%s) - t0 ))s)"' EXIT

stage "bootstrap"
bash scripts/bootstrap.sh

stage "part graph (includes match CMake, no cycle)"
bash scripts/check_parts.sh

stage "release build"
bash scripts/build.sh release

stage "benchmarks (quick smoke run)"
if [ -x bench/run_all.sh ]; then BENCH_QUICK=1 bash bench/run_all.sh build/release || { echo "benchmark smoke run failed"; exit 1; }; fi

if [ "${RG_SKIP_FUZZ:-0}" != "1" ]; then
  stage "fuzz targets (short runs)"
  bash scripts/fuzz.sh "${RG_FUZZ_SECONDS:-15}"
fi

if [ "${RG_SKIP_SANITIZERS:-0}" != "1" ]; then
  stage "ASan+UBSan build and tests"
  bash scripts/build.sh debug
  ASAN_OPTIONS=detect_leaks=0 ctest --preset debug -j 2 --timeout 900
fi

if [ "${RG_SKIP_TSAN:-0}" != "1" ]; then
  stage "TSan build and concurrency tests"
  bash scripts/tsan.sh
fi

stage "release tests"
ctest --preset release -j 2 --no-tests=error
stage "done"
