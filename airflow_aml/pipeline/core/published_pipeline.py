"""PublishedPipeline: an immutable pipeline behind a REST endpoint (SDK v1).

Publishing registers the pipeline's frozen spec as its own DAG
(``schedule=None``, one typed ``Param`` per ``PipelineParameter``, defaults as
defaults). It is triggered by the plain Airflow REST API (``POST
/api/v2/dags/{dag_id}/dagRuns``), by the AML-compatible endpoint served by
the airflow-aml plugin (``endpoint``), or from Python (``submit``).
``enable``/``disable`` unpause/pause the DAG; a disabled pipeline refuses
submits.
"""

from __future__ import annotations

import builtins
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from airflow_aml.core.experiment import Experiment
from airflow_aml.exceptions import PipelineValidationError, UserErrorException, ValidationError
from airflow_aml.pipeline.core.graph import Graph

if TYPE_CHECKING:
    from airflow_aml.core.experiment import RunOptions
    from airflow_aml.core.workspace import Workspace
    from airflow_aml.pipeline.core.pipeline import Pipeline
    from airflow_aml.pipeline.core.run import PipelineRun
    from airflow_aml.spec import PipelineSpec

__all__ = ["PublishedPipeline", "aml_route_prefix"]

KIND = "published"
_SLUG = re.compile(r"[^A-Za-z0-9_]+")


def aml_route_prefix(workspace: Workspace) -> str:
    """Base URL of the AML-compatible routes for ``workspace``."""
    return (
        f"{workspace.api_url}/aml/pipelines/v1.0/subscriptions/{workspace.subscription_id}"
        f"/resourceGroups/{workspace.resource_group}/providers/"
        f"Microsoft.MachineLearningServices/workspaces/{workspace.name}"
    )


