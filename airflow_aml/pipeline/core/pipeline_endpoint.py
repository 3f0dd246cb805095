"""PipelineEndpoint: a named, versioned entry point to published pipelines (SDK v1).

Versions are ``"0"``, ``"1"``, … in the order pipelines are added; one is the
default. Submitting without a version runs the default version.
"""

from __future__ import annotations

import builtins
import time
import uuid
from typing import TYPE_CHECKING, Any

from airflow_aml.core.experiment import Experiment
from airflow_aml.exceptions import UserErrorException, ValidationError
from airflow_aml.pipeline.core.pipeline import Pipeline
from airflow_aml.pipeline.core.published_pipeline import PublishedPipeline, aml_route_prefix

if TYPE_CHECKING:
    from airflow_aml.core.experiment import RunOptions
    from airflow_aml.core.workspace import Workspace
    from airflow_aml.pipeline.core.run import PipelineRun

__all__ = ["PipelineEndpoint", "PipelineVersion"]

KIND = "endpoints"


class PipelineVersion:
    """One version of a pipeline endpoint: its version string and published pipeline (v1).

    :param version: the version (``"0"``, ``"1"``, ...).
    :param pipeline: the :class:`PublishedPipeline` of that version.
    """

    def __init__(self, version: str, pipeline: PublishedPipeline):
        self._version = version
        self._pipeline = pipeline

    @property
    def version(self) -> str:
        """The version."""
        return self._version

    @property
    def pipeline(self) -> PublishedPipeline:
        """The published pipeline of this version."""
        return self._pipeline

    def __repr__(self) -> str:
        return f"PipelineVersion(version: {self.version},\npipeline: {self.pipeline.id})"


