#!/usr/bin/env bash
# Every molecule scenario in extensions/molecule (or the ones named as arguments).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$top/.venv/bin:$PATH"
cd "$top/extensions"
scenarios=("$@")
if [ ${#scenarios[@]} -eq 0 ]; then
  for f in molecule/*/molecule.yml; do
    [ -e "$f" ] || continue
    scenarios+=("$(basename "$(dirname "$f")")")
  done
fi
if [ ${#scenarios[@]} -eq 0 ]; then
  echo "molecule: no scenarios found in extensions/molecule" >&2
  exit 1
fi
failed=()
for s in "${scenarios[@]}"; do
  echo "== molecule scenario $s"
  if ! molecule --base-config molecule/config.yml test -s "$s" > "/tmp/molecule-$s.log" 2>&1; then
    tail -60 "/tmp/molecule-$s.log"
    failed+=("$s")
  else
    grep -E "actions=" "/tmp/molecule-$s.log" | tail -1 || true
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "molecule: failed scenarios: ${failed[*]}" >&2
  exit 1
fi
echo "molecule: ${#scenarios[@]} scenarios passed"