def _check_publish_options(
    name: Any, description: Any, version: Any, continue_on_step_failure: Any
) -> None:
    """A name, string (or None) description and version, a boolean (or None) flag."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("a published pipeline needs a name", field="name")
    for label, value in (("description", description), ("version", version)):
        if value is not None and not isinstance(value, str):
            raise ValidationError(
                f"{label} of published pipeline {name!r} must be a string (or None), "
                f"not {type(value).__name__}",
                field=label,
            )
    if continue_on_step_failure is not None and not isinstance(continue_on_step_failure, bool):
        raise ValidationError(
            "continue_on_step_failure must be True, False or None, not "
            f"{continue_on_step_failure!r}",
            field="continue_on_step_failure",
        )


class PublishedPipeline:
    """A published pipeline (read one with :meth:`get`, list with :meth:`list`)."""

    def __init__(self, workspace: Workspace, record: dict[str, Any]):
        self._workspace = workspace
        self._record = record

    # ------------------------------------------------------------ publishing
    @staticmethod
    def _publish(
        workspace: Workspace,
        spec: PipelineSpec,
        snapshots: dict[str, Any],
        *,
        name: str | None,
        description: str | None,
        version: str | None,
        continue_on_step_failure: bool | None,
    ) -> PublishedPipeline:
        _check_publish_options(name, description, version, continue_on_step_failure)
        assert isinstance(name, str)
        pid = str(uuid.uuid4())
        slug = _SLUG.sub("_", name).strip("_")[:60] or "pipeline"
        dag_id = f"aml_{slug}_{pid[:8]}"
        spec = spec.with_changes(
            dag_id=dag_id,
            experiment_name=spec.experiment_name,
            description=description or spec.description,
            continue_on_step_failure=bool(continue_on_step_failure),
        )
        spec = workspace._backend.publish(spec, snapshots)
        record = {
            "id": pid,
            "name": name,
            "description": description,
            "version": version,
            "status": "Active",
            "dag_id": dag_id,
            "created": time.time(),
            "continue_on_step_failure": bool(continue_on_step_failure),
            "total_run_steps": len(spec.steps),
            "graph_id": spec.digest(),
        }
        workspace._backend.registry_store.save(KIND, record)
        workspace._backend.set_enabled(dag_id, True)
        return PublishedPipeline(workspace, record)

    @staticmethod
    def _from_pipeline(pipeline: Pipeline, **options: Any) -> PublishedPipeline:
        result = pipeline._compile("published")
        if result.spec is None:
            raise PipelineValidationError(result.errors)
        return PublishedPipeline._publish(
            pipeline._workspace, result.spec, result.snapshots, **options
        )

    # --------------------------------------------------------------- lookups
    @staticmethod
    def get(
        workspace: Workspace, id: str, _workflow_provider: Any = None, _service_endpoint: Any = None
    ) -> PublishedPipeline:
        """The published pipeline ``id``."""
        record = workspace._backend.registry_store.get(KIND, id)
        if record is None:
            raise UserErrorException(
                f"published pipeline {id!r} not found in workspace {workspace.name!r}"
            )
        return PublishedPipeline(workspace, record)

    @staticmethod
    def list(
        workspace: Workspace, active_only: bool = True, _service_endpoint: Any = None
    ) -> list[PublishedPipeline]:
        """Published pipelines of ``workspace`` (only active ones unless told otherwise)."""
        records = workspace._backend.registry_store.all(KIND)
        return [
            PublishedPipeline(workspace, r)
            for r in records
            if not active_only or r.get("status") == "Active"
        ]

    get_all = list

    # ------------------------------------------------------------ properties
    @property
    def id(self) -> str:
        """The published pipeline id."""
        return str(self._record["id"])

    @property
    def name(self) -> str:
        """The name given at publish."""
        return str(self._record["name"])

    @property
    def description(self) -> str | None:
        """The description given at publish."""
        return self._record.get("description")

    @property
    def version(self) -> str | None:
        """The version given at publish."""
        return self._record.get("version")

    @property
    def status(self) -> str:
        """``Active`` or ``Disabled``."""
        return str(self._record.get("status", "Active"))

    @property
    def dag_id(self) -> str:
        """The Airflow DAG that runs this pipeline."""
        return str(self._record["dag_id"])

    @property
    def graph_id(self) -> str:
        """Identity of the published graph."""
        return str(self._record.get("graph_id", ""))

    @property
    def total_run_steps(self) -> int:
        """Number of steps."""
        return int(self._record.get("total_run_steps", 0))

    @property
    def continue_on_step_failure(self) -> bool:
        """Default for runs of this pipeline."""
        return bool(self._record.get("continue_on_step_failure"))

    @property
    def endpoint(self) -> str:
        """The AML-compatible REST endpoint (served by the airflow-aml plugin)."""
        return f"{aml_route_prefix(self._workspace)}/PipelineRuns/PipelineSubmit/{self.id}"

    def _spec(self) -> PipelineSpec:
        spec = self._workspace._backend.registry_store.read_spec(self.dag_id)
        if spec is None:
            raise UserErrorException(
                f"the spec of published pipeline {self.id!r} is missing from the registry"
            )
        return spec

    def get_step_names(self) -> builtins.list[str]:
        """Names of the steps."""
        return [s.name for s in self._spec().steps]

    def get_graph(self) -> Any:
        """The pipeline graph."""
        return Graph.from_spec(self._spec())

    # -------------------------------------------------------------- running
    def submit(
        self,
        workspace: Workspace,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        parent_run_id: str | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> PipelineRun:
        """Run this pipeline in ``experiment_name``; refuses when disabled."""
        return Experiment(workspace, experiment_name).submit(
            self,
            pipeline_parameters=pipeline_parameters,
            parent_run_id=parent_run_id,
            continue_on_step_failure=continue_on_step_failure,
        )

    #: ``Experiment.submit(published, **kwargs)``: accepted keywords and their defaults (v1);
    #: ``continue_on_step_failure=None`` keeps the one given at publish.
    _submit_kwargs = {
        "pipeline_parameters": None,
        "parent_run_id": None,
        "continue_on_step_failure": None,
    }

    def _experiment_submit(self, experiment: Experiment, options: RunOptions) -> PipelineRun:
        """Start a run of this pipeline (refused while it is disabled)."""
        if self.status != "Active":
            raise UserErrorException(
                f"published pipeline {self.id!r} ({self.name}) is disabled; enable() it first"
            )
        options = options.with_changes(published_pipeline_id=self.id)
        backend = self._workspace._backend
        run: PipelineRun = backend.pipeline_run(experiment, backend.start(self._spec(), options))
        return run

    def _set_status(self, status: str) -> None:
        with self._workspace._backend.registry_store.update(KIND, self.id) as record:
            record["status"] = status
            self._record = dict(record)
        self._workspace._backend.set_enabled(self.dag_id, status == "Active")

    def enable(self) -> None:
        """Accept submits again (unpauses the DAG)."""
        self._set_status("Active")

    def disable(self) -> None:
        """Refuse submits (pauses the DAG) and hide from ``list(active_only=True)``."""
        self._set_status("Disabled")

    def __repr__(self) -> str:
        return (
            f"PublishedPipeline(Name: {self.name}, Id: {self.id}, Status: {self.status}, "
            f"Endpoint: {self.endpoint})"
        )
