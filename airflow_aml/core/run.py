"""Run: the run a script belongs to (SDK v1 ``azureml.core.Run``).

Inside a pipeline step, ``Run.get_context()`` returns a submitted run whose
``log*``/``tag``/``upload_file`` calls land in the step's run record, and
whose ``parent`` is the pipeline run. Outside a pipeline it returns an
offline run that prints what it is given (v1 behaviour).
"""

from __future__ import annotations

import json
import os
from typing import IO, Any

from airflow_aml.core.experiment import Experiment
from airflow_aml.core.workspace import Workspace
from airflow_aml.exceptions import UserErrorException
from airflow_aml.runtime import contract
from airflow_aml.runtime.record import PROPERTIES, RecordWriter

__all__ = ["Run", "get_run"]


class Run:
    """Base of submitted and offline runs."""

    def __init__(
        self, experiment: Any = None, run_id: str | None = None, outputs: Any = None, **kwargs: Any
    ):
        self._experiment = experiment
        self._run_id = run_id or "OfflineRun"
        self._writer: RecordWriter | None = None

    # --------------------------------------------------------------- context
    @classmethod
    def get_context(
        cls, allow_offline: bool = True, used_for_context_manager: bool = False, **kwargs: Any
    ) -> Run:
        """The current run: the step's run inside a pipeline, else an offline run."""
        record = os.environ.get(contract.ENV_RECORD)
        run_id = os.environ.get(contract.ENV_RUN_ID)
        if record and run_id:
            return _SubmittedRun(run_id, RecordWriter(record))
        if not allow_offline:
            raise UserErrorException("Run.get_context(allow_offline=False) outside a pipeline step")
        return _OfflineRun()

    # ---------------------------------------------------------------- props
    @property
    def id(self) -> str:
        """The run id."""
        return self._run_id

    @property
    def experiment(self) -> Any:
        """The experiment of the run."""
        return self._experiment

    # -------------------------------------------------------------- logging
    def log(self, name: str, value: Any, description: str = "", step: int | None = None) -> None:
        """Log a scalar metric; logging the same name again makes a series."""
        self._emit(name, value, "scalar", description, step)

    def log_list(self, name: str, value: list[Any], description: str = "") -> None:
        """Log a list of values."""
        self._emit(name, list(value), "list", description)

    def log_row(self, name: str, description: str | None = None, **kwargs: Any) -> None:
        """Log a row of a table metric (columns as keyword arguments)."""
        self._emit(name, kwargs, "row", description or "")

    def log_table(self, name: str, value: dict[str, list[Any]], description: str = "") -> None:
        """Log a table metric (dict of column lists)."""
        self._emit(name, value, "table", description)

    def log_image(
        self, name: str, path: str | None = None, plot: Any = None, description: str = ""
    ) -> None:
        """Log an image file (stored with the run's files)."""
        if path is None:
            raise UserErrorException("log_image needs path= (plot objects are not supported)")
        stored = self.upload_file(f"images/{name}{os.path.splitext(path)[1]}", path)
        self._emit(name, stored, "image", description)

    def tag(self, key: str, value: Any = None) -> None:
        """Tag the run."""
        if self._writer is None:
            print(f"Attempted to tag {key}={value} on an offline run")
            return
        self._writer.tag(key, value)

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Tag the run with every entry of ``tags``."""
        for k, v in tags.items():
            self.tag(k, v)

    def upload_file(
        self, name: str, path_or_stream: str | IO[bytes], datastore_name: str | None = None
    ) -> Any:
        """Store a file with the run under ``name``."""
        if self._writer is None:
            print(f"Attempted to upload file {name} on an offline run")
            return None
        return self._writer.upload(name, path_or_stream)

    def _emit(
        self, name: str, value: Any, kind: str, description: str, step: int | None = None
    ) -> None:
        if self._writer is None:
            print(f"Attempted to log {kind} metric {name}:\n{value}")
            return
        self._writer.metric(name, value, kind, description, step)

    def get_status(self) -> str:
        """The run status."""
        return "Running"

    def get_properties(self) -> dict[str, Any]:
        """The run's properties (v1 keys such as ``azureml.runsource``, ``StepType``)."""
        if self._writer is None:
            return {}
        try:
            data = json.loads((self._writer.folder / PROPERTIES).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def properties(self) -> dict[str, Any]:
        """The run's properties (see :meth:`get_properties`)."""
        return self.get_properties()

    def complete(self) -> None:
        """Kept for compatibility: the operator completes step runs."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r})"


class _OfflineRun(Run):
    """A run outside any pipeline: logging prints, as in SDK v1."""

    def __init__(self) -> None:
        super().__init__(run_id="OfflineRun")

    @property
    def experiment(self) -> Any:
        raise UserErrorException("an offline run has no experiment")


class _SubmittedRun(Run):
    """The run of the current pipeline step."""

    def __init__(self, run_id: str, writer: RecordWriter):
        super().__init__(run_id=run_id)
        self._writer = writer
        self._parent: _ParentRun | None = None

    @property
    def experiment(self) -> Any:
        if self._experiment is None:
            cfg = json.loads(os.environ.get(contract.ENV_WORKSPACE, "{}"))
            ws = Workspace._from_runtime_config(cfg)
            self._experiment = Experiment(ws, os.environ.get(contract.ENV_EXPERIMENT, "default"))
        return self._experiment

    @property
    def parent(self) -> Run:
        """The pipeline run this step belongs to."""
        if self._parent is None:
            assert self._writer is not None
            self._parent = _ParentRun(
                os.environ.get(contract.ENV_PARENT_RUN_ID, ""),
                RecordWriter(self._writer.folder, parent=True),
                self,
            )
        return self._parent

    @property
    def input_datasets(self) -> dict[str, Any]:
        """Named dataset inputs: name -> path (from ``AZUREML_DATASET_ENVIRONMENT_VARS``)."""
        spec = os.environ.get(contract.ENV_DATASETS, "")
        out: dict[str, Any] = {}
        for item in filter(None, spec.split(",")):
            name = item.split(":", 1)[0]
            out[name] = os.environ.get(name)
        return out

    @property
    def output_datasets(self) -> dict[str, Any]:
        """Named dataset outputs: name -> path."""
        names = os.environ.get(contract.ENV_DATASET_OUTPUTS, "")
        return {n: os.environ.get(n) for n in filter(None, names.split(";"))}

    def get_status(self) -> str:
        return "Running"


class _ParentRun(Run):
    """The pipeline run, seen from inside a step: logs land on the pipeline run."""

    def __init__(self, run_id: str, writer: RecordWriter, child: _SubmittedRun):
        super().__init__(run_id=run_id)
        self._writer = writer
        self._child = child

    @property
    def experiment(self) -> Any:
        return self._child.experiment

    def get_properties(self) -> dict[str, Any]:
        """What a step knows of its pipeline run's properties."""
        return {"azureml.runsource": "azureml.PipelineRun"}


def get_run(experiment: Any, run_id: str, rehydrate: bool = True) -> Any:
    """Return the pipeline run ``run_id`` of ``experiment``."""
    return experiment.workspace._backend.pipeline_run(experiment, run_id)
