"""What one try of a step works with: its parameter values, paths and record folder.

:func:`resolve_params` turns the DAG run's params into the values a step uses
(a ``DataPath`` parameter becomes a local path); :class:`StepContext` carries
them, with the step's input/output paths, to the step kind's ``run_step``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from airflow_aml.artifacts.store import ArtifactStore
from airflow_aml.exceptions import DatastoreException
from airflow_aml.runtime.contract import render_arguments
from airflow_aml.spec import StepSpec

__all__ = ["resolve_params", "StepContext"]


def resolve_params(
    context: Any, store: ArtifactStore, pipeline: dict[str, Any], *, fetch_into: Path | None = None
) -> dict[str, Any]:
    """The run's parameter values. With ``fetch_into``, DataPath values become local
    paths: in place on a local datastore, downloaded below ``fetch_into`` from a remote
    one (an error names the parameter when the path does not exist there)."""
    given = context.get("params") or {}
    values: dict[str, Any] = {}
    for name, ptype in pipeline.get("parameters", {}).items():
        value = given.get(name)
        if fetch_into is not None and ptype == "datapath" and isinstance(value, dict):
            datastore, path = value["datastore"], value.get("path", "")
            if store.is_local(datastore):
                values[name] = str(store.local_path(datastore, path))
                continue
            local = store.materialise(datastore, path, fetch_into / "datapaths" / name)
            if local is None:
                raise DatastoreException(
                    f"DataPath parameter {name!r}: {path!r} does not exist on datastore "
                    f"{datastore!r}"
                )
            values[name] = str(local)
        else:
            values[name] = value
    return values


class StepContext:
    """Everything a step kind needs to run one try of a step."""

    def __init__(
        self,
        *,
        spec: StepSpec,
        run_id: str,
        pipeline_run_id: str,
        params: dict[str, Any],
        paths: dict[str, str],
        record: Path,
        workdir: Path,
        pipeline: dict[str, Any],
        experiment_name: str = "",
    ):
        self.spec = spec
        self.run_id = run_id
        self.pipeline_run_id = pipeline_run_id
        self.experiment_name = experiment_name
        self.params = params
        self.paths = paths
        self.record = record
        self.workdir = workdir
        self.pipeline = pipeline

    @property
    def arguments(self) -> list[str]:
        """The step's arguments as command-line strings: paths and parameter values in
        place of its inputs, outputs and ``PipelineParameter`` arguments (appendix D)."""
        return render_arguments(self.spec.arguments, params=self.params, paths=self.paths)
