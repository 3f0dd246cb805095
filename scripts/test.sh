#!/usr/bin/env bash
# The whole test suite (unit, DagBag, end-to-end on real Airflow, the deployed tier),
# plus ruff, mypy and the import contracts (.importlinter: layers one way, no cycles). Installs uv, the venv with every extra and the dev group,
# PostgreSQL and Azurite first (scripts/bootstrap.sh, scripts/bootstrap_tests.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
ensure_uv
source scripts/bootstrap_tests.sh
uv run --locked ruff check airflow_aml tests dags_examples benchmarks
uv run --locked mypy
uv run --locked lint-imports
exec uv run --locked pytest "$@"
