#!/usr/bin/env bash
# Every molecule scenario in extensions/molecule (or the ones named as arguments), MOLECULE_JOBS at a time
# (default 2: one per core; each scenario starts its own backends on free ports, so they never clash).
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
logs=$(mktemp -d /tmp/stratum-molecule.XXXXXX)

run_one() {
  local s=$1 logs=$2 start=$SECONDS state
  # A run killed before its destroy (Ctrl-C, a CI timeout) leaves molecule believing the instances exist, and `test`
  # then skips create and converges against backends that are gone: destroy whatever that run left, first.
  for state in "$HOME"/.ansible/tmp/molecule.*."$s"/state.yml; do
    if [ -f "$state" ] && grep -q '^created: true' "$state"; then
      echo "molecule: $s: an earlier run left its instances created; destroying them first"
      molecule --base-config molecule/config.yml destroy -s "$s" > "$logs/$s.stale-destroy.log" 2>&1 || true
    fi
  done
  if molecule --base-config molecule/config.yml test -s "$s" > "$logs/$s.log" 2>&1; then
    echo "molecule: $s passed in $((SECONDS - start))s"
  else
    echo "molecule: $s FAILED in $((SECONDS - start))s; last lines of $logs/$s.log:"
    tail -60 "$logs/$s.log"
    touch "$logs/$s.failed"
  fi
}
export -f run_one
printf '%s\n' "${scenarios[@]}" | xargs -P "${MOLECULE_JOBS:-2}" -I{} bash -c 'run_one "$@"' _ {} "$logs"

failed=$(find "$logs" -maxdepth 1 -name '*.failed' -printf '%f\n' | sed 's/\.failed$//' | sort | tr '\n' ' ')
if [ -n "$failed" ]; then
  echo "molecule: failed scenarios: $failed (logs in $logs)" >&2
  exit 1
fi
echo "molecule: ${#scenarios[@]} scenarios passed"
