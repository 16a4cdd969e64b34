#!/usr/bin/env bash
# pytest exits 5 when it collected nothing; for us that is a broken suite, never a pass.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" = 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$rc"
