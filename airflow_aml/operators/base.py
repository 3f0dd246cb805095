"""The base of every step operator: inputs in, outputs committed, record kept.

``execute`` does what every step kind shares (DESIGN §3.4):

1. with ``continue_on_step_failure`` off, do not start when another step of
   the run has failed (SDK v1 stops the pipeline at the first failure);
2. materialise inputs from XCom references / datastore paths / parameters;
3. stage outputs under a temporary prefix on their datastore;
4. run the step (``run_step``, one implementation per step kind), keeping the
   reuse claim taken by the step's reuse-check sensor alive;
5. on success commit outputs atomically, push their references to XCom and
   record them in the reuse index under the sensor's fingerprint; always
   discard staging, release the claim and publish the run record.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator

from airflow_aml.artifacts.reuse_index import ReuseIndex
from airflow_aml.artifacts.store import ArtifactStore
from airflow_aml.compiler.spec import InputSpec, StepSpec
from airflow_aml.operators.common import (
    REUSE_XCOM_KEY,
    check_task_id,
    ensure_run_not_failed,
    pull_output,
    resolve_params,
    reuse_index,
    run_options,
)
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


def ti_dag_id(context: Any) -> str:
    """The DAG id of the running task."""
    return str(context["ti"].dag_id)


class _Heartbeat:
    """Keeps a reuse claim fresh while the step runs (others wait instead of recomputing)."""

    def __init__(self, index: ReuseIndex, fingerprint: str, every: float = 15.0):
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(index, fingerprint, every), daemon=True
        )
        self._thread.start()

    def _beat(self, index: ReuseIndex, fingerprint: str, every: float) -> None:
        while not self._stop.wait(every):
            index.heartbeat(fingerprint)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


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
        spec = StepSpec.from_json(self.step)
        ti = context["ti"]
        run_id = context["dag_run"].run_id
        store = ArtifactStore(self.pipeline["datastores"])
        ensure_run_not_failed(ti, run_id, run_options(context), self.pipeline)
        decision = ti.xcom_pull(task_ids=check_task_id(spec.task_id), key=REUSE_XCOM_KEY) or {}
        index = reuse_index(store, self.pipeline)
        owner = {"dag_id": ti.dag_id, "run_id": run_id, "task_id": spec.task_id}
        fp = decision.get("fingerprint")

        workdir = Path(tempfile.mkdtemp(prefix=f"aml-{spec.task_id}-"))
        record = workdir / "record"
        heartbeat = _Heartbeat(index, fp) if fp and decision.get("claimed") else None
        staging: dict[str, Path] = {}
        try:
            params = resolve_params(context, store, self.pipeline, fetch_into=workdir)
            paths = self._resolve_inputs(spec, ti, store, workdir, params)
            for ds in {o.datastore for o in spec.outputs}:
                staging[ds] = store.staging(ds, run_id, spec.task_id, ti.try_number)
            for o in spec.outputs:
                out_dir = staging[o.datastore] / o.name
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
                experiment_name=str(
                    run_options(context).get("experiment_name")
                    or self.pipeline.get("experiment_name", "")
                ),
            )
            writer = RecordWriter(record)
            writer.write_json(PROPERTIES, self._properties(spec, ti))
            try:
                self.run_step(ctx)
            except StepFailed as exc:
                writer.write_json(
                    STATUS, {"status": "Failed", "error": str(exc), "stderr_tail": exc.stderr_tail}
                )
                raise
            refs = {
                o.name: store.commit_output(
                    Path(paths[o.name]),
                    datastore=o.datastore,
                    run_id=run_id,
                    task_id=spec.task_id,
                    step=spec.name,
                    output=o.name,
                )
                for o in spec.outputs
            }
            writer.write_json(
                STATUS, {"status": "Finished", "outputs": {k: r.to_json() for k, r in refs.items()}}
            )
            for name, ref in refs.items():
                ti.xcom_push(key=name, value=ref.to_json())
            self._annotate_asset_events(context, spec, refs)
            if fp:
                index.record(
                    {
                        "fingerprint": fp,
                        "components": decision.get("components", {}),
                        "outputs": {k: r.to_json() for k, r in refs.items()},
                        "created": time.time(),
                        "step": spec.name,
                        **owner,
                    }
                )
            return None
        finally:
            if heartbeat is not None:
                heartbeat.stop()
            if fp:
                try:
                    index.release(fp, owner)
                except Exception as exc:  # never hide the step's own outcome
                    # The claim ends anyway: others see this task finished (or it goes stale).
                    self.log.warning("could not release the reuse claim %s: %s", fp, exc)
            for path in staging.values():
                store.discard(path)
            self._publish_record(store, record, run_id, spec)
            shutil.rmtree(workdir, ignore_errors=True)

    # ----------------------------------------------------------- helpers
    def _annotate_asset_events(self, context: Any, spec: StepSpec, refs: dict[str, Any]) -> None:
        """Put each output's reference in the ``extra`` of its asset event."""
        from airflow_aml.compiler.render import output_asset

        events = context.get("outlet_events")
        if events is None:
            return
        for name, ref in refs.items():
            events[output_asset(ti_dag_id(context), spec, name)].extra = ref.to_json()

    def _resolve_inputs(
        self, spec: StepSpec, ti: Any, store: ArtifactStore, workdir: Path, params: dict[str, Any]
    ) -> dict[str, str]:
        paths: dict[str, str] = {}
        for inp in spec.inputs:
            source = self._input_source(inp, ti, store, params, workdir / "fetched" / inp.name)
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
                if source.is_relative_to(workdir):  # fetched from a remote datastore
                    shutil.move(source, target)
                elif source.is_dir():
                    shutil.copytree(source, target, dirs_exist_ok=True)
                else:
                    shutil.copyfile(source, target)
                paths[inp.name] = str(target)
            else:
                paths[inp.name] = str(source)
        return paths

    def _input_source(
        self, inp: InputSpec, ti: Any, store: ArtifactStore, params: dict[str, Any], fetch: Path
    ) -> Path:
        """Where an input is on this machine (remote data is downloaded into ``fetch``)."""
        if inp.kind == "pipeline_data":
            assert inp.producer is not None and inp.output is not None
            ref = pull_output(ti, self.pipeline, inp.producer, inp.output)
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
            found = store.materialise(inp.datastore, inp.path or "", fetch)
            if found is None:
                raise StepFailed(
                    f"input {inp.name!r}: {inp.path or '/'} does not exist on datastore "
                    f"{inp.datastore!r}"
                )
            return found
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
        except Exception as exc:  # OSError, DatastoreException: never hide the step's outcome
            self.log.warning("could not publish the run record of step %s: %s", spec.name, exc)
