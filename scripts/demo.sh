#!/usr/bin/env bash
# One command for a new machine: install dependencies (Debian 12), build, run `regiongate demo`.
# Extra arguments go to the demo, e.g. scripts/demo.sh --seconds 60 --keep-running
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
bash scripts/build.sh release
exec ./build/release/regiongate demo "$@"
