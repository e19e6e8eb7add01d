#!/usr/bin/env bash
# Installs regiongate's dependencies from Debian 12 packages.
#   scripts/bootstrap.sh            everything: build, tests, benchmarks, fuzzing (scripts/test.sh)
#   scripts/bootstrap.sh --minimal  only what building and running the `regiongate` binary needs
#                                   (scripts/demo.sh): no test framework, browser, database server,
#                                   load tools, clang or node
# Idempotent: packages already present are left alone; safe to run again.
set -euo pipefail

# Building and running the binary.
BUILD_PKGS=(
  build-essential cmake ninja-build pkg-config ccache git ca-certificates
  libboost1.81-dev libboost-json1.81-dev libboost-system1.81-dev
  libsimdjson-dev libyaml-cpp-dev libfmt-dev libspdlog-dev libcli11-dev libxxhash-dev
  libssl-dev libsqlite3-dev libpq-dev
  libzmq3-dev cppzmq-dev libmsgpuck-dev
  libgoogle-perftools-dev  # tcmalloc_minimal for the regiongate binary (CMake REGIONGATE_TCMALLOC)
)
# Tests, benchmarks and fuzzing.
TEST_PKGS=(
  curl python3 procps sqlite3 openssl  # openssl: the TLS tests and benchmark make certificates
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql nginx-light wrk prometheus
  clang libfuzzer-14-dev
  chromium  # the dashboard's headless browser test (tests/admin)
  python3-botocore  # SigV4 reference implementation for the Bedrock signer's tests and stand-in
)

mode=full
case "${1:-}" in
  --minimal) mode=minimal ;;
  "") ;;
  *) echo "usage: scripts/bootstrap.sh [--minimal]" >&2; exit 2 ;;
esac

PKGS=("${BUILD_PKGS[@]}")
if [ "$mode" = full ]; then
  PKGS+=("${TEST_PKGS[@]}")
  # The openai client test (tests/clients) needs node + npm; keep a newer node if one is present.
  if ! command -v node >/dev/null 2>&1; then PKGS+=(nodejs npm); fi
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "bootstrap ($mode): all ${#PKGS[@]} packages already installed"
  exit 0
fi

echo "bootstrap ($mode): installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# nginx-light's package starts a system nginx on :80; the benchmark runs its own instance.
if [ "$mode" = full ] && command -v systemctl >/dev/null 2>&1; then
  $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
fi
echo "bootstrap: done"
