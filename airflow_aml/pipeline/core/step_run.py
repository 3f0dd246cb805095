"""StepRun and StepRunOutput: one step of a pipeline run (an Airflow TaskInstance).

States come from Airflow; outputs, metrics, tags, files and logs from the
step's run record on the artifact datastore. A reused step reports the
execution it reused (v1: the original run's metrics, tags and outputs).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_aml.artifacts.store import ArtifactReference
from airflow_aml.exceptions import (
    StepRunFailed,
    UserErrorException,
)
from airflow_aml.pipeline.core.port_data import PortDataReference
from airflow_aml.pipeline.core.status import TERMINAL_STATUSES, step_status
from airflow_aml.runtime.contract import REUSE_XCOM_KEY, step_run_id
from airflow_aml.runtime.record import (
    FILES,
    METRICS,
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
from airflow_aml.spec import StepSpec

if TYPE_CHECKING:
    from airflow_aml.pipeline.core.run import PipelineRun

__all__ = ["StepRun", "StepRunOutput", "poll_status"]

_POLL_SECONDS = 0.5


def poll_status(check: Callable[[], str], timeout: float) -> str:
    """Call ``check`` until it returns a terminal status or ``timeout`` seconds passed; return
    the last status. Pauses grow from 0.05 s to 0.5 s (short runs end quickly)."""
    from tenacity import (  # lazy: ~50 ms; keeps import airflow_aml.pipeline.core fast
        Retrying,
        retry_if_result,
        stop_after_delay,
        wait_exponential,
    )

    retrying = Retrying(
        retry=retry_if_result(lambda status: status not in TERMINAL_STATUSES),
        wait=wait_exponential(multiplier=0.05, exp_base=1.5, max=_POLL_SECONDS),
        stop=stop_after_delay(timeout),
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else "",
    )
    status: str = retrying(check)
    return status


class StepRunOutput:
    """One output port of a step run."""

    def __init__(self, step_run: StepRun, name: str):
        self._step_run = step_run
        self.name = name

    def get_port_data_reference(self) -> PortDataReference:
        """Where the output's data is."""
        return self._step_run.get_output_data(self.name)


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
        status = poll_status(self.get_status, timeout_seconds)
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
