"""PipelineRun: a run of a pipeline (an Airflow DagRun), read back through the backend.

States come from the Airflow metadata DB (through the workspace's backend),
outputs, metrics and logs from the artifact store. Steps are
:class:`~airflow_aml.pipeline.core.step_run.StepRun` objects.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_aml.artifacts.store import ArtifactStore
from airflow_aml.core.experiment import Experiment
from airflow_aml.exceptions import (
    ActivityFailedException,
    StepRunFailed,
)
from airflow_aml.pipeline.core.graph import Graph
from airflow_aml.pipeline.core.port_data import PortDataReference
from airflow_aml.pipeline.core.published_pipeline import PublishedPipeline
from airflow_aml.pipeline.core.status import TERMINAL_STATUSES, pipeline_status
from airflow_aml.pipeline.core.step_run import StepRun, StepRunOutput, poll_status
from airflow_aml.runtime.contract import format_value
from airflow_aml.runtime.record import (
    PARENT_METRICS,
    PARENT_TAGS,
    read_metrics,
    read_tags,
)
from airflow_aml.spec import RESERVED_CONF_KEY, PipelineSpec, StepSpec

if TYPE_CHECKING:
    from airflow_aml.core.workspace import Workspace

__all__ = ["PipelineRun", "StepRun", "StepRunOutput", "PortDataReference", "run_properties"]


def run_properties(record: dict[str, Any]) -> dict[str, Any]:
    """SDK v1 properties of a pipeline run, from its run record."""
    conf = record.get("conf", {})
    opts = conf.get(RESERVED_CONF_KEY, {})
    spec = record.get("spec", {})
    names = [p.get("name") for p in spec.get("parameters", ())]
    values = {n: format_value(conf[n]) for n in names if n in conf}
    props: dict[str, Any] = {
        "azureml.runsource": "azureml.PipelineRun",
        "runSource": str(opts.get("run_source") or "SDK"),
        "runType": str(opts.get("run_type") or "SDK"),
        "azureml.parameters": json.dumps(values, sort_keys=True),
        "azureml.continue_on_step_failure": str(bool(opts.get("continue_on_step_failure"))),
        "azureml.regenerate_outputs": str(bool(opts.get("regenerate_outputs"))),
        "azureml.pipelineComponent": "pipelinerun",
        "airflow.dag_id": record.get("dag_id"),
        "airflow.run_id": record.get("run_id"),
    }
    if opts.get("published_pipeline_id"):
        props["azureml.pipelineid"] = opts["published_pipeline_id"]
    if opts.get("pipeline_endpoint_id"):
        props["azureml.pipelineEndpointId"] = opts["pipeline_endpoint_id"]
    if opts.get("parent_run_id"):
        props["azureml.parentRunId"] = str(opts["parent_run_id"])
    if opts.get("ignored_parameters"):
        props["airflow_aml.ignoredParameterAssignments"] = ",".join(opts["ignored_parameters"])
    return props


class PipelineRun:
    """A run of a pipeline (an Airflow DagRun).

    :param experiment: the experiment the run belongs to.
    :param run_id: the run id (the DagRun's run id).
    """

    def __init__(
        self, experiment: Experiment, run_id: str, _service_endpoint: Any = None, **kwargs: Any
    ):
        self.experiment = experiment
        self._run_id = run_id
        self._backend = experiment.workspace._backend
        self._record_cache: dict[str, Any] | None = None

    # ---------------------------------------------------------------- basics
    @property
    def id(self) -> str:
        """The run id."""
        return self._run_id

    run_id = id

    @property
    def workspace(self) -> Workspace:
        """The workspace."""
        return self.experiment.workspace

    @property
    def _record(self) -> dict[str, Any]:
        if self._record_cache is None:
            self._record_cache = self._backend.run_record(self._run_id)
        return self._record_cache

    @property
    def _spec(self) -> PipelineSpec:
        return PipelineSpec.from_json(self._record["spec"])

    @property
    def _dag_id(self) -> str:
        return self._record["dag_id"]

    @property
    def _store(self) -> ArtifactStore:
        return ArtifactStore(self._record["spec"]["datastores"])

    @staticmethod
    def get(workspace: Workspace, run_id: str) -> PipelineRun:
        """The pipeline run ``run_id`` of ``workspace``."""
        record = workspace._backend.run_record(run_id)
        name = record.get("experiment_name") or record["dag_id"]
        return PipelineRun(Experiment(workspace, name, _skip_name_validation=True), run_id)

    # --------------------------------------------------------------- status
    def get_status(self) -> str:
        """``NotStarted``, ``Queued``, ``Running``, ``Finished``, ``Failed`` or ``Canceled``."""
        runner = self._backend.runner_state(self._run_id)
        dr = self._backend.dag_run(self._dag_id, self._run_id)
        if dr is None:
            if runner["error"] or (not runner["alive"] and runner["done"]):
                return "Failed"
            if runner["canceled"]:
                return "Canceled"
            return "NotStarted" if runner["alive"] else "Failed"
        status = pipeline_status(dr["state"], canceled=runner["canceled"])
        if status not in TERMINAL_STATUSES and not runner["alive"]:
            # The runner died without finishing the DagRun (killed, crashed).
            return "Canceled" if runner["canceled"] else "Failed"
        if status == "Canceling" and not runner["alive"]:
            return "Canceled"
        return status

    @property
    def status(self) -> str:
        """The current status."""
        return self.get_status()

    def get_details(self) -> dict[str, Any]:
        """Run details: id, status, times, tags, properties, the runner's error if any."""
        dr = self._backend.dag_run(self._dag_id, self._run_id) or {}
        runner = self._backend.runner_state(self._run_id)
        return {
            "runId": self._run_id,
            "status": self.get_status(),
            "startTimeUtc": dr.get("start_date"),
            "endTimeUtc": dr.get("end_date"),
            "target": "airflow-embedded",
            "properties": self.properties,
            "tags": self.get_tags(),
            "inputDatasets": [],
            "outputDatasets": [],
            "error": runner["error"],
        }

    @property
    def properties(self) -> dict[str, Any]:
        """Run properties, with SDK v1's keys (``azureml.runsource``, ``runSource``,
        ``runType``, ``azureml.parameters``, ``azureml.pipelineid`` for runs of a
        published pipeline, ...) and the Airflow ids."""
        return run_properties(self._record)

    def get_properties(self) -> dict[str, Any]:
        """The run's properties (see :attr:`properties`)."""
        return self.properties

    def get_tags(self) -> dict[str, Any]:
        """Submit tags plus tags set by steps on their parent run."""
        tags: dict[str, Any] = dict(self._record.get("conf", {}).get("azureml", {}).get("tags", {}))
        for step_run in self.get_steps():  # a reused step brings what its execution set
            tags.update(read_tags(step_run._record_dir / PARENT_TAGS))
        return tags

    @property
    def tags(self) -> dict[str, Any]:
        """The run's tags."""
        return self.get_tags()

    # ---------------------------------------------------------------- steps
    def _record_dir(
        self, step: StepSpec, run_id: str | None = None, task_id: str | None = None
    ) -> Path:
        spec = self._record["spec"]
        return self._store.record_folder(
            spec["default_datastore"], run_id or self._run_id, task_id or step.task_id
        )

    def get_steps(self) -> list[StepRun]:
        """Step runs of this run, in topological order."""
        return [StepRun(self, s) for s in self._spec.steps]

    def get_children(self, **kwargs: Any) -> list[StepRun]:
        """Same as :meth:`get_steps`."""
        return self.get_steps()

    def find_step_run(self, name: str) -> list[StepRun]:
        """Step runs called ``name`` (a list, as in SDK v1)."""
        return [StepRun(self, s) for s in self._spec.steps if s.name == name]

    def get_graph(self) -> Any:
        """The graph of the submitted pipeline."""
        return Graph.from_spec(self._spec)

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        """Metrics logged to the pipeline run (``run.parent.log``); with ``recursive``,
        ``{run_id: metrics}`` for the pipeline run and every step run."""
        own: dict[str, Any] = {}
        for step_run in self.get_steps():  # a reused step brings what its execution logged
            own.update(read_metrics(step_run._record_dir / PARENT_METRICS))
        if not recursive:
            return {k: v for k, v in own.items() if name is None or k == name}
        out = {self._run_id: {k: v for k, v in own.items() if name is None or k == name}}
        for step_run in self.get_steps():
            out[step_run.id] = step_run.get_metrics(name)
        return out

    # ---------------------------------------------------------------- waiting
    def wait_for_completion(
        self,
        show_output: bool = True,
        timeout_seconds: int = sys.maxsize,
        raise_on_error: bool = True,
    ) -> str:
        """Wait until the run ends; return its final status.

        With ``show_output`` prints step status changes and each finished
        step's output. With ``raise_on_error`` a failed run raises
        :class:`StepRunFailed` naming the step, with the tail of its stderr.
        """
        seen: dict[str, str] = {}
        if show_output:
            print(f"PipelineRunId: {self._run_id}")
            print(self._backend.run_link_line(self._dag_id, self._run_id))

        def check() -> str:
            status = self.get_status()
            if show_output:
                self._print_progress(seen)
            return status

        status = poll_status(check, timeout_seconds)
        if status not in TERMINAL_STATUSES:
            if show_output:
                print(f"Timed out after {timeout_seconds}s; status: {status}")
            return status
        if show_output:
            print(f"\nPipelineRun Execution Summary\n{'=' * 29}\nPipelineRun Status: {status}")
        if status == "Failed" and raise_on_error:
            raise self._failure()
        return status

    def _print_progress(self, seen: dict[str, str]) -> None:
        for step in self.get_steps():
            st = step.get_status()
            if seen.get(step.name) == st:
                continue
            seen[step.name] = st
            done = st in TERMINAL_STATUSES
            reused = (
                f" (reused outputs of run {step.reused_run_id})" if done and step.is_reused else ""
            )
            print(f"StepRun( {step.name} ) Status: {st}{reused}")
            if done and not reused:
                out = step.get_stdout_log()
                if out.strip():
                    print(f"--- {step.name} stdout ---\n{out.rstrip()}")

    def _failure(self) -> ActivityFailedException:
        for step in self.get_steps():
            if step.get_status() == "Failed":
                tail = step._status_record().get("stderr_tail") or ""
                error = step._status_record().get("error") or "the step failed"
                return StepRunFailed(
                    f"Pipeline run {self._run_id} failed in step {step.name!r}: "
                    f"{error.splitlines()[0]}\n--- stderr of {step.name} (last lines) ---\n"
                    f"{tail}",
                    run_id=self._run_id,
                    step_name=step.name,
                    stderr_tail=tail,
                )
        runner = self._backend.runner_state(self._run_id)
        reason = runner["error"] or self._backend.runner_log(self._run_id)[-3000:]
        return ActivityFailedException(
            f"Pipeline run {self._run_id} failed:\n{reason}", run_id=self._run_id, status="Failed"
        )

    def cancel(self) -> None:
        """Cancel the run: running steps are stopped, pending steps do not start."""
        self._backend.cancel(self._run_id)

    def publish_pipeline(
        self,
        name: str,
        description: str,
        version: str,
        continue_on_step_failure: bool | None = None,
        **kwargs: Any,
    ) -> Any:
        """Publish the pipeline exactly as this run ran it (same frozen snapshots)."""
        return PublishedPipeline._publish(
            self.workspace,
            self._spec,
            {},
            name=name,
            description=description,
            version=version,
            continue_on_step_failure=continue_on_step_failure,
        )

    def __repr__(self) -> str:
        return f"PipelineRun(Experiment: {self.experiment.name}, Id: {self._run_id})"
