#!/usr/bin/env bash
# Installs Portkey's open-source AI gateway (npm @portkey-ai/gateway, pinned to 1.15.2 with the
# whole dependency tree of bench/peers/portkey/package-lock.json) into build/peers/portkey, for the
# `portkey` target of bench/gateway_defaults.sh. Only the npm registry is contacted; package
# scripts are not run (the package's only one, patch-package, has no patches in the published
# tarball).
#
# Usage: bench/peers/install_portkey.sh [DEST]   (default: <repo>/build/peers/portkey)
# The lock file was made with
#   npm install --ignore-scripts --before=2026-08-24T00:00:00Z
# (the dependency tree as of Portkey 1.15.2's release, 2026-08-23) from package.json.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dest=${1:-$root/build/peers/portkey}
for tool in node npm; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install nodejs npm)" >&2; exit 2; }
done
mkdir -p "$dest"
cp "$here/portkey/package.json" "$here/portkey/package-lock.json" "$dest/"
(cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund)
version=$(node -p 'require(process.argv[1]).version' \
  "$dest/node_modules/@portkey-ai/gateway/package.json")
echo "installed @portkey-ai/gateway $version in $dest (node $(node --version))"
