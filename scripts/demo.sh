#!/usr/bin/env bash
# One command for a new machine: install what the binary needs (Debian 12), build only the
# `regiongate` binary, run `regiongate demo`. Tests, benchmarks and their packages are left out
# (scripts/test.sh installs and builds those).
#   scripts/demo.sh [--skip-install] [demo options...]
#     --skip-install   do not run scripts/bootstrap.sh --minimal (the packages are already there,
#                      e.g. in CI or a test that runs this script from a fresh clone)
# Other arguments go to the demo, e.g. scripts/demo.sh --seconds 60 --keep-running
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--skip-install" ]; then
  shift
else
  bash scripts/bootstrap.sh --minimal
fi
bash scripts/build.sh release --binary
exec ./build/release/regiongate demo "$@"
