#!/usr/bin/env bash
# Everything `make test` and `make demo` need on a fresh machine, idempotent and quick on a second run:
#   1. Debian packages for the real test backends (redis-server, postgresql, rabbitmq-server, prometheus,
#      alertmanager and the postgres/redis exporters) and shellcheck
#      (for ansible-test sanity) when missing;
#   2. a Python >= 3.12 virtualenv in .venv with the pinned requirements.txt;
#   3. the checkout visible to Ansible as the collection stratum.ops (.build/collections);
#   4. an offline stand-in for ansible-test's pip bootstrap script.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
venv="$top/.venv"
say() { printf 'setup: %s\n' "$*"; }

# --- 1. Debian packages -------------------------------------------------------------------------
need_pkgs=()
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_pkgs+=(postgresql postgresql-contrib)
command -v rabbitmq-server >/dev/null 2>&1 || [ -x /usr/sbin/rabbitmq-server ] || need_pkgs+=(rabbitmq-server)
command -v git >/dev/null 2>&1 || need_pkgs+=(git)
# ansible-test sanity skips its shellcheck test (our scripts/*.sh) when shellcheck is missing.
command -v shellcheck >/dev/null 2>&1 || need_pkgs+=(shellcheck)
# Real Prometheus, Alertmanager and the two exporters for triage and the alert -> runbook tests.
command -v prometheus >/dev/null 2>&1 || need_pkgs+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || need_pkgs+=(prometheus-alertmanager)
command -v prometheus-postgres-exporter >/dev/null 2>&1 || need_pkgs+=(prometheus-postgres-exporter)
command -v prometheus-redis-exporter >/dev/null 2>&1 || need_pkgs+=(prometheus-redis-exporter)
# A private dockerd and registry (the build-and-push tests start their own on free ports).
command -v dockerd >/dev/null 2>&1 || need_pkgs+=(docker.io)
command -v docker-registry >/dev/null 2>&1 || [ -x /usr/bin/docker-registry ] || need_pkgs+=(docker-registry)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing Debian packages: ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
    # Debian starts the services it installs; the tests start their own throwaway ones on free ports.
  else
    say "missing Debian packages: ${need_pkgs[*]}"
    say "install them (sudo apt-get install ${need_pkgs[*]}) or run as root; tests that need them will fail"
  fi
fi

# --- 2. Python >= 3.12 virtualenv -----------------------------------------------------------------
python_ok() { # prints the interpreter's real path when it is >= 3.12 and has venv
  # pyenv shims fail without PYENV_VERSION; calling the versioned binaries directly avoids the shims.
  "$1" -c 'import sys, venv; assert sys.version_info >= (3, 12); print(sys.executable)' 2>/dev/null
}
find_python() {
  local cand
  for cand in "${PYTHON:-}" \
    /usr/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.14 /usr/bin/python3 \
    /usr/local/bin/python3.12 /usr/local/bin/python3.13 \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3 \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3 \
    "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.14*/bin/python3; do
    if [ -z "$cand" ] || [ ! -x "$cand" ]; then continue; fi
    python_ok "$cand" && return 0
  done
  return 1
}

stamp="$venv/.requirements.sha256"
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x "$venv/bin/python" ] || ! python_ok "$venv/bin/python" >/dev/null; then
  rm -rf "$venv"
  if ! py=$(find_python); then
    echo "setup: no Python >= 3.12 with the venv module found." >&2
    echo "setup: install one (apt-get install python3.12-venv, or pyenv install 3.12) or set PYTHON=/path/to/python3.12" >&2
    exit 1
  fi
  say "creating .venv with $py"
  "$py" -m venv "$venv"
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing pinned Python packages (requirements.txt)"
  # Keep pip's byte-compiling: with PYTHONDONTWRITEBYTECODE set (as on CI machines) nothing is compiled later, and
  # every Ansible module run would recompile kubernetes/botocore from source (the test suite took 40 % longer).
  log=$(mktemp)
  if ! "$venv/bin/python" -m pip install -q --disable-pip-version-check -r requirements.txt >"$log" 2>&1; then
    grep -vE "^WARNING: Location 'file:" "$log" >&2 || true
    rm -f "$log"
    say "pip install failed"
    exit 1
  fi
  grep -vE "^WARNING: Location 'file:" "$log" || true
  rm -f "$log"
  "$venv/bin/python" -m pip check >/dev/null || { "$venv/bin/python" -m pip check; exit 1; }
  echo "$want" > "$stamp"
fi

# --- 3. the checkout as stratum.ops ---------------------------------------------------------------
# ansible.cfg points collections_path at .build/collections; a symlink makes this checkout the
# collection without `ansible-galaxy collection install`, so edits take effect at once.
mkdir -p .build/collections/ansible_collections/stratum
ln -sfn ../../../.. .build/collections/ansible_collections/stratum/ops

# --- 4. ansible-test offline ----------------------------------------------------------------------
# ansible-test downloads get-pip.py to seed its per-test virtualenvs; ensurepip + the package
# registry do the same job offline.
pip_ver=$("$venv/bin/python" - <<'PY'
import re, pathlib, ansible_test
src = pathlib.Path(ansible_test.__file__).parent / "_internal" / "python_requirements.py"
print(re.search(r"pip='([^']+)'", src.read_text()).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_ver//./_}.py"
if [ ! -f "$cache" ] || ! grep -q 'stratum.ops stand-in' "$cache"; then
  mkdir -p "$(dirname "$cache")"
  cp scripts/get_pip_standin.py "$cache"
fi
say "ready ($("$venv/bin/python" -c "import ansible.release as r; print('ansible [core ' + r.__version__ + ']')"))"
