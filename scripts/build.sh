#!/usr/bin/env bash
# Configures and builds one CMake preset (default: release).
#   scripts/build.sh [preset]               every target: the binary, tests, benchmarks
#   scripts/build.sh [preset] --binary      only the `regiongate` binary; tests and benchmarks are
#                                           not configured, so their packages need not be installed
set -euo pipefail
cd "$(dirname "$0")/.."
preset=release
binary_only=0
for arg in "$@"; do
  case "$arg" in
    --binary) binary_only=1 ;;
    -*) echo "usage: scripts/build.sh [preset] [--binary]" >&2; exit 2 ;;
    *) preset="$arg" ;;
  esac
done
# ccache hits across checkouts in different folders (CI clones afresh each time).
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
if [ "$binary_only" = 1 ]; then
  cmake --preset "$preset" -DREGIONGATE_TESTS=OFF -DREGIONGATE_BENCH=OFF >/dev/null
  cmake --build --preset "$preset" -j "$(nproc)" --target regiongate
elif [ "$preset" = fuzz ]; then
  cmake --preset fuzz >/dev/null  # the fuzz preset builds neither tests nor benchmarks
  cmake --build --preset fuzz -j "$(nproc)"
else
  # Explicit, so a tree first configured by --binary gets its tests and benchmarks back.
  cmake --preset "$preset" -DREGIONGATE_TESTS=ON -DREGIONGATE_BENCH=ON >/dev/null
  cmake --build --preset "$preset" -j "$(nproc)"
fi
