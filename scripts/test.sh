#!/usr/bin/env bash
# The whole test suite (unit, DagBag, end-to-end on real Airflow, the deployed tier),
# plus ruff and mypy. Installs uv, the venv with every extra and the dev group,
# PostgreSQL and Azurite first (scripts/bootstrap.sh, scripts/bootstrap_tests.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
ensure_uv
source scripts/bootstrap_tests.sh
uv run --locked ruff check airflow_aml tests dags_examples benchmarks
uv run --locked mypy
exec uv run --locked pytest "$@"
