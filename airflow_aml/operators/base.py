"""The base of every step operator: inputs in, outputs committed, record kept.

``execute`` does what every step kind shares (DESIGN §3.4):

1. with ``continue_on_step_failure`` off, do not start when another step of
   the run has failed (SDK v1 stops the pipeline at the first failure);
2. materialise inputs from XCom references / datastore paths / parameters;
3. stage outputs under a temporary prefix on their datastore;
4. run the step (``run_step``, one implementation per step kind);
5. on success commit outputs atomically and push their references to XCom;
   on failure discard the staged outputs; always publish the run record.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowSkipException

from airflow_aml.artifacts.store import ArtifactStore
from airflow_aml.artifacts.xcom import as_reference
from airflow_aml.compiler.spec import RESERVED_CONF_KEY, InputSpec, PipelineSpec, StepSpec
from airflow_aml.runtime import cancel
from airflow_aml.runtime.contract import step_run_id
from airflow_aml.runtime.record import PROPERTIES, STATUS, RecordWriter

__all__ = ["AmlStepOperator", "StepContext", "StepFailed"]


class StepFailed(Exception):
    """A step's own work failed (non-zero exit, ...); carries the stderr tail."""

    def __init__(self, message: str, stderr_tail: str = ""):
        self.stderr_tail = stderr_tail
        super().__init__(
            message + (f"\n--- stderr (last lines) ---\n{stderr_tail}" if stderr_tail else "")
        )


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
    ):
        self.spec = spec
        self.run_id = run_id
        self.pipeline_run_id = pipeline_run_id
        self.params = params
        self.paths = paths
        self.record = record
        self.workdir = workdir
        self.pipeline = pipeline


