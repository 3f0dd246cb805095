"""Experiment: a named series of runs; here, one Airflow DAG (SDK v1)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from airflow_aml._names import check_experiment_name
from airflow_aml.exceptions import NotSupportedError, PipelineValidationError, ValidationError

if TYPE_CHECKING:
    from airflow_aml.core.workspace import Workspace
    from airflow_aml.pipeline.core.pipeline import Pipeline
    from airflow_aml.pipeline.core.run import PipelineRun

__all__ = ["Experiment"]

_PIPELINE_KWARGS = {
    "pipeline_parameters",
    "pipeline_params",
    "continue_on_step_failure",
    "regenerate_outputs",
    "parent_run_id",
    "enable_email_notification",
    "credential_passthrough",
}


class Experiment:
    """An experiment of a workspace; its runs are the runs of the DAG ``name``.

    :param workspace: the workspace.
    :param name: 1-255 characters: letters, digits, ``_`` and ``-``.
    """

    def __init__(
        self, workspace: Workspace, name: str, _skip_name_validation: bool = False, **kwargs: Any
    ):
        if not _skip_name_validation:
            check_experiment_name(name)
        self.workspace = workspace
        self.name = name

    @property
    def id(self) -> str:
        """The experiment id (its name)."""
        return self.name

    def submit(self, config: Any, tags: dict[str, str] | None = None, **kwargs: Any) -> PipelineRun:
        """Submit ``config`` (a :class:`Pipeline`) and return its run immediately.

        Keyword arguments for a pipeline: ``pipeline_parameters``,
        ``continue_on_step_failure``, ``regenerate_outputs``, ``parent_run_id``.
        Validation problems raise before anything runs.
        """
        from airflow_aml.pipeline.core.pipeline import Pipeline
        from airflow_aml.pipeline.core.pipeline_endpoint import PipelineEndpoint
        from airflow_aml.pipeline.core.published_pipeline import PublishedPipeline
        from airflow_aml.pipeline.core.run import PipelineRun

        if isinstance(config, Pipeline):
            return self._submit_pipeline(config, tags=tags, **kwargs)
        if isinstance(config, PublishedPipeline | PipelineEndpoint):
            allowed = {
                "pipeline_parameters",
                "parent_run_id",
                "continue_on_step_failure"
                if isinstance(config, PublishedPipeline)
                else "pipeline_version",
            }
            unknown = set(kwargs) - allowed
            if unknown:
                raise ValidationError(
                    f"unexpected argument(s) {sorted(unknown)}; expected some of {sorted(allowed)}",
                    field="submit",
                )
            params = kwargs.get("pipeline_parameters")
            if params is not None and not isinstance(params, dict):
                raise ValidationError(
                    "pipeline_parameters must be a dict", field="pipeline_parameters"
                )
            published = (
                config
                if isinstance(config, PublishedPipeline)
                else config._resolve(kwargs.get("pipeline_version"))
            )
            run_id = published._trigger(
                self.name,
                params,
                tags=tags,
                parent_run_id=kwargs.get("parent_run_id"),
                continue_on_step_failure=kwargs.get("continue_on_step_failure"),
            )
            return PipelineRun(self, run_id)
        raise NotSupportedError(
            f"Experiment.submit of a {type(config).__name__} is not supported; submit a "
            "Pipeline, PublishedPipeline or PipelineEndpoint (wrap scripts in a "
            "PythonScriptStep)"
        )

    def _submit_pipeline(
        self, pipeline: Pipeline, tags: dict[str, str] | None = None, **kwargs: Any
    ) -> PipelineRun:
        from airflow_aml.compiler.build import resolve_parameter_values
        from airflow_aml.pipeline.core.run import PipelineRun

        unknown = set(kwargs) - _PIPELINE_KWARGS
        if unknown:
            raise ValidationError(
                f"unexpected argument(s) {sorted(unknown)} for a pipeline "
                f"submit; expected some of {sorted(_PIPELINE_KWARGS)}",
                field="submit",
            )
        params = kwargs.get("pipeline_parameters")
        if kwargs.get("pipeline_params") is not None:
            warnings.warn(
                "pipeline_params is deprecated; use pipeline_parameters",
                DeprecationWarning,
                stacklevel=3,
            )
            params = {**kwargs["pipeline_params"], **(params or {})}
        if params is not None and not isinstance(params, dict):
            raise ValidationError("pipeline_parameters must be a dict", field="pipeline_parameters")
        if tags is not None and not isinstance(tags, dict):
            raise ValidationError("tags must be a dict", field="tags")
        result = pipeline._compile(self.name)
        for w in result.warnings:
            warnings.warn(w, UserWarning, stacklevel=3)
        if result.spec is None:
            raise PipelineValidationError(result.errors)
        values = resolve_parameter_values(result.spec, params)
        options = {
            "continue_on_step_failure": bool(kwargs.get("continue_on_step_failure") or False),
            "regenerate_outputs": bool(kwargs.get("regenerate_outputs") or False),
            "tags": {str(k): str(v) for k, v in (tags or {}).items()},
            "parent_run_id": kwargs.get("parent_run_id"),
        }
        run_id = self.workspace._backend.submit(result.spec, result.snapshots, values, options)
        return PipelineRun(self, run_id)

    def get_runs(
        self,
        type: str | None = None,
        tags: Any = None,
        properties: Any = None,
        include_children: bool = False,
    ) -> Iterator[PipelineRun]:
        """Runs of this experiment, newest first."""
        from airflow_aml.pipeline.core.run import PipelineRun

        for run_id in self.workspace._backend.list_runs(self.name):
            yield PipelineRun(self, run_id)

    @staticmethod
    def list(
        workspace: Workspace,
        experiment_name: str | None = None,
        view_type: Any = None,
        tags: Any = None,
    ) -> list[Experiment]:
        """Experiments of ``workspace`` (optionally only ``experiment_name``)."""
        names = workspace.experiments
        if experiment_name is not None:
            return [names[experiment_name]] if experiment_name in names else []
        return list(names.values())

    def __repr__(self) -> str:
        return f"Experiment(Name: {self.name}, Workspace: {self.workspace.name})"
