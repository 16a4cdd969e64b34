#!/usr/bin/env bash
# ansible-test needs the collection at .../ansible_collections/stratum/ops; copy what git would
# ship (tracked + untracked-not-ignored files) into a private temp tree so concurrent runs never clash.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
work=$(mktemp -d /tmp/stratum-sanity.XXXXXX)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/stratum/ops"
mkdir -p "$dest"
git ls-files -co --exclude-standard -z | tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$dest"
# The collections we depend on (bundled with the ansible package) must sit beside us for the import test.
site=$("$top/.venv/bin/python" -c 'import ansible_collections; print(list(ansible_collections.__path__)[0])')
for ns in amazon community kubernetes ansible; do
  [ -d "$site/$ns" ] && ln -s "$site/$ns" "$work/ansible_collections/$ns"
done
cd "$dest"
# ansible-test looks for python3.12 on PATH; the venv provides it (pyenv's shim would fail).
export PATH="$top/.venv/bin:$PATH"
py=$("$top/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
ansible-test sanity --venv --python "$py" --color no "$@"
# Modules also run on app hosts (Compose environments); tests/config.yml declares Python >= 3.11 for them
# (Debian 12's), so the oldest declared version gets the compile and import tests too.
if [ $# -eq 0 ] && python3.11 -c "import sys" >/dev/null 2>&1; then
  ansible-test sanity --venv --python 3.11 --test compile --color no
  ansible-test sanity --venv --python 3.11 --test import --color no
elif [ $# -eq 0 ]; then
  echo "sanity: no working python3.11 on PATH: compile and import on 3.11 not run" >&2
fi