class AmlStepOperator(BaseOperator):
    """Runs one AML step; subclasses implement :meth:`run_step`.

    :param step: the step spec (JSON form of :class:`StepSpec`).
    :param pipeline: pipeline-wide settings (datastores, workspace, experiment,
        parameter types, continue_on_step_failure default).
    """

    # Step arguments are resolved by the runtime contract, not by Jinja: a
    # literal "{{" in a user argument must reach the script unchanged.
    template_fields: Sequence[str] = ()
    ui_color = "#d6eaf8"

    def __init__(self, *, step: dict[str, Any], pipeline: dict[str, Any], **kwargs: Any):
        super().__init__(**kwargs)
        self.step = step
        self.pipeline = pipeline

    # ----------------------------------------------------------- hooks
    def run_step(self, ctx: StepContext) -> None:
        """Do the step's work; raise :class:`StepFailed` on failure."""
        raise NotImplementedError

    # ------------------------------------------------------------ execute
    def execute(self, context: Any) -> Any:
        spec = PipelineSpec.from_json(
            {"spec_version": 1, "dag_id": "-", "experiment_name": "-", "steps": [self.step]}
        ).steps[0]
        ti = context["ti"]
        dag_run = context["dag_run"]
        run_id = dag_run.run_id
        conf = dict(dag_run.conf or {})
        options = conf.get(RESERVED_CONF_KEY) or {}
        store = ArtifactStore(self.pipeline["datastores"])
        self._check_siblings(ti, run_id, options)

        params = self._resolve_params(context, store)
        workdir = Path(tempfile.mkdtemp(prefix=f"aml-{spec.task_id}-"))
        record = workdir / "record"
        try:
            paths = self._resolve_inputs(spec, ti, store, workdir, params)
            staged = {
                o.name: store.staging(o.datastore, run_id, spec.task_id, ti.try_number)
                for o in spec.outputs
            }
            for o in spec.outputs:
                out_dir = staged[o.name] / o.name
                out_dir.mkdir()
                paths[o.name] = str(out_dir)
            ctx = StepContext(
                spec=spec,
                run_id=step_run_id(run_id, spec.task_id),
                pipeline_run_id=run_id,
                params=params,
                paths=paths,
                record=record,
                workdir=workdir,
                pipeline=self.pipeline,
            )
            writer = RecordWriter(record)
            writer.write_json(PROPERTIES, self._properties(spec, ti))
            try:
                self.run_step(ctx)
            except StepFailed as exc:
                writer.write_json(
                    STATUS, {"status": "Failed", "error": str(exc), "stderr_tail": exc.stderr_tail}
                )
                for path in staged.values():
                    store.discard(path)
                raise
            refs = {}
            for o in spec.outputs:
                refs[o.name] = store.commit_output(
                    Path(paths[o.name]),
                    datastore=o.datastore,
                    run_id=run_id,
                    task_id=spec.task_id,
                    step=spec.name,
                    output=o.name,
                )
                store.discard(staged[o.name])
            writer.write_json(
                STATUS, {"status": "Finished", "outputs": {k: r.to_json() for k, r in refs.items()}}
            )
            for name, ref in refs.items():
                ti.xcom_push(key=name, value=ref.to_json())
            return None
        finally:
            self._publish_record(store, record, run_id, spec)
            shutil.rmtree(workdir, ignore_errors=True)

    # ----------------------------------------------------------- helpers
    def _check_siblings(self, ti: Any, run_id: str, options: dict[str, Any]) -> None:
        if cancel.cancel_requested():
            raise AirflowSkipException("not started: the pipeline run was canceled")
        keep_going = options.get(
            "continue_on_step_failure", self.pipeline.get("continue_on_step_failure", False)
        )
        if keep_going:
            return
        failed = ti.get_ti_count(
            dag_id=ti.dag_id, run_ids=[run_id], states=["failed", "upstream_failed"]
        )
        if failed:
            raise AirflowSkipException(
                "not started: another step of this pipeline run failed and "
                "continue_on_step_failure is off"
            )

    def _resolve_params(self, context: Any, store: ArtifactStore) -> dict[str, Any]:
        declared = self.pipeline.get("parameters", {})
        given = context.get("params") or {}
        values: dict[str, Any] = {}
        for name, ptype in declared.items():
            value = given.get(name)
            if ptype == "datapath" and isinstance(value, dict):
                values[name] = str(store.local_path(value["datastore"], value.get("path", "")))
            else:
                values[name] = value
        return values

    def _resolve_inputs(
        self, spec: StepSpec, ti: Any, store: ArtifactStore, workdir: Path, params: dict[str, Any]
    ) -> dict[str, str]:
        paths: dict[str, str] = {}
        task_ids = self.pipeline.get("task_ids", {})
        for inp in spec.inputs:
            source = self._input_source(inp, ti, store, task_ids, params)
            if inp.mode == "download":
                target = (
                    Path(inp.path_on_compute)
                    if inp.path_on_compute
                    else workdir / "inputs" / inp.name
                )
                if not target.is_absolute():
                    target = workdir / target
                target.parent.mkdir(parents=True, exist_ok=True)
                if target.exists() and inp.overwrite:
                    shutil.rmtree(target) if target.is_dir() else target.unlink()
                if source.is_dir():
                    shutil.copytree(source, target, dirs_exist_ok=True)
                else:
                    shutil.copyfile(source, target)
                paths[inp.name] = str(target)
            else:
                paths[inp.name] = str(source)
        return paths

    def _input_source(
        self,
        inp: InputSpec,
        ti: Any,
        store: ArtifactStore,
        task_ids: dict[str, str],
        params: dict[str, Any],
    ) -> Path:
        if inp.kind == "pipeline_data":
            assert inp.producer is not None
            ref = as_reference(ti.xcom_pull(task_ids=task_ids[inp.producer], key=inp.output))
            if ref is None:
                raise StepFailed(
                    f"input {inp.name!r}: step {inp.producer!r} published no output {inp.output!r}"
                )
            return store.resolve(ref)
        if inp.kind == "datapath_param":
            assert inp.param is not None
            path = Path(params[inp.param])
        else:
            assert inp.datastore is not None
            path = store.local_path(inp.datastore, inp.path or "")
        if not path.exists():
            raise StepFailed(f"input {inp.name!r}: {path} does not exist")
        return path

    def _properties(self, spec: StepSpec, ti: Any) -> dict[str, Any]:
        return {
            "StepType": spec.kind,
            "azureml.nodeid": spec.task_id,
            "azureml.pipeline_step_name": spec.name,
            "airflow.try_number": ti.try_number,
            "airflow.map_index": ti.map_index,
            "compute": spec.compute,
            **self.step.get("properties", {}),
        }

    def _publish_record(
        self, store: ArtifactStore, record: Path, run_id: str, spec: StepSpec
    ) -> None:
        if not record.exists():
            return
        try:
            store.commit_record(
                record,
                datastore=self.pipeline["artifact_datastore"],
                run_id=run_id,
                task_id=spec.task_id,
            )
        except OSError as exc:
            self.log.warning("could not publish the run record of step %s: %s", spec.name, exc)
