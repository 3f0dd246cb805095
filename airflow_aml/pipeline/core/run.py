"""PipelineRun and StepRun: runs read back from Airflow and the artifact store (SDK v1).

A PipelineRun is a DagRun; a StepRun is a TaskInstance. States come from
the Airflow metadata DB, outputs/metrics/logs from the artifact store.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_aml.artifacts.store import ArtifactReference, ArtifactStore
from airflow_aml.exceptions import (
    ActivityFailedException,
    StepRunFailed,
    UserErrorException,
)
from airflow_aml.pipeline.core.status import TERMINAL_STATUSES, pipeline_status, step_status
from airflow_aml.runtime.contract import REUSE_XCOM_KEY, format_value, step_run_id
from airflow_aml.runtime.record import (
    FILES,
    METRICS,
    PARENT_METRICS,
    PARENT_TAGS,
    PROPERTIES,
    REUSE,
    STATUS,
    STDERR,
    STDOUT,
    TAGS,
    read_json,
    read_metrics,
    read_tags,
)
from airflow_aml.spec import RESERVED_CONF_KEY, PipelineSpec, StepSpec

if TYPE_CHECKING:
    from airflow_aml.core.experiment import Experiment
    from airflow_aml.core.workspace import Workspace

__all__ = ["PipelineRun", "StepRun", "StepRunOutput", "PortDataReference", "run_properties"]

_POLL_SECONDS = 0.5


def _poll_intervals() -> Any:
    """Polling pauses: quick at first (short runs end quickly), then every 0.5 s."""
    pause = 0.05
    while True:
        yield pause
        pause = min(_POLL_SECONDS, pause * 1.5)


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


class PortDataReference:
    """A committed output of a step run: datastore + path; can be downloaded."""

    def __init__(self, workspace: Workspace, reference: ArtifactReference):
        self._workspace = workspace
        self._ref = reference

    @property
    def datastore_name(self) -> str:
        """Name of the datastore holding the data."""
        return self._ref.datastore

    @property
    def path_on_datastore(self) -> str:
        """Path of the data on its datastore."""
        return self._ref.path

    @property
    def datastore(self) -> Any:
        """The datastore holding the data."""
        from airflow_aml.core.datastore import Datastore

        return Datastore.get(self._workspace, self._ref.datastore)

    @property
    def reference(self) -> ArtifactReference:
        """The artifact reference carried by XCom."""
        return self._ref

    def download(
        self, local_path: str, overwrite: bool | None = None, show_progress: bool | None = None
    ) -> str:
        """Download the data under ``local_path``; returns the downloaded path.

        As in SDK v1 the datastore path is kept: the data lands in
        ``local_path/<path_on_datastore>``.
        """
        self.datastore.download(
            local_path,
            prefix=self._ref.path,
            overwrite=bool(overwrite),
            show_progress=bool(show_progress),
        )
        return str(Path(local_path) / self._ref.path)

    def __repr__(self) -> str:
        return f"PortDataReference({self.datastore_name}:{self.path_on_datastore})"


class StepRunOutput:
    """One output port of a step run."""

    def __init__(self, step_run: StepRun, name: str):
        self._step_run = step_run
        self.name = name

    def get_port_data_reference(self) -> PortDataReference:
        """Where the output's data is."""
        return self._step_run.get_output_data(self.name)


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
        from airflow_aml.core.experiment import Experiment

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
        from airflow_aml.pipeline.core.graph import Graph

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
        deadline = time.monotonic() + timeout_seconds
        seen: dict[str, str] = {}
        if show_output:
            print(f"PipelineRunId: {self._run_id}")
            print(self._backend.run_link_line(self._dag_id, self._run_id))
        pauses = _poll_intervals()
        while True:
            status = self.get_status()
            if show_output:
                self._print_progress(seen)
            if status in TERMINAL_STATUSES:
                break
            if time.monotonic() > deadline:
                if show_output:
                    print(f"Timed out after {timeout_seconds}s; status: {status}")
                return status
            time.sleep(next(pauses))
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
        from airflow_aml.pipeline.core.published_pipeline import PublishedPipeline

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


