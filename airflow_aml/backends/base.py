"""What every backend shares: the registry, submit = publish + enable + trigger, run records.

A backend is how a submit reaches Airflow. Subclasses implement
``publish`` (register a frozen spec as its DAG), ``set_enabled``,
``_start`` (make Airflow run a recorded run) and the reads used by
``PipelineRun``/``StepRun``: ``dag_run``, ``task_instances``, ``xcom``,
``task_log``, ``runner_state``, ``runner_log``, ``cancel``.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from airflow_aml.artifacts.registry import Registry
from airflow_aml.artifacts.snapshot import Snapshot
from airflow_aml.spec import RESERVED_CONF_KEY, PipelineSpec

__all__ = ["RegistryBackend"]


class RegistryBackend:
    """Base of the embedded and deployed backends."""

    mode = "abstract"

    def __init__(self, registry: str | Path):
        self.registry = registry
        self.registry_store = Registry(registry)

    # -------------------------------------------------------------- per backend
    def publish(self, spec: PipelineSpec, snapshots: dict[str, Snapshot]) -> PipelineSpec:
        """Freeze ``spec`` and register it as the definition of its DAG."""
        raise NotImplementedError

    def set_enabled(self, dag_id: str, enabled: bool) -> None:
        """Unpause (enabled) or pause a DAG."""
        raise NotImplementedError

    def _start(self, spec: PipelineSpec, run_id: str, conf: dict[str, Any], run_key: str) -> None:
        """Make Airflow run the recorded run ``run_id``."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared
    def submit(
        self,
        spec: PipelineSpec,
        snapshots: dict[str, Snapshot],
        values: dict[str, Any],
        options: dict[str, Any],
    ) -> str:
        """Register ``spec`` as its DAG, enable it and start a run; returns the run id."""
        spec = self.publish(spec, snapshots)
        self.set_enabled(spec.dag_id, True)
        return self.trigger(spec, values, options, experiment_name=spec.experiment_name)

    def trigger(
        self,
        spec: PipelineSpec,
        values: dict[str, Any],
        options: dict[str, Any],
        *,
        experiment_name: str,
    ) -> str:
        """Record and start a run of the registered ``spec``; returns the run id."""
        run_id = str(uuid.uuid4())
        spec = spec.with_changes(tags=options.get("tags", {}))
        conf = {**values, RESERVED_CONF_KEY: {**options, "experiment_name": experiment_name}}
        run_key = self.registry_store.write_run(
            run_id, spec=spec, conf=conf, experiment_name=experiment_name
        )
        self._start(spec, run_id, conf, run_key)
        return run_id

    def run_record(self, run_id: str) -> dict[str, Any]:
        """What was submitted for ``run_id`` (spec, conf, experiment)."""
        return self.registry_store.read_run(run_id)

    def list_runs(self, experiment_name: str) -> list[str]:
        """Run ids of an experiment, newest first."""
        return self.registry_store.list_runs(experiment_name)

    def shutdown(self) -> None:
        """Release local resources (nothing by default)."""
