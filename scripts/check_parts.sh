#!/usr/bin/env bash
# Checks the part graph (docs/architecture.md, "Parts and what they include"): for every part of
# src/ (except cli, the binary), the parts its files include must be exactly the DEPS its
# regiongate_part() line in CMakeLists.txt lists, and the graph must have no cycle.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
edges=""
for dir in src/*/; do
  part=$(basename "$dir")
  [ "$part" = cli ] && continue
  used=$(cat "$dir"*.h "$dir"*.cc 2>/dev/null | sed -n 's/^#include "\([a-z_]*\)\/.*/\1/p' |
         { grep -vx "$part" || true; } | sort -u | tr '\n' ' ' | sed 's/ $//')
  # The regiongate_part(<part> ...) call, continuation lines included, up to its closing ')'.
  declared=$(awk -v p="$part" '
      $0 ~ "^regiongate_part\\(" p "([ )]|$)" {on=1}
      on {line = line " " $0; if ($0 ~ /\)/) {print line; exit}}' CMakeLists.txt |
    sed -e 's/.*DEPS//' -e 's/LIBS.*//' -e 's/)//' | tr ' ' '\n' | { sed -n 's/^rg_//p' || true; } |
    sort -u | tr '\n' ' ' | sed 's/ $//')
  if [ "$used" != "$declared" ]; then
    echo "part $part: includes [$used] but CMakeLists.txt DEPS [$declared]"
    status=1
  fi
  for u in $used; do edges+="$u $part"$'\n'; done
  edges+="$part $part"$'\n'
done
if ! printf '%s' "$edges" | tsort >/dev/null 2>/tmp/check_parts.$$; then
  echo "the part graph has a cycle:"; cat /tmp/check_parts.$$; status=1
fi
rm -f /tmp/check_parts.$$
[ $status = 0 ] && echo "parts: includes match CMakeLists.txt DEPS; no cycle"
exit $status