class StepRun:
    """A run of one step (an Airflow TaskInstance)."""

    def __init__(self, pipeline_run: PipelineRun, step: StepSpec):
        self._pipeline_run = pipeline_run
        self._step = step
        self._reuse: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        """The step run id (``<pipeline run id>_<task id>``)."""
        return step_run_id(self._pipeline_run.id, self._step.task_id)

    @property
    def name(self) -> str:
        """The step name."""
        return self._step.name

    @property
    def pipeline_run_id(self) -> str:
        """Id of the pipeline run this step belongs to."""
        return self._pipeline_run.id

    @property
    def parent(self) -> PipelineRun:
        """The pipeline run."""
        return self._pipeline_run

    @property
    def _own_record_dir(self) -> Path:
        """This step run's own record (status, reuse decision, properties)."""
        return self._pipeline_run._record_dir(self._step)

    @property
    def _record_dir(self) -> Path:
        """The record of the execution behind this step run: for a reused step, the
        earlier execution whose outputs it reused (its metrics, tags, files, logs)."""
        source = (self.reuse_details or {}).get("reused_from")
        if source:
            return self._pipeline_run._record_dir(self._step, source["run_id"], source["task_id"])
        return self._own_record_dir

    def _ti(self) -> dict[str, Any] | None:
        pr = self._pipeline_run
        return pr._backend.task_instances(pr._dag_id, pr.id).get(self._step.task_id)

    # ------------------------------------------------------------------ reuse
    @property
    def reuse_details(self) -> dict[str, Any] | None:
        """The reuse check's decision: ``hit``, ``reasons`` (why not reused),
        ``reused_from`` (run/step whose outputs were reused), ``fingerprint``."""
        if self._reuse is None:
            found = read_json(self._own_record_dir / REUSE)
            if not found:  # a reused step publishes it in XCom first
                pr = self._pipeline_run
                found = pr._backend.xcom(pr._dag_id, pr.id, self._step.task_id, REUSE_XCOM_KEY)
            self._reuse = found or None
        return self._reuse

    @property
    def is_reused(self) -> bool:
        """Whether this step reused an earlier execution's outputs."""
        return bool((self.reuse_details or {}).get("hit"))

    @property
    def reused_run_id(self) -> str | None:
        """The pipeline run whose outputs this step reused."""
        source = (self.reuse_details or {}).get("reused_from") or {}
        return source.get("run_id")

    def get_reuse_reasons(self) -> list[str]:
        """Why this step was not reused (empty when it was, or before the check ran)."""
        details = self.reuse_details or {}
        return [] if details.get("hit") else list(details.get("reasons", []))

    def _status_record(self) -> dict[str, Any]:
        record = read_json(self._own_record_dir / STATUS)
        if not record and (self._ti() or {}).get("state") == "failed":
            pr = self._pipeline_run
            log = pr._backend.task_log(pr._dag_id, pr.id, self._step.task_id, 1)
            tail = "\n".join((log or "").splitlines()[-15:])
            return {
                "status": "Failed",
                "error": f"step {self.name!r} failed before it could start",
                "stderr_tail": tail,
            }
        return record

    def get_status(self) -> str:
        """The step's v1 status (a reused step is ``Finished``, as in SDK v1)."""
        ti = self._ti()
        status = step_status(ti["state"] if ti else None)
        if status not in TERMINAL_STATUSES and self._pipeline_run.get_status() in TERMINAL_STATUSES:
            return "NotStarted" if status == "NotStarted" else "Canceled"
        return status

    @property
    def status(self) -> str:
        """The current status."""
        return self.get_status()

    def get_details(self) -> dict[str, Any]:
        """Status, times, try number, properties and error of this step run."""
        ti = self._ti() or {}
        status = self._status_record()
        return {
            "runId": self.id,
            "status": self.get_status(),
            "startTimeUtc": ti.get("start_date"),
            "endTimeUtc": ti.get("end_date"),
            "properties": self.properties,
            "error": status.get("error"),
            "airflow": {"task_id": self._step.task_id, "try_number": ti.get("try_number")},
        }

    @property
    def properties(self) -> dict[str, Any]:
        """Run properties (step type, git facts of the source folder, reuse facts)."""
        props = read_json(self._own_record_dir / PROPERTIES) or {
            "azureml.runsource": "azureml.StepRun",
            "StepType": self._step.kind,
            "azureml.nodeid": self._step.task_id,
            "azureml.pipelinerunid": self.pipeline_run_id,
            **self._step.properties,
        }
        details = self.reuse_details or {}
        if details.get("hit"):
            source = details["reused_from"]
            props.update(
                {
                    "azureml.isreused": "true",
                    "azureml.reusedrunid": step_run_id(source["run_id"], source["task_id"]),
                    "azureml.reusednodeid": source["task_id"],
                    "azureml.reusedpipelinerunid": source["run_id"],
                }
            )
        elif details:
            props["azureml.isreused"] = "false"
        return props

    def get_properties(self) -> dict[str, Any]:
        """The step run's properties (see :attr:`properties`)."""
        return self.properties

    def get_tags(self) -> dict[str, Any]:
        """Tags set by the script."""
        return read_tags(self._record_dir / TAGS)

    @property
    def tags(self) -> dict[str, Any]:
        """Tags set by the script."""
        return self.get_tags()

    def get_metrics(
        self,
        name: str | None = None,
        recursive: bool = False,
        run_type: str | None = None,
        populate: bool = False,
    ) -> dict[str, Any]:
        """Metrics the script logged through ``Run.get_context()``."""
        metrics = read_metrics(self._record_dir / METRICS)
        return {k: v for k, v in metrics.items() if name is None or k == name}

    def get_file_names(self) -> list[str]:
        """Names of files the script uploaded with ``upload_file``."""
        root = self._record_dir / FILES
        return (
            sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
            if root.is_dir()
            else []
        )

    def download_file(self, name: str, output_file_path: str | None = None) -> str:
        """Download an uploaded file."""
        import shutil

        src = self._record_dir / FILES / name
        if not src.is_file():
            raise UserErrorException(
                f"step {self.name!r} has no file {name!r}; files: {self.get_file_names()}"
            )
        dest = Path(output_file_path or Path(name).name)
        if dest.is_dir():
            dest = dest / Path(name).name
        shutil.copyfile(src, dest)
        return str(dest)

    # ---------------------------------------------------------------- outputs
    def get_outputs(self) -> dict[str, StepRunOutput]:
        """Output ports by name."""
        return {o.name: StepRunOutput(self, o.name) for o in self._step.outputs}

    def get_output(self, name: str) -> StepRunOutput:
        """The output port ``name``."""
        outs = self.get_outputs()
        if name not in outs:
            raise UserErrorException(
                f"step {self.name!r} has no output {name!r}; outputs: {sorted(outs)}"
            )
        return outs[name]

    def get_output_data(self, name: str) -> PortDataReference:
        """Where output ``name`` was committed."""
        self.get_output(name)
        pr = self._pipeline_run
        value = pr._backend.xcom(pr._dag_id, pr.id, self._step.task_id, name)
        if not value:
            raise UserErrorException(
                f"step {self.name!r} has not produced output {name!r} (status {self.get_status()})"
            )
        return PortDataReference(pr.workspace, ArtifactReference.from_json(value))

    # ------------------------------------------------------------------- logs
    def get_stdout_log(self) -> str:
        """What the script printed to stdout."""
        path = self._record_dir / STDOUT
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def get_stderr_log(self) -> str:
        """What the script printed to stderr."""
        path = self._record_dir / STDERR
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def get_job_log(self) -> str:
        """The Airflow task log of the last try (falls back to stdout + stderr)."""
        ti = self._ti() or {}
        pr = self._pipeline_run
        log = pr._backend.task_log(
            pr._dag_id, pr.id, self._step.task_id, int(ti.get("try_number") or 1)
        )
        return log if log is not None else self.get_stdout_log() + self.get_stderr_log()

    def wait_for_completion(
        self,
        show_output: bool = True,
        timeout_seconds: int = sys.maxsize,
        raise_on_error: bool = True,
    ) -> str:
        """Wait for this step to end; return its status."""
        deadline = time.monotonic() + timeout_seconds
        pauses = _poll_intervals()
        while (status := self.get_status()) not in TERMINAL_STATUSES:
            if time.monotonic() > deadline:
                return status
            time.sleep(next(pauses))
        if status == "Failed" and raise_on_error:
            tail = self._status_record().get("stderr_tail") or ""
            raise StepRunFailed(
                f"step {self.name!r} failed\n{tail}",
                run_id=self.pipeline_run_id,
                step_name=self.name,
                stderr_tail=tail,
            )
        return status

    def __repr__(self) -> str:
        return f"StepRun(Name: {self.name}, Id: {self.id})"