class PipelineEndpoint:
    """A pipeline endpoint (create with :meth:`publish`, read with :meth:`get`)."""

    def __init__(self, workspace: Workspace, record: dict[str, Any]):
        self._workspace = workspace
        self._record = record

    # ----------------------------------------------------------------- create
    @staticmethod
    def publish(
        workspace: Workspace,
        name: str,
        description: str,
        pipeline: PublishedPipeline | Any,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
    ) -> PipelineEndpoint:
        """Create endpoint ``name`` whose version ``"0"`` (the default) is ``pipeline``."""
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("a pipeline endpoint needs a name", field="name")
        if PipelineEndpoint._find_by_name(workspace, name) is not None:
            raise UserErrorException(
                f"a pipeline endpoint named {name!r} already exists; "
                "use PipelineEndpoint.get(ws, name=...).add(pipeline)"
            )
        published = PipelineEndpoint._as_published(workspace, pipeline, name)
        record = {
            "id": str(uuid.uuid4()),
            "name": name,
            "description": description,
            "status": "Active",
            "created": time.time(),
            "default_version": "0",
            "versions": [{"version": "0", "pipeline_id": published.id}],
        }
        workspace._backend.registry_store.save(KIND, record)
        return PipelineEndpoint(workspace, record)

    @staticmethod
    def _as_published(workspace: Workspace, pipeline: Any, name: str) -> PublishedPipeline:
        if isinstance(pipeline, PublishedPipeline):
            return pipeline
        if isinstance(pipeline, Pipeline):
            return pipeline.publish(name=name)
        raise ValidationError(
            f"expected a PublishedPipeline or Pipeline, got {type(pipeline).__name__}",
            field="pipeline",
        )

    # ----------------------------------------------------------------- lookup
    @staticmethod
    def _find_by_name(
        workspace: Workspace, name: str, skipped: builtins.list[str] | None = None
    ) -> dict[str, Any] | None:
        """The readable endpoint record named ``name`` (corrupt records are skipped; their
        keys go to ``skipped``)."""
        for record in workspace._backend.registry_store.all(KIND, skipped=skipped):
            if record.get("name") == name:
                return record
        return None

    @staticmethod
    def get(
        workspace: Workspace,
        id: str | None = None,
        name: str | None = None,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
    ) -> PipelineEndpoint:
        """The endpoint with ``id`` or ``name``."""
        if id is None and name is None:
            raise ValidationError("give id or name", field="id")
        skipped: builtins.list[str] = []
        record = (
            workspace._backend.registry_store.get(KIND, id)
            if id
            else PipelineEndpoint._find_by_name(workspace, str(name), skipped)
        )
        if record is None:
            unreadable = (
                f" ({len(skipped)} unreadable endpoint record(s) skipped: {', '.join(skipped)})"
                if skipped
                else ""
            )
            raise UserErrorException(
                f"pipeline endpoint {id or name!r} not found in workspace {workspace.name!r}"
                + unreadable
            )
        return PipelineEndpoint(workspace, record)

    @staticmethod
    def list(
        workspace: Workspace,
        active_only: bool = True,
        max_results: int = 100,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
    ) -> builtins.list[PipelineEndpoint]:
        """Endpoints of ``workspace`` (only active ones unless told otherwise)."""
        records = [
            r
            for r in workspace._backend.registry_store.all(KIND)
            if not active_only or r.get("status") == "Active"
        ]
        return [PipelineEndpoint(workspace, r) for r in records[:max_results]]

    get_all = list  # v1's older name of list()

    # ------------------------------------------------------------- properties
    @property
    def id(self) -> str:
        """The endpoint id."""
        return str(self._record["id"])

    @property
    def name(self) -> str:
        """The endpoint name."""
        return str(self._record["name"])

    @property
    def description(self) -> str | None:
        """The description."""
        return self._record.get("description")

    @property
    def status(self) -> str:
        """``Active``, ``Disabled`` or ``Archived``."""
        return str(self._record.get("status", "Active"))

    @property
    def default_version(self) -> str:
        """The version run when none is given."""
        return str(self._record["default_version"])

    @property
    def endpoint(self) -> str:
        """The AML-compatible REST endpoint (by id) served by the airflow-aml plugin."""
        return (
            f"{aml_route_prefix(self._workspace)}/PipelineRuns/PipelineEndpointSubmit/Id/{self.id}"
        )

    @property
    def swaggerurl(self) -> str:
        """The OpenAPI document of the plugin's routes."""
        return f"{self._workspace.api_url}/aml/openapi.json"

    # --------------------------------------------------------------- versions
    def _update(self, **changes: Any) -> dict[str, Any]:
        with self._workspace._backend.registry_store.update(KIND, self.id) as record:
            for key, value in changes.items():
                value(record) if callable(value) else record.__setitem__(key, value)
            self._record = dict(record)
        return self._record

    def add(self, pipeline: PublishedPipeline | Any) -> None:
        """Add ``pipeline`` as the next version (the default is unchanged)."""
        published = self._as_published(self._workspace, pipeline, self.name)

        def append(record: dict[str, Any]) -> None:
            if any(v["pipeline_id"] == published.id for v in record["versions"]):
                return
            record["versions"].append(
                {"version": str(len(record["versions"])), "pipeline_id": published.id}
            )

        self._update(versions=append)

    def add_default(self, pipeline: PublishedPipeline | Any) -> None:
        """Add ``pipeline`` as the next version and make it the default."""
        self.add(pipeline)
        self.set_default(pipeline)

    def set_default(self, pipeline: PublishedPipeline | Any) -> None:
        """Make the version holding ``pipeline`` the default (adds it if missing)."""
        published = self._as_published(self._workspace, pipeline, self.name)
        version = next(
            (v["version"] for v in self._record["versions"] if v["pipeline_id"] == published.id),
            None,
        )
        if version is None:
            self.add(published)
            version = self._record["versions"][-1]["version"]
        self.set_default_version(version)

    def set_default_version(self, version: str | int) -> None:
        """Make ``version`` the default."""
        self._version(str(version))
        self._update(default_version=str(version))

    def get_default_version(self) -> str:
        """The default version."""
        return self.default_version

    def _version(self, version: str) -> dict[str, Any]:
        for v in self._record["versions"]:
            if v["version"] == version:
                return v
        known = [v["version"] for v in self._record["versions"]]
        raise UserErrorException(
            f"pipeline endpoint {self.name!r} has no version {version!r}; versions: {known}"
        )

    def get_pipeline(self, version: str | int | None = None) -> PublishedPipeline:
        """The published pipeline of ``version`` (default: the default version)."""
        entry = self._version(str(version) if version is not None else self.default_version)
        return PublishedPipeline.get(self._workspace, entry["pipeline_id"])

    def list_versions(
        self, _workflow_provider: Any = None, _service_endpoint: Any = None
    ) -> builtins.list[PipelineVersion]:
        """The versions, oldest first, as :class:`PipelineVersion` (``.version``, ``.pipeline``)."""
        return [
            PipelineVersion(v["version"], PublishedPipeline.get(self._workspace, v["pipeline_id"]))
            for v in self._record["versions"]
        ]

    def list_pipelines(self, active_only: bool = True) -> builtins.list[PublishedPipeline]:
        """The published pipelines of all versions."""
        pipelines = [
            PublishedPipeline.get(self._workspace, v["pipeline_id"])
            for v in self._record["versions"]
        ]
        return [p for p in pipelines if not active_only or p.status == "Active"]

    get_all_versions = list_versions  # v1's older name of list_versions()
    get_all_pipelines = list_pipelines  # v1's older name of list_pipelines()

    # --------------------------------------------------------------- running
    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        parent_run_id: str | None = None,
        pipeline_version: str | None = None,
    ) -> PipelineRun:
        """Run a version (default: the default version) in ``experiment_name``."""
        return Experiment(self._workspace, experiment_name).submit(
            self,
            pipeline_parameters=pipeline_parameters,
            parent_run_id=parent_run_id,
            pipeline_version=pipeline_version,
        )

    #: ``Experiment.submit(endpoint, **kwargs)``: accepted keywords and their defaults (v1).
    _submit_kwargs = {"pipeline_parameters": None, "parent_run_id": None, "pipeline_version": None}

    def _experiment_submit(
        self, experiment: Experiment, options: RunOptions, pipeline_version: str | None = None
    ) -> PipelineRun:
        """Run the version asked for (else the default version)."""
        published = self._resolve(pipeline_version)
        return published._experiment_submit(
            experiment, options.with_changes(pipeline_endpoint_id=self.id)
        )

    def _resolve(self, pipeline_version: str | None) -> PublishedPipeline:
        if self.status != "Active":
            raise UserErrorException(
                f"pipeline endpoint {self.name!r} is {self.status.lower()}; "
                "enable() or reactivate() it first"
            )
        return self.get_pipeline(pipeline_version)

    # ---------------------------------------------------------------- status
    def enable(self) -> None:
        """Accept submits."""
        self._update(status="Active")

    def disable(self) -> None:
        """Refuse submits; hidden from ``list(active_only=True)``."""
        self._update(status="Disabled")

    def archive(self) -> None:
        """Archive: refuses submits until ``reactivate``."""
        self._update(status="Archived")

    def reactivate(self, name: str) -> None:
        """Bring an archived endpoint back, under ``name``."""
        self.set_name(name)
        self._update(status="Active")

    def set_name(self, name: str) -> None:
        """Rename the endpoint (names are unique)."""
        other = self._find_by_name(self._workspace, name)
        if other is not None and other["id"] != self.id:
            raise UserErrorException(f"a pipeline endpoint named {name!r} already exists")
        self._update(name=name)

    def __repr__(self) -> str:
        return (
            f"PipelineEndpoint(Name: {self.name}, Id: {self.id}, Status: {self.status}, "
            f"Default version: {self.default_version})"
        )
