#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, fuzz preset) and runs each for N seconds (default 15) over
# its corpus in fuzz/corpus/<name>/. New crashing inputs are written to fuzz/corpus/<name>/ and
# the script fails, so they are kept as regression cases.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-15}"
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake --preset fuzz >/dev/null
targets=$(sed -n 's/^regiongate_fuzz(\([a-z_]*_fuzz\).*/\1/p' fuzz/CMakeLists.txt)
# shellcheck disable=SC2086
cmake --build build/fuzz -j "$(nproc)" --target $targets
status=0
for bin in build/fuzz/fuzz/*_fuzz; do
  name=$(basename "$bin" _fuzz)
  corpus="fuzz/corpus/$name"
  mkdir -p "$corpus"
  work=$(mktemp -d)
  cp -r "$corpus"/. "$work"/ 2>/dev/null || true
  echo "fuzz $name: ${secs}s"
  if ! "$bin" -max_total_time="$secs" -max_len=65536 -artifact_prefix="$corpus/crash-" "$work" \
        > "/tmp/fuzz-$name.log" 2>&1; then
    echo "fuzz $name FAILED (see /tmp/fuzz-$name.log; the input is kept in $corpus/)"
    tail -20 "/tmp/fuzz-$name.log"
    status=1
  fi
  rm -rf "$work"
done
exit $status
