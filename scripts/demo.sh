#!/usr/bin/env bash
# Main job: run the compare-models AML v1 pipeline on the embedded Airflow (no server needed).
# Installs only what the demo needs: uv and the project's core dependencies from uv.lock
# (no dev group, no extras; packages already in the venv, e.g. for the tests, are kept).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
ensure_uv
sync_venv --no-dev --inexact
exec uv run --locked --no-dev --quiet python dags_examples/compare_models/run.py "$@"
