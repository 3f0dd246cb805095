"""The Airflow assets of step outputs: named by the compiler, emitted by step operators."""

from __future__ import annotations

from typing import Any

__all__ = ["output_asset"]


def output_asset(dag_id: str, task_id: str, output: str) -> Any:
    """The Airflow asset of one output port of a step (the same for every run).

    Each run that produces the output (or reuses it) emits an asset event whose
    ``extra`` is the output's artifact reference, so DAGs scheduled on the
    asset see every new version, computed or reused.
    """
    from airflow.sdk import Asset  # lazy: imports Airflow; the client-side compiler imports this

    return Asset(
        name=f"aml.{dag_id}.{task_id}.{output}",
        uri=f"x-aml://{dag_id}/{task_id}/{output}",
        group="airflow-aml",
    )
