#!/usr/bin/env bash
# What only the tests need, on top of scripts/bootstrap.sh (source that first):
# every extra and the dev group in the venv, PostgreSQL server binaries (apt)
# for the deployed tier, Node.js/npm (apt) and the tests' Azurite (npm ci in
# tools/azurite). Each only if missing. Sourced by test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The committed uv.lock is the constraint set; refuse to drift from it.
sync_venv --all-extras

# PostgreSQL server binaries (initdb, pg_ctl) for the deployed test tier, which
# starts its own throw-away cluster on a private port (tests/deployed/conftest.py).
# Installed without the package's default "main" cluster, so nothing is started.
if ! compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && [ -z "${AIRFLOW_AML_PG_BINDIR:-}" ]; then
  if command -v apt-get >/dev/null 2>&1 && can_be_root; then
    echo "bootstrap: installing PostgreSQL (apt package postgresql) for the deployed tests" >&2
    cc=/etc/postgresql-common/createcluster.conf
    if ! grep -qs '^[[:space:]]*create_main_cluster' "$cc"; then
      "${as_root[@]}" mkdir -p "$(dirname "$cc")"
      echo "create_main_cluster = false" | "${as_root[@]}" tee -a "$cc" >/dev/null
    fi
    apt_install postgresql
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
    if command -v apt-get >/dev/null 2>&1 && can_be_root; then
      echo "bootstrap: installing Node.js and npm (apt packages nodejs, npm) for Azurite" >&2
      apt_install nodejs npm
    fi
  fi
  if command -v npm >/dev/null 2>&1; then
    echo "bootstrap: installing Azurite (npm ci in tools/azurite) for the tests" >&2
    npm_log=$(mktemp)
    if ! npm ci --no-audit --no-fund --loglevel=error --prefix tools/azurite >"$npm_log" 2>&1; then
      cat "$npm_log" >&2
      echo "bootstrap: npm ci in tools/azurite failed (output above)" >&2
    fi
    rm -f "$npm_log"
  else
    echo "bootstrap: npm not found and cannot be installed here; install Node.js and npm" \
      "and rerun this script, else the tests that need Azurite fail" >&2
  fi
fi
