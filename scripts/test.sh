#!/usr/bin/env bash
# The whole test suite (unit, DagBag, end-to-end on real Airflow), plus ruff and mypy.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/bootstrap.sh
uv run --locked ruff check airflow_aml tests dags_examples benchmarks
uv run --locked mypy
exec uv run --locked pytest "$@"
