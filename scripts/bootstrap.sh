#!/usr/bin/env bash
# Installs every build, test and benchmark dependency of regiongate from Debian 12 packages.
# Idempotent: packages already present are left alone; safe to run again.
set -euo pipefail

PKGS=(
  build-essential cmake ninja-build pkg-config ccache git ca-certificates curl python3 procps
  libboost1.81-dev libboost-json1.81-dev libboost-system1.81-dev
  libsimdjson-dev libyaml-cpp-dev libfmt-dev libspdlog-dev libcli11-dev libxxhash-dev
  libssl-dev openssl libsqlite3-dev sqlite3 libpq-dev  # openssl: the TLS tests make certificates
  libgtest-dev libgmock-dev libbenchmark-dev
  libzmq3-dev cppzmq-dev libmsgpuck-dev
  libgoogle-perftools-dev  # tcmalloc_minimal for the regiongate binary (CMake REGIONGATE_TCMALLOC)
  postgresql nginx-light wrk prometheus
  clang libfuzzer-14-dev
  chromium  # the dashboard's headless browser test (tests/admin)
)
# The openai client test (tests/clients) needs node + npm; keep a newer node if one is present.
if ! command -v node >/dev/null 2>&1; then PKGS+=(nodejs npm); fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "bootstrap: all ${#PKGS[@]} packages already installed"
  exit 0
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# nginx-light's package starts a system nginx on :80; the benchmark runs its own instance.
if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true; fi
echo "bootstrap: done"
