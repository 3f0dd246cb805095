"""The backend of the api-server: starts the runs the AML-compatible REST routes submit.

It has no workspace: it serves the registry the api-server is configured
with. A run goes through the same :meth:`RegistryBackend.start` as a Python
submit; only how Airflow is asked to run it differs: on an embedded home it
is queued for the warm runner pool, on a deployment it becomes a DagRun for
the scheduler (``airflow.api.common.trigger_dag``, with the run's note).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from airflow.api.common.trigger_dag import trigger_dag
from airflow.utils.types import DagRunTriggeredByType

from airflow_aml.backends.base import RegistryBackend
from airflow_aml.backends.notes import run_note
from airflow_aml.backends.runner_pool import RunnerPool
from airflow_aml.exceptions import ApiError
from airflow_aml.spec import PipelineSpec

__all__ = ["ApiServerBackend"]


class ApiServerBackend(RegistryBackend):
    """Start runs from inside the Airflow api-server, for the user ``user``."""

    mode = "api-server"

    def __init__(self, registry: str | Path, *, embedded: bool, user: str):
        super().__init__(registry)
        self.embedded = embedded
        self.user = user

    def _start(self, spec: PipelineSpec, run_id: str, conf: dict[str, Any], run_key: str) -> None:
        if self.embedded:
            root = self.registry_store.root
            RunnerPool(root, dict(os.environ)).enqueue(run_id, root / run_key)
            return
        try:
            trigger_dag(
                spec.dag_id,
                triggered_by=DagRunTriggeredByType.REST_API,
                run_id=run_id,
                conf=conf,
                logical_date=None,
                triggering_user_name=self.user,
                note=run_note(conf),
            )
        except Exception as exc:  # DAG not parsed yet, paused, ...: say so, not 500
            raise ApiError(409, f"could not trigger DAG {spec.dag_id!r}: {exc}") from None
