#!/usr/bin/env bash
# Main job: run the compare-models AML v1 pipeline on the embedded Airflow (no server needed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
exec uv run --locked python dags_examples/compare_models/run.py "$@"
