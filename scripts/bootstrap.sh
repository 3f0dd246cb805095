#!/usr/bin/env bash
# Install what airflow-aml needs on a fresh machine: uv and the locked venv.
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
uv sync --locked --all-extras --quiet
