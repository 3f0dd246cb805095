"""Pipeline: a graph of steps (SDK v1 ``azureml.pipeline.core.Pipeline``)."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from airflow_aml.core.experiment import Experiment
from airflow_aml.exceptions import NotSupportedError, PipelineValidationError, ValidationError
from airflow_aml.pipeline.core.builder import PipelineStep, StepSequence
from airflow_aml.pipeline.core.graph import Graph
from airflow_aml.pipeline.core.published_pipeline import PublishedPipeline

if TYPE_CHECKING:
    from airflow_aml.compiler.build import CompileResult
    from airflow_aml.core.experiment import RunOptions
    from airflow_aml.core.workspace import Workspace
    from airflow_aml.pipeline.core.run import PipelineRun

__all__ = ["Pipeline"]


def _flatten(
    steps: Any, out: list[PipelineStep], seq_edges: dict[PipelineStep, list[PipelineStep]]
) -> list[PipelineStep]:
    """Flatten nested lists and StepSequences; record sequence ordering edges.

    Returns the steps of this element (used as predecessors of the next
    element of an enclosing StepSequence).
    """
    if isinstance(steps, PipelineStep):
        if steps not in out:
            out.append(steps)
        return [steps]
    if isinstance(steps, StepSequence):
        previous: list[PipelineStep] = []
        every: list[PipelineStep] = []
        for element in steps.steps:
            current = _flatten(element, out, seq_edges)
            for s in current:
                for p in previous:
                    if p not in seq_edges.setdefault(s, []):
                        seq_edges[s].append(p)
            previous = current
            every.extend(current)
        return every
    if isinstance(steps, Iterable) and not isinstance(steps, str | bytes):
        collected: list[PipelineStep] = []
        for element in steps:
            collected.extend(_flatten(element, out, seq_edges))
        return collected
    raise ValidationError(
        f"steps must be steps, lists of steps or StepSequence; got {type(steps).__name__}",
        field="steps",
    )


class Pipeline:
    """A pipeline of steps.

    :param workspace: the workspace to run in.
    :param steps: steps, nested lists of steps, or a :class:`StepSequence`.
    :param description: shown as the DAG description (a string).
    :param default_datastore: datastore for outputs without one (default: the workspace's).
    :param default_source_directory: used by steps without ``source_directory``.
    :param resolve_closure: pull in every step the given ones depend on (v1 default).
    :param data_aware_reuse: beyond v1: default of the steps' ``data_aware_reuse``
        (``False``, ``True``/``"stat"`` or ``"digest"``).
    """

    def __init__(
        self,
        workspace: Workspace,
        steps: Any,
        description: str | None = None,
        default_datastore: Any = None,
        default_source_directory: str | None = None,
        resolve_closure: bool = True,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
        *,
        data_aware_reuse: bool | str = False,
        **kwargs: Any,
    ):
        unknown = set(kwargs) - {"_allow_continue_on_step_failure"}
        if unknown:
            raise ValidationError(f"unexpected argument(s) {sorted(unknown)}", field="Pipeline")
        if description is not None and not isinstance(description, str):
            raise ValidationError(
                f"description must be a string (or None), not {type(description).__name__}",
                field="description",
            )
        self._workspace = workspace
        self.description = description
        self._default_datastore = default_datastore
        self._default_source_directory = default_source_directory
        self._resolve_closure = resolve_closure
        self.data_aware_reuse = data_aware_reuse
        self._given: list[PipelineStep] = []
        self._seq_edges: dict[PipelineStep, list[PipelineStep]] = {}
        _flatten(steps, self._given, self._seq_edges)
        if not self._given:
            raise ValidationError("a pipeline needs at least one step", field="steps")
        self._steps_cache: list[PipelineStep] | None = None

    # ------------------------------------------------------------ structure
    def _all_steps(self) -> list[PipelineStep]:
        """Given steps plus (with resolve_closure) every step they depend on."""
        if self._steps_cache is not None:
            return self._steps_cache
        steps = list(self._given)
        if self._resolve_closure:
            seen = set(steps)
            i = 0
            while i < len(steps):
                for up in steps[i]._upstream_steps() + self._seq_edges.get(steps[i], []):
                    if up not in seen:
                        seen.add(up)
                        steps.append(up)
                i += 1
        self._steps_cache = steps
        return steps

    def _all_steps_set(self) -> set[PipelineStep]:
        return set(self._all_steps())

    def _extra_upstream(self, step: PipelineStep) -> list[PipelineStep]:
        return self._seq_edges.get(step, [])

    def _compile(self, experiment_name: str = "pipeline") -> CompileResult:
        """Compile through the workspace's backend (the model imports no compiler)."""
        self._steps_cache = None
        result: CompileResult = self._workspace._backend.compile(self, experiment_name)
        return result

    @property
    def graph(self) -> Graph:
        """The pipeline graph (nodes in topological order, edges)."""
        result = self._compile()
        if result.spec is None:
            raise PipelineValidationError(result.errors)
        return Graph.from_spec(result.spec)

    def validate(self) -> list[ValidationError]:
        """Check the pipeline; return the list of errors (empty when valid).

        Warnings (for example steps sharing a source folder) are issued with
        :func:`warnings.warn`.
        """
        result = self._compile()
        for w in result.warnings:
            warnings.warn(w, UserWarning, stacklevel=2)
        return result.errors

    # ----------------------------------------------------------- running
    def submit(
        self,
        experiment_name: str,
        pipeline_parameters: dict[str, Any] | None = None,
        continue_on_step_failure: bool = False,
        regenerate_outputs: bool = False,
        parent_run_id: str | None = None,
        credential_passthrough: Any = None,
        **kwargs: Any,
    ) -> PipelineRun:
        """Submit a run of this pipeline to ``experiment_name`` (see ``Experiment.submit``)."""
        return Experiment(self._workspace, experiment_name).submit(
            self,
            pipeline_parameters=pipeline_parameters,
            continue_on_step_failure=continue_on_step_failure,
            regenerate_outputs=regenerate_outputs,
            parent_run_id=parent_run_id,
            **kwargs,
        )

    #: ``Experiment.submit(pipeline, **kwargs)``: accepted keywords and their defaults (v1).
    _submit_kwargs = {
        "pipeline_parameters": None,
        "continue_on_step_failure": False,
        "regenerate_outputs": False,
        "parent_run_id": None,
    }

    def _experiment_submit(self, experiment: Experiment, options: RunOptions) -> PipelineRun:
        """``Experiment.submit(pipeline, ...)``: compile, register and run it (the backend)."""
        backend = self._workspace._backend
        run: PipelineRun = backend.pipeline_run(experiment, backend.run_pipeline(self, options))
        return run

    def publish(
        self,
        name: str | None = None,
        description: str | None = None,
        version: str | None = None,
        continue_on_step_failure: bool | None = None,
    ) -> PublishedPipeline:
        """Publish this pipeline: an immutable DAG triggered by REST or ``submit``.

        Its parameters become typed DAG ``Param`` objects with their defaults; see
        :class:`~airflow_aml.pipeline.core.published_pipeline.PublishedPipeline`.
        """
        return PublishedPipeline._from_pipeline(
            self,
            name=name,
            description=description if description is not None else self.description,
            version=version,
            continue_on_step_failure=continue_on_step_failure,
        )

    def as_dag(self, dag_id: str, **dag_kwargs: Any) -> Any:
        """Render this pipeline as an Airflow DAG (for use in a DAG file).

        Steps run from their live ``source_directory``. Raises
        :class:`PipelineValidationError` when the pipeline is invalid.
        """
        result = self._compile(dag_id)
        if result.spec is None:
            raise PipelineValidationError(result.errors)
        return self._workspace._backend.render_dag(result.spec, **dag_kwargs)

    @staticmethod
    def load_yaml(
        workspace: Workspace,
        filename: str,
        _workflow_provider: Any = None,
        _service_endpoint: Any = None,
    ) -> Pipeline:
        """YAML pipelines are not supported; build the pipeline in Python."""
        raise NotSupportedError(
            "Pipeline.load_yaml is not supported; define the pipeline with the Python API"
        )
