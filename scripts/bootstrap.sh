#!/usr/bin/env bash
# Install what airflow-aml needs on a fresh machine: uv, the locked venv,
# PostgreSQL server binaries and the tests' Azurite (npm, tools/azurite).
# Idempotent; sourced by demo.sh and test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v uv >/dev/null 2>&1; then
  if [ -x "$HOME/.local/bin/uv" ]; then
    export PATH="$HOME/.local/bin:$PATH"
  else
    python3 -m pip install --quiet --user uv || python3 -m pip install --quiet uv
    export PATH="$HOME/.local/bin:$PATH"
  fi
fi
# The committed uv.lock is the constraint set; refuse to drift from it.
uv sync --locked --all-extras --compile-bytecode --quiet

# PostgreSQL server binaries (initdb, pg_ctl) for the deployed test tier, which
# starts its own throw-away cluster on a private port (tests/deployed/conftest.py).
# Installed without the package's default "main" cluster, so nothing is started.
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root=(sudo -n); fi
fi
apt_env=(env DEBIAN_FRONTEND=noninteractive UCF_FORCE_CONFFOLD=1)
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && [ -z "${AIRFLOW_AML_PG_BINDIR:-}" ]; then
  if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ ${#as_root[@]} -gt 0 ]; }; then
    echo "bootstrap: installing PostgreSQL (apt package postgresql) for the deployed tests" >&2
    cc=/etc/postgresql-common/createcluster.conf
    if ! grep -qs '^[[:space:]]*create_main_cluster' "$cc"; then
      "${as_root[@]}" mkdir -p "$(dirname "$cc")"
      echo "create_main_cluster = false" | "${as_root[@]}" tee -a "$cc" >/dev/null
    fi
    if ! apt-cache show postgresql >/dev/null 2>&1; then
      "${as_root[@]}" "${apt_env[@]}" apt-get update -qq >/dev/null
    fi
    "${as_root[@]}" "${apt_env[@]}" apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confold postgresql >/dev/null
  else
    echo "bootstrap: PostgreSQL server binaries not found and cannot be installed here;" \
      "install the 'postgresql' package (or set AIRFLOW_AML_PG_BINDIR), else tests/deployed is skipped" >&2
  fi
fi

# Azurite (Azure Blob emulator) for the tests, which start their own on
# 127.0.0.1 and a free port (tests/azurite.py). Pinned in tools/azurite's
# package-lock.json; npm ci installs exactly that into tools/azurite/node_modules.
if [ ! -x tools/azurite/node_modules/.bin/azurite-blob ]; then
  if ! command -v npm >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && { [ "$(id -u)" -eq 0 ] || [ ${#as_root[@]} -gt 0 ]; }; then
      echo "bootstrap: installing Node.js and npm (apt packages nodejs, npm) for Azurite" >&2
      if ! apt-cache show npm >/dev/null 2>&1; then
        "${as_root[@]}" "${apt_env[@]}" apt-get update -qq >/dev/null
      fi
      "${as_root[@]}" "${apt_env[@]}" apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confold nodejs npm >/dev/null
    fi
  fi
  if command -v npm >/dev/null 2>&1; then
    echo "bootstrap: installing Azurite (npm ci in tools/azurite) for the tests" >&2
    npm ci --no-audit --no-fund --loglevel=error --prefix tools/azurite >/dev/null
  else
    echo "bootstrap: npm not found and cannot be installed here; install Node.js and npm" \
      "and rerun this script, else the tests that need Azurite fail" >&2
  fi
fi
